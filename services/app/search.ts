import type { Principal } from '../archive/access.ts';
import { readScope } from '../archive/access.ts';
import {
  MAX_WINDOW,
  listFilterFields,
  type PageAnswerT,
  type PageQuerystringT,
  type SearchAnswerT,
  type SearchFiltersT,
  type SearchQuerystringT,
  type SegmentAnswerT,
  type SegmentQuerystringT,
} from '../../schemas/search.ts';
import { CikuError } from '../errors.ts';
import { facetList, type SearchIndex } from '../search/search-index.ts';

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
 * Searches from the parameters of a query string (the API's, the portal's): the filters it names, facets, sort and
 * page. The caller's read scope (the one access decision) goes into the engine query, so hidden items are absent
 * from hits, totals and facet counts alike.
 */
export function createSearchService(deps: { search: SearchIndex; clock: () => Date }) {
  async function items(principal: Principal, qs: SearchQuerystringT): Promise<SearchAnswerT> {
    window(qs.page, qs.limit);
    return deps.search.search({
      q: qs.q,
      filters: filtersFrom(qs),
      facets: facetList(qs.facets ?? []),
      sort: qs.sort,
      page: qs.page,
      limit: qs.limit,
      scope: readScope(principal, deps.clock()),
    });
  }

  async function segments(principal: Principal, qs: SegmentQuerystringT): Promise<SegmentAnswerT> {
    window(qs.page, qs.limit);
    return deps.search.searchSegments({
      q: qs.q,
      ...(qs.item === undefined ? {} : { item: qs.item }),
      ...(qs.speaker === undefined ? {} : { speaker: qs.speaker }),
      page: qs.page,
      limit: qs.limit,
      scope: readScope(principal, deps.clock()),
    });
  }

  /**
   * Pages of documents holding the words (of one item and one of its files when given), under the caller's read
   * scope inside the engine's query: another organisation's restricted item, or a deleted one, has no pages.
   */
  async function pages(principal: Principal, qs: PageQuerystringT): Promise<PageAnswerT> {
    window(qs.page, qs.limit);
    return deps.search.searchPages({
      q: qs.q,
      ...(qs.item === undefined ? {} : { item: qs.item }),
      ...(qs.file === undefined ? {} : { file: qs.file.normalize('NFC') }),
      page: qs.page,
      limit: qs.limit,
      scope: readScope(principal, deps.clock()),
    });
  }

  return { items, segments, pages };
}

export type SearchService = ReturnType<typeof createSearchService>;

/** The engine's filters from a query string's: lists as given, ranges and places checked. */
export function filtersFrom(qs: SearchQuerystringT): SearchFiltersT {
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
  return filters;
}
