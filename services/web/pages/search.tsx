import type { SearchAnswerT, SearchHitT, SortOrder } from '../../../schemas/search.ts';
import { sortOrders } from '../../../schemas/search.ts';
import { isMessageKey } from '../i18n.ts';
import { clock, itemPath, type PageContext } from '../page-context.ts';
import { SearchBox } from './layout.tsx';
import { AccessMark, Marked, Thumb } from './parts.tsx';

/** The facets the page shows, in this order (DESIGN.md: kind, ICH category, region, level, museum, period, series). */
export const pageFacets = ['kind', 'category', 'region', 'level', 'museum', 'period', 'series'] as const;
export type PageFacet = (typeof pageFacets)[number];

/** A filter the reader set: one value of one field. */
export interface ActiveFilter {
  field: PageFacet;
  value: string;
}

export interface Suggestion {
  href: string;
  label: string;
}

export interface SearchPageData {
  q: string;
  sort: SortOrder;
  page: number;
  limit: number;
  filters: ActiveFilter[];
  answer: SearchAnswerT;
  /** Hit id → access level, for marking what anonymous readers do not see. */
  levels: Record<string, string>;
  /** When nothing matched: relaxed queries and filters to drop, each with its count. */
  suggestions: Suggestion[];
  /** The page's URL with different parameters (keeps every other part of the state). */
  href: (change: { add?: ActiveFilter; remove?: ActiveFilter; page?: number; clear?: boolean }) => string;
}

export function facetValueLabel(ctx: PageContext, field: string, value: string): string {
  const key = `kind.${value}`;
  if (field === 'kind' && isMessageKey(key)) return ctx.t(key);
  return value;
}

/** The search page: the box, facets with counts, active filters, hits with marks and interview moments, pages. */
export function SearchPage({ ctx, data }: { ctx: PageContext; data: SearchPageData }) {
  const { t } = ctx;
  const { answer } = data;
  const from = answer.total === 0 ? 0 : (data.page - 1) * data.limit + 1;
  const to = Math.min(answer.total, data.page * data.limit);
  const hidden: [string, string][] = [
    ...data.filters.map((f): [string, string] => [f.field, f.value]),
    ...(data.sort === 'relevance' ? [] : [['sort', data.sort] as [string, string]]),
  ];
  return (
    <>
      <h1>{data.q ? t('search.titleWithQuery', { q: data.q }) : t('search.title')}</h1>
      <SearchBox ctx={ctx} q={data.q} hidden={hidden} />
      {data.filters.length === 0 ? null : (
        <section class="active-filters" aria-labelledby="active-filters">
          <h2 id="active-filters" class="small">
            {t('search.activeFilters')}
          </h2>
          <ul>
            {data.filters.map((f) => (
              <li key={`${f.field}=${f.value}`}>
                <a
                  class="chip"
                  href={data.href({ remove: f })}
                  aria-label={t('search.removeFilter', {
                    field: t(`facet.${f.field}`),
                    value: facetValueLabel(ctx, f.field, f.value),
                  })}
                >
                  {t(`facet.${f.field}`)}: {facetValueLabel(ctx, f.field, f.value)}{' '}
                  <span aria-hidden="true">×</span>
                </a>
              </li>
            ))}
            <li>
              <a href={data.href({ clear: true })}>{t('search.clearAll')}</a>
            </li>
          </ul>
        </section>
      )}
      <div class="search-layout">
        <aside class="facets" aria-labelledby="facets-title">
          <h2 id="facets-title">{t('search.facets')}</h2>
          {pageFacets.map((field) => (
            <Facet key={field} ctx={ctx} field={field} data={data} />
          ))}
        </aside>
        <section class="results" aria-labelledby="results-title">
          <div class="results-head">
            <h2 id="results-title" aria-live="polite">
              {answer.total === 0
                ? t('search.total', { total: 0 })
                : t('search.showing', { from, to, total: answer.total })}
            </h2>
            <SortForm ctx={ctx} data={data} />
          </div>
          {answer.total === 0 ? <NoResults ctx={ctx} data={data} /> : null}
          <ol class="hits" start={from}>
            {answer.hits.map((hit) => (
              <Hit key={hit.id} ctx={ctx} hit={hit} level={data.levels[hit.id] ?? 'public'} />
            ))}
          </ol>
          <Pager ctx={ctx} data={data} />
        </section>
      </div>
    </>
  );
}

