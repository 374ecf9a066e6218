import type Database from 'better-sqlite3';
import type { ReadScope } from '../archive/access.ts';
import type { ItemView } from '../archive/items.ts';
import { catalogueHasher, compareKeys, keyOf, versionNumber } from './catalogue.ts';
import type {
  ChangeHeadPage,
  ChangesPage,
  ChangesRequest,
  ListAfter,
  ListPage,
  ListRequest,
} from './search-index.ts';
import type { ItemKind } from '../../schemas/item.ts';

/**
 * The embedded engine's item catalogue: one narrow row per item in `catalogue-<stamp>.sqlite`, beside the index
 * file of the same stamp (CURRENT names both; `ciku reindex` swaps both at once). A file of its own, not a table in
 * the index: a transcript of 140,000 segments holds the index file's write lock for seconds, and a commit's
 * catalogue write (on the event loop, before the API answers) must never wait behind it.
 *
 * Lists are keyset queries: the caller's read scope becomes a few "arms" (staff: everything; else one arm per
 * readable level, one for embargoed items whose date has passed, one for the contributor's organisation), each an
 * index range already in the list's order (partial indexes over live rows, with and without `kind`); the arms'
 * first `limit + 1` rows are merged. So a page costs a few index seeks whatever share of the archive the caller
 * may not see, and never an offset or a sort of the matches.
 *
 * Embargoes. A row's `vis` is its level once its embargo has passed, and `embargoed` while it is still to come:
 * a *sweep* (once a day per process, before its first list or write of the day; `meta.swept` records the day
 * swept to) turns the rows whose date has come into their level's arm, and writes classify by that day. So the
 * embargoed arm holds the future embargoes (none of which a non-staff caller may read) and only those passed since
 * the last sweep, which it finds by a range on the embargo date (`cat_emb`) and sorts in memory — a small set,
 * instead of a walk over every future-embargoed row in list order (linear in them: 100,000 items of which half are
 * embargoed took 10–18 ms a page). A caller whose day is before the swept day (a clock behind the sweeper's)
 * gets level arms that compare the date as well: slower, never wider. Every process may sweep: a sweep only ever
 * moves `meta.swept` forward, in one write transaction, and a row classified by an older day is in the embargoed
 * arm, which compares the date itself.
 */

export const CATALOGUE_FORMAT = 1;

const ORDERS = {
  u: 'updated, id',
  i: 'id',
} as const;

/** Partial indexes (live rows only) for each arm × with/without kind × order, and the embargo dates still to sweep. */
function indexSql(): string {
  const out: string[] = [];
  const arms: [string, string][] = [
    ['all', ''],
    ['vis', 'vis, '],
    ['org', 'acc_org, '],
  ];
  for (const [arm, lead] of arms) {
    for (const [o, cols] of Object.entries(ORDERS)) {
      out.push(`CREATE INDEX IF NOT EXISTS cat_${arm}_${o} ON items(${lead}${cols}) WHERE deleted = 0;`);
      out.push(
        `CREATE INDEX IF NOT EXISTS cat_${arm}_k${o} ON items(${lead}kind, ${cols}) WHERE deleted = 0;`,
      );
    }
  }
  // Every row (tombstones too) in change order: OAI-PMH's walk over datestamps (`changes`).
  out.push('CREATE INDEX IF NOT EXISTS cat_any_u ON items(updated, id);');
  out.push('CREATE INDEX IF NOT EXISTS cat_any_ku ON items(kind, updated, id);');
  out.push(
    "CREATE INDEX IF NOT EXISTS cat_emb ON items(acc_embargo) WHERE deleted = 0 AND vis = 'embargoed';",
  );
  return out.join('\n');
}

