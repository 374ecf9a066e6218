import t, { type Test } from 'tap';
import { startTestApi, type TestApi } from '../helpers/api.ts';

const ID = 'JDZ-AD-2019-001';
const ITEM_URL = `/v1/items/${ID}`;

/** A fresh API holding one public archive document at v1; the creation's answer for the tests that check it. */
async function withItem(t: Test) {
  const api = await startTestApi(t);
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.archivist,
    payload: {
      id: ID,
      kind: 'archive_document',
      metadata: { title: '御窑厂遗址保护工程档案', year: 2019, series: '保护工程' },
      access: { level: 'public' },
    },
  });
  return { ...api, created };
}

function patchPages(api: TestApi, ifMatch: string, pages: number) {
  return api.app.inject({
    method: 'PATCH',
    url: ITEM_URL,
    headers: { ...api.auth.archivist, 'if-match': ifMatch },
    payload: { metadata: { pages } },
  });
}

/** The item edited once (v2) and then deleted. */
async function withDeletedItem(t: Test) {
  const api = await withItem(t);
  t.equal((await patchPages(api, '"v1"', 12)).statusCode, 200, 'edited');
  const del = await api.app.inject({
    method: 'DELETE',
    url: `${ITEM_URL}?reason=duplicate`,
    headers: api.auth.archivist,
  });
  t.equal(del.statusCode, 200);
  return api;
}

t.test('creating an item answers 201 with its ETag, its Location and a request id', async (t) => {
  const { created } = await withItem(t);
  t.equal(created.statusCode, 201, created.body);
  t.equal(created.headers.etag, '"v1"');
  t.equal(created.headers.location, ITEM_URL);
  t.match(created.headers['x-request-id'], /\S+/, 'every answer carries a request id');
});

t.test('anyone reads a public item without a key', async (t) => {
  const { app } = await withItem(t);
  const anon = await app.inject({ url: ITEM_URL });
  t.equal(anon.statusCode, 200);
  t.equal(anon.json<{ metadata: { title: string } }>().metadata.title, '御窑厂遗址保护工程档案');
});

t.test('a PATCH with the current If-Match makes the next version', async (t) => {
  const api = await withItem(t);
  const patched = await patchPages(api, '"v1"', 12);
  t.equal(patched.statusCode, 200, patched.body);
  t.equal(patched.json<{ version: string }>().version, 'v2');
});

t.test('a stale If-Match answers 412', async (t) => {
  const api = await withItem(t);
  t.equal((await patchPages(api, '"v1"', 12)).statusCode, 200, 'v2 lands first');
  const stale = await patchPages(api, '"v1"', 13);
  t.equal(stale.statusCode, 412);
  t.equal(stale.json<{ code: string }>().code, 'CIKU_ERR_VERSION_CONFLICT');
});

t.test('an earlier version stays readable and every version is listed', async (t) => {
  const api = await withItem(t);
  t.equal((await patchPages(api, '"v1"', 12)).statusCode, 200, 'v2');
  const v1 = await api.app.inject({ url: `${ITEM_URL}?version=v1` });
  t.notOk('pages' in v1.json<{ metadata: object }>().metadata, '?version=v1 reads the old version');
  const versions = await api.app.inject({ url: `${ITEM_URL}/versions` });
  t.same(
    versions.json<{ versions: { version: string }[] }>().versions.map((v) => v.version),
    ['v1', 'v2'],
  );
});

t.test('a deleted item answers 410 and is no longer listed', async (t) => {
  const { app } = await withDeletedItem(t);
  const gone = await app.inject({ url: ITEM_URL });
  t.equal(gone.statusCode, 410);
  t.equal(gone.json<{ code: string }>().code, 'CIKU_ERR_ITEM_DELETED');
  const list = await app.inject({ url: '/v1/items' });
  t.same(list.json<{ items: unknown[] }>().items, [], 'deleted items are not listed');
});

t.test(
  "a deletion takes the item's event log down for the public, and staff still read it whole",
  async (t) => {
    const { app, auth } = await withDeletedItem(t);
    const takenDown = await app.inject({ url: `${ITEM_URL}/events` });
    t.equal(takenDown.statusCode, 410, 'a deletion is a takedown: the public no longer reads its log');
    const events = await app.inject({ url: `${ITEM_URL}/events`, headers: auth.archivist });
    t.same(
      events.json<{ events: { type: string }[] }>().events.map((e) => e.type),
      ['ingestion', 'metadata modification', 'deletion'],
    );
  },
);