function Facet({ ctx, field, data }: { ctx: PageContext; field: PageFacet; data: SearchPageData }) {
  const counts = data.answer.facets[field] ?? {};
  const values = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'zh-CN'))
    .slice(0, 12);
  const chosen = data.filters.filter((f) => f.field === field).map((f) => f.value);
  for (const value of chosen)
    if (!values.some(([v]) => v === value)) values.push([value, counts[value] ?? 0]);
  if (values.length === 0) return null;
  const id = `facet-${field}`;
  return (
    <section class="facet" aria-labelledby={id}>
      <h3 id={id}>{ctx.t(`facet.${field}`)}</h3>
      <ul>
        {values.map(([value, n]) => {
          const on = chosen.includes(value);
          const filter = { field, value };
          return (
            <li key={value}>
              <a
                href={on ? data.href({ remove: filter }) : data.href({ add: filter })}
                aria-current={on ? 'true' : undefined}
                class={on ? 'on' : undefined}
              >
                <span class="facet-value">{facetValueLabel(ctx, field, value)}</span>{' '}
                <span class="facet-count">{n}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function SortForm({ ctx, data }: { ctx: PageContext; data: SearchPageData }) {
  const { t } = ctx;
  return (
    <form method="get" action="/search" class="sort-form">
      <input type="hidden" name="q" value={data.q} />
      {data.filters.map((f, i) => (
        <input key={`${f.field}${i}`} type="hidden" name={f.field} value={f.value} />
      ))}
      <label for="sort">{t('search.sort')}</label>{' '}
      <select id="sort" name="sort" data-autosubmit>
        {sortOrders.map((s) => (
          <option key={s} value={s} selected={s === data.sort}>
            {t(`search.sort.${s}`)}
          </option>
        ))}
      </select>{' '}
      <button type="submit" class="secondary">
        {t('search.apply')}
      </button>
    </form>
  );
}

function Hit({ ctx, hit, level }: { ctx: PageContext; hit: SearchHitT; level: string }) {
  const { t } = ctx;
  const kindKey = `kind.${hit.kind}`;
  return (
    <li class="hit">
      <Thumb id={hit.id} alt={hit.title} />
      <div class="hit-body">
        <h3>
          <a href={itemPath(hit.id)}>
            <Marked html={hit.highlights.title} />
          </a>
        </h3>
        <p class="meta">
          {isMessageKey(kindKey) ? t(kindKey) : hit.kind}
          {hit.year === undefined ? null : ` · ${hit.year}`} <AccessMark ctx={ctx} level={level} />
        </p>
        {hit.highlights.text === undefined ? null : <Marked as="p" html={hit.highlights.text} />}
        {hit.moments === undefined || hit.moments.length === 0 ? null : (
          <div class="moments">
            <h4>{t('search.moments')}</h4>
            <ul>
              {hit.moments.map((m) => (
                <li key={`${m.file}@${m.start}`}>
                  <a
                    href={`${itemPath(hit.id)}?t=${m.start}#player`}
                    aria-label={t('search.momentLink', { time: clock(m.start) })}
                  >
                    <span class="time">{clock(m.start)}</span>
                  </a>{' '}
                  {m.speaker === undefined ? null : <span class="speaker">{m.speaker}：</span>}
                  <Marked html={m.text} />
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </li>
  );
}

function NoResults({ ctx, data }: { ctx: PageContext; data: SearchPageData }) {
  const { t } = ctx;
  return (
    <div class="no-results">
      <p>{data.q ? t('search.noResults', { q: data.q }) : t('search.noResultsBrowse')}</p>
      {data.suggestions.length === 0 ? null : (
        <>
          <p>{t('search.suggestions')}</p>
          <ul>
            {data.suggestions.map((s) => (
              <li key={s.href}>
                <a href={s.href}>{s.label}</a>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function Pager({ ctx, data }: { ctx: PageContext; data: SearchPageData }) {
  const { t } = ctx;
  const last = Math.max(1, Math.ceil(Math.min(data.answer.total, 10_000) / data.limit));
  if (last <= 1) return null;
  const pages = [...new Set([1, data.page - 2, data.page - 1, data.page, data.page + 1, data.page + 2, last])]
    .filter((p) => p >= 1 && p <= last)
    .sort((a, b) => a - b);
  return (
    <nav class="pager" aria-label={t('search.pagination')}>
      <ul>
        {data.page > 1 ? (
          <li>
            <a href={data.href({ page: data.page - 1 })} rel="prev">
              {t('search.prev')}
            </a>
          </li>
        ) : null}
        {pages.map((p) => (
          <li key={p}>
            {p === data.page ? (
              <span aria-current="page">{p}</span>
            ) : (
              <a href={data.href({ page: p })} aria-label={t('search.page', { page: p })}>
                {p}
              </a>
            )}
          </li>
        ))}
        {data.page < last ? (
          <li>
            <a href={data.href({ page: data.page + 1 })} rel="next">
              {t('search.next')}
            </a>
          </li>
        ) : null}
      </ul>
    </nav>
  );
}