export const CATALOGUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  vnum INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  -- the access level, or 'embargoed' for an item whose embargo date was still to come on the day swept to
  vis TEXT NOT NULL,
  acc_level TEXT NOT NULL, acc_embargo TEXT, acc_org TEXT,
  deleted INTEGER NOT NULL,
  -- when this process wrote the row (ms): a rebuild carries over the rows written while it ran
  touched INTEGER NOT NULL,
  view TEXT NOT NULL
);
${indexSql()}
-- 'swept': the day (yyyy-mm-dd) up to which passed embargoes are in their level's arm; 'complete' (sqlite-index.ts)
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type Db = Database.Database;

interface Row {
  id: string;
  updated: number;
  view: string;
}

/** An arm: a WHERE fragment over `items`, its parameters, and the index it must read (when the planner's pick
 * would be a walk in list order). */
interface Arm {
  where: string;
  params: unknown[];
  indexedBy?: string;
}

/** The arms of a scope, given the day the catalogue was swept to (see the module comment). */
function armsOf(scope: ReadScope, swept: string): Arm[] {
  if (scope.all) return [{ where: '', params: [] }];
  // Rows in a level's arm have no embargo or one on or before `swept`: all readable unless the caller's day is
  // earlier than that.
  const dated = scope.today < swept;
  const arms: Arm[] = scope.levels.map((level) =>
    dated
      ? { where: 'vis = ? AND (acc_embargo IS NULL OR acc_embargo <= ?) AND ', params: [level, scope.today] }
      : { where: 'vis = ? AND ', params: [level] },
  );
  arms.push({
    where: `vis = 'embargoed' AND acc_embargo <= ? AND acc_level IN (${scope.levels.map(() => '?').join(', ')}) AND `,
    params: [scope.today, ...scope.levels],
    // A range on the date (the embargoes passed since the sweep), sorted in memory: never a walk over the
    // future embargoes in list order.
    indexedBy: 'cat_emb',
  });
  if (scope.organisation !== undefined)
    arms.push({ where: 'acc_org = ? AND ', params: [scope.organisation] });
  return arms;
}

/** The `vis` of a row: its level, unless its embargo is after the day swept to. */
function visOf(level: string, embargo: string | null, swept: string): string {
  return embargo === null || embargo <= swept ? level : 'embargoed';
}

export interface SqliteCatalogueOptions {
  /** The day as yyyy-mm-dd (UTC, as `readScope` has it); what the sweep moves passed embargoes up to. */
  today?: () => string;
}

const utcToday = () => new Date().toISOString().slice(0, 10);