t.test('bad requests answer a coded 4xx and change nothing', async (t) => {
  const { app, auth, items } = await startTestApi(t);
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...auth.archivist, ...headers },
      payload: payload as object,
    });
  await post({ id: 'base', kind: 'media', metadata: { title: 'x' } });
  const cases: [string, () => Promise<{ statusCode: number; json: <T>() => T }>, number, string][] = [
    [
      'unknown kind',
      () => post({ kind: 'painting', metadata: { title: 'x' } }),
      400,
      'CIKU_ERR_ITEM_KIND_UNKNOWN',
    ],
    [
      'unknown field',
      () => post({ kind: 'media', metadata: { title: 'x', colour: 'blue' } }),
      400,
      'CIKU_ERR_ITEM_METADATA_INVALID',
    ],
    ['no title', () => post({ kind: 'media', metadata: {} }), 400, 'CIKU_ERR_ITEM_METADATA_INVALID'],
    [
      'bad id',
      () => post({ id: '../etc', kind: 'media', metadata: { title: 'x' } }),
      400,
      'CIKU_ERR_ID_INVALID',
    ],
    [
      'duplicate id',
      () => post({ id: 'base', kind: 'media', metadata: { title: 'x' } }),
      409,
      'CIKU_ERR_ITEM_EXISTS',
    ],
    [
      'invalid JSON',
      () =>
        app.inject({
          method: 'POST',
          url: '/v1/items',
          headers: { ...auth.archivist, 'content-type': 'application/json' },
          payload: '{"kind": "media", ',
        }),
      400,
      'CIKU_ERR_REQUEST_INVALID',
    ],
    [
      '10 MB of metadata',
      () => post({ kind: 'media', metadata: { title: 'x', description: '瓷'.repeat(3_500_000) } }),
      413,
      'CIKU_ERR_REQUEST_TOO_LARGE',
    ],
    [
      '10 MB PATCH',
      () =>
        app.inject({
          method: 'PATCH',
          url: '/v1/items/base',
          headers: auth.archivist,
          payload: { metadata: { description: 'x'.repeat(10_000_000) } },
        }),
      413,
      'CIKU_ERR_REQUEST_TOO_LARGE',
    ],
    [
      'PATCH with an unknown field',
      () =>
        app.inject({
          method: 'PATCH',
          url: '/v1/items/base',
          headers: auth.archivist,
          payload: { metadata: { colour: 'x' } },
        }),
      400,
      'CIKU_ERR_ITEM_METADATA_INVALID',
    ],
    [
      'anonymous create',
      () =>
        app.inject({
          method: 'POST',
          url: '/v1/items',
          payload: { kind: 'media', metadata: { title: 'x' } },
        }),
      403,
      'CIKU_ERR_FORBIDDEN',
    ],
    [
      'bad key',
      () => app.inject({ url: '/v1/items/base', headers: { authorization: 'Bearer ck_nope' } }),
      401,
      'CIKU_ERR_AUTH_INVALID',
    ],
    ['no such route', () => app.inject({ url: '/v1/nothing' }), 404, 'CIKU_ERR_NOT_FOUND'],
  ];
  for (const [what, run, status, code] of cases) {
    const res = await run();
    t.equal(res.statusCode, status, `${what}: ${status}`);
    t.equal(res.json<{ code: string }>().code, code, `${what}: ${code}`);
  }
  t.equal((await items.get('base')).version, 'v1', 'the head did not move');
  const ids = [];
  for await (const id of items.list()) ids.push(id);
  t.same(ids, ['base'], 'no other item was created');
});

t.test('health, readiness and the OpenAPI document', async (t) => {
  const { app } = await startTestApi(t);
  t.equal((await app.inject({ url: '/healthz' })).json<{ status: string }>().status, 'ok');
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json<{ checks: object }>().checks, {
    store: { ok: true },
    redis: { ok: true },
    search: { ok: true },
  });
  const spec = await app.inject({ url: '/docs/json' });
  t.equal(spec.statusCode, 200);
  const paths = Object.keys(spec.json<{ paths: object }>().paths);
  for (const p of [
    '/v1/items',
    '/v1/items/{id}',
    '/v1/items/{id}/files/{name}',
    '/v1/items/{id}/events',
    '/v1/search',
    '/v1/search/segments',
  ])
    t.ok(paths.includes(p), `documents ${p}`);
});

t.test('anonymous traffic is rate limited, keyed callers are not', async (t) => {
  const { app, auth } = await startTestApi(t, { anonymousRateLimit: 3 });
  const codes = [];
  for (let i = 0; i < 5; i += 1) codes.push((await app.inject({ url: '/healthz' })).statusCode);
  t.same(codes, [200, 200, 200, 429, 429]);
  const limited = await app.inject({ url: '/healthz' });
  t.equal(limited.json<{ code: string }>().code, 'CIKU_ERR_RATE_LIMITED');
  t.equal((await app.inject({ url: '/healthz', headers: auth.researcher })).statusCode, 200);
});
