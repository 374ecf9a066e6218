import t from 'tap';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { createIndexer, type IndexerItems } from '../../services/search/indexer.ts';
import { createDerivativeStore, type DerivativeStore } from '../../services/archive/derivatives.ts';
import type { ItemView } from '../../services/archive/items.ts';
import type { IndexWriter, SearchIndex } from '../../services/search/search-index.ts';
import type { SearchDocumentT } from '../../schemas/search.ts';
import { isCikuError } from '../../services/errors.ts';
import { isPermanent } from '../../workers/registry.ts';

/**
 * Index jobs are per version and run several at a time: a job that read head vN and wrote slowly may finish after
 * the job of vN+1. The indexer checks the archive's head after it wrote and indexes again when it moved on, so the
 * late writer never leaves an older head in search (issue 13 follow-up, review finding 1).
 */

/** An indexer whose first `put` (the document of the head it read) waits for `release`. */
function slowIndexer(api: TestApi) {
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  let held = false;
  let reachedPut!: () => void;
  const atPut = new Promise<void>((res) => (reachedPut = res));
  const index = new Proxy(api.search, {
    get(target, prop, recv) {
      if (prop === 'put')
        return async (...a: Parameters<SearchIndex['put']>) => {
          if (!held) {
            held = true;
            reachedPut();
            await gate;
          }
          return target.put(...a);
        };
      return Reflect.get(target, prop, recv) as unknown;
    },
  });
  const indexer = createIndexer({
    items: api.items,
    derivatives: createDerivativeStore({ blobs: api.blobs }),
    index,
  });
  return { indexer, atPut, release };
}

async function create(api: TestApi, id: string, title: string) {
  const r = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.archivist,
    payload: { id, kind: 'archive_document', metadata: { title }, access: { level: 'public' } },
  });
  if (r.statusCode !== 201) throw new Error(r.body);
}

const anonymousHits = async (api: TestApi, q: string) =>
  (await api.app.inject({ url: `/v1/search?q=${q}` }))
    .json<{ hits: { id: string }[] }>()
    .hits.map((h) => h.id);

t.test('a late index job of a deleted item’s earlier version does not bring it back to search', async (t) => {
  const api = await startTestApi(t);
  await create(api, 'z', 'kilnsecret');
  const slow = slowIndexer(api);
  const jobA = slow.indexer.upsertItem('z'); // v1's job: reads head v1 (public), its put held back
  await slow.atPut;
  const del = await api.app.inject({ method: 'DELETE', url: '/v1/items/z', headers: api.auth.archivist });
  t.equal(del.statusCode, 200);
  t.equal(await api.indexer.upsertItem('z'), undefined, 'v2’s job (the tombstone) removes it');
  slow.release();
  t.equal(await jobA, undefined, 'the late job saw the head move on and indexed the tombstone');
  t.same(await anonymousHits(api, 'kilnsecret'), [], 'anonymous search does not find the deleted item');
  t.equal(await api.search.indexedVersion('z'), undefined, 'the index holds no version of it');
});

t.test('a late index job of an earlier version leaves the newer head indexed', async (t) => {
  const api = await startTestApi(t);
  await create(api, 'y', 'oldtitle');
  const slow = slowIndexer(api);
  const jobA = slow.indexer.upsertItem('y');
  await slow.atPut;
  const patch = await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/y',
    headers: api.auth.archivist,
    payload: { metadata: { title: 'newtitle' }, access: { level: 'private' } },
  });
  t.equal(patch.statusCode, 200, 'edited and made private');
  t.equal(await api.indexer.upsertItem('y'), 'v2');
  slow.release();
  t.equal(await jobA, 'v2', 'the late job wrote v1, saw v2 and indexed v2 again');
  t.equal(await api.search.indexedVersion('y'), 'v2');
  t.same(await anonymousHits(api, 'oldtitle'), [], 'the old public title is not found by anonymous callers');
  t.same(await anonymousHits(api, 'newtitle'), [], 'nor the new private one');
});

/** A fake that implements `impl` and throws on any other method (STYLE 9). */
function fake<T extends object>(impl: Partial<T>): T {
  return new Proxy(impl, {
    get(target, prop) {
      if (prop in target) return (target as Record<string | symbol, unknown>)[prop];
      if (prop === 'then') return undefined;
      throw new Error(`fake: ${String(prop)} is not implemented`);
    },
  }) as T;
}

t.test(
  'an item whose head keeps moving while it is indexed gives up after a few rounds, retryably',
  async (t) => {
    const { item } = await import('./contract.ts');
    let head = 1;
    const writes: string[] = [];
    const indexer = createIndexer({
      items: fake<IndexerItems>({
        // Every read finds the head it read already replaced by the next one.
        get: (id: string) =>
          Promise.resolve(item(id, 'media', { title: 't' }, undefined, { version: `v${head++}` })),
        headVersion: () => Promise.resolve(`v${head}`),
      }),
      derivatives: fake<DerivativeStore>({}),
      index: fake<SearchIndex>({}),
    });
    const target = fake<IndexWriter>({
      putItem: (i: ItemView) => (writes.push(`row ${i.version}`), Promise.resolve()),
      put: (d: SearchDocumentT) => (writes.push(`doc ${d.version}`), Promise.resolve()),
    });
    const err = await indexer.indexInto(target, 'm').then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(isCikuError(err, 'CIKU_ERR_VERSION_CONFLICT'), 'a coded error the job retries');
    t.notOk(isPermanent(err), 'not one of the permanent faults');
    t.equal(writes.filter((w) => w.startsWith('doc')).length, 5, 'five rounds of write and check');
    t.equal(writes.at(-1), 'doc v5', 'each round wrote the head it read');

    // The head stops moving: one more round and it is done.
    let stable = 7;
    const settling = createIndexer({
      items: fake<IndexerItems>({
        get: (id: string) =>
          Promise.resolve(item(id, 'media', { title: 't' }, undefined, { version: `v${stable}` })),
        headVersion: () => Promise.resolve(stable === 7 ? `v${++stable}` : `v${stable}`),
      }),
      derivatives: fake<DerivativeStore>({}),
      index: fake<SearchIndex>({}),
    });
    writes.length = 0;
    t.equal(await settling.indexInto(target, 'm'), 'v8', 'the second round indexed the head it found');
    t.same(writes, ['row v7', 'doc v7', 'row v8', 'doc v8']);
  },
);