export function sqliteCatalogue(db: Db, options: SqliteCatalogueOptions = {}) {
  const today = options.today ?? utcToday;
  const upsert = db.prepare(`INSERT INTO items
      (id, kind, vnum, updated, vis, acc_level, acc_embargo, acc_org, deleted, touched, view)
      VALUES (@id, @kind, @vnum, @updated, @vis, @acc_level, @acc_embargo, @acc_org, @deleted, @touched, @view)
    ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, vnum = excluded.vnum, updated = excluded.updated,
      vis = excluded.vis, acc_level = excluded.acc_level, acc_embargo = excluded.acc_embargo,
      acc_org = excluded.acc_org, deleted = excluded.deleted, touched = excluded.touched, view = excluded.view
    WHERE excluded.vnum >= items.vnum`);
  const del = db.prepare('DELETE FROM items WHERE id = ?');
  const sweptRow = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'swept'");
  const setSwept = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('swept', ?)");
  const sweepRows = db.prepare(
    "UPDATE items INDEXED BY cat_emb SET vis = acc_level WHERE deleted = 0 AND vis = 'embargoed' AND acc_embargo <= ?",
  );
  /** The day swept to as this process last read or wrote it (never after `meta.swept`: it only moves forward). */
  let swept = sweptRow.get()?.value ?? '';
  /** The day this process last made sure of the sweep. */
  let checked = '';

  /** Moves the embargoes passed by `day` into their levels' arms, unless a sweep (any process) got there. */
  const sweep = db.transaction((day: string): string => {
    const held = sweptRow.get()?.value ?? '';
    if (held >= day) return held;
    sweepRows.run(day);
    setSwept.run(day);
    return day;
  });

  /** Once a day per process (a date compare otherwise): the sweep before a list or a write. */
  function sweepIfDue(): void {
    const day = today();
    if (day === checked) return;
    swept = sweep.immediate(day);
    checked = day;
  }
  const versionOf = db.prepare<[string], { vnum: number }>('SELECT vnum FROM items WHERE id = ?');
  const statements = new Map<string, Database.Statement>();
  const prep = (sql: string) => {
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare(sql)));
    return st;
  };

  function rowOf(item: ItemView, touched: number) {
    const embargo = item.access.embargo_until ?? null;
    return {
      id: item.id,
      kind: item.kind,
      vnum: versionNumber(item.version),
      updated: keyOf(item).updated,
      vis: visOf(item.access.level, embargo, swept),
      acc_level: item.access.level,
      acc_embargo: embargo,
      acc_org: item.access.organisation ?? null,
      deleted: item.tombstone ? 1 : 0,
      touched,
      view: JSON.stringify(item),
    };
  }

  /** The query of one arm's first `n` rows after `after`, in the request's order. */
  function armQuery(arm: Arm, request: ListRequest, n: number): { sql: string; params: unknown[] } {
    const params = [...arm.params];
    let where = `deleted = 0 AND ${arm.where}`;
    if (request.kind !== undefined) {
      where += 'kind = ? AND ';
      params.push(request.kind);
    }
    const a = request.after;
    let order: string;
    if (request.sort === 'id') {
      if (a) {
        where += 'id > ? AND ';
        params.push(a.id);
      }
      order = 'id';
    } else {
      const asc = request.sort === 'updated';
      if (a) {
        where += `(updated, id) ${asc ? '>' : '<'} (?, ?) AND `;
        params.push(a.updated, a.id);
      }
      order = asc ? 'updated, id' : 'updated DESC, id DESC';
    }
    const from = arm.indexedBy === undefined ? 'items' : `items INDEXED BY ${arm.indexedBy}`;
    return {
      sql: `SELECT id, updated, view FROM ${from} WHERE ${where}1 ORDER BY ${order} LIMIT ?`,
      params: [...params, n],
    };
  }

  /** One arm's rows (an index range read in order, or the embargo date range sorted in memory). */
  function armRows(arm: Arm, request: ListRequest, n: number): Row[] {
    const { sql, params } = armQuery(arm, request, n);
    return prep(sql).all(...params) as Row[];
  }

  /** Every arm read in one read transaction: one snapshot (an item moving between arms is seen once). */
  const readArms = db.transaction((request: ListRequest, n: number): Row[] => {
    const day = sweptRow.get()?.value ?? '';
    return armsOf(request.scope, day).flatMap((arm) => armRows(arm, request, n));
  });

  function list(request: ListRequest): ListPage {
    sweepIfDue();
    const n = request.limit + 1;
    const key = (r: Row): ListAfter => ({ updated: r.updated, id: r.id });
    const rows = readArms(request, n).sort((x, y) => compareKeys(request.sort, key(x), key(y)));
    const page: Row[] = [];
    for (const r of rows) {
      // An item may be in two arms (an organisation's own public item): once is enough.
      if (page.length > 0 && page[page.length - 1]!.id === r.id) continue;
      page.push(r);
      if (page.length === n) break;
    }
    const more = page.length > request.limit;
    if (more) page.pop();
    const items = page.map((r) => JSON.parse(r.view) as ItemView);
    return more ? { items, next: key(page[page.length - 1]!) } : { items };
  }

  /** The WHERE and parameters of a changes range (one index range, no access arms). */
  function changesQuery(request: ChangesRequest, columns: string): { sql: string; params: unknown[] } {
    const params: unknown[] = [];
    let where = '';
    if (request.kind !== undefined) {
      where += 'kind = ? AND ';
      params.push(request.kind);
    }
    if (request.fromMs !== undefined) {
      where += 'updated >= ? AND ';
      params.push(request.fromMs);
    }
    if (request.untilMs !== undefined) {
      where += 'updated <= ? AND ';
      params.push(request.untilMs);
    }
    if (request.after) {
      where += '(updated, id) > (?, ?) AND ';
      params.push(request.after.updated, request.after.id);
    }
    const index = request.kind === undefined ? 'cat_any_u' : 'cat_any_ku';
    return {
      sql: `SELECT ${columns} FROM items INDEXED BY ${index} WHERE ${where}1 ORDER BY updated, id LIMIT ?`,
      params: [...params, request.limit + 1],
    };
  }

  /** Every row in `[fromMs, untilMs]` after `after`, oldest change first. */
  function changes(request: ChangesRequest): ChangesPage {
    const { sql, params } = changesQuery(request, 'id, updated, view');
    const rows = prep(sql).all(...params) as Row[];
    const more = rows.length > request.limit;
    if (more) rows.pop();
    const items = rows.map((r) => JSON.parse(r.view) as ItemView);
    const last = rows[rows.length - 1];
    return more && last ? { items, next: { updated: last.updated, id: last.id } } : { items };
  }

  /** The same rows without their views: what a count needs (no JSON parsed). */
  function changeHeads(request: ChangesRequest): ChangeHeadPage {
    const { sql, params } = changesQuery(
      request,
      'id, updated, vnum, kind, acc_level, acc_embargo, acc_org, deleted',
    );
    const raw = prep(sql).all(...params) as {
      id: string;
      updated: number;
      vnum: number;
      kind: string;
      acc_level: 'public' | 'restricted' | 'private';
      acc_embargo: string | null;
      acc_org: string | null;
      deleted: number;
    }[];
    const more = raw.length > request.limit;
    if (more) raw.pop();
    const rows = raw.map((r) => ({
      id: r.id,
      updated: r.updated,
      version: `v${r.vnum}`,
      kind: r.kind as ItemKind,
      access: {
        level: r.acc_level,
        ...(r.acc_embargo === null ? {} : { embargo_until: r.acc_embargo }),
        ...(r.acc_org === null ? {} : { organisation: r.acc_org }),
      },
      deleted: r.deleted === 1,
    }));
    const last = rows[rows.length - 1];
    return more && last ? { rows, next: { updated: last.updated, id: last.id } } : { rows };
  }

  return {
    changes,
    changeHeads,
    /** Writes the row unless the catalogue holds a later version (same version: rewritten, identical). */
    put(item: ItemView, touched = Date.now()): void {
      sweepIfDue();
      upsert.run(rowOf(item, touched));
    },
    forget(itemId: string): void {
      del.run(itemId);
    },
    list,
    version(itemId: string): string | undefined {
      const row = versionOf.get(itemId);
      return row === undefined ? undefined : `v${row.vnum}`;
    },
    stats() {
      const h = catalogueHasher();
      for (const r of prep('SELECT id, vnum, view FROM items ORDER BY id').iterate() as Iterable<{
        id: string;
        vnum: number;
        view: string;
      }>)
        h.add(r.id, r.vnum, r.view);
      return h.result();
    },
    /**
     * Copies the rows `from` wrote since `sinceMs` into this catalogue where they are newer (the commits that landed
     * in the live catalogue while a rebuild read the archive).
     */
    mergeFrom(from: Db, sinceMs: number): number {
      sweepIfDue();
      let n = 0;
      const rows = from
        .prepare(
          `SELECT id, kind, vnum, updated, acc_level, acc_embargo, acc_org, deleted, touched, view
             FROM items WHERE touched >= ?`,
        )
        .all(sinceMs) as (Record<string, unknown> & { acc_level: string; acc_embargo: string | null })[];
      // Classified by this catalogue's sweep, not the other's; in one transaction (one commit, not one a row).
      db.transaction(() => {
        for (const r of rows)
          n += upsert.run({ ...r, vis: visOf(r.acc_level, r.acc_embargo, swept) }).changes;
      })();
      return n;
    },
  };
}

export type SqliteCatalogue = ReturnType<typeof sqliteCatalogue>;
