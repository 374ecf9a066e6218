import {
  MAX_PAGES_PER_HIT,
  type FacetField,
  type PageAnswerT,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchHitT,
  type SegmentAnswerT,
} from '../../schemas/search.ts';
import { CikuError } from '../errors.ts';
import { analyzer, queryKey, type ParsedQuery } from './analyzer.ts';
import {
  emptyAnswer,
  groupPages,
  groupSegments,
  hasEmptyListFilter,
  toHit,
  toPageHit,
  type PageRow as PageTextRow,
  type SegmentRow,
} from './answers.ts';
import { canRelax, ftsExpression, type FtsColumns } from './fts-query.ts';
import { markAll, needlesOf } from './highlight.ts';
import type { PageRequest, SearchRequest, SegmentRequest } from './search-index.ts';
import { aclExpression, filterSql, residualSql, scopeSql } from './sqlite-access.ts';
import { embargoDays, FACET_COLUMNS, prep, type Db } from './sqlite-schema.ts';

/**
 * Searches over the index file: a plan (which tables, which MATCH, which conditions; pure), then the page read in
 * one transaction (facet counts, the page's row ids, their documents), then the hits cut from the documents with
 * the interview moments that match.
 */

/** Column weights for bm25, in the order of docs_fts's columns. */
const WEIGHTS = [40, 4, 1, 20, 2, 0.5, 10, 0];
const DOC_COLUMNS: FtsColumns = {
  grams: ['title', 'meta', 'body'],
  words: ['title_w', 'meta_w', 'body_w'],
  pinyin: 'py',
};
const SEG_COLUMNS: FtsColumns = { grams: ['text'], words: ['text_w'] };
/** pages_fts has the columns of segs_fts. */
const PAGE_COLUMNS = SEG_COLUMNS;
const TITLE_COLUMNS: FtsColumns = { grams: ['title'], words: ['title_w'], pinyin: 'py' };
/** Up to this many matches are all ranked by BM25 by default; past it, see the tiers in pageByTiers. */
export const RANK_ALL = 20_000;

/**
 * What a reader expects of relevance before any score: the record whose title *is* the query first, then titles
 * that start with it, then BM25. BM25 alone cannot say it: a title match saturates its term frequency, so a short
 * title equal to the query scores about as well as a long one containing it, and bodies that repeat the words
 * then decide (the national project 景德镇手工制瓷技艺 fell behind dozens of "某某（景德镇手工制瓷技艺·满窑）").
 * Both tiers compare title keys (analyzer titleKey: folded, punctuation and spacing aside) through the
 * docs_title_key index; `upper` closes the prefix range (U+10FFFF sorts after every character that can follow).
 */
export interface TitleTiers {
  key: string;
  upper: string;
}

const EXACT_TITLES = 'SELECT rid FROM docs WHERE title_key = @key';
const PREFIX_TITLES = 'SELECT rid FROM docs WHERE title_key >= @key AND title_key < @upper';
/** The ORDER BY terms of the title tiers over docs_fts rows (each set is read once, then probed per row). */
const TIER_ORDER = `rowid IN (${EXACT_TITLES}) DESC, rowid IN (${PREFIX_TITLES}) DESC`;
const BM25 = `bm25(docs_fts, ${WEIGHTS.join(', ')})`;

function titleTiersOf(parsed: ParsedQuery): TitleTiers | undefined {
  const key = queryKey(parsed);
  return key === '' ? undefined : { key, upper: `${key}\u{10FFFF}` };
}

/** How a search reads the index: its FROM, WHERE and their parameters. */
export interface SearchPlan {
  /** The FTS expression of the words; undefined when browsing (no words). */
  match: string | undefined;
  /** The scope and token filters as an expression on `acl` (undefined: none), ANDed to `match`. */
  acl: string | undefined;
  from: string;
  where: string;
  /** With a match, the first is the full MATCH expression (the words and `acl`). */
  params: unknown[];
  /** Whether `docs` is joined (the residual filters or the sort need its columns). */
  joined: boolean;
  score: string;
  /** The title tiers ranking by relevance orders by first; undefined when browsing or sorting by a column. */
  titles: TitleTiers | undefined;
}

