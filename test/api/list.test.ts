import t from 'tap';
import { ORG_A, startTestApi, type TestApi } from '../helpers/api.ts';
import { createIndexer } from '../../services/search/indexer.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { compareKeys } from '../../services/search/catalogue.ts';

/**
 * GET /v1/items is served by the engine's item catalogue, which every commit writes before it answers: never by
 * listing the store. Each test counts the store reads a list makes (there must be none).
 */

type Listed = { items: { id: string; version: string; kind: string }[]; next?: string };

/** A clock the test moves: each write lands in a second of its own (versions are dated by it). */
function steppingClock() {
  let now = Date.parse('2026-03-01T08:00:00Z');
  return { clock: () => new Date(now), step: (s = 1) => (now += s * 1000) };
}

/** Counts the store reads made through the API's items and OCFL store from now on. */
function storeReads(api: TestApi): () => number {
  let reads = 0;
  const count = <K extends string>(o: Record<K, unknown>, name: K) => {
    const f = o[name] as (...args: unknown[]) => unknown;
    o[name] = (...args: unknown[]) => {
      reads++;
      return f.apply(o, args);
    };
  };
  count(api.items as unknown as Record<string, unknown>, 'get');
  count(api.items as unknown as Record<string, unknown>, 'list');
  count(api.ocfl as unknown as Record<string, unknown>, 'listObjects');
  count(api.ocfl as unknown as Record<string, unknown>, 'getInventory');
  return () => reads;
}

async function create(
  api: TestApi,
  id: string,
  options: { kind?: string; access?: object; as?: keyof TestApi['auth'] } = {},
) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth[options.as ?? 'archivist'],
    payload: {
      id,
      kind: options.kind ?? 'media',
      metadata: { title: id },
      access: options.access ?? { level: 'public' },
    },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
}

async function list(api: TestApi, query: string, as: keyof TestApi['auth'] = 'admin'): Promise<Listed> {
  const res = await api.app.inject({ url: `/v1/items${query}`, headers: api.auth[as] });
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
  return res.json<Listed>();
}

/** Every page, following `next`; `between` runs after each page (concurrent writers). */
async function pages(
  api: TestApi,
  query: string,
  as: keyof TestApi['auth'],
  between: (page: number) => Promise<void> = () => Promise.resolve(),
): Promise<{ seen: Listed['items']; sizes: number[] }> {
  const seen: Listed['items'] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 200; n++) {
    const page = await list(api, `${query}${cursor === undefined ? '' : `&cursor=${cursor}`}`, as);
    seen.push(...page.items);
    sizes.push(page.items.length);
    if (page.next === undefined) return { seen, sizes };
    cursor = page.next;
    await between(n);
  }
  throw new Error('no last page');
}

t.test(
  'read your writes: an item is listed as soon as it is created, at its new version when edited, gone when deleted',
  async (t) => {
    const api = await startTestApi(t);
    const reads = storeReads(api);
    let listReads = 0;
    const ids = async (as: keyof TestApi['auth']) => {
      const before = reads();
      const page = await list(api, '?limit=200', as);
      listReads += reads() - before;
      return page.items.map((i) => `${i.id}@${i.version}`);
    };
    // A contributor's own private item: listed for its creator at once (no index job has run).
    await create(api, 'mine', { as: 'contributorA', access: { level: 'private' } });
    t.same(await ids('contributorA'), ['mine@v1'], 'created → listed for its creator');
    t.same(await ids('anonymous'), [], 'and not for anyone else');
    const patched = await api.app.inject({
      method: 'PATCH',
      url: '/v1/items/mine',
      headers: api.auth.contributorA,
      payload: { metadata: { description: '改过' } },
    });
    t.equal(patched.statusCode, 200, patched.body);
    t.same(await ids('contributorA'), ['mine@v2'], 'edited → listed at its new version');
    const put = await api.app.inject({
      method: 'PUT',
      url: '/v1/items/mine/files/note.txt',
      headers: api.auth.contributorA,
      payload: 'a note\n',
    });
    t.equal(put.statusCode, 201, put.body);
    t.same(await ids('contributorA'), ['mine@v3'], 'a file added → listed at that version');
    const listedView = (await list(api, '', 'contributorA')).items[0] as unknown as {
      files: { name: string }[];
    };
    t.same(
      listedView.files.map((f) => f.name),
      ['note.txt'],
      'the full item view, files included',
    );
    const del = await api.app.inject({
      method: 'DELETE',
      url: '/v1/items/mine',
      headers: api.auth.contributorA,
    });
    t.equal(del.statusCode, 200);
    t.same(await ids('contributorA'), [], 'deleted → gone');
    t.same(await ids('admin'), [], 'for staff too');
    t.equal(listReads, 0, 'the lists read nothing from the store');
  },
);

