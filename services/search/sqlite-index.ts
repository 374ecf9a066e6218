import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ReadScope } from '../archive/access.ts';
import type { ItemView } from '../archive/items.ts';
import {
  listFilterFields,
  type FacetField,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchHitT,
  type SegmentAnswerT,
  type SegmentDocumentT,
} from '../../schemas/search.ts';
import { CikuError } from '../errors.ts';
import { analyzer, type ParsedQuery } from './analyzer.ts';
import { canRelax, ftsExpression, type FtsColumns } from './fts-query.ts';
import { listFilterValues } from './documents.ts';
import { emptyAnswer, groupSegments, hasEmptyListFilter, toHit, type SegmentRow } from './answers.ts';
import { markAll, needlesOf } from './highlight.ts';
import type {
  IndexRebuild,
  IndexStats,
  ListPage,
  ListRequest,
  SearchIndex,
  SearchRequest,
  SegmentRequest,
} from './search-index.ts';
import {
  CATALOGUE_FORMAT,
  CATALOGUE_SCHEMA,
  sqliteCatalogue,
  type SqliteCatalogue,
} from './sqlite-catalogue.ts';
import {
  createWriterThread,
  type PreparedDoc,
  type PreparedSegment,
  type WriteSql,
} from './sqlite-writer.ts';
import { slicer, type Tick } from './slices.ts';

/**
 * The embedded engine: SQLite FTS5 (better-sqlite3) in one file under `<dataDir>/search/`. The FTS tables are
 * contentless (they hold the index only); the display text lives once, in `docs.doc` (the document's JSON), from
 * which highlights are cut. All analysis is ours (analyzer.ts), so FTS5 only sees space-separated tokens.
 *
 * Files: `search/CURRENT` names the live index file; `ciku reindex` builds `index-<stamp>.sqlite` beside it and
 * renames a new CURRENT over the old one (atomic), and every process notices the change on its next call and
 * reopens, so no reader ever sees a half-built index. The item catalogue (sqlite-catalogue.ts) lives in
 * `catalogue-<stamp>.sqlite` beside its index file and is swapped with it.
 */

