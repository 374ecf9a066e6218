import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ErrorBody } from '../../../schemas/api.ts';
import {
  MAX_LIMIT,
  MAX_QUERY_CHARS,
  MAX_WINDOW,
  SearchAnswer,
  SegmentAnswer,
  listFilterFields,
  sortOrders,
  type SearchFiltersT,
} from '../../../schemas/search.ts';
import { readScope } from '../../archive/access.ts';
import { CikuError } from '../../errors.ts';
import { facetList } from '../../search/search-index.ts';
import type { AppDeps } from '../deps.ts';

const Strings = Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 }));
const Q = Type.String({ maxLength: MAX_QUERY_CHARS, default: '' });
const Paging = {
  page: Type.Integer({ minimum: 1, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 20 }),
};

const SearchQuerystring = Type.Object(
  {
    q: Q,
    kind: Strings,
    category: Strings,
    province: Strings,
    region: Strings,
    level: Strings,
    batch: Type.Optional(Type.Array(Type.Integer(), { maxItems: 50 })),
    museum: Strings,
    period: Strings,
    series: Strings,
    year_from: Type.Optional(Type.Integer({ minimum: -3000, maximum: 3000 })),
    year_to: Type.Optional(Type.Integer({ minimum: -3000, maximum: 3000 })),
    has_media: Type.Optional(Type.Boolean()),
    near: Type.Optional(
      Type.String({
        pattern: '^-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?,\\d{1,5}(\\.\\d+)?$',
        maxLength: 80,
      }),
    ),
    bbox: Type.Optional(
      Type.String({
        pattern: '^-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?$',
        maxLength: 120,
      }),
    ),
    facets: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 20 })),
    sort: Type.Union(
      sortOrders.map((s) => Type.Literal(s)),
      { default: 'relevance' },
    ),
    ...Paging,
  },
  { additionalProperties: false },
);

const SegmentQuerystring = Type.Object(
  {
    q: Q,
    item: Type.Optional(Type.String({ maxLength: 200 })),
    speaker: Type.Optional(Type.String({ maxLength: 200 })),
    ...Paging,
  },
  { additionalProperties: false },
);

function numbers(text: string): number[] {
  return text.split(',').map(Number);
}

function window(page: number, limit: number): void {
  if (page * limit > MAX_WINDOW) {
    throw new CikuError(
      'CIKU_ERR_REQUEST_INVALID',
      `page ${page} × limit ${limit} goes past the first ${MAX_WINDOW} hits: narrow the query or the filters`,
    );
  }
}

/**
 * `GET /v1/search` and `GET /v1/search/segments`. The caller's read scope (from the one access decision) goes into
 * the engine query, so hidden items are absent from hits, totals and facet counts alike.
 */
export const searchRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function search(app) {
    app.get(
      '/v1/search',
      {
        schema: {
          tags: ['search'],
          summary: 'Search items (Chinese-first: words, any two-character substring, traditional, pinyin)',
          querystring: SearchQuerystring,
          response: { 200: SearchAnswer, 400: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const qs = request.query;
        window(qs.page, qs.limit);
        const filters: SearchFiltersT = {};
        for (const key of listFilterFields) {
          const values: (string | number)[] | undefined = qs[key];
          if (values !== undefined) (filters as Record<string, unknown>)[key] = values;
        }
        if (qs.year_from !== undefined) filters.year_from = qs.year_from;
        if (qs.year_to !== undefined) filters.year_to = qs.year_to;
        if (qs.has_media !== undefined) filters.has_media = qs.has_media;
        if (qs.near !== undefined) {
          const [lat, lon, radius_km] = numbers(qs.near) as [number, number, number];
          if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || !(radius_km > 0)) {
            throw new CikuError(
              'CIKU_ERR_REQUEST_INVALID',
              'near must be lat,lon,radius_km with a positive radius',
            );
          }
          filters.near = { lat, lon, radius_km };
        }
        if (qs.bbox !== undefined) {
          const box = numbers(qs.bbox) as [number, number, number, number];
          if (Math.abs(box[1]) > 90 || Math.abs(box[3]) > 90 || box[1] > box[3]) {
            throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'bbox must be west,south,east,north in degrees');
          }
          filters.bbox = box;
        }
        return deps.search.search({
          q: qs.q,
          filters,
          facets: facetList(qs.facets ?? []),
          sort: qs.sort,
          page: qs.page,
          limit: qs.limit,
          scope: readScope(request.principal, deps.clock()),
        });
      },
    );

    app.get(
      '/v1/search/segments',
      {
        schema: {
          tags: ['search'],
          summary: 'Search transcripts: the moments (start/end seconds, speaker) words are spoken, by item',
          querystring: SegmentQuerystring,
          response: { 200: SegmentAnswer, 400: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const qs = request.query;
        window(qs.page, qs.limit);
        return deps.search.searchSegments({
          q: qs.q,
          ...(qs.item === undefined ? {} : { item: qs.item }),
          ...(qs.speaker === undefined ? {} : { speaker: qs.speaker }),
          page: qs.page,
          limit: qs.limit,
          scope: readScope(request.principal, deps.clock()),
        });
      },
    );
  };
