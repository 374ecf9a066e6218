import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Meilisearch, MeilisearchApiError, type Index, type Settings } from 'meilisearch';
import type { ReadScope } from '../archive/access.ts';
import type { ItemView } from '../archive/items.ts';
import type { LockManager } from '../archive/locks.ts';
import {
  facetFields,
  listFilterFields,
  MAX_PAGES_PER_HIT,
  type PageAnswerT,
  type PageDocumentT,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchHitT,
  type SegmentAnswerT,
  type SegmentDocumentT,
} from '../../schemas/search.ts';
import { CikuError } from '../errors.ts';
import type { AggregateRequest, StatQuery, StatResult } from './aggregate.ts';
import { projectFile } from '../project-file.ts';
import { analyzer, splitPinyin } from './analyzer.ts';
import { listFilterValues } from './documents.ts';
import {
  emptyAnswer,
  groupPages,
  groupSegments,
  hasEmptyListFilter,
  toHit,
  toPageHit,
  type PageRow,
  type SegmentRow,
} from './answers.ts';
import { needlesOf } from './highlight.ts';
import { catalogueHasher, keyOf, versionNumber } from './catalogue.ts';
import type {
  ChangesPage,
  ChangesRequest,
  IndexRebuild,
  IndexStats,
  ListPage,
  ListRequest,
  PageRequest,
  SearchIndex,
  SearchRequest,
  SegmentRequest,
} from './search-index.ts';

/**
 * The scale-out engine: Meilisearch through its official client. Three indexes, `<prefix>_items`,
 * `<prefix>_segments` and `<prefix>_pages` (document pages, shaped as segments are), with settings from `storage-config/meilisearch/` (applied on open and by
 * `npm run meili:settings`). Our analysis rides along as companion fields: `grams` (the bigram view, so infixes
 * match), `py` (pinyin, searched only for Latin queries), folded (simplified) text. Every write waits for its task.
 * Filters are built from validated values only, each string quoted and escaped: user text never becomes filter
 * syntax. `ciku reindex` fills fresh indexes and swaps them in with Meilisearch's atomic index swap (the client
 * sends the swap's `rename` field, so this needs Meilisearch ≥ 1.18; compose.yaml pins 1.19).
 *
 * Ranking: `exactness` before `attribute` in items.json (see its README): the record whose title is the query,
 * then titles that start with it, then the rest — the embedded engine's title tiers. The title is indexed folded
 * (`title`) and the query is sent folded, so 景德鎮手工製瓷技藝 is the same exact title as 景德镇手工制瓷技艺.
 *
 * Limits: Meilisearch indexes at most 65,535 positions per attribute, so long bodies are cut (the whole text stays
 * searchable per segment for transcripts); totals are exact up to `pagination.maxTotalHits`.
 *
 * The item catalogue is a third index, `<prefix>_catalogue` (settings below), read by keyset: every page is the
 * first `limit + 1` hits of a filter "after the cursor's key" sorted by the keys, never an offset (which would stop
 * at `maxTotalHits` and shift under writes). The keys are chosen for what Meilisearch filters and sorts exactly:
 * numbers (`updated_ms`, the embargo day) and a lowercase hex spelling of the id (`id_hex`). Meilisearch compares
 * and sorts *normalized* strings (NFKD, lowercased: `A-1` = `a-1`; and before 1.41 range filters compared the raw
 * filter value with normalized document values), so no raw id or organisation name is ever a filter key: the
 * hex of the id's bytes normalizes to itself and sorts in the id's byte order, and organisations are filtered by
 * the hex sha1 of their name.
 */

const MAX_BODY_CHARS = 30_000;

/** The catalogue's settings (code, not storage-config: its attributes are this module's own encoding). */
export const CATALOGUE_SETTINGS: Settings = {
  searchableAttributes: ['item_id'],
  displayedAttributes: ['item_id', 'vnum', 'updated_ms', 'view'],
  filterableAttributes: [
    'kind',
    'acc_level',
    'acc_embargo',
    'acc_org_h',
    'deleted',
    'updated_ms',
    'id_hex',
    'touched',
  ],
  sortableAttributes: ['updated_ms', 'id_hex'],
  // A placeholder search drops the relevancy rules: the hits come in the sort's order alone.
  rankingRules: ['words', 'sort'],
};