/** The index file format; a file of another format is refused with a clear reason (`ciku reindex` rebuilds). */
const FORMAT = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  version TEXT NOT NULL,
  title_sort TEXT NOT NULL,
  date TEXT,
  year INTEGER,
  category TEXT, province TEXT, region TEXT, level TEXT, batch INTEGER, museum TEXT, period TEXT, series TEXT,
  has_media INTEGER NOT NULL,
  lat REAL, lon REAL,
  acc_level TEXT NOT NULL, acc_embargo TEXT, acc_org TEXT,
  hash TEXT NOT NULL,
  n_segs INTEGER NOT NULL DEFAULT 0
);
-- The display document, apart: the docs rows stay narrow, so scans and joins over many matches touch few pages.
CREATE TABLE IF NOT EXISTS bodies (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS docs_title_sort ON docs(title_sort);
CREATE INDEX IF NOT EXISTS docs_date ON docs(date);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
  title, meta, body, title_w, meta_w, body_w, py, acl,
  content='', contentless_delete=1, tokenize='unicode61', prefix='1'
);
CREATE TABLE IF NOT EXISTS embargo_dates (day TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segs (
  rid INTEGER PRIMARY KEY,
  item_rid INTEGER NOT NULL,
  file TEXT NOT NULL, n INTEGER NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL, speaker TEXT, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS segs_item ON segs(item_rid);
CREATE VIRTUAL TABLE IF NOT EXISTS segs_fts USING fts5(
  text, text_w, content='', contentless_delete=1, tokenize='unicode61', prefix='1'
);
`;

/** Column weights for bm25, in the order of docs_fts's columns. */
const WEIGHTS = [40, 4, 1, 20, 2, 0.5, 10, 0];
const DOC_COLUMNS: FtsColumns = {
  grams: ['title', 'meta', 'body'],
  words: ['title_w', 'meta_w', 'body_w'],
  pinyin: 'py',
};
const SEG_COLUMNS: FtsColumns = { grams: ['text'], words: ['text_w'] };
const TITLE_COLUMNS: FtsColumns = { grams: ['title'], words: ['title_w'], pinyin: 'py' };
/** Up to this many matches are all ranked by BM25 by default; past it, see the tiers in searchOnce. */
const RANK_ALL = 20_000;

const FACET_COLUMNS: Record<FacetField, string> = {
  kind: 'kind',
  category: 'category',
  province: 'province',
  region: 'region',
  level: 'level',
  batch: 'batch',
  museum: 'museum',
  period: 'period',
  series: 'series',
  year: 'year',
  has_media: 'has_media',
};

export interface SqliteIndexOptions {
  /** Folder holding CURRENT and the index files. */
  dir: string;
  /** Page cache per connection, in MiB (kept small: the OS page cache does the rest). */
  cacheMiB?: number;
  /** Matches ranked by BM25 at most (default 20,000); larger sets are paged by tiers (see searchOnce). */
  rankAll?: number;
  /** The catalogue's clock: the day its embargo sweep moves passed embargoes up to (sqlite-catalogue.ts). */
  clock?: () => Date;
}

type Db = Database.Database;

function openDb(file: string, cacheMiB: number): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.pragma(`cache_size = -${cacheMiB * 1024}`);
  db.pragma('temp_store = MEMORY');
  const version = db.pragma('user_version', { simple: true }) as number;
  const empty = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'docs'").get() as {
    n: number;
  };
  if (empty.n > 0 && version !== FORMAT) {
    db.close();
    throw new CikuError(
      'CIKU_ERR_UNAVAILABLE',
      `the search index ${path.basename(file)} has format ${version}, this build reads format ${FORMAT}: run ciku reindex`,
    );
  }
  db.exec(SCHEMA);
  // Only when it differs: setting it is a write, and a reader opening the index must not wait for the writer.
  if (version !== FORMAT) db.pragma(`user_version = ${FORMAT}`);
  db.function(
    'geo_km',
    { deterministic: true },
    (lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown) =>
      typeof lat1 === 'number' && typeof lon1 === 'number'
        ? haversineKm(lat1, lon1, lat2 as number, lon2 as number)
        : null,
  );
  return db;
}

function pragmas(db: Db, cacheMiB: number): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.pragma(`cache_size = -${cacheMiB * 1024}`);
}

/** The catalogue file of an index file (same stamp). */
function catalogueName(indexName: string): string {
  return indexName.replace(/^index-/, 'catalogue-');
}

/**
 * Opens (or creates) a catalogue. One created beside an index that already holds documents (a store upgraded from
 * a build without catalogues, or a catalogue file lost) is marked incomplete: lists answer 503 until `ciku reindex`
 * has rebuilt it from the archive, while commits keep writing their rows.
 */
function openCatalogue(file: string, cacheMiB: number, complete: () => boolean): Db {
  const existed = existsSync(file);
  const db = new Database(file);
  pragmas(db, cacheMiB);
  const version = db.pragma('user_version', { simple: true }) as number;
  const made = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'items'").get() as {
    n: number;
  };
  if (made.n > 0 && version !== CATALOGUE_FORMAT) {
    db.close();
    throw new CikuError(
      'CIKU_ERR_UNAVAILABLE',
      `the item catalogue ${path.basename(file)} has format ${version}, this build reads format ${CATALOGUE_FORMAT}: run ciku reindex`,
    );
  }
  db.exec(CATALOGUE_SCHEMA);
  if (version !== CATALOGUE_FORMAT) db.pragma(`user_version = ${CATALOGUE_FORMAT}`);
  if (!existed) {
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('complete', ?)").run(complete() ? '1' : '0');
  }
  return db;
}

function catalogueComplete(db: Db): boolean {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'complete'").get() as
    { value: string } | undefined;
  return row?.value !== '0';
}

export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The index's write statements, run by the writer thread (sqlite-writer.ts). */
const WRITE_SQL: WriteSql = {
  findRid: 'SELECT rid FROM docs WHERE id = ?',
  segRids: 'SELECT rid FROM segs WHERE item_rid = ?',
  delSegFts: 'DELETE FROM segs_fts WHERE rowid = ?',
  delSegs: 'DELETE FROM segs WHERE item_rid = ?',
  delFts: 'DELETE FROM docs_fts WHERE rowid = ?',
  delBody: 'DELETE FROM bodies WHERE rid = ?',
  delDoc: 'DELETE FROM docs WHERE rid = ?',
  insDoc: `INSERT INTO docs (id, kind, version, title_sort, date, year, category, province, region,
    level, batch, museum, period, series, has_media, lat, lon, acc_level, acc_embargo, acc_org, hash, n_segs)
    VALUES (@id, @kind, @version, @title_sort, @date, @year, @category, @province, @region, @level, @batch,
    @museum, @period, @series, @has_media, @lat, @lon, @acc_level, @acc_embargo, @acc_org, @hash, @n_segs)`,
  insBody: 'INSERT INTO bodies (rid, doc) VALUES (?, ?)',
  insFts:
    'INSERT INTO docs_fts (rowid, title, meta, body, title_w, meta_w, body_w, py, acl) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  insSeg: 'INSERT INTO segs (item_rid, file, n, start, "end", speaker, text) VALUES (?, ?, ?, ?, ?, ?, ?)',
  insSegFts: 'INSERT INTO segs_fts (rowid, text, text_w) VALUES (?, ?, ?)',
  insEmbargo: 'INSERT OR IGNORE INTO embargo_dates (day) VALUES (?)',
};

/**
 * How far before the unlocked merge of a rebuild's commit the locked one starts again: rows written while the first
 * ran (or stamped by a clock a little behind) are merged under the lock too.
 */
const TAIL_MARGIN_MS = 2000;

/** Segments per chunk sent to the writer thread. */
const STAGE_CHUNK = 4000;

/** `text` in pieces of about `size` characters cut after a line end (folding and both token views work per line). */
function* lineChunks(text: string, size = 16_384): Generator<string> {
  let at = 0;
  while (at < text.length) {
    let end = at + size;
    if (end < text.length) {
      const nl = text.indexOf('\n', end);
      end = nl === -1 ? text.length : nl + 1;
    } else end = text.length;
    yield text.slice(at, end);
    at = end;
  }
}

/** grams and words of a long text, folded and analysed a piece at a time, with turns for the event loop between. */
async function analyseLong(
  text: string,
  tick: () => Promise<void>,
): Promise<{ grams: string; words: string }> {
  const a = analyzer();
  const grams: string[] = [];
  const words: string[] = [];
  for (const piece of lineChunks(text)) {
    const folded = a.fold(piece);
    grams.push(a.grams(folded));
    words.push(a.words(folded));
    await tick();
  }
  const join = (xs: string[]) => xs.filter((x) => x !== '').join(' ');
  return { grams: join(grams), words: join(words) };
}

/** sha256 of JSON.stringify([doc, segments]), fed a segment at a time (the same bytes, in slices). */
async function canonicalHash(
  doc: SearchDocumentT,
  segments: SegmentDocumentT[],
  tick: Tick,
): Promise<string> {
  const hash = createHash('sha256').update(`[${JSON.stringify(doc)},[`);
  for (let i = 0; i < segments.length; i++) {
    hash.update(`${i === 0 ? '' : ','}${JSON.stringify(segments[i])}`);
    if (i % 1000 === 999) await tick();
  }
  return hash.update(']]').digest('hex');
}

/**
 * An item analysed for the index, on the event loop in slices: its document row and FTS columns, and its
 * segments' rows handed to `stage` in chunks as they are ready (the SQL runs on the writer thread).
 */
async function prepareItem(
  doc: SearchDocumentT,
  segments: SegmentDocumentT[],
  stage: (rows: PreparedSegment[]) => Promise<void>,
): Promise<PreparedDoc> {
  const a = analyzer();
  const tick = slicer();
  let rows: PreparedSegment[] = [];
  for (const s of segments) {
    const folded = a.fold(s.speaker === undefined ? s.text : `${s.speaker}：${s.text}`);
    rows.push([s.file, s.n, s.start, s.end, s.speaker ?? null, s.text, a.grams(folded), a.words(folded)]);
    if (rows.length >= STAGE_CHUNK) {
      await stage(rows);
      rows = [];
    }
    await tick();
  }
  if (rows.length > 0) await stage(rows);
  const title = a.fold(doc.title);
  const meta = a.fold(doc.text.meta);
  const body = await analyseLong(doc.text.body, tick);
  const hash = await canonicalHash(doc, segments, tick);
  const prepared: PreparedDoc = {
    id: doc.id,
    row: {
      id: doc.id,
      version: doc.version,
      title_sort: doc.title_sort,
      date: doc.date ?? null,
      year: doc.year ?? null,
      ...listFilterValues(doc),
      has_media: doc.has_media ? 1 : 0,
      lat: doc.geo?.lat ?? null,
      lon: doc.geo?.lon ?? null,
      acc_level: doc.access.level,
      acc_embargo: doc.access.embargo_until ?? null,
      acc_org: doc.access.organisation ?? null,
      hash,
      n_segs: segments.length,
    },
    body: JSON.stringify(doc),
    fts: [
      a.grams(title),
      a.grams(meta),
      body.grams,
      a.words(title),
      a.words(meta),
      body.words,
      a.pinyin(`${doc.title}\n${doc.text.names}`),
      aclTokens(doc).join(' '),
    ],
    embargo: doc.access.embargo_until ?? null,
  };
  await tick();
  return prepared;
}

/**
 * Access and list filters as index tokens in the `acl` column, so the engine answers them inside the MATCH (no
 * row lookups per match): `al<level>`, `ao<org hash>`, `ae<yyyymmdd>` or `aenone`, and `f<field><value hash>`.
 */
const FILTER_CODES: Record<(typeof listFilterFields)[number] | 'has_media', string> = {
  kind: 'k',
  category: 'c',
  province: 'p',
  region: 'r',
  level: 'l',
  batch: 'b',
  museum: 'm',
  period: 'd',
  series: 's',
  has_media: 'h',
};

function hashToken(prefix: string, value: string | number | boolean, length = 16): string {
  return `${prefix}${createHash('sha1').update(String(value)).digest('hex').slice(0, length)}`;
}

function aclTokens(doc: SearchDocumentT): string[] {
  const out = [`al${doc.access.level}`];
  if (doc.access.organisation !== undefined) out.push(hashToken('ao', doc.access.organisation));
  out.push(
    doc.access.embargo_until === undefined ? 'aenone' : `ae${doc.access.embargo_until.replaceAll('-', '')}`,
  );
  for (const key of listFilterFields) {
    const v = doc[key];
    if (v !== undefined) out.push(hashToken(`f${FILTER_CODES[key]}`, v));
  }
  out.push(hashToken('fh', doc.has_media));
  return out;
}

/** The scope and the token-expressible filters as a MATCH expression on `acl` (undefined: nothing to add). */
function aclExpression(
  request: Pick<SearchRequest, 'filters' | 'scope'>,
  embargoDays: () => string[],
): string | undefined {
  const parts: string[] = [];
  const scope = request.scope;
  if (!scope.all) {
    const days = embargoDays().filter((d) => d <= scope.today);
    const visible = `acl : ((${scope.levels.map((l) => `al${l}`).join(' OR ')}) AND (${['aenone', ...days.map((d) => `ae${d.replaceAll('-', '')}`)].join(' OR ')}))`;
    parts.push(
      scope.organisation === undefined
        ? visible
        : `(${visible} OR acl : ${hashToken('ao', scope.organisation)})`,
    );
  }
  const f = request.filters;
  for (const key of listFilterFields) {
    const values = f[key];
    if (values === undefined) continue;
    parts.push(`acl : (${values.map((v) => hashToken(`f${FILTER_CODES[key]}`, v)).join(' OR ')})`);
  }
  if (f.has_media !== undefined) parts.push(`acl : ${hashToken('fh', f.has_media)}`);
  return parts.length === 0 ? undefined : parts.join(' AND ');
}

/** SQL for what tokens cannot say (year range, geography), over `docs` (alias d). */
function residualSql(request: Pick<SearchRequest, 'filters'>, params: unknown[]): string[] {
  return filterConditions(
    { filters: pick(request.filters, ['year_from', 'year_to', 'near', 'bbox']), scope: { all: true } },
    params,
  );
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<T, K>;
}

/** SQL for the caller's read scope over `docs` (alias d): the same rule as `scopeAllows`. */
function scopeSql(scope: ReadScope, params: unknown[]): string {
  if (scope.all) return '1';
  params.push(...scope.levels, scope.today);
  let sql = `(d.acc_level IN (${scope.levels.map(() => '?').join(', ')}) AND (d.acc_embargo IS NULL OR d.acc_embargo <= ?))`;
  if (scope.organisation !== undefined) {
    params.push(scope.organisation);
    sql = `(${sql} OR d.acc_org = ?)`;
  }
  return sql;
}

function filterSql(request: Pick<SearchRequest, 'filters' | 'scope'>, params: unknown[]): string {
  const all = filterConditions(request, params);
  return all.length === 0 ? '1' : all.join(' AND ');
}

function filterConditions(request: Pick<SearchRequest, 'filters' | 'scope'>, params: unknown[]): string[] {
  const f = request.filters;
  const where = [scopeSql(request.scope, params)];
  for (const key of listFilterFields) {
    const values = f[key];
    if (values === undefined) continue;
    if (values.length === 0) {
      where.push('0');
      continue;
    }
    params.push(...values);
    where.push(`d.${FACET_COLUMNS[key]} IN (${values.map(() => '?').join(', ')})`);
  }
  if (f.year_from !== undefined) {
    params.push(f.year_from);
    where.push('d.year >= ?');
  }
  if (f.year_to !== undefined) {
    params.push(f.year_to);
    where.push('d.year <= ?');
  }
  if (f.has_media !== undefined) {
    params.push(f.has_media ? 1 : 0);
    where.push('d.has_media = ?');
  }
  if (f.bbox !== undefined) {
    const [west, south, east, north] = f.bbox;
    params.push(south, north);
    where.push('d.lat BETWEEN ? AND ?');
    if (west <= east) {
      params.push(west, east);
      where.push('d.lon BETWEEN ? AND ?');
    } else {
      // A box across the antimeridian.
      params.push(west, east);
      where.push('(d.lon >= ? OR d.lon <= ?)');
    }
  }
  if (f.near !== undefined) {
    const { lat, lon, radius_km } = f.near;
    // Bounding box first (cheap), then the exact great-circle distance.
    const dLat = radius_km / 111.0;
    params.push(lat - dLat, lat + dLat, lat, lon, radius_km);
    where.push('d.lat BETWEEN ? AND ? AND geo_km(d.lat, d.lon, ?, ?) <= ?');
  }
  return where.filter((c) => c !== '1');
}

function orderSql(sort: SearchRequest['sort'], hasQuery: boolean): string {
  switch (sort) {
    case 'date':
      return 'd.date IS NULL, d.date ASC, d.rid';
    case '-date':
      return 'd.date IS NULL, d.date DESC, d.rid';
    case 'title':
      return 'd.title_sort ASC, d.rid';
    case 'relevance':
      return hasQuery ? 'score ASC, d.rid' : 'd.title_sort ASC, d.rid';
  }
}

function facetKey(field: FacetField, value: unknown): string {
  if (field === 'has_media') return value === 1 ? 'true' : 'false';
  return String(value);
}

/** Prepared statements per database handle (the SQL of a search varies little; preparing is ~5% of a query). */
const statements = new WeakMap<Db, Map<string, Database.Statement>>();
function prep(d: Db, sql: string): Database.Statement {
  let cache = statements.get(d);
  if (!cache) statements.set(d, (cache = new Map<string, Database.Statement>()));
  let st = cache.get(sql);
  if (!st) {
    if (cache.size >= 256) cache.clear();
    st = d.prepare(sql);
    cache.set(sql, st);
  }
  return st;
}

function embargoDays(d: Db): string[] {
  return (prep(d, 'SELECT day FROM embargo_dates').raw().all() as [string][]).map((r) => r[0]);
}

export function createSqliteIndex(options: SqliteIndexOptions): SearchIndex {
  const dir = options.dir;
  const cacheMiB = options.cacheMiB ?? 16;
  const rankAll = options.rankAll ?? RANK_ALL;
  const clock = options.clock ?? (() => new Date());
  const catalogueOptions = { today: () => clock().toISOString().slice(0, 10) };
  mkdirSync(dir, { recursive: true });
  const currentFile = path.join(dir, 'CURRENT');

  let db: Db | undefined;
  let cat: Db | undefined;
  let catalogue: SqliteCatalogue | undefined;
  let openedName = '';
  let openedStamp = '';
  const writes = createWriterThread(WRITE_SQL, cacheMiB);

  function currentName(): string {
    try {
      return readFileSync(currentFile, 'utf8').trim();
    } catch {
      const name = `index-${stamp()}.sqlite`;
      writeFileSync(`${currentFile}.tmp`, `${name}\n`);
      renameSync(`${currentFile}.tmp`, currentFile);
      return name;
    }
  }

  /** The live database, reopened when CURRENT was replaced (by a reindex in any process). */
  function live(): Db {
    let st: string;
    try {
      const s = statSync(currentFile);
      st = `${s.ino}:${s.mtimeMs}`;
    } catch {
      st = '';
    }
    if (db && st === openedStamp) return db;
    const name = currentName();
    if (!db || name !== openedName) {
      db?.close();
      cat?.close();
      db = cat = undefined;
      const d = openDb(path.join(dir, name), cacheMiB);
      const indexEmpty = () => prep(d, 'SELECT 1 FROM docs LIMIT 1').get() === undefined;
      try {
        cat = openCatalogue(path.join(dir, catalogueName(name)), cacheMiB, indexEmpty);
      } catch (err) {
        d.close();
        throw err;
      }
      db = d;
      catalogue = sqliteCatalogue(cat, catalogueOptions);
      // The writer thread lets go of the file a rebuild replaced (it opens the new one on its next write).
      if (openedName !== '')
        void writes.run({ op: 'close', file: path.join(dir, openedName) }).catch(() => undefined);
      openedName = name;
    }
    const s = statSync(currentFile);
    openedStamp = `${s.ino}:${s.mtimeMs}`;
    return db;
  }

  function liveCatalogue(): SqliteCatalogue {
    live();
    return catalogue!;
  }

  /**
   * A catalogue write, made again in the new catalogue when a rebuild was swapped in while it ran (the rebuild
   * copied the rows written before it took the old catalogue's lock; this one may have waited for that lock).
   */
  function putItem(item: ItemView): Promise<void> {
    liveCatalogue().put(item);
    if (currentName() !== openedName) liveCatalogue().put(item);
    return Promise.resolve();
  }

  function forgetItem(itemId: string): Promise<void> {
    liveCatalogue().forget(itemId);
    if (currentName() !== openedName) liveCatalogue().forget(itemId);
    return Promise.resolve();
  }

  function listItems(request: ListRequest): ListPage {
    const c = liveCatalogue();
    if (!catalogueComplete(cat!)) {
      throw new CikuError(
        'CIKU_ERR_UNAVAILABLE',
        'the item catalogue is not built yet for this index: run ciku reindex (it rebuilds it from the archive)',
      );
    }
    return c.list(request);
  }

  /** Analyses the item here, in slices, and has the writer thread apply it to `file` in one transaction. */
  async function putInto(file: () => string, doc: SearchDocumentT, segments: SegmentDocumentT[]) {
    const key = writes.stageKey();
    try {
      const prepared = await prepareItem(doc, segments, (segs) => writes.run({ op: 'stage', key, segs }));
      await writes.run({ op: 'put', file: file(), key, doc: prepared });
    } catch (err) {
      await writes.run({ op: 'unstage', key }).catch(() => undefined);
      throw err;
    }
  }

  const liveFile = () => {
    live();
    return path.join(dir, openedName);
  };

  function put(doc: SearchDocumentT, segments: SegmentDocumentT[]): Promise<void> {
    return putInto(liveFile, doc, segments);
  }

  function remove(itemId: string): Promise<void> {
    return writes.run({ op: 'remove', file: liveFile(), id: itemId });
  }

  function matchOrNothing(
    parsed: ParsedQuery,
    columns: FtsColumns,
    strict: boolean,
  ): string | null | undefined {
    if (parsed.segments.length === 0) return undefined;
    return ftsExpression(parsed, columns, { strict }) ?? null;
  }

  /** Strict first (every Han run as written); when that finds nothing the caller may see, relaxed to its words. */
  function strictThenRelaxed<A extends { total: number }>(
    parsed: ParsedQuery,
    run: (strict: boolean) => A,
  ): A {
    const strict = run(true);
    return strict.total === 0 && canRelax(parsed) ? run(false) : strict;
  }

  function search(request: SearchRequest): Promise<SearchAnswerT> {
    const parsed = analyzer().parseQuery(request.q);
    if (parsed.segments.length > 64) {
      throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'query has more than 64 words: shorten it');
    }
    return Promise.resolve(strictThenRelaxed(parsed, (strict) => searchOnce(request, parsed, strict)));
  }

  function searchOnce(request: SearchRequest, parsed: ParsedQuery, strict: boolean): SearchAnswerT {
    const d = live();
    const match = matchOrNothing(parsed, DOC_COLUMNS, strict);
    if (match === null || hasEmptyListFilter(request.filters)) return emptyAnswer(request);
    const params: unknown[] = [];
    let from: string;
    let where: string;
    let joined = true;
    let acl: string | undefined;
    if (match === undefined) {
      // Browsing (no words): the docs table and plain SQL filters.
      from = 'docs d';
      where = filterSql(request, params);
    } else {
      // Access and list filters are index tokens: the MATCH answers them without a row lookup per match; the
      // docs table is joined only for what tokens cannot say (years, geography), facets and non-relevance sorts.
      acl = aclExpression(request, () => embargoDays(d));
      params.push(acl === undefined ? match : `(${match}) AND ${acl}`);
      const residual = residualSql(request, params);
      joined = residual.length > 0 || request.sort !== 'relevance';
      from = joined ? 'docs_fts JOIN docs d ON d.rid = docs_fts.rowid' : 'docs_fts';
      where = ['docs_fts MATCH ?', ...residual].join(' AND ');
    }
    const score = match === undefined ? '0' : `bm25(docs_fts, ${WEIGHTS.join(', ')})`;

    const answer = d.transaction(() => {
      const order = orderSql(request.sort, match !== undefined);
      const facets: SearchAnswerT['facets'] = {};
      let total: number | undefined;
      if (request.facets.length > 0) {
        // One pass for every facet (and the total): counts per combination of the facet values, summed here.
        const cols = request.facets.map((f) => `d.${FACET_COLUMNS[f]}`);
        const combos = prep(
          d,
          `SELECT ${cols.join(', ')}, count(*) AS n FROM ${joined ? from : 'docs_fts JOIN docs d ON d.rid = docs_fts.rowid'}
             WHERE ${where} GROUP BY ${cols.join(', ')}`,
        )
          .raw()
          .all(...params) as unknown[][];
        const counted = request.facets.map(() => new Map<string, number>());
        total = 0;
        for (const row of combos) {
          const n = row[row.length - 1] as number;
          total += n;
          request.facets.forEach((field, i) => {
            if (row[i] === null) return;
            const key = facetKey(field, row[i]);
            counted[i]!.set(key, (counted[i]!.get(key) ?? 0) + n);
          });
        }
        request.facets.forEach((field, i) => {
          const top = [...counted[i]!].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 200);
          facets[field] = Object.fromEntries(top);
        });
      }
      const offset = (request.page - 1) * request.limit;
      let rids: number[];
      if (!joined && match !== undefined) {
        // Relevance over the index alone. The total is a count of the MATCH (no row lookups); BM25 ranks every
        // match while there are at most `rankAll` of them. Past that (a single common character, a very common
        // word) the page comes from the matches in titles (ranked while they are few, else newest first) and
        // then from the other matches, newest first: every hit still matches, and no query scores a million rows.
        total ??= (
          prep(d, 'SELECT count(*) AS n FROM docs_fts WHERE docs_fts MATCH ?').get(params[0]) as {
            n: number;
          }
        ).n;
        const ranked = (expr: string, limit: number, skip: number, rank: boolean) =>
          (
            prep(
              d,
              `SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?
                 ORDER BY ${rank ? `bm25(docs_fts, ${WEIGHTS.join(', ')}), rowid` : 'rowid DESC'} LIMIT ? OFFSET ?`,
            )
              .raw()
              .all(expr, limit, skip) as [number][]
          ).map((r) => r[0]);
        if (total <= rankAll) rids = ranked(params[0] as string, request.limit, offset, true);
        else {
          const titleOnly = ftsExpression(parsed, TITLE_COLUMNS, { strict });
          const tier =
            titleOnly === undefined ? undefined : acl === undefined ? titleOnly : `(${titleOnly}) AND ${acl}`;
          const inTier =
            tier === undefined
              ? 0
              : (
                  prep(d, 'SELECT count(*) AS n FROM docs_fts WHERE docs_fts MATCH ?').get(tier) as {
                    n: number;
                  }
                ).n;
          rids = inTier > offset ? ranked(tier!, request.limit, offset, inTier <= rankAll) : [];
          if (rids.length < request.limit) {
            const rest =
              tier === undefined ? (params[0] as string) : `(${params[0] as string}) NOT (${tier})`;
            rids.push(...ranked(rest, request.limit - rids.length, Math.max(0, offset - inTier), false));
          }
        }
      } else {
        // Browsing, or a join the filters or the sort need: rank (or sort) the matches, the total counted in the
        // same pass (bm25() may not run under a window function, so the matches are materialised first).
        const page = prep(
          d,
          `WITH m AS MATERIALIZED (
               SELECT ${joined ? 'd.rid AS rid' : 'docs_fts.rowid AS rid'}, ${score} AS score,
                      ${joined ? 'd.title_sort' : 'NULL'} AS title_sort, ${joined ? 'd.date' : 'NULL'} AS date
               FROM ${from} WHERE ${where}
             )
             SELECT rid, ${total === undefined ? 'count(*) OVER ()' : '0'} AS total
             FROM m ORDER BY ${order.replaceAll('d.', '')} LIMIT ? OFFSET ?`,
        )
          .raw()
          .all(...params, request.limit, offset) as [number, number][];
        rids = page.map((r) => r[0]);
        total ??=
          page[0]?.[1] ??
          (offset === 0
            ? 0
            : (prep(d, `SELECT count(*) AS n FROM ${from} WHERE ${where}`).get(...params) as { n: number })
                .n);
      }
      const rows = rids.map(
        (rid) =>
          prep(
            d,
            'SELECT d.rid, b.doc, d.n_segs FROM docs d JOIN bodies b ON b.rid = d.rid WHERE d.rid = ?',
          ).get(rid) as { rid: number; doc: string; n_segs: number },
      );
      return { total, rows, facets };
    })();

    const needles = needlesOf(parsed);
    const hits: SearchHitT[] = answer.rows.map((r) => toHit(JSON.parse(r.doc) as SearchDocumentT, needles));
    // Interviews: the moments the words are spoken (top 3 segments per hit item).
    if (match !== undefined && answer.rows.some((r) => r.n_segs > 0)) {
      const segMatch = ftsExpression(parsed, SEG_COLUMNS, { strict });
      if (segMatch !== undefined) {
        const stmt = prep(
          d,
          `SELECT s.file, s.start, s."end" AS end, s.speaker, s.text FROM segs_fts JOIN segs s ON s.rid = segs_fts.rowid
           WHERE segs_fts MATCH ? AND s.item_rid = ? ORDER BY bm25(segs_fts, 1, 1) LIMIT 3`,
        );
        answer.rows.forEach((r, i) => {
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
    }
    return { total: answer.total, page: request.page, limit: request.limit, hits, facets: answer.facets };
  }

  function searchSegments(request: SegmentRequest): Promise<SegmentAnswerT> {
    const parsed = analyzer().parseQuery(request.q);
    return Promise.resolve(strictThenRelaxed(parsed, (strict) => segmentsOnce(request, parsed, strict)));
  }

  function segmentsOnce(request: SegmentRequest, parsed: ParsedQuery, strict: boolean): SegmentAnswerT {
    const d = live();
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

  function indexedVersion(itemId: string): Promise<string | undefined> {
    const row = prep(live(), 'SELECT version FROM docs WHERE id = ?').get(itemId) as
      { version: string } | undefined;
    return Promise.resolve(row?.version);
  }

  function statsOf(d: Db): IndexStats {
    const hash = createHash('sha256');
    let documents = 0;
    for (const row of prep(d, 'SELECT id, hash FROM docs ORDER BY id').iterate() as Iterable<{
      id: string;
      hash: string;
    }>) {
      hash.update(`${row.id}\t${row.hash}\n`);
      documents++;
    }
    const segments = (prep(d, 'SELECT count(*) AS n FROM segs').get() as { n: number }).n;
    return { documents, segments, contentHash: hash.digest('hex'), catalogue: catalogue!.stats() };
  }

  function rebuild(): Promise<IndexRebuild> {
    const name = `index-${stamp()}.sqlite`;
    const file = path.join(dir, name);
    // Created here (schema, format), filled by the writer thread in one bulk transaction per 500 items.
    openDb(file, cacheMiB).close();
    const bulk = writes.run({ op: 'bulk', file });
    const startedAt = Date.now();
    const freshCat = openCatalogue(path.join(dir, catalogueName(name)), cacheMiB, () => false);
    const fc = sqliteCatalogue(freshCat, catalogueOptions);
    let done = false;
    const fileOf = () => file;
    return bulk.then(() => ({
      put: (doc, segments) => putInto(fileOf, doc, segments),
      remove: (itemId) => writes.run({ op: 'remove', file, id: itemId }),
      putItem(item) {
        fc.put(item);
        return Promise.resolve();
      },
      forgetItem(itemId) {
        fc.forget(itemId);
        return Promise.resolve();
      },
      async commit() {
        if (done) return;
        done = true;
        await writes.run({ op: 'finish', file });
        liveCatalogue();
        const old = cat!;
        const previous = openedName;
        // Outside any lock, the slow part: every row the live catalogue took since the rebuild began (one machine,
        // one clock: `touched`), however long the rebuild ran, then the fresh file checkpointed and truncated.
        // Commits in other processes write the live catalogue on their event loops meanwhile, unhindered.
        const tailSince = Math.max(startedAt, Date.now() - TAIL_MARGIN_MS);
        fc.mergeFrom(old, startedAt);
        freshCat.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '1')").run();
        freshCat.pragma('wal_checkpoint(TRUNCATE)');
        // Under the live catalogue's write lock, held until CURRENT names the new files: only the rows written
        // since the pass above (a few, re-merging is harmless) and the rename. A writer that waited for the lock
        // writes the old catalogue, sees CURRENT changed and writes the new one too (putItem), so no commit is
        // lost in the swap.
        old.exec('BEGIN IMMEDIATE');
        try {
          fc.mergeFrom(old, tailSince);
          writeFileSync(`${currentFile}.tmp`, `${name}\n`);
          renameSync(`${currentFile}.tmp`, currentFile);
        } finally {
          old.exec('COMMIT');
        }
        freshCat.close();
        removeOldIndexes(dir, [name, previous]);
      },
      async abort() {
        if (done) return;
        done = true;
        await writes.run({ op: 'close', file });
        freshCat.close();
        for (const f of [file, path.join(dir, catalogueName(name))])
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${f}${suffix}`, { force: true });
      },
    }));
  }

  return {
    engine: 'sqlite',
    put,
    remove,
    putItem: (item) => tryAsync(() => putItem(item)),
    forgetItem: (itemId) => tryAsync(() => forgetItem(itemId)),
    listItems: (request) => tryAsync(() => Promise.resolve(listItems(request))),
    cataloguedVersion: (itemId) => tryAsync(() => Promise.resolve(liveCatalogue().version(itemId))),
    search(request) {
      try {
        return search(request);
      } catch (err) {
        return Promise.reject(translate(err));
      }
    },
    searchSegments(request) {
      try {
        return searchSegments(request);
      } catch (err) {
        return Promise.reject(translate(err));
      }
    },
    indexedVersion,
    stats: () => Promise.resolve(statsOf(live())),
    count: () => Promise.resolve((prep(live(), 'SELECT count(*) AS n FROM docs').get() as { n: number }).n),
    rebuild,
    ping() {
      prep(live(), 'SELECT 1').get();
      return Promise.resolve();
    },
    async close() {
      await writes.close();
      db?.close();
      cat?.close();
      db = cat = undefined;
    },
  };
}

/** A synchronous engine call as a promise: a throw becomes a rejection, coded. */
function tryAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(translate(err));
  }
}

/** An FTS5 syntax error would be our bug (user text never becomes syntax): it is a 500, coded. */
function translate(err: unknown): Error {
  if (err instanceof CikuError) return err;
  return new CikuError('CIKU_ERR_INTERNAL', `search failed: ${(err as Error).message}`, { cause: err });
}

function stamp(): string {
  return `${new Date().toISOString().replace(/[-:.TZ]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** Index files other than the live one and the one just replaced (a reader may still have that open). */
function removeOldIndexes(dir: string, keep: string[]): void {
  for (const entry of readdirSync(dir)) {
    const base = entry.replace(/-(wal|shm)$/, '');
    if (!/^(index|catalogue)-.*\.sqlite$/.test(base)) continue;
    if (keep.some((k) => base === k || base === catalogueName(k))) continue;
    rmSync(path.join(dir, entry), { force: true });
  }
}
