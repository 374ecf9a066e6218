import type { AggregateRequest, StatField, StatQuery, StatResult, StatRow, StatSum } from './aggregate.ts';
import { scopeSql } from './sqlite-access.ts';
import { prep, type Db } from './sqlite-schema.ts';

/**
 * The embedded engine's counts: narrow fact tables in the item catalogue's file (sqlite-catalogue.ts), one row per
 * item (`stat_items`) and one per file of its head (`stat_files`), kept by triggers on the catalogue's `items`
 * table. So every commit's catalogue write (and a rebuild's, and its merge) updates them in the same transaction,
 * with no change to the writers; a catalogue made before these tables existed is filled from its rows when first
 * counted. Only live items have fact rows (a tombstone's are deleted), and a file's row carries its item's kind,
 * access and date, so no count needs a join.
 *
 * Counting is GROUP BYs over covering indexes: one per grouping field, `(kind, field, access…, created)`, so a
 * kind's counts by a field read that kind's range of one index in the field's order (no table rows, no sort) and
 * apply the read scope and the year from the index entries. 27 tables at 100,000 items: see bench-stats.ts.
 */

/** Bumped when the fact tables change: the tables and triggers are dropped and refilled from `items`. */
export const STATS_FORMAT = '4';

const NULLIF = (path: string) => `NULLIF(json_extract(NEW.view, '$.${path}'), '')`;

/** The fact columns as SQL over the new catalogue row (`NEW`). */
const ITEM_COLUMNS: Record<string, string> = {
  rid: 'NEW.rid',
  kind: 'NEW.kind',
  acc_level: 'NEW.acc_level',
  acc_embargo: 'NEW.acc_embargo',
  acc_org: 'NEW.acc_org',
  created: "json_extract(NEW.view, '$.created')",
  month: "substr(json_extract(NEW.view, '$.created'), 1, 7)",
  category: NULLIF('metadata.category'),
  level: NULLIF('metadata.level'),
  batch: "json_extract(NEW.view, '$.metadata.batch')",
  region: NULLIF('metadata.region'),
  province: NULLIF('metadata.province'),
  gender: NULLIF('metadata.gender'),
  ethnicity: NULLIF('metadata.ethnicity'),
  birth_year: "json_extract(NEW.view, '$.metadata.birth_year')",
  series: NULLIF('metadata.series'),
  // The year an item is about, as search documents have it: an explicit year, else its date's first four digits.
  year: `COALESCE(json_extract(NEW.view, '$.metadata.year'), CASE WHEN substr(json_extract(NEW.view,
    '$.metadata.date'), 1, 4) GLOB '[0-9][0-9][0-9][0-9]' THEN CAST(substr(json_extract(NEW.view, '$.metadata.date'),
    1, 4) AS INTEGER) END)`,
  museum: NULLIF('metadata.museum'),
  period: NULLIF('metadata.period'),
  ware_type: NULLIF('metadata.ware_type'),
  site_type: NULLIF('metadata.site_type'),
  protection_status: NULLIF('metadata.protection_status'),
  seconds: "json_extract(NEW.view, '$.metadata.duration')",
  bytes: "(SELECT COALESCE(sum(json_extract(value, '$.size')), 0) FROM json_each(NEW.view, '$.files'))",
  transcribed:
    "EXISTS (SELECT 1 FROM json_each(NEW.view, '$.files') WHERE json_extract(value, '$.role') = 'transcript')",
  ocr: "json_extract(NEW.view, '$.metadata.ocr_text') IS NOT NULL",
};

const names = Object.keys(ITEM_COLUMNS);

// Delete, then insert: an OR REPLACE in a trigger body is overridden by the conflict clause of the upsert that fired it.
const FILE_COLUMNS = ['kind', 'acc_level', 'acc_embargo', 'acc_org', 'created'];