export function meiliSettings(which: 'items' | 'segments' | 'pages' | 'catalogue'): Settings {
  if (which === 'catalogue') return CATALOGUE_SETTINGS;
  const file = projectFile(import.meta.url, `storage-config/meilisearch/${which}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as Settings;
}

/** Meilisearch document ids allow [A-Za-z0-9_-]: item ids (which also allow `.`) go in as base64url. */
function docId(itemId: string): string {
  return Buffer.from(itemId, 'utf8').toString('base64url');
}

function segId(s: SegmentDocumentT): string {
  return createHash('sha1').update(`${s.item_id}\n${s.file}\n${s.n}`).digest('hex');
}

function pageId(p: PageDocumentT): string {
  return createHash('sha1').update(`${p.item_id}\n${p.file}\n${p.page}`).digest('hex');
}

/** Characters of a page's text Meilisearch indexes (it keeps 65,535 positions per attribute). */
const MAX_PAGE_CHARS = 30_000;

/** yyyymmdd as a number (Meilisearch compares numbers, not strings); 0 for no embargo. */
function dayNumber(date: string | undefined): number {
  return date === undefined ? 0 : Number(date.replaceAll('-', ''));
}

/** A filter string literal: double-quoted with `"` and `\` escaped. */
function lit(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function sha1(value: string): string {
  return createHash('sha1').update(value).digest('hex');
}

/** The read scope over catalogue rows (organisations compared by hash: see the module comment). */
function catalogueScopeFilter(scope: ReadScope): string | undefined {
  if (scope.all) return undefined;
  const visible = `(acc_level IN [${scope.levels.map(lit).join(', ')}] AND acc_embargo <= ${dayNumber(scope.today)})`;
  return scope.organisation === undefined
    ? visible
    : `(${visible} OR acc_org_h = ${lit(sha1(scope.organisation))})`;
}

function catalogueRow(item: ItemView): Record<string, unknown> {
  return {
    id: docId(item.id),
    item_id: item.id,
    kind: item.kind,
    vnum: versionNumber(item.version),
    updated_ms: keyOf(item).updated,
    id_hex: Buffer.from(item.id, 'utf8').toString('hex'),
    acc_level: item.access.level,
    acc_embargo: dayNumber(item.access.embargo_until),
    acc_org_h: item.access.organisation === undefined ? null : sha1(item.access.organisation),
    deleted: item.tombstone !== undefined,
    touched: Date.now(),
    view: JSON.stringify(item),
  };
}

/** The filter and sort of a catalogue page. */
function catalogueQuery(request: ListRequest): { filter: string[]; sort: string[] } {
  const filter = ['deleted = false'];
  const scope = catalogueScopeFilter(request.scope);
  if (scope) filter.push(scope);
  if (request.kind !== undefined) filter.push(`kind = ${lit(request.kind)}`);
  const a = request.after;
  const hex = a === undefined ? '' : lit(Buffer.from(a.id, 'utf8').toString('hex'));
  if (request.sort === 'id') {
    if (a) filter.push(`id_hex > ${hex}`);
    return { filter, sort: ['id_hex:asc'] };
  }
  const asc = request.sort === 'updated';
  const [cmp, dir] = asc ? ['>', 'asc'] : ['<', 'desc'];
  if (a)
    filter.push(`(updated_ms ${cmp} ${a.updated} OR (updated_ms = ${a.updated} AND id_hex ${cmp} ${hex}))`);
  return { filter, sort: [`updated_ms:${dir}`, `id_hex:${dir}`] };
}

function isMissingDocument(err: unknown): boolean {
  return err instanceof MeilisearchApiError && err.cause?.code === 'document_not_found';
}

function scopeFilter(scope: ReadScope): string | undefined {
  if (scope.all) return undefined;
  const visible = `(acc_level IN [${scope.levels.map(lit).join(', ')}] AND acc_embargo <= ${dayNumber(scope.today)})`;
  return scope.organisation === undefined ? visible : `(${visible} OR acc_org = ${lit(scope.organisation)})`;
}

type MeiliItem = Record<string, unknown> & { id: string; item_id: string };

function toMeili(doc: SearchDocumentT, segments: SegmentDocumentT[], pages: PageDocumentT[]): MeiliItem {
  const a = analyzer();
  const body = doc.text.body.slice(0, MAX_BODY_CHARS);
  return {
    id: docId(doc.id),
    item_id: doc.id,
    version: doc.version,
    title: a.fold(doc.title),
    title_sort: doc.title_sort,
    date: doc.date ?? null,
    year: doc.year ?? null,
    ...listFilterValues(doc),
    has_media: doc.has_media,
    ...(doc.geo ? { _geo: { lat: doc.geo.lat, lng: doc.geo.lon } } : {}),
    acc_level: doc.access.level,
    acc_embargo: dayNumber(doc.access.embargo_until),
    acc_org: doc.access.organisation ?? null,
    meta: a.fold(doc.text.meta),
    body: a.fold(body),
    grams: a.grams(a.fold(`${doc.title}\n${doc.text.meta}\n${body}`)),
    py: a.pinyin(`${doc.title}\n${doc.text.names}`),
    doc: JSON.stringify(doc),
    n_pages: pages.length,
    // Pages join the hashed content only when there are any: an item without documents hashes as before.
    hash: createHash('sha256')
      .update(JSON.stringify(pages.length > 0 ? [doc, segments, pages] : [doc, segments]))
      .digest('hex'),
  };
}

function pageToMeili(doc: SearchDocumentT, p: PageDocumentT): Record<string, unknown> {
  const a = analyzer();
  const text = a.fold(p.text.slice(0, MAX_PAGE_CHARS));
  return {
    id: pageId(p),
    item_id: p.item_id,
    kind: doc.kind,
    title: doc.title,
    file: p.file,
    page: p.page,
    ocr: p.ocr,
    label: p.label ?? null,
    raw: p.text,
    text,
    grams: a.grams(text),
    acc_level: doc.access.level,
    acc_embargo: dayNumber(doc.access.embargo_until),
    acc_org: doc.access.organisation ?? null,
  };
}

function pageRowOf(h: Record<string, unknown>): PageRow {
  return {
    file: h.file as string,
    page: h.page as number,
    ocr: h.ocr as boolean,
    label: (h.label as string | null) ?? null,
    text: h.raw as string,
  };
}

function segmentToMeili(doc: SearchDocumentT, s: SegmentDocumentT): Record<string, unknown> {
  const a = analyzer();
  const text = a.fold(s.speaker === undefined ? s.text : `${s.speaker}：${s.text}`);
  return {
    id: segId(s),
    item_id: s.item_id,
    kind: doc.kind,
    title: doc.title,
    file: s.file,
    n: s.n,
    start: s.start,
    end: s.end,
    speaker: s.speaker ?? null,
    raw: s.text,
    text,
    grams: a.grams(text),
    acc_level: doc.access.level,
    acc_embargo: dayNumber(doc.access.embargo_until),
    acc_org: doc.access.organisation ?? null,
  };
}

/** The query Meilisearch gets: folded text, or pinyin syllables for a Latin query that reads as pinyin. */
function meiliQuery(q: string): { q: string; pinyin: boolean } {
  const parsed = analyzer().parseQuery(q);
  const words = parsed.segments.flatMap((s) => s.map((r) => r.text));
  if (parsed.latinOnly && words.length > 0) {
    const syl = words.map((w) => splitPinyin(w));
    if (syl.every((s) => s !== undefined)) return { q: `"${syl.flat().join(' ')}"`, pinyin: true };
  }
  return { q: words.join(' '), pinyin: false };
}

export interface MeiliIndexOptions {
  url: string;
  key?: string;
  /** Index uids are `<prefix>_items`, `<prefix>_segments`, `<prefix>_pages` and `<prefix>_catalogue`. */
  indexPrefix: string;
  /** How long a write waits for its task. */
  taskTimeoutMs?: number;
  /**
   * Item locks shared by every process writing this Meilisearch (Redis): a catalogue row is read, compared and
   * written under its item's lock, so two processes' writes of one item never land out of order. Without it (one
   * process) writes of an item are serialised in this process only.
   */
  locks?: LockManager;
  /** The client to talk through (a test's fake); by default one made from `url` and `key`. */
  client?: Meilisearch;
}

/**
 * How far writers' clocks may be behind this one (catalogue rows carry `touched`, stamped by whichever machine
 * wrote them): a rebuild copies the rows touched since its start (or its last copy) less this.
 */
const CLOCK_MARGIN_MS = 60_000;
/** Copy passes before a rebuild's swap at most, and the count of rows copied that makes a pass the last. */
const PRE_SWAP_PASSES = 3;
const SHORT_TAIL = 50;

function clientOf(options: MeiliIndexOptions): Meilisearch {
  return (
    options.client ?? new Meilisearch({ host: options.url, ...(options.key ? { apiKey: options.key } : {}) })
  );
}

export function createMeiliIndex(options: MeiliIndexOptions): SearchIndex {
  const client = clientOf(options);
  const timeout = options.taskTimeoutMs ?? 120_000;
  const itemsUid = `${options.indexPrefix}_items`;
  const segsUid = `${options.indexPrefix}_segments`;
  const pagesUid = `${options.indexPrefix}_pages`;
  const catUid = `${options.indexPrefix}_catalogue`;
  let prepared: Promise<void> | undefined;
  /** The tail of each item's chain of catalogue writes in this process. */
  const writing = new Map<string, Promise<unknown>>();

  function ready(): Promise<void> {
    prepared ??= applyMeiliSettings(options);
    return prepared;
  }

  interface Target {
    items: Index;
    segs: Index;
    pages: Index;
  }

  async function putInto(
    to: Target,
    doc: SearchDocumentT,
    segments: SegmentDocumentT[],
    pages: PageDocumentT[],
  ) {
    await removeFrom(to, doc.id);
    await to.items.addDocuments([toMeili(doc, segments, pages)]).waitTask({ timeout });
    if (segments.length > 0) {
      await to.segs.addDocuments(segments.map((s) => segmentToMeili(doc, s))).waitTask({ timeout });
    }
    if (pages.length > 0) {
      await to.pages.addDocuments(pages.map((p) => pageToMeili(doc, p))).waitTask({ timeout });
    }
  }

  async function removeFrom(to: Target, itemId: string) {
    await to.items.deleteDocument(docId(itemId)).waitTask({ timeout });
    await to.segs.deleteDocuments({ filter: `item_id = ${lit(itemId)}` }).waitTask({ timeout });
    await to.pages.deleteDocuments({ filter: `item_id = ${lit(itemId)}` }).waitTask({ timeout });
  }

  const live = (): Target => ({
    items: client.index(itemsUid),
    segs: client.index(segsUid),
    pages: client.index(pagesUid),
  });

  /** The best pages of each hit that has any (one search per such hit, run together). */
  async function pagesOfHits(q: string, docs: { id: string; n_pages: number }[], scope: ReadScope) {
    const base = scopeFilter(scope);
    return Promise.all(
      docs.map(async (d) => {
        if (d.n_pages === 0) return [];
        const res = await client.index(pagesUid).search(q, {
          filter: [...(base ? [base] : []), `item_id = ${lit(d.id)}`],
          limit: MAX_PAGES_PER_HIT,
          matchingStrategy: 'all',
        });
        return res.hits.map(pageRowOf);
      }),
    );
  }

  async function catalogueVersion(uid: string, itemId: string): Promise<number | undefined> {
    try {
      const d = await client.index(uid).getDocument(docId(itemId), { fields: ['vnum'] });
      return d.vnum as number;
    } catch (err) {
      if (isMissingDocument(err)) return undefined;
      throw err;
    }
  }

  /**
   * Writes the row unless the index holds a later version (`onlyNewer`: or the same one): compared and written
   * under the item's lock. Answers whether it wrote.
   */
  function putCatalogue(uid: string, item: ItemView, onlyNewer = false): Promise<boolean> {
    const run = async () => {
      const lock = await options.locks?.acquire(`catalogue:${docId(item.id)}`);
      try {
        const held = await catalogueVersion(uid, item.id);
        const version = versionNumber(item.version);
        if (held !== undefined && (held > version || (onlyNewer && held === version))) return false;
        await client
          .index(uid)
          .addDocuments([catalogueRow(item)])
          .waitTask({ timeout });
        return true;
      } finally {
        await lock?.release();
      }
    };
    const key = `${uid}\n${item.id}`;
    const next = (writing.get(key) ?? Promise.resolve()).then(run, run);
    writing.set(key, next);
    void next
      .finally(() => {
        if (writing.get(key) === next) writing.delete(key);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * The rows of catalogue `from` touched since `sinceMs`, written into `to` where newer (each under its lock).
   * Answers how many it wrote.
   */
  async function copyTouched(from: string, to: string, sinceMs: number): Promise<number> {
    let copied = 0;
    for (let offset = 0; ; offset += 1000) {
      const page = await client.index(from).getDocuments({
        offset,
        limit: 1000,
        fields: ['view'],
        filter: `touched >= ${sinceMs}`,
      });
      for (const d of page.results)
        if (await putCatalogue(to, JSON.parse(d.view as string) as ItemView, true)) copied++;
      if (page.results.length < 1000) break;
    }
    return copied;
  }

  async function forgetCatalogue(uid: string, itemId: string): Promise<void> {
    await client.index(uid).deleteDocument(docId(itemId)).waitTask({ timeout });
  }

  async function listItems(request: ListRequest): Promise<ListPage> {
    const { filter, sort } = catalogueQuery(request);
    const res = await client.index(catUid).search('', {
      filter,
      sort,
      limit: request.limit + 1,
      offset: 0,
      attributesToRetrieve: ['view'],
    });
    const items = res.hits.slice(0, request.limit).map((h) => JSON.parse(h.view as string) as ItemView);
    const last = items[items.length - 1];
    return res.hits.length > request.limit && last ? { items, next: keyOf(last) } : { items };
  }

  /** Every row in the range after the key, tombstones and every access level included (`listChanges`). */
  async function listChanges(request: ChangesRequest): Promise<ChangesPage> {
    const filter: string[] = [];
    if (request.kind !== undefined) filter.push(`kind = ${lit(request.kind)}`);
    if (request.fromMs !== undefined) filter.push(`updated_ms >= ${request.fromMs}`);
    if (request.untilMs !== undefined) filter.push(`updated_ms <= ${request.untilMs}`);
    const a = request.after;
    if (a) {
      const hex = lit(Buffer.from(a.id, 'utf8').toString('hex'));
      filter.push(`(updated_ms > ${a.updated} OR (updated_ms = ${a.updated} AND id_hex > ${hex}))`);
    }
    const res = await client.index(catUid).search('', {
      filter,
      sort: ['updated_ms:asc', 'id_hex:asc'],
      limit: request.limit + 1,
      offset: 0,
      attributesToRetrieve: ['view'],
    });
    const items = res.hits.slice(0, request.limit).map((h) => JSON.parse(h.view as string) as ItemView);
    const last = items[items.length - 1];
    return res.hits.length > request.limit && last ? { items, next: keyOf(last) } : { items };
  }

  async function catalogueStats(uid: string) {
    const rows: { id: string; vnum: number; view: string }[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await client
        .index(uid)
        .getDocuments({ offset, limit: 1000, fields: ['item_id', 'vnum', 'view'] });
      for (const d of page.results)
        rows.push({ id: d.item_id as string, vnum: d.vnum as number, view: d.view as string });
      if (page.results.length < 1000) break;
    }
    rows.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const h = catalogueHasher();
    for (const r of rows) h.add(r.id, r.vnum, r.view);
    return h.result();
  }

  function filtersOf(request: SearchRequest): string[] {
    const f = request.filters;
    const out: string[] = [];
    const scope = scopeFilter(request.scope);
    if (scope) out.push(scope);
    for (const key of listFilterFields) {
      const values: (string | number)[] | undefined = f[key];
      if (values !== undefined) out.push(`${key} IN [${values.map(lit).join(', ')}]`);
    }
    if (f.year_from !== undefined) out.push(`year >= ${f.year_from}`);
    if (f.year_to !== undefined) out.push(`year <= ${f.year_to}`);
    if (f.has_media !== undefined) out.push(`has_media = ${f.has_media}`);
    if (f.near) out.push(`_geoRadius(${f.near.lat}, ${f.near.lon}, ${Math.round(f.near.radius_km * 1000)})`);
    if (f.bbox) {
      const [west, south, east, north] = f.bbox;
      out.push(`_geoBoundingBox([${north}, ${east}], [${south}, ${west}])`);
    }
    return out;
  }

  /**
   * A count from the items index's facets: one facet field (or none: the total), counts only, as things stand now.
   * What facets cannot give (sums, files, cross tables, fields not in the documents, counts at an earlier date) is
   * answered as unavailable, never guessed.
   */
  async function facetCounts(request: AggregateRequest, query: StatQuery): Promise<StatResult> {
    const field = query.by[0];
    if (
      query.source !== 'items' ||
      query.by.length > 1 ||
      (query.sums ?? []).length > 0 ||
      (field !== undefined && !(facetFields as readonly string[]).includes(field)) ||
      (request.createdBefore !== undefined && request.createdBefore <= new Date().toISOString())
    )
      return { unavailable: 'the Meilisearch engine counts single facet fields only, as they stand now' };
    const filter: string[] = [];
    const scope = scopeFilter(request.scope);
    if (scope) filter.push(scope);
    if (query.kind !== undefined) filter.push(`kind = ${lit(query.kind)}`);
    const res = await client.index(itemsUid).search('', {
      filter,
      limit: 0,
      ...(field === undefined ? {} : { facets: [field] }),
    });
    if (field === undefined) return { rows: [{ key: [], count: res.estimatedTotalHits ?? 0, sums: {} }] };
    const numeric = field === 'batch' || field === 'year';
    return {
      rows: Object.entries(res.facetDistribution?.[field] ?? {}).map(([value, count]) => ({
        key: [numeric ? Number(value) : value],
        count,
        sums: {},
      })),
    };
  }

  function sortOf(sort: SearchRequest['sort']): string[] | undefined {
    if (sort === 'date') return ['date:asc'];
    if (sort === '-date') return ['date:desc'];
    if (sort === 'title') return ['title_sort:asc'];
    return undefined;
  }

  return {
    engine: 'meilisearch',
    async put(doc, segments, pages = []) {
      await ready();
      await putInto(live(), doc, segments, pages);
    },
    async remove(itemId) {
      await ready();
      await removeFrom(live(), itemId);
    },
    async putItem(item) {
      await ready();
      await putCatalogue(catUid, item);
    },
    async forgetItem(itemId) {
      await ready();
      await forgetCatalogue(catUid, itemId);
    },
    async listItems(request) {
      await ready();
      return listItems(request);
    },
    async listChanges(request) {
      await ready();
      return listChanges(request);
    },
    async listChangeHeads(request) {
      await ready();
      // The catalogue keeps organisations hashed: the heads come from the views.
      const page = await listChanges(request);
      const rows = page.items.map((v) => ({
        id: v.id,
        updated: keyOf(v).updated,
        version: v.version,
        kind: v.kind,
        access: v.access,
        deleted: v.tombstone !== undefined,
      }));
      return page.next === undefined ? { rows } : { rows, next: page.next };
    },
    async cataloguedVersion(itemId) {
      await ready();
      const v = await catalogueVersion(catUid, itemId);
      return v === undefined ? undefined : `v${v}`;
    },
    async aggregate(request) {
      await ready();
      return Promise.all(request.queries.map((q) => facetCounts(request, q)));
    },
    async search(request) {
      await ready();
      // `x IN []` is not valid filter syntax: an empty value list matches nothing.
      if (hasEmptyListFilter(request.filters)) return emptyAnswer(request);
      const parsed = analyzer().parseQuery(request.q);
      const { q, pinyin } = meiliQuery(request.q);
      const sort = sortOf(request.sort);
      const res = await client.index(itemsUid).search(q, {
        filter: filtersOf(request),
        facets: request.facets,
        page: request.page,
        hitsPerPage: request.limit,
        matchingStrategy: 'all',
        attributesToRetrieve: ['doc', 'n_pages'],
        ...(pinyin ? { attributesToSearchOn: ['py'] } : {}),
        ...(sort ? { sort } : {}),
      });
      const needles = needlesOf(parsed);
      const docs = res.hits.map((h) => JSON.parse(h.doc as string) as SearchDocumentT);
      const hits: SearchHitT[] = docs.map((doc) => toHit(doc, needles));
      if (parsed.segments.length > 0 && !pinyin) {
        const found = await pagesOfHits(
          q,
          docs.map((doc, i) => ({ id: doc.id, n_pages: (res.hits[i]!.n_pages as number | undefined) ?? 0 })),
          request.scope,
        );
        found.forEach((rows, i) => {
          if (rows.length > 0) hits[i]!.pages = rows.map((r) => toPageHit(r, needles));
        });
      }
      const facets: SearchAnswerT['facets'] = {};
      for (const f of request.facets) facets[f] = res.facetDistribution?.[f] ?? {};
      return { total: res.totalHits, page: request.page, limit: request.limit, hits, facets };
    },
    async searchSegments(request: SegmentRequest): Promise<SegmentAnswerT> {
      await ready();
      const parsed = analyzer().parseQuery(request.q);
      const { q } = meiliQuery(request.q);
      const filter: string[] = [];
      const scope = scopeFilter(request.scope);
      if (scope) filter.push(scope);
      if (request.item !== undefined) filter.push(`item_id = ${lit(request.item)}`);
      if (request.speaker !== undefined) filter.push(`speaker = ${lit(request.speaker)}`);
      if (parsed.segments.length === 0)
        return { total: 0, page: request.page, limit: request.limit, items: [] };
      const res = await client.index(segsUid).search(q, {
        filter,
        page: request.page,
        hitsPerPage: request.limit,
        matchingStrategy: 'all',
      });
      const rows: SegmentRow[] = res.hits.map((h) => ({
        id: h.item_id as string,
        kind: h.kind as string,
        title: h.title as string,
        file: h.file as string,
        start: h.start as number,
        end: h.end as number,
        speaker: h.speaker as string | null,
        text: h.raw as string,
      }));
      return groupSegments(request, res.totalHits, rows, needlesOf(parsed));
    },
    async searchPages(request: PageRequest): Promise<PageAnswerT> {
      await ready();
      const parsed = analyzer().parseQuery(request.q);
      const { q } = meiliQuery(request.q);
      if (parsed.segments.length === 0)
        return { total: 0, page: request.page, limit: request.limit, items: [] };
      const filter: string[] = [];
      const scope = scopeFilter(request.scope);
      if (scope) filter.push(scope);
      if (request.item !== undefined) filter.push(`item_id = ${lit(request.item)}`);
      if (request.file !== undefined) filter.push(`file = ${lit(request.file)}`);
      const res = await client.index(pagesUid).search(q, {
        filter,
        page: request.page,
        hitsPerPage: request.limit,
        matchingStrategy: 'all',
      });
      const rows = res.hits.map((h) => ({
        ...pageRowOf(h),
        id: h.item_id as string,
        kind: h.kind as string,
        title: h.title as string,
      }));
      return groupPages(request, res.totalHits, rows, needlesOf(parsed));
    },
    async indexedVersion(itemId) {
      await ready();
      try {
        const d = await client.index(itemsUid).getDocument(docId(itemId), { fields: ['version'] });
        return d.version as string;
      } catch {
        return undefined;
      }
    },
    async stats(): Promise<IndexStats> {
      await ready();
      const rows: { id: string; hash: string }[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await client
          .index(itemsUid)
          .getDocuments({ offset, limit: 1000, fields: ['item_id', 'hash'] });
        for (const d of page.results) rows.push({ id: d.item_id as string, hash: d.hash as string });
        if (page.results.length < 1000) break;
      }
      rows.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      const hash = createHash('sha256');
      for (const r of rows) hash.update(`${r.id}\t${r.hash}\n`);
      const segStats = await client.index(segsUid).getStats();
      const pageStats = await client.index(pagesUid).getStats();
      return {
        documents: rows.length,
        segments: segStats.numberOfDocuments,
        pages: pageStats.numberOfDocuments,
        contentHash: hash.digest('hex'),
        catalogue: await catalogueStats(catUid),
      };
    },
    async count() {
      await ready();
      return (await client.index(itemsUid).getStats()).numberOfDocuments;
    },
    async rebuild(): Promise<IndexRebuild> {
      await ready();
      const suffix = `next_${Date.now().toString(36)}`;
      const nextItems = `${options.indexPrefix}_next_items_${suffix}`;
      const nextSegs = `${options.indexPrefix}_next_segments_${suffix}`;
      const nextPages = `${options.indexPrefix}_next_pages_${suffix}`;
      const nextCat = `${options.indexPrefix}_next_catalogue_${suffix}`;
      await applyMeiliSettings({ ...options, indexPrefix: `${options.indexPrefix}_next` }, suffix);
      const next: Target = {
        items: client.index(nextItems),
        segs: client.index(nextSegs),
        pages: client.index(nextPages),
      };
      const startedAt = Date.now();
      const drop = async () => {
        for (const uid of [nextItems, nextSegs, nextPages, nextCat])
          await client.deleteIndex(uid).waitTask({ timeout });
      };
      return {
        put: (doc, segments, pages = []) => putInto(next, doc, segments, pages),
        remove: (itemId) => removeFrom(next, itemId),
        putItem: async (item) => {
          await putCatalogue(nextCat, item);
        },
        forgetItem: (itemId) => forgetCatalogue(nextCat, itemId),
        async commit() {
          // Before the swap, the commits that reached the live catalogue while the archive was read are copied
          // into the new one (where newer): the swap then makes no row live that is older than what was listed
          // before it — an item made private or deleted during the rebuild is never listed with its old public
          // row. (Copied after the swap, as before, such a row was served to anonymous callers until the copy
          // reached it: as long as copying every commit of the rebuild took.) Each pass copies what landed during
          // the one before, so the last pass, just before the swap, is short.
          let since = startedAt - CLOCK_MARGIN_MS;
          for (let pass = 1; pass <= PRE_SWAP_PASSES; pass++) {
            const next = Date.now() - CLOCK_MARGIN_MS;
            const copied = await copyTouched(catUid, nextCat, since);
            since = next;
            if (copied <= SHORT_TAIL) break;
          }
          await client
            .swapIndexes([
              { indexes: [itemsUid, nextItems], rename: false },
              { indexes: [segsUid, nextSegs], rename: false },
              { indexes: [pagesUid, nextPages], rename: false },
              { indexes: [catUid, nextCat], rename: false },
            ])
            .waitTask({ timeout });
          // After it, only the short tail: commits that landed in the old catalogue during the last pass (tasks
          // enqueued before the swap ran before it). Live writers in other processes do not know a rebuild is
          // open: having them write both catalogues would need a shared flag every commit reads, for a window
          // that is now the last pass and the swap task, not the whole copy-over.
          await copyTouched(nextCat, catUid, since);
          await drop();
        },
        abort: drop,
      };
    },
    async ping() {
      const h = await client.health();
      if (h.status !== 'available')
        throw new CikuError('CIKU_ERR_UNAVAILABLE', `meilisearch is ${String(h.status)}`);
    },
    close: () => Promise.resolve(),
  };
}

/** Creates the indexes if needed and applies `storage-config/meilisearch/*.json` (waits for both tasks). */
export async function applyMeiliSettings(options: MeiliIndexOptions, suffix?: string): Promise<void> {
  const client = clientOf(options);
  const timeout = options.taskTimeoutMs ?? 120_000;
  for (const which of ['items', 'segments', 'pages', 'catalogue'] as const) {
    const uid = `${options.indexPrefix}_${which}${suffix === undefined ? '' : `_${suffix}`}`;
    const exists = await client
      .getIndex(uid)
      .then(() => true)
      .catch(() => false);
    if (!exists) await client.createIndex(uid, { primaryKey: 'id' }).waitTask({ timeout });
    await client.index(uid).updateSettings(meiliSettings(which)).waitTask({ timeout });
  }
}