t.test('a late catalogue write of an earlier version never takes an item back', async (t) => {
  const api = await startTestApi(t);
  await create(api, 'x');
  const v1 = await api.items.get('x');
  await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/x',
    headers: api.auth.archivist,
    payload: { metadata: { description: 'v2' } },
  });
  await api.search.putItem(v1); // v1's commit hook, arriving after v2's
  t.same(
    (await list(api, '')).items.map((i) => i.version),
    ['v2'],
  );
  await api.app.inject({ method: 'DELETE', url: '/v1/items/x', headers: api.auth.archivist });
  await api.search.putItem(await api.items.get('x', 'v2'));
  t.same((await list(api, '')).items, [], 'a deleted item stays unlisted');
});

t.test(
  'pages are full and read nothing from the store when most items are hidden or of another kind',
  async (t) => {
    const api = await startTestApi(t);
    for (let i = 0; i < 60; i++) {
      const id = `i-${String(i).padStart(2, '0')}`;
      const visible = i % 10 === 3 || i === 30;
      await create(api, id, {
        kind: i % 6 === 0 ? 'heritage_site' : 'media',
        access: visible
          ? { level: 'public' }
          : i % 10 === 5
            ? { level: 'private', organisation: ORG_A }
            : { level: 'private' },
      });
    }
    const reads = storeReads(api);
    const anon = await pages(api, '?limit=2', 'anonymous');
    t.same(
      anon.seen.map((i) => i.id),
      ['i-03', 'i-13', 'i-23', 'i-30', 'i-33', 'i-43', 'i-53'],
      'anonymous: the 7 public items',
    );
    t.same(anon.sizes, [2, 2, 2, 1], 'every page full (53 of 60 items are hidden)');
    const own = await pages(api, '?limit=5', 'contributorA');
    t.equal(own.seen.length, 13, 'contributor A: the public items and its organisation’s private ones');
    t.ok(
      own.sizes.slice(0, -1).every((n) => n === 5),
      'full pages',
    );
    const sites = await pages(api, '?limit=3&kind=heritage_site', 'admin');
    t.same(
      sites.seen.map((i) => i.kind),
      Array(10).fill('heritage_site'),
      'kind=heritage_site: its 10 items',
    );
    t.same(sites.sizes, [3, 3, 3, 1], 'full pages although 50 of 60 items are of another kind');
    const hiddenSites = await pages(api, '?limit=1&kind=heritage_site', 'anonymous');
    t.same(
      hiddenSites.seen.map((i) => i.id),
      ['i-30'],
      'kind and access together',
    );
    t.equal(reads(), 0, 'no store listing, no item read');
  },
);

t.test('sort=updated, -updated and id, each a keyset in its own order', async (t) => {
  const { clock, step } = steppingClock();
  const api = await startTestApi(t, { clock });
  for (const id of ['c', 'a', 'd', 'b']) {
    await create(api, id);
    step();
  }
  await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/a',
    headers: api.auth.archivist,
    payload: { metadata: { description: 'later' } },
  });
  const order = async (sort: string) =>
    (await pages(api, `?limit=3&sort=${sort}`, 'anonymous')).seen.map((i) => i.id);
  t.same(await order('id'), ['a', 'b', 'c', 'd'], 'id');
  t.same(await order('updated'), ['c', 'd', 'b', 'a'], 'updated: oldest change first (a was edited last)');
  t.same(await order('-updated'), ['a', 'b', 'd', 'c'], '-updated: newest change first');
  t.same(
    (await list(api, '?limit=10')).items.map((i) => i.id),
    ['a', 'b', 'c', 'd'],
    'the default order is id',
  );
});