interface PageRow {
  rid: number;
  doc: string;
  n_segs: number;
  n_pages: number;
}

interface Page {
  total: number;
  rows: PageRow[];
  facets: SearchAnswerT['facets'];
}

/** The request's words as an FTS expression: undefined when there are none, null when none can match. */
function matchOrNothing(
  parsed: ParsedQuery,
  columns: FtsColumns,
  strict: boolean,
): string | null | undefined {
  if (parsed.segments.length === 0) return undefined;
  return ftsExpression(parsed, columns, { strict }) ?? null;
}

/** Strict first (every Han run as written); when that finds nothing the caller may see, relaxed to its words. */
function strictThenRelaxed<A extends { total: number }>(parsed: ParsedQuery, run: (strict: boolean) => A): A {
  const strict = run(true);
  return strict.total === 0 && canRelax(parsed) ? run(false) : strict;
}

export function searchItems(live: () => Db, request: SearchRequest, rankAll: number): SearchAnswerT {
  const parsed = analyzer().parseQuery(request.q);
  if (parsed.segments.length > 64) {
    throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'query has more than 64 words: shorten it');
  }
  return strictThenRelaxed(parsed, (strict) => searchOnce(live(), request, parsed, strict, rankAll));
}

function searchOnce(
  d: Db,
  request: SearchRequest,
  parsed: ParsedQuery,
  strict: boolean,
  rankAll: number,
): SearchAnswerT {
  const plan = planSearch(request, parsed, strict, () => embargoDays(d));
  if (plan === undefined) return emptyAnswer(request);
  const page = d.transaction(() => readPage(d, request, parsed, strict, plan, rankAll))();
  const needles = needlesOf(parsed);
  const hits: SearchHitT[] = page.rows.map((r) => toHit(JSON.parse(r.doc) as SearchDocumentT, needles));
  if (plan.match !== undefined) {
    addMoments(d, parsed, strict, needles, page.rows, hits);
    addPages(d, parsed, strict, needles, page.rows, hits);
  }
  return { total: page.total, page: request.page, limit: request.limit, hits, facets: page.facets };
}

/**
 * The tables, MATCH and conditions of a search; undefined when nothing can match (words that cannot match, an
 * empty list filter). `embargoDays` is asked only when the words need the scope as tokens.
 */
export function planSearch(
  request: SearchRequest,
  parsed: ParsedQuery,
  strict: boolean,
  embargoDays: () => string[],
): SearchPlan | undefined {
  const match = matchOrNothing(parsed, DOC_COLUMNS, strict);
  if (match === null || hasEmptyListFilter(request.filters)) return undefined;
  const params: unknown[] = [];
  if (match === undefined) {
    // Browsing (no words): the docs table and plain SQL filters.
    const where = filterSql(request, params);
    return {
      match,
      acl: undefined,
      from: 'docs d',
      where,
      params,
      joined: true,
      score: '0',
      titles: undefined,
    };
  }
  // Access and list filters are index tokens: the MATCH answers them without a row lookup per match; the docs
  // table is joined only for what tokens cannot say (years, geography), facets and non-relevance sorts.
  const acl = aclExpression(request, embargoDays);
  params.push(acl === undefined ? match : `(${match}) AND ${acl}`);
  const residual = residualSql(request, params);
  const joined = residual.length > 0 || request.sort !== 'relevance';
  return {
    match,
    acl,
    from: joined ? 'docs_fts JOIN docs d ON d.rid = docs_fts.rowid' : 'docs_fts',
    where: ['docs_fts MATCH ?', ...residual].join(' AND '),
    params,
    joined,
    score: BM25,
    titles: request.sort === 'relevance' ? titleTiersOf(parsed) : undefined,
  };
}

/** The facets (with the total they give), the page's row ids (and the total, when not counted yet), the rows. */
function readPage(
  d: Db,
  request: SearchRequest,
  parsed: ParsedQuery,
  strict: boolean,
  plan: SearchPlan,
  rankAll: number,
): Page {
  const counted = request.facets.length > 0 ? countFacets(d, request, plan) : undefined;
  const offset = (request.page - 1) * request.limit;
  const { rids, total } =
    !plan.joined && plan.match !== undefined
      ? pageByIndex(d, request, parsed, strict, plan, offset, counted?.total, rankAll)
      : pageBySql(d, request, plan, offset, counted?.total);
  return { total, rows: loadRows(d, rids), facets: counted?.facets ?? {} };
}