// Delete, then insert: an OR REPLACE in a trigger body is overridden by the conflict clause of the upsert that fired it.
const REFRESH = `
  DELETE FROM stat_items WHERE rid = NEW.rid;
  DELETE FROM stat_files WHERE rid = NEW.rid;
  INSERT INTO stat_items (${names.join(', ')})
    SELECT ${names.map((n) => ITEM_COLUMNS[n]).join(', ')} WHERE NEW.deleted = 0;
  INSERT INTO stat_files (rid, n, ${FILE_COLUMNS.join(', ')}, role, media_type, size)
    SELECT NEW.rid, key, ${FILE_COLUMNS.map((c) => ITEM_COLUMNS[c]).join(', ')}, json_extract(value, '$.role'),
      NULLIF(json_extract(value, '$.media_type'), ''), json_extract(value, '$.size')
    FROM json_each(NEW.view, '$.files') WHERE NEW.deleted = 0;`;

/** The fields grouped by within a kind, each with its covering index. */
const KIND_FIELDS = [
  'category',
  'level',
  'batch',
  'region',
  'province',
  'gender',
  'ethnicity',
  'birth_year',
  'series',
  'year',
  'museum',
  'period',
  'ware_type',
  'site_type',
  'protection_status',
];
/** The grouping fields of a kind's tables (one or two), each with its covering index. */
const KIND_INDEXES = [...KIND_FIELDS.map((f) => [f]), ['category', 'level']];
const ACCESS = 'acc_level, acc_embargo, acc_org, created';

const SCHEMA = `
DROP TRIGGER IF EXISTS stat_ins; DROP TRIGGER IF EXISTS stat_upd; DROP TRIGGER IF EXISTS stat_del;
DROP TABLE IF EXISTS stat_items; DROP TABLE IF EXISTS stat_files;
CREATE TABLE stat_items (
  rid INTEGER PRIMARY KEY, kind TEXT NOT NULL,
  acc_level TEXT NOT NULL, acc_embargo TEXT, acc_org TEXT, created TEXT, month TEXT,
  category TEXT, level TEXT, batch INTEGER, region TEXT, province TEXT, gender TEXT, ethnicity TEXT,
  birth_year INTEGER, series TEXT, year INTEGER, museum TEXT, period TEXT, ware_type TEXT, site_type TEXT,
  protection_status TEXT, seconds REAL, bytes INTEGER NOT NULL, transcribed INTEGER NOT NULL, ocr INTEGER NOT NULL
);
${KIND_INDEXES.map((cols) => `CREATE INDEX stat_k_${cols.join('_')} ON stat_items(kind, ${cols.join(', ')}, ${ACCESS});`).join('\n')}
-- The months, in their order (no sort for the growth table).
CREATE INDEX stat_month ON stat_items(month, ${ACCESS}, bytes);
-- Counts by kind, a kind's sums and the months: the access, the date and every sum in the index.
CREATE INDEX stat_k_sums ON stat_items(kind, ${ACCESS}, bytes, seconds, transcribed, ocr);
CREATE TABLE stat_files (
  rid INTEGER NOT NULL, n INTEGER NOT NULL, kind TEXT NOT NULL,
  acc_level TEXT NOT NULL, acc_embargo TEXT, acc_org TEXT, created TEXT,
  role TEXT, media_type TEXT, size INTEGER NOT NULL,
  PRIMARY KEY (rid, n)
) WITHOUT ROWID;
CREATE INDEX stat_f_kind ON stat_files(kind, ${ACCESS}, size);
CREATE INDEX stat_f_media_type ON stat_files(media_type, ${ACCESS}, size);
CREATE TRIGGER stat_ins AFTER INSERT ON items BEGIN ${REFRESH} END;
CREATE TRIGGER stat_upd AFTER UPDATE ON items BEGIN ${REFRESH} END;
CREATE TRIGGER stat_del AFTER DELETE ON items BEGIN
  DELETE FROM stat_items WHERE rid = OLD.rid; DELETE FROM stat_files WHERE rid = OLD.rid;
END;
`;

/** The fill of a catalogue counted for the first time: each row rewritten onto itself fires the update trigger. */
const BACKFILL = 'UPDATE items SET rid = rid';

/** Whether the catalogue keeps the fact tables (of this format). */
export function statTablesKept(db: Db): boolean {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'stats'").get() as { value: string } | undefined;
  return row?.value === STATS_FORMAT;
}

/**
 * Makes sure the catalogue has its fact tables (made and filled once per catalogue file, in one transaction: 13.5 s
 * for 100,000 rows, once, on the first count after an upgrade; a rebuild's fresh catalogue gets them before its
 * first row, see sqlite-index.ts).
 */
