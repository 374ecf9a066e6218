import t from 'tap';
import { MeilisearchApiError, type Meilisearch } from 'meilisearch';
import { createMeiliIndex } from '../../services/search/meili-index.ts';
import { listed } from './contract.ts';

/**
 * The Meilisearch rebuild's swap, against a small in-memory fake of the client (no server runs here; the contract
 * suite runs against a real one with MEILI_URL). Review finding 2: the swap made the rebuilt catalogue live first
 * and copied the commits made during the rebuild afterwards, so an item made private meanwhile was listed with
 * its old public row until the copy reached it.
 */

type Doc = Record<string, unknown> & { id: string };
const done = { waitTask: () => Promise.resolve({ status: 'succeeded' }) };

/** A fake that throws on any member it does not implement (STYLE 9). */
function strict<T extends object>(impl: T, what: string): T {
  return new Proxy(impl, {
    get(target, prop) {
      if (prop in target) return (target as Record<string | symbol, unknown>)[prop];
      if (prop === 'then') return undefined;
      throw new Error(`fake ${what}: ${String(prop)} is not implemented`);
    },
  });
}

function fakeMeili() {
  const indexes = new Map<string, Map<string, Doc>>();
  const docsOf = (uid: string) => {
    const d = indexes.get(uid);
    if (!d) throw new Error(`fake: no index ${uid}`);
    return d;
  };
  const pick = (d: Doc, fields?: string[]) =>
    fields ? Object.fromEntries(fields.filter((f) => f in d).map((f) => [f, d[f]])) : { ...d };
  const state = {
    indexes,
    /** Runs inside the swap task, before it swaps (a commit's task enqueued just before the swap). */
    beforeSwap: (): Promise<void> => Promise.resolve(),
    log: [] as string[],
  };
  const index = (uid: string) =>
    strict(
      {
        updateSettings: () => done,
        addDocuments(docs: Doc[]) {
          for (const d of docs) {
            docsOf(uid).set(d.id, { ...d });
            state.log.push(`add ${uid} ${String(d.item_id)}@v${String(d.vnum)}`);
          }
          return done;
        },
        getDocument(id: string, options?: { fields?: string[] }) {
          const d = docsOf(uid).get(id);
          if (!d)
            return Promise.reject(
              new MeilisearchApiError(new Response(null, { status: 404 }), {
                code: 'document_not_found',
                message: `no ${id}`,
                type: 'invalid_request',
                link: '',
              }),
            );
          return Promise.resolve(pick(d, options?.fields));
        },
        getDocuments(q: { offset: number; limit: number; fields?: string[]; filter?: string }) {
          const m = q.filter === undefined ? undefined : /^touched >= (-?\d+)$/.exec(q.filter);
          if (q.filter !== undefined && !m) throw new Error(`fake: filter ${q.filter}`);
          const all = [...docsOf(uid).values()].filter((d) => !m || (d.touched as number) >= Number(m[1]));
          return Promise.resolve({
            results: all.slice(q.offset, q.offset + q.limit).map((d) => pick(d, q.fields)),
          });
        },
      },
      `index ${uid}`,
    );
  const client = strict(
    {
      getIndex: (uid: string) =>
        indexes.has(uid) ? Promise.resolve({ uid }) : Promise.reject(new Error(`no index ${uid}`)),
      createIndex(uid: string) {
        indexes.set(uid, new Map());
        return done;
      },
      index,
      swapIndexes(pairs: { indexes: [string, string] }[]) {
        return {
          async waitTask() {
            await state.beforeSwap();
            for (const {
              indexes: [a, b],
            } of pairs) {
              const da = docsOf(a);
              indexes.set(a, docsOf(b));
              indexes.set(b, da);
            }
            state.log.push('swap');
            return { status: 'succeeded' };
          },
        };
      },
      deleteIndex(uid: string) {
        indexes.delete(uid);
        return done;
      },
    },
    'client',
  );
  return { client: client as unknown as Meilisearch, state };
}

t.test(
  'meilisearch: a rebuild’s swap never makes an older catalogue row live than the live catalogue holds',
  async (t) => {
    const { client, state } = fakeMeili();
    const index = createMeiliIndex({ url: 'http://fake.invalid', indexPrefix: 't', client });
    const pub = { level: 'public' } as const;
    await index.putItem(listed('X', 'media', pub, 0));
    await index.putItem(listed('Y', 'media', pub, 0));
    const rebuild = await index.rebuild();
    const nextCat = [...state.indexes.keys()].find((uid) => uid.startsWith('t_next_catalogue_'))!;
    t.ok(nextCat, 'the rebuild’s own catalogue');
    // The rebuild reads the archive: both items at v1, public.
    await rebuild.putItem(listed('X', 'media', pub, 0));
    await rebuild.putItem(listed('Y', 'media', pub, 0));
    // Meanwhile X is made private (v2): the live catalogue stops listing it to anonymous callers.
    await index.putItem(listed('X', 'media', { level: 'private' }, 60, 'v2'));
    let atSwap: Map<string, Doc> | undefined;
    state.beforeSwap = async () => {
      atSwap = new Map(state.indexes.get(nextCat));
      // And a commit lands just before the swap runs: Y deleted (v2, a tombstone).
      await index.putItem({
        ...listed('Y', 'media', pub, 120, 'v2'),
        tombstone: { at: '2026-01-01T00:02:00Z', by: 'test' },
      });
    };
    await rebuild.commit();
    const row = (docs: Map<string, Doc> | undefined, itemId: string) =>
      [...(docs?.values() ?? [])].find((d) => d.item_id === itemId);
    const x = row(atSwap, 'X');
    t.same(
      x && { vnum: x.vnum, acc_level: x.acc_level },
      { vnum: 2, acc_level: 'private' },
      'when the rebuilt catalogue became live it already held X as made private during the rebuild',
    );
    t.ok(
      state.log.indexOf(`add ${nextCat} X@v2`) < state.log.indexOf('swap') &&
        state.log.includes(`add ${nextCat} X@v2`),
      'copied before the swap',
    );
    t.equal(await index.cataloguedVersion('X'), 'v2', 'X at v2 in the live catalogue');
    t.equal(
      await index.cataloguedVersion('Y'),
      'v2',
      'the commit that landed at the swap carried over after it',
    );
    t.equal(row(state.indexes.get('t_catalogue'), 'Y')?.deleted, true, 'as a tombstone (never listed)');
    t.same(
      [...state.indexes.keys()].filter((uid) => uid.includes('_next_')),
      [],
      'the rebuild’s indexes are dropped',
    );
  },
);