/** One pass for every facet (and the total): counts per combination of the facet values, summed here. */
function countFacets(
  d: Db,
  request: SearchRequest,
  plan: SearchPlan,
): { facets: SearchAnswerT['facets']; total: number } {
  const cols = request.facets.map((f) => `d.${FACET_COLUMNS[f]}`);
  const combos = prep(
    d,
    `SELECT ${cols.join(', ')}, count(*) AS n FROM ${plan.joined ? plan.from : 'docs_fts JOIN docs d ON d.rid = docs_fts.rowid'}
       WHERE ${plan.where} GROUP BY ${cols.join(', ')}`,
  )
    .raw()
    .all(...plan.params) as unknown[][];
  const counted = request.facets.map(() => new Map<string, number>());
  let total = 0;
  for (const row of combos) {
    const n = row[row.length - 1] as number;
    total += n;
    request.facets.forEach((field, i) => {
      if (row[i] === null) return;
      const key = facetKey(field, row[i]);
      counted[i]!.set(key, (counted[i]!.get(key) ?? 0) + n);
    });
  }
  const facets: SearchAnswerT['facets'] = {};
  request.facets.forEach((field, i) => {
    const top = [...counted[i]!].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 200);
    facets[field] = Object.fromEntries(top);
  });
  return { facets, total };
}

function facetKey(field: FacetField, value: unknown): string {
  if (field === 'has_media') return value === 1 ? 'true' : 'false';
  return String(value);
}

/**
 * Relevance over the index alone. The total is a count of the MATCH (no row lookups); BM25 ranks every match
 * while there are at most `rankAll` of them, past that the page comes by tiers (pageByTiers).
 */
function pageByIndex(
  d: Db,
  request: SearchRequest,
  parsed: ParsedQuery,
  strict: boolean,
  plan: SearchPlan,
  offset: number,
  counted: number | undefined,
  rankAll: number,
): { rids: number[]; total: number } {
  const expr = plan.params[0] as string;
  const total = counted ?? countMatches(d, expr);
  const rids =
    total <= rankAll
      ? rankedRids(d, expr, request.limit, offset, 'rank', plan.titles)
      : pageByTiers(d, request, parsed, strict, plan, offset, rankAll);
  return { rids, total };
}

/**
 * The page of a match too large to rank (a single common character, a very common word): from the matches in
 * titles, then from the other matches, newest first. The title matches are ranked as a small match is (title
 * tiers, then BM25) while they are few; past that, the titles that are or start with the query still come first
 * (the exact one before the others), then the other title matches newest first. Every hit still matches, and no
 * query scores or sorts a million rows.
 */
function pageByTiers(
  d: Db,
  request: SearchRequest,
  parsed: ParsedQuery,
  strict: boolean,
  plan: SearchPlan,
  offset: number,
  rankAll: number,
): number[] {
  const all = plan.params[0] as string;
  const titleOnly = ftsExpression(parsed, TITLE_COLUMNS, { strict });
  const tier =
    titleOnly === undefined
      ? undefined
      : plan.acl === undefined
        ? titleOnly
        : `(${titleOnly}) AND ${plan.acl}`;
  const rest: Tier = {
    rows: (limit, skip) =>
      rankedRids(d, tier === undefined ? all : `(${all}) NOT (${tier})`, limit, skip, 'newest'),
  };
  if (tier === undefined) return pageOfTiers([rest], request.limit, offset);
  const inTier = countMatches(d, tier);
  const titles = plan.titles;
  if (inTier <= rankAll || titles === undefined) {
    const order = inTier <= rankAll ? 'rank' : 'newest';
    const inTitles = {
      count: () => inTier,
      rows: (l: number, s: number) => rankedRids(d, tier, l, s, order, titles),
    };
    return pageOfTiers([inTitles, rest], request.limit, offset);
  }
  let inPrefix: number | undefined;
  const prefixCount = () => (inPrefix ??= countInPrefix(d, tier, titles));
  return pageOfTiers(
    [
      { count: prefixCount, rows: (l, s) => rankedRids(d, tier, l, s, 'prefix', titles) },
      {
        count: () => inTier - prefixCount(),
        rows: (l, s) => rankedRids(d, tier, l, s, 'outside-prefix', titles),
      },
      rest,
    ],
    request.limit,
    offset,
  );
}

