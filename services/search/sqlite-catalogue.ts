import type Database from 'better-sqlite3';
import type { ReadScope } from '../archive/access.ts';
import type { ItemView } from '../archive/items.ts';
import { catalogueHasher, compareKeys, keyOf, versionNumber } from './catalogue.ts';
import type { ListAfter, ListPage, ListRequest } from './search-index.ts';

/**
 * The embedded engine's item catalogue: one narrow row per item in `catalogue-<stamp>.sqlite`, beside the index
 * file of the same stamp (CURRENT names both; `ciku reindex` swaps both at once). A file of its own, not a table in
 * the index: a transcript of 140,000 segments holds the index file's write lock for seconds, and a commit's
 * catalogue write (on the event loop, before the API answers) must never wait behind it.
 *
 * Lists are keyset queries: the caller's read scope becomes a few "arms" (staff: everything; else one arm per
 * readable level of items without an embargo, one for embargoed items whose date has passed, one for the
 * contributor's organisation), each an index range already in the list's order (partial indexes over live rows,
 * with and without `kind`); the arms' first `limit + 1` rows are merged. So a page costs a few index seeks whatever
 * share of the archive the caller may not see, and never an offset or a sort of the matches.
 */

export const CATALOGUE_FORMAT = 1;

const ORDERS = {
  u: 'updated, id',
  i: 'id',
} as const;

/** Partial indexes (live rows only) for each arm × with/without kind × order. */
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
  return out.join('\n');
}

export const CATALOGUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  vnum INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  -- the access level, or 'embargoed' for an item with an embargo date (whose arm compares the date)
  vis TEXT NOT NULL,
  acc_level TEXT NOT NULL, acc_embargo TEXT, acc_org TEXT,
  deleted INTEGER NOT NULL,
  -- when this process wrote the row (ms): a rebuild carries over the rows written while it ran
  touched INTEGER NOT NULL,
  view TEXT NOT NULL
);
${indexSql()}
`;

type Db = Database.Database;

interface Row {
  id: string;
  updated: number;
  view: string;
}

/** An arm: a WHERE fragment over `items` and its parameters. */
interface Arm {
  where: string;
  params: unknown[];
}

function armsOf(scope: ReadScope): Arm[] {
  if (scope.all) return [{ where: '', params: [] }];
  const arms: Arm[] = scope.levels.map((level) => ({ where: 'vis = ? AND ', params: [level] }));
  arms.push({
    where: `vis = 'embargoed' AND acc_level IN (${scope.levels.map(() => '?').join(', ')}) AND acc_embargo <= ? AND `,
    params: [...scope.levels, scope.today],
  });
  if (scope.organisation !== undefined)
    arms.push({ where: 'acc_org = ? AND ', params: [scope.organisation] });
  return arms;
}

export function sqliteCatalogue(db: Db) {
  const upsert = db.prepare(`INSERT INTO items
      (id, kind, vnum, updated, vis, acc_level, acc_embargo, acc_org, deleted, touched, view)
      VALUES (@id, @kind, @vnum, @updated, @vis, @acc_level, @acc_embargo, @acc_org, @deleted, @touched, @view)
    ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, vnum = excluded.vnum, updated = excluded.updated,
      vis = excluded.vis, acc_level = excluded.acc_level, acc_embargo = excluded.acc_embargo,
      acc_org = excluded.acc_org, deleted = excluded.deleted, touched = excluded.touched, view = excluded.view
    WHERE excluded.vnum >= items.vnum`);
  const del = db.prepare('DELETE FROM items WHERE id = ?');
  const versionOf = db.prepare<[string], { vnum: number }>('SELECT vnum FROM items WHERE id = ?');
  const statements = new Map<string, Database.Statement>();
  const prep = (sql: string) => {
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare(sql)));
    return st;
  };

  function rowOf(item: ItemView, touched: number) {
    const embargo = item.access.embargo_until;
    return {
      id: item.id,
      kind: item.kind,
      vnum: versionNumber(item.version),
      updated: keyOf(item).updated,
      vis: embargo === undefined ? item.access.level : 'embargoed',
      acc_level: item.access.level,
      acc_embargo: embargo ?? null,
      acc_org: item.access.organisation ?? null,
      deleted: item.tombstone ? 1 : 0,
      touched,
      view: JSON.stringify(item),
    };
  }

  /** One arm's first `n` rows after `after`, in the request's order (an index range, read in order). */
  function armRows(arm: Arm, request: ListRequest, n: number): Row[] {
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
    return prep(`SELECT id, updated, view FROM items WHERE ${where}1 ORDER BY ${order} LIMIT ?`).all(
      ...params,
      n,
    ) as Row[];
  }

  function list(request: ListRequest): ListPage {
    const n = request.limit + 1;
    const key = (r: Row): ListAfter => ({ updated: r.updated, id: r.id });
    const rows = armsOf(request.scope)
      .map((arm) => armRows(arm, request, n))
      .flat()
      .sort((x, y) => compareKeys(request.sort, key(x), key(y)));
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

  return {
    /** Writes the row unless the catalogue holds a later version (same version: rewritten, identical). */
    put(item: ItemView, touched = Date.now()): void {
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
      let n = 0;
      const rows = from
        .prepare(
          `SELECT id, kind, vnum, updated, vis, acc_level, acc_embargo, acc_org, deleted, touched, view
             FROM items WHERE touched >= ?`,
        )
        .all(sinceMs) as Record<string, unknown>[];
      for (const r of rows) n += upsert.run(r).changes;
      return n;
    },
  };
}

export type SqliteCatalogue = ReturnType<typeof sqliteCatalogue>;
