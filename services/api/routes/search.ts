import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '../../../schemas/api.ts';
import {
  PageAnswer,
  PageQuerystring,
  SearchAnswer,
  SearchQuerystring,
  SegmentAnswer,
  SegmentQuerystring,
} from '../../../schemas/search.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /v1/search`, `GET /v1/search/segments` and `GET /v1/search/pages`: the search service
 * (services/app/search.ts) as JSON.
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
      async (request) => deps.app.search.items(request.principal, request.query),
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
      async (request) => deps.app.search.segments(request.principal, request.query),
    );

    app.get(
      '/v1/search/pages',
      {
        schema: {
          tags: ['search'],
          summary:
            'Search inside documents: the pages (file, page number, snippet) the words are on, by item; ocr marks machine reading',
          querystring: PageQuerystring,
          response: { 200: PageAnswer, 400: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => deps.app.search.pages(request.principal, request.query),
    );
  };