/** A tier of a page: how many rows it has (the last tier needs no count) and a slice of them in order. */
interface Tier {
  count?: () => number;
  rows: (limit: number, skip: number) => number[];
}

/** `limit` rows from `offset` over tiers in order, counting a tier only when the page may start past it. */
function pageOfTiers(tiers: Tier[], limit: number, offset: number): number[] {
  const rids: number[] = [];
  let skip = offset;
  tiers.forEach((tier, i) => {
    if (rids.length >= limit) return;
    const n = i === tiers.length - 1 || tier.count === undefined ? Infinity : tier.count();
    if (skip < n) rids.push(...tier.rows(limit - rids.length, skip));
    skip = Math.max(0, skip - n);
  });
  return rids;
}

function countMatches(d: Db, expr: string): number {
  return (prep(d, 'SELECT count(*) AS n FROM docs_fts WHERE docs_fts MATCH ?').get(expr) as { n: number }).n;
}

function countInPrefix(d: Db, expr: string, titles: TitleTiers): number {
  return (
    prep(
      d,
      `SELECT count(*) AS n FROM docs_fts WHERE docs_fts MATCH @expr AND rowid IN (${PREFIX_TITLES})`,
    ).get({
      expr,
      ...titles,
    }) as { n: number }
  ).n;
}

/**
 * Row ids of the matches of `expr` in an order: `rank` (the title tiers when given, then BM25), `newest` (rowid
 * descending), `prefix` (only the titles that start with the query: the exact one first, then newest) or
 * `outside-prefix` (the other matches, newest first). FTS5 yields rowid order as it reads, so the last two stop
 * after `skip + limit` rows; only `rank` and `prefix` sort, and only what is few enough to.
 */
function rankedRids(
  d: Db,
  expr: string,
  limit: number,
  skip: number,
  order: 'rank' | 'newest' | 'prefix' | 'outside-prefix',
  titles?: TitleTiers,
): number[] {
  const sql = {
    rank: `ORDER BY ${titles === undefined ? '' : `${TIER_ORDER}, `}${BM25}, rowid`,
    newest: 'ORDER BY rowid DESC',
    prefix: `AND rowid IN (${PREFIX_TITLES}) ORDER BY rowid IN (${EXACT_TITLES}) DESC, rowid DESC`,
    'outside-prefix': `AND rowid NOT IN (${PREFIX_TITLES}) ORDER BY rowid DESC`,
  }[order];
  const keys = order === 'newest' || titles === undefined ? {} : titles;
  return (
    prep(d, `SELECT rowid FROM docs_fts WHERE docs_fts MATCH @expr ${sql} LIMIT @limit OFFSET @skip`)
      .raw()
      .all({ expr, limit, skip, ...keys }) as [number][]
  ).map((r) => r[0]);
}

/**
 * Browsing, or a join the filters or the sort need: rank (or sort) the matches, the total counted in the same
 * pass (bm25() may not run under a window function, so the matches are materialised first).
 */
