import t from 'tap';
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { readScope, type ReadScope } from '../../services/archive/access.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { CATALOGUE_SCHEMA, sqliteCatalogue } from '../../services/search/sqlite-catalogue.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import type { ListSort } from '../../services/search/search-index.ts';
import { tempDir } from '../helpers/env.ts';
import { listed } from './contract.ts';

/**
 * The embedded catalogue's embargo arm (review finding 3): passed embargoes are swept into their level's arm once
 * a day, so a page never walks the future-embargoed rows, and a caller whose day is behind the sweep still sees no
 * item before its day.
 */

const anonymousOn = (day: string): ReadScope =>
  readScope({ role: 'anonymous' }, new Date(`${day}T12:00:00Z`));

t.test(
  'passed embargoes are swept once a day; nobody sees an item before its day, whatever the sweep',
  async (t) => {
    const dir = tempDir(t, 'ciku-search-');
    let now = new Date('2030-01-10T08:00:00Z');
    const index = createSqliteIndex({ dir, clock: () => now });
    // Another process on the same files whose clock is behind (it swept less far, or not at all).
    const behind = createSqliteIndex({ dir, clock: () => new Date('2030-01-10T08:00:00Z') });
    t.teardown(async () => {
      await index.close();
      await behind.close();
    });
    const put = (id: string, embargo?: string) =>
      index.putItem(
        listed(
          id,
          'media',
          embargo === undefined ? { level: 'public' } : { level: 'public', embargo_until: embargo },
          0,
        ),
      );
    await put('A', '2030-01-11');
    await put('B', '2030-01-15');
    await put('C', '2031-01-01');
    await put('D');
    const ids = async (on: string, via = index) =>
      (await via.listItems({ scope: anonymousOn(on), sort: 'id', limit: 10 })).items.map((i) => i.id);
    t.same(await ids('2030-01-10'), ['D'], 'the day before A’s embargo ends: only the open item');
    t.same(await ids('2030-01-11'), ['A', 'D'], 'A on its day, before any sweep reached it');
    now = new Date('2030-01-16T00:30:00Z'); // a new day: the next list sweeps A and B into the public arm
    t.same(await ids('2030-01-16'), ['A', 'B', 'D'], 'after the sweep: both passed embargoes');
    t.same(await ids('2030-01-12'), ['A', 'D'], 'a caller whose day is behind the sweep: B not yet');
    t.same(await ids('2030-01-10'), ['D'], 'nor A');
    await behind.putItem(listed('E', 'media', { level: 'public', embargo_until: '2030-01-14' }, 0));
    t.same(
      await ids('2030-01-12', behind),
      ['A', 'D'],
      'the process behind reads the sweep’s day, not its own',
    );
    t.same(
      await ids('2030-01-16', behind),
      ['A', 'B', 'D', 'E'],
      'and what it wrote is listed from its day on',
    );
    now = new Date('2031-01-01T00:00:00Z');
    t.same(await ids('2031-01-01'), ['A', 'B', 'C', 'D', 'E'], 'a year later: every embargo passed');
    const staff = await index.listItems({ scope: { all: true }, sort: 'id', limit: 10 });
    t.equal(staff.items.length, 5, 'staff saw every item throughout');
  },
);

function catalogueOf(n: number, embargoedShare: number) {
  const db = new Database(':memory:');
  // The SQL the catalogue prepares, to read the plans of its list queries.
  const prepared = new Set<string>();
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => (prepared.add(sql), prepare(sql));
  db.exec(CATALOGUE_SCHEMA);
  const cat = sqliteCatalogue(db, { today: () => '2026-12-01' });
  db.exec('BEGIN');
  for (let i = 0; i < n; i++) {
    const future = (i * 0.6180339887498949) % 1 < embargoedShare;
    const at = new Date(Date.UTC(2020, 0, 1) + ((i * 7919) % n) * 60_000).toISOString().replace('.000Z', 'Z');
    const item: ItemView = {
      ...listed(
        `it-${String(i).padStart(7, '0')}`,
        i % 2 ? 'media' : 'collection_object',
        { level: 'public' },
        0,
      ),
      created: at,
      updated: at,
      access: future ? { level: 'public', embargo_until: '2050-01-01' } : { level: 'public' },
    };
    cat.put(item, 1);
  }
  db.exec('COMMIT');
  /** EXPLAIN QUERY PLAN of every list query prepared so far (parameters bound to null: plans do not use them). */
  const plans = () =>
    [...prepared]
      .filter((sql) => /^SELECT id, updated, view FROM items\b/.test(sql))
      .map((sql) => ({
        sql,
        plan: (
          prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<null>(sql.split('?').length - 1).fill(null)) as {
            detail: string;
          }[]
        ).map((r) => r.detail),
      }));
  return { db, cat, plans };
}

t.test('a page costs a few index seeks however many items are embargoed', async (t) => {
  const { db, cat, plans } = catalogueOf(20_000, 0.95);
  t.teardown(() => db.close());
  const scopes: ReadScope[] = [
    anonymousOn('2026-12-01'),
    readScope({ role: 'researcher' }, new Date('2026-12-01T12:00:00Z')),
    readScope({ role: 'contributor', organisation: 'o' }, new Date('2026-12-01T12:00:00Z')),
  ];
  let pages = 0;
  for (const scope of scopes)
    for (const sort of ['id', 'updated', '-updated'] as ListSort[])
      for (const kind of [undefined, 'media'] as const)
        for (const after of [undefined, { updated: Date.UTC(2020, 0, 5), id: 'it-0001000' }]) {
          const page = cat.list({
            scope,
            sort,
            limit: 50,
            ...(kind ? { kind } : {}),
            ...(after ? { after } : {}),
          });
          t.equal(page.items.length, 50, 'a full page');
          pages++;
        }
  const queries = plans();
  t.ok(queries.length >= 12, `${queries.length} list queries over ${pages} pages`);
  for (const { sql, plan } of queries) {
    t.ok(
      plan.some((l) => /^SEARCH items USING (COVERING )?INDEX /.test(l)) &&
        !plan.some((l) => /^SCAN /.test(l)),
      `an index search: ${sql}`,
    );
    if (sql.includes("vis = 'embargoed'"))
      t.ok(
        plan.some((l) => /USING INDEX \w+ \(acc_embargo<\?\)/.test(l)),
        `the embargoed arm is a range on the embargo date (the rows passed since the sweep), not a walk over the embargoed rows in list order: ${plan.join('; ')}`,
      );
  }
  t.ok(
    queries.some((q) => q.sql.includes("vis = 'embargoed'")),
    'there was an embargoed arm',
  );
  // Figures only (a benchmark, not an assertion): a page against the same catalogue with no embargoes.
  const bare = catalogueOf(20_000, 0);
  t.teardown(() => bare.db.close());
  const perPage = (c: typeof cat, sort: ListSort) => {
    const scope = anonymousOn('2026-12-01');
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let k = 0; k < 20; k++) c.list({ scope, sort, limit: 50 });
      best = Math.min(best, (performance.now() - t0) / 20);
    }
    return best;
  };
  for (const sort of ['id', '-updated'] as ListSort[])
    t.comment(
      `sort=${sort}: ${perPage(cat, sort).toFixed(3)} ms a page with 95 % embargoed, ${perPage(bare.cat, sort).toFixed(3)} ms with none (20,000 rows)`,
    );
});
