import { Type, type Static } from '@sinclair/typebox';
import { SearchQuerystring, type SearchQuerystringT } from '../../schemas/search.ts';
import type { Principal } from '../archive/access.ts';
import type { Application } from '../app/application.ts';
import { markOf, withParams, type PageContext } from './page-context.ts';
import {
  facetValueLabel,
  pageFacets,
  type ActiveFilter,
  type SearchPageData,
  type Suggestion,
} from './pages/search.tsx';

const { facets: _facets, limit: _limit, ...searchParams } = SearchQuerystring.properties;

/**
 * The search page's query string: the API's (every filter, sort and page; the page chooses its own facets and page
 * size) plus the language switch. Other parameters are refused, as by the API.
 */
export const SearchPageQuery = Type.Object(
  { ...searchParams, lang: Type.Optional(Type.String({ maxLength: 10 })) },
  // Links arrive with parameters of their own (utm_*, fbclid): a page ignores them rather than refusing.
  { additionalProperties: true },
);
const pageKeys = new Set(Object.keys(SearchPageQuery.properties));
export type SearchPageQueryT = Static<typeof SearchPageQuery>;

export const PAGE_SIZE = 20;

/** The hits, facets and (when nothing matched) suggestions of a search page, as `principal` may see them. */
export async function searchPageData(
  app: Application,
  principal: Principal,
  query: SearchPageQueryT,
  ctx: PageContext,
): Promise<SearchPageData> {
  const known = Object.fromEntries(
    Object.entries(query).filter(([k]) => pageKeys.has(k)),
  ) as SearchPageQueryT;
  query = known;
  const { lang: _lang, ...rest } = query;
  const qs: SearchQuerystringT = { ...rest, facets: [...pageFacets], limit: PAGE_SIZE };
  const answer = await app.search.items(principal, qs);
  const filters: ActiveFilter[] = pageFacets.flatMap((field) =>
    (query[field] ?? []).map((value) => ({ field, value: String(value) })),
  );
  const href = hrefFor(query);
  const suggestions = answer.total === 0 ? await suggest(app, principal, qs, filters, href, ctx) : [];
  const levels: Record<string, string> = {};
  const now = ctx.now();
  for (const hit of answer.hits) {
    levels[hit.id] = markOf(
      {
        level: hit.access ?? 'public',
        ...(hit.embargo_until === undefined ? {} : { embargo_until: hit.embargo_until }),
      },
      now,
    );
  }
  return {
    q: query.q,
    sort: query.sort,
    page: query.page,
    limit: PAGE_SIZE,
    filters,
    answer,
    levels,
    suggestions,
    href,
  };
}

/** Builds the page's URLs from its state: a filter added or removed, another page, everything cleared. */
function hrefFor(query: SearchPageQueryT): SearchPageData['href'] {
  return (change) => {
    const params = new URLSearchParams();
    if (query.q) params.set('q', query.q);
    if (!change.clear) {
      for (const [key, value] of Object.entries(query)) {
        if (key === 'q' || key === 'page' || key === 'lang' || value === undefined) continue;
        if (key === 'sort' && value === 'relevance') continue;
        for (const v of Array.isArray(value) ? value : [value]) {
          const s = String(v);
          if (change.remove && change.remove.field === key && change.remove.value === s) continue;
          params.append(key, s);
        }
      }
      if (change.add && !params.getAll(change.add.field).includes(change.add.value))
        params.append(change.add.field, change.add.value);
    }
    if (change.page !== undefined && change.page > 1) params.set('page', String(change.page));
    const qs = params.toString();
    return `/search${qs ? `?${qs}` : ''}`;
  };
}

/**
 * What to try when nothing matched: each active filter dropped (with what that finds), each word of a query of
 * several words on its own, and the query without any filter. Only suggestions that find something are offered.
 */
async function suggest(
  app: Application,
  principal: Principal,
  qs: SearchQuerystringT,
  filters: ActiveFilter[],
  href: SearchPageData['href'],
  ctx: PageContext,
): Promise<Suggestion[]> {
  const count = async (change: Partial<SearchQuerystringT>) =>
    (await app.search.items(principal, { ...qs, ...change, facets: [], limit: 1, page: 1 })).total;
  const out: Suggestion[] = [];
  for (const f of filters.slice(0, 4)) {
    const values = (qs[f.field] ?? []).map(String).filter((v) => v !== f.value);
    const n = await count({ [f.field]: values.length === 0 ? undefined : values });
    if (n > 0)
      out.push({
        href: href({ remove: f }),
        label: ctx.t('search.dropFilter', {
          field: ctx.t(`facet.${f.field}`),
          value: facetValueLabel(ctx, f.field, f.value),
          count: n,
        }),
      });
  }
  const words = qs.q.split(/[\s,，、;；]+/).filter((w) => w !== '');
  if (words.length > 1) {
    for (const term of words.slice(0, 4)) {
      const n = await count({ q: term });
      if (n > 0)
        out.push({
          href: withParams(href({}), { q: term }),
          label: ctx.t('search.tryTerm', { term, count: n }),
        });
    }
  }
  return out;
}