function pageBySql(
  d: Db,
  request: SearchRequest,
  plan: SearchPlan,
  offset: number,
  counted: number | undefined,
): { rids: number[]; total: number } {
  const { from, where, params, joined } = plan;
  const order = orderSql(request.sort, plan.match !== undefined);
  // The title tiers from the joined row itself (this path always joins docs when there are words).
  const titles = joined ? plan.titles : undefined;
  const tiers =
    titles === undefined
      ? '0 AS t_exact, 0 AS t_prefix'
      : '(d.title_key = ?) AS t_exact, (d.title_key >= ? AND d.title_key < ?) AS t_prefix';
  const page = prep(
    d,
    `WITH m AS MATERIALIZED (
         SELECT ${joined ? 'd.rid AS rid' : 'docs_fts.rowid AS rid'}, ${plan.score} AS score, ${tiers},
                ${joined ? 'd.title_sort' : 'NULL'} AS title_sort, ${joined ? 'd.date' : 'NULL'} AS date
         FROM ${from} WHERE ${where}
       )
       SELECT rid, ${counted === undefined ? 'count(*) OVER ()' : '0'} AS total
       FROM m ORDER BY ${order.replaceAll('d.', '')} LIMIT ? OFFSET ?`,
  )
    .raw()
    .all(
      ...(titles === undefined ? [] : [titles.key, titles.key, titles.upper]),
      ...params,
      request.limit,
      offset,
    ) as [number, number][];
  const total =
    counted ??
    page[0]?.[1] ??
    (offset === 0
      ? 0
      : (prep(d, `SELECT count(*) AS n FROM ${from} WHERE ${where}`).get(...params) as { n: number }).n);
  return { rids: page.map((r) => r[0]), total };
}

export function orderSql(sort: SearchRequest['sort'], hasQuery: boolean): string {
  switch (sort) {
    case 'date':
      return 'd.date IS NULL, d.date ASC, d.rid';
    case '-date':
      return 'd.date IS NULL, d.date DESC, d.rid';
    case 'title':
      return 'd.title_sort ASC, d.rid';
    case 'relevance':
      // t_exact and t_prefix: the title tiers (TitleTiers), 0 where the plan has none.
      return hasQuery ? 't_exact DESC, t_prefix DESC, score ASC, d.rid' : 'd.title_sort ASC, d.rid';
  }
}

function loadRows(d: Db, rids: number[]): PageRow[] {
  return rids.map(
    (rid) =>
      prep(
        d,
        'SELECT d.rid, b.doc, d.n_segs, d.n_pages FROM docs d JOIN bodies b ON b.rid = d.rid WHERE d.rid = ?',
      ).get(rid) as PageRow,
  );
}

/** Interviews: the moments the words are spoken (top 3 segments per hit item), set on `hits`. */
function addMoments(
  d: Db,
  parsed: ParsedQuery,
  strict: boolean,
  needles: string[],
  rows: PageRow[],
  hits: SearchHitT[],
): void {
  if (!rows.some((r) => r.n_segs > 0)) return;
  const segMatch = ftsExpression(parsed, SEG_COLUMNS, { strict });
  if (segMatch === undefined) return;
  const stmt = prep(
    d,
    `SELECT s.file, s.start, s."end" AS end, s.speaker, s.text FROM segs_fts JOIN segs s ON s.rid = segs_fts.rowid
     WHERE segs_fts MATCH ? AND s.item_rid = ? ORDER BY bm25(segs_fts, 1, 1) LIMIT 3`,
  );
  rows.forEach((r, i) => {
    if (r.n_segs === 0) return;
    const moments = stmt.all(segMatch, r.rid) as {
      file: string;
      start: number;
      end: number;
      speaker: string | null;
      text: string;
    }[];
    if (moments.length > 0) {
      hits[i]!.moments = moments.map((m) => ({
        file: m.file,
        start: m.start,
        end: m.end,
        ...(m.speaker === null ? {} : { speaker: m.speaker }),
        text: markAll(m.text, needles),
      }));
    }
  });
}

/** Documents: the pages the words are on (the best MAX_PAGES_PER_HIT per hit item), set on `hits`. */
function addPages(
  d: Db,
  parsed: ParsedQuery,
  strict: boolean,
  needles: string[],
  rows: PageRow[],
  hits: SearchHitT[],
): void {
  if (!rows.some((r) => r.n_pages > 0)) return;
  const pageMatch = ftsExpression(parsed, PAGE_COLUMNS, { strict });
  if (pageMatch === undefined) return;
  const stmt = prep(
    d,
    `SELECT p.file, p.page, p.ocr, p.label, p.text FROM pages_fts JOIN pages p ON p.rid = pages_fts.rowid
     WHERE pages_fts MATCH ? AND p.item_rid = ? ORDER BY bm25(pages_fts, 1, 1), p.rid LIMIT ${MAX_PAGES_PER_HIT}`,
  );
  rows.forEach((r, i) => {
    if (r.n_pages === 0) return;
    const found = stmt.all(pageMatch, r.rid) as PageTextRow[];
    if (found.length > 0) hits[i]!.pages = found.map((p) => toPageHit(p, needles));
  });
}

