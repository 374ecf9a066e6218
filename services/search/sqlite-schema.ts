import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FacetField } from '../../schemas/search.ts';
import { CikuError } from '../errors.ts';
import { CATALOGUE_FORMAT, CATALOGUE_SCHEMA } from './sqlite-catalogue.ts';
import type { WriteSql } from './sqlite-writer.ts';

/**
 * The index file's tables and how a connection opens them (format check, pragmas, the `geo_km` function), the
 * catalogue file's opening beside it, the write statements the writer thread runs, and the prepared-statement
 * cache every read goes through.
 */

/**
 * The index file format; a file of another format is refused with a clear reason (`ciku reindex` rebuilds).
 * 4: docs.title_key (the exact-title and title-prefix tiers of relevance ranking).
 * 5: pages and pages_fts (one row per page of a document), docs.n_pages.
 */
const FORMAT = 5;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  version TEXT NOT NULL,
  title_sort TEXT NOT NULL,
  -- The folded title as ranking compares it with a query (analyzer titleKey): equal first, then starting with it.
  title_key TEXT NOT NULL,
  date TEXT,
  year INTEGER,
  category TEXT, province TEXT, region TEXT, level TEXT, batch INTEGER, museum TEXT, period TEXT, series TEXT,
  has_media INTEGER NOT NULL,
  lat REAL, lon REAL,
  acc_level TEXT NOT NULL, acc_embargo TEXT, acc_org TEXT,
  hash TEXT NOT NULL,
  n_segs INTEGER NOT NULL DEFAULT 0,
  n_pages INTEGER NOT NULL DEFAULT 0
);
-- The display document, apart: the docs rows stay narrow, so scans and joins over many matches touch few pages.
CREATE TABLE IF NOT EXISTS bodies (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS docs_title_sort ON docs(title_sort);
CREATE INDEX IF NOT EXISTS docs_date ON docs(date);
CREATE INDEX IF NOT EXISTS docs_title_key ON docs(title_key);
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
-- A page of a document: its text kept for snippets, ocr 1 when machine reading made it.
CREATE TABLE IF NOT EXISTS pages (
  rid INTEGER PRIMARY KEY,
  item_rid INTEGER NOT NULL,
  file TEXT NOT NULL, page INTEGER NOT NULL, ocr INTEGER NOT NULL, label TEXT, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_item ON pages(item_rid, file, page);
CREATE VIRTUAL TABLE IF NOT EXISTS pages_fts USING fts5(
  text, text_w, content='', contentless_delete=1, tokenize='unicode61', prefix='1'
);
`;

/** The `docs` column of each facet (and list filter) field. */
export const FACET_COLUMNS: Record<FacetField, string> = {
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

export type Db = Database.Database;

export function openDb(file: string, cacheMiB: number): Db {
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
/**
 * Opens (or creates) a catalogue. One created beside an index that already holds documents (a store upgraded from
 * a build without catalogues, or a catalogue file lost) is marked incomplete: lists answer 503 until `ciku reindex`
 * has rebuilt it from the archive, while commits keep writing their rows.
 */
export function openCatalogue(file: string, cacheMiB: number, complete: () => boolean): Db {
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

export function catalogueComplete(db: Db): boolean {
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
export const WRITE_SQL: WriteSql = {
  findRid: 'SELECT rid FROM docs WHERE id = ?',
  segRids: 'SELECT rid FROM segs WHERE item_rid = ?',
  delSegFts: 'DELETE FROM segs_fts WHERE rowid = ?',
  delSegs: 'DELETE FROM segs WHERE item_rid = ?',
  pageRids: 'SELECT rid FROM pages WHERE item_rid = ?',
  delPageFts: 'DELETE FROM pages_fts WHERE rowid = ?',
  delPages: 'DELETE FROM pages WHERE item_rid = ?',
  delFts: 'DELETE FROM docs_fts WHERE rowid = ?',
  delBody: 'DELETE FROM bodies WHERE rid = ?',
  delDoc: 'DELETE FROM docs WHERE rid = ?',
  insDoc: `INSERT INTO docs (id, kind, version, title_sort, title_key, date, year, category, province, region,
    level, batch, museum, period, series, has_media, lat, lon, acc_level, acc_embargo, acc_org, hash, n_segs,
    n_pages)
    VALUES (@id, @kind, @version, @title_sort, @title_key, @date, @year, @category, @province, @region, @level,
    @batch, @museum, @period, @series, @has_media, @lat, @lon, @acc_level, @acc_embargo, @acc_org, @hash, @n_segs,
    @n_pages)`,
  insBody: 'INSERT INTO bodies (rid, doc) VALUES (?, ?)',
  insFts:
    'INSERT INTO docs_fts (rowid, title, meta, body, title_w, meta_w, body_w, py, acl) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  insSeg: 'INSERT INTO segs (item_rid, file, n, start, "end", speaker, text) VALUES (?, ?, ?, ?, ?, ?, ?)',
  insSegFts: 'INSERT INTO segs_fts (rowid, text, text_w) VALUES (?, ?, ?)',
  insPage: 'INSERT INTO pages (item_rid, file, page, ocr, label, text) VALUES (?, ?, ?, ?, ?, ?)',
  insPageFts: 'INSERT INTO pages_fts (rowid, text, text_w) VALUES (?, ?, ?)',
  insEmbargo: 'INSERT OR IGNORE INTO embargo_dates (day) VALUES (?)',
};

/** Prepared statements per database handle (the SQL of a search varies little; preparing is ~5% of a query). */
const statements = new WeakMap<Db, Map<string, Database.Statement>>();
export function prep(d: Db, sql: string): Database.Statement {
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

export function embargoDays(d: Db): string[] {
  return (prep(d, 'SELECT day FROM embargo_dates').raw().all() as [string][]).map((r) => r[0]);
}