t.test('cursors stay stable while items are created and edited between pages', async (t) => {
  const { clock, step } = steppingClock();
  const api = await startTestApi(t, { clock });
  const existing = Array.from({ length: 20 }, (_, i) => `k-${String(i * 5).padStart(3, '0')}`);
  for (const id of existing) {
    await create(api, id);
    step();
  }
  let made = 0;
  const edited = new Set<string>();
  // Between pages: a new item whose id sorts among those not yet listed, one sorting first, and an edit of an item
  // not yet listed and of one already listed.
  const churn = async (n: number) => {
    step();
    await create(api, `k-${String(n * 5 + 1 + (made % 4)).padStart(3, '0')}-${made}`);
    await create(api, `a-${made}`);
    made += 2;
    for (const id of [existing[19 - n]!, existing[n]!]) {
      edited.add(id);
      await api.app.inject({
        method: 'PATCH',
        url: `/v1/items/${id}`,
        headers: api.auth.archivist,
        payload: { metadata: { description: `edit ${n}` } },
      });
    }
  };
  for (const sort of ['id', 'updated', '-updated'] as const) {
    const { seen } = await pages(api, `?limit=4&sort=${sort}`, 'anonymous', churn);
    const ids = seen.map((i) => i.id);
    const keys = seen.map((i) => ({
      updated: Date.parse((i as unknown as { updated: string }).updated),
      id: i.id,
    }));
    t.ok(
      keys.every((k, n) => n === 0 || compareKeys(sort, keys[n - 1]!, k) < 0),
      `${sort}: the pages follow one another in the order`,
    );
    const versions = new Map<string, number[]>();
    for (const i of seen) versions.set(i.id, [...(versions.get(i.id) ?? []), Number(i.version.slice(1))]);
    const twice = [...versions].filter(([, v]) => v.length > 1);
    if (sort === 'updated') {
      // A change feed: an item edited after it was listed comes again at its new place, at its new version.
      t.ok(
        twice.every(([, v]) => v.every((n, k) => k === 0 || n > v[k - 1]!)),
        `${sort}: an item seen again only at a later version`,
      );
    } else t.same(twice, [], `${sort}: no item twice`);
    const missing = existing.filter((id) => !ids.includes(id));
    if (sort === '-updated') {
      // Newest first: an item edited while the list is read moves before the cursor; every other one is there.
      t.same(
        missing.filter((id) => !edited.has(id)),
        [],
        `${sort}: none skipped of the items that existed before paging and were not edited meanwhile`,
      );
    } else t.same(missing, [], `${sort}: none of the items that existed before paging skipped`);
    edited.clear();
  }
  t.ok(made > 0, 'items were written between pages');
});

t.test('a cursor that is not one the list gave out is a coded 400', async (t) => {
  const api = await startTestApi(t);
  for (const id of ['a', 'b', 'c']) await create(api, id);
  const first = await list(api, '?limit=1&sort=updated');
  t.ok(first.next, 'a next cursor');
  for (const [label, query] of [
    ['garbage', '?cursor=garbage'],
    ['not base64url', '?cursor=%2F%2F%2F'],
    ['an item id (the old cursor)', '?cursor=a'],
    ['another sort’s cursor', `?sort=id&cursor=${first.next}`],
    ['a forged key', `?cursor=${Buffer.from(JSON.stringify(['id', 0, '../x'])).toString('base64url')}`],
    ['an unknown sort', '?sort=title'],
    ['an unknown kind', '?kind=teapot'],
  ] as const) {
    const res = await api.app.inject({ url: `/v1/items${query}`, headers: api.auth.admin });
    t.equal(res.statusCode, 400, `${label}: 400`);
    t.equal(res.json<{ code: string }>().code, 'CIKU_ERR_REQUEST_INVALID', `${label}: coded`);
  }
  const next = await list(api, `?limit=1&sort=updated&cursor=${first.next}`);
  t.equal(next.items.length, 1, 'the real cursor works');
});

t.test('the catalogue is rebuilt from the archive alone by a reindex', async (t) => {
  const { clock, step } = steppingClock();
  const api = await startTestApi(t, { clock });
  for (let i = 0; i < 12; i++) {
    await create(api, `r-${i}`, { access: i % 3 === 0 ? { level: 'restricted' } : { level: 'public' } });
    step();
  }
  await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/r-4',
    headers: api.auth.archivist,
    payload: { metadata: { description: 'v2' } },
  });
  await api.app.inject({ method: 'DELETE', url: '/v1/items/r-5', headers: api.auth.archivist });
  // A lost catalogue: a brand-new index, filled from the archive alone.
  const fresh = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  t.teardown(() => fresh.close());
  const indexer = createIndexer({
    items: api.items,
    derivatives: createDerivativeStore({ blobs: api.blobs }),
    index: fresh,
  });
  const progress = await indexer.reindexAll();
  t.same(progress.failed, []);
  t.same(
    (await fresh.stats()).catalogue,
    (await api.search.stats()).catalogue,
    'the same rows as the commits wrote',
  );
  const scope = { all: false as const, levels: ['public' as const], today: '2026-03-01' };
  for (const sort of ['id', 'updated', '-updated'] as const) {
    const a = await fresh.listItems({ scope, sort, limit: 100 });
    const b = await api.search.listItems({ scope, sort, limit: 100 });
    t.same(a, b, `sort=${sort}: the same list`);
  }
  t.equal(
    (await fresh.listItems({ scope: { all: true }, sort: 'id', limit: 100 })).items.length,
    11,
    'the deleted item is not listed',
  );
});