/**
 * Pages of documents holding the words, under the caller's scope (joined to the item's row, as segments are): an
 * item the caller may not read, or one deleted (removed from the index), has no pages to answer.
 */
export function searchPages(live: () => Db, request: PageRequest): PageAnswerT {
  const parsed = analyzer().parseQuery(request.q);
  return strictThenRelaxed(parsed, (strict) => pagesOnce(live(), request, parsed, strict));
}

function pagesOnce(d: Db, request: PageRequest, parsed: ParsedQuery, strict: boolean): PageAnswerT {
  const match = matchOrNothing(parsed, PAGE_COLUMNS, strict);
  const none: PageAnswerT = { total: 0, page: request.page, limit: request.limit, items: [] };
  if (match === null || match === undefined) return none;
  const params: unknown[] = [match];
  let where = `pages_fts MATCH ? AND ${scopeSql(request.scope, params)}`;
  if (request.item !== undefined) {
    params.push(request.item);
    where += ' AND d.id = ?';
  }
  if (request.file !== undefined) {
    params.push(request.file);
    where += ' AND p.file = ?';
  }
  const from = 'pages_fts JOIN pages p ON p.rid = pages_fts.rowid JOIN docs d ON d.rid = p.item_rid';
  const { total, rows } = d.transaction(() => ({
    total: (prep(d, `SELECT count(*) AS n FROM ${from} WHERE ${where}`).get(...params) as { n: number }).n,
    rows: prep(
      d,
      `SELECT d.id, d.kind, (SELECT json_extract(b.doc, '$.title') FROM bodies b WHERE b.rid = d.rid) AS title,
              p.file, p.page, p.ocr, p.label, p.text FROM ${from}
         WHERE ${where} ORDER BY bm25(pages_fts, 1, 1), p.rid LIMIT ? OFFSET ?`,
    ).all(...params, request.limit, (request.page - 1) * request.limit) as (PageTextRow & {
      id: string;
      kind: string;
      title: string;
    })[],
  }))();
  return groupPages(request, total, rows, needlesOf(parsed));
}

export function searchSegments(live: () => Db, request: SegmentRequest): SegmentAnswerT {
  const parsed = analyzer().parseQuery(request.q);
  return strictThenRelaxed(parsed, (strict) => segmentsOnce(live(), request, parsed, strict));
}

function segmentsOnce(d: Db, request: SegmentRequest, parsed: ParsedQuery, strict: boolean): SegmentAnswerT {
  const match = matchOrNothing(parsed, SEG_COLUMNS, strict);
  const none: SegmentAnswerT = { total: 0, page: request.page, limit: request.limit, items: [] };
  if (match === null || match === undefined) return none;
  const params: unknown[] = [match];
  let where = `segs_fts MATCH ? AND ${scopeSql(request.scope, params)}`;
  if (request.item !== undefined) {
    params.push(request.item);
    where += ' AND d.id = ?';
  }
  if (request.speaker !== undefined) {
    params.push(request.speaker);
    where += ' AND s.speaker = ?';
  }
  const from = 'segs_fts JOIN segs s ON s.rid = segs_fts.rowid JOIN docs d ON d.rid = s.item_rid';
  const { total, rows } = d.transaction(() => ({
    total: (prep(d, `SELECT count(*) AS n FROM ${from} WHERE ${where}`).get(...params) as { n: number }).n,
    rows: prep(
      d,
      `SELECT d.id, d.kind, (SELECT json_extract(b.doc, '$.title') FROM bodies b WHERE b.rid = d.rid) AS title,
              s.file, s.start, s."end" AS end, s.speaker, s.text FROM ${from}
         WHERE ${where} ORDER BY bm25(segs_fts, 1, 1), s.rid LIMIT ? OFFSET ?`,
    ).all(...params, request.limit, (request.page - 1) * request.limit) as SegmentRow[],
  }))();
  return groupSegments(request, total, rows, needlesOf(parsed));
}