export function ensureStatTables(db: Db): void {
  const held = () =>
    (db.prepare("SELECT value FROM meta WHERE key = 'stats'").get() as { value: string } | undefined)?.value;
  if (held() === STATS_FORMAT) return;
  db.transaction(() => {
    // Another process may have made them while this one waited for the write lock.
    if (held() === STATS_FORMAT) return;
    db.exec(SCHEMA);
    db.exec(BACKFILL);
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('stats', ?)").run(STATS_FORMAT);
  }).immediate();
}

/** A grouping field as SQL over `stat_items d` (and `stat_files f`). */
function fieldSql(field: StatField, params: unknown[], ageAt: number): string {
  if (field === 'created_month') return 'd.month';
  if (field === 'age_band') {
    params.push(ageAt, ageAt, ageAt, ageAt);
    return `CASE WHEN d.birth_year IS NULL THEN NULL WHEN ? - d.birth_year >= 80 THEN '80+'
      WHEN ? - d.birth_year >= 70 THEN '70-79' WHEN ? - d.birth_year >= 60 THEN '60-69'
      WHEN ? - d.birth_year >= 40 THEN '40-59' ELSE 'under-40' END`;
  }
  // The other fields are columns of their own name.
  return `d.${field}`;
}

function sumSql(sum: StatSum, source: StatQuery['source']): string {
  if (sum === 'bytes') return source === 'files' ? 'sum(d.size)' : 'sum(d.bytes)';
  return `sum(d.${sum})`;
}

const INDEX_NAMES = new Set(KIND_INDEXES.map((cols) => `stat_k_${cols.join('_')}`));

/**
 * The covering index a query reads, named (the planner, without statistics, sometimes takes one that is not
 * covering: 10× slower).
 */
function indexOf(query: StatQuery): string {
  if (query.source === 'files') return query.by[0] === 'media_type' ? 'stat_f_media_type' : 'stat_f_kind';
  if (query.by.length === 1 && query.by[0] === 'created_month') return 'stat_month';
  const name = `stat_k_${query.by.map((f) => (f === 'age_band' ? 'birth_year' : f)).join('_')}`;
  return query.kind !== undefined && INDEX_NAMES.has(name) ? name : 'stat_k_sums';
}

/** The SQL of one query: its groups' counts and sums over the live items in scope. */
export function statQuerySql(
  query: StatQuery,
  request: Omit<AggregateRequest, 'queries'>,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const keys = query.by.map((f) => fieldSql(f, params, request.ageAt));
  const sums = (query.sums ?? []).map((s) => sumSql(s, query.source));
  const where: string[] = [];
  if (query.kind !== undefined) {
    where.push('d.kind = ?');
    params.push(query.kind);
  }
  if (request.createdBefore !== undefined) {
    where.push('d.created < ?');
    params.push(request.createdBefore);
  }
  where.push(scopeSql(request.scope, params));
  const from = `${query.source === 'files' ? 'stat_files' : 'stat_items'} d INDEXED BY ${indexOf(query)}`;
  const select = [...keys, 'count(*)', ...sums].join(', ');
  const group = keys.length === 0 ? '' : ` GROUP BY ${keys.map((_, i) => i + 1).join(', ')}`;
  return { sql: `SELECT ${select} FROM ${from} WHERE ${where.join(' AND ')}${group}`, params };
}

/** Every query answered in one read transaction: one snapshot, so the tables of an answer agree. */
export function sqliteAggregate(db: Db, request: AggregateRequest): StatResult[] {
  ensureStatTables(db);
  return db.transaction(() =>
    request.queries.map((query): StatResult => {
      const { sql, params } = statQuerySql(query, request);
      const rows = prep(db, sql)
        .raw()
        .all(...params) as (string | number | null)[][];
      const n = query.by.length;
      const sums = query.sums ?? [];
      return {
        rows: rows.map((r): StatRow => ({
          key: r.slice(0, n),
          count: r[n] as number,
          sums: Object.fromEntries(sums.map((s, i) => [s, (r[n + 1 + i] as number | null) ?? 0])),
        })),
      };
    }),
  )();
}
