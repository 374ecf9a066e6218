import { createHash } from 'node:crypto';
import t from 'tap';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import type { TestApi } from '../helpers/api.ts';
import { hostileEnv } from './harness.ts';

/** Hostile reads: IIIF Image API parameters and search syntax. */
const notServer = (s: number) => s < 500;

/** A JPEG's first bytes (what the type sniffer needs) and a body: stored, never decoded here. */
const jpeg = (seed: string) =>
  Buffer.concat([
    Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'),
    Buffer.from(seed.repeat(64)),
    Buffer.from('ffd9', 'hex'),
  ]);

/** An image with ready IIIF tiles (written as the image job would: a record, info.json and one tile). */
async function withTiles(api: TestApi, id: string, access: object): Promise<void> {
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.archivist,
    payload: { id, kind: 'collection_object', metadata: { title: `${id} 青花梅瓶` }, access },
  });
  if (created.statusCode !== 201) throw new Error(created.body);
  const bytes = jpeg(id);
  const put = await api.app.inject({
    method: 'PUT',
    url: `/v1/items/${id}/files/scan.jpg`,
    headers: api.auth.archivist,
    payload: bytes,
  });
  if (put.statusCode !== 201) throw new Error(put.body);
  const sha512 = createHash('sha512').update(bytes).digest('hex');
  const store = createDerivativeStore({ blobs: api.blobs });
  await store.putFile(
    sha512,
    'iiif/info.json',
    JSON.stringify({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: 'x',
      type: 'ImageService3',
      profile: 'level0',
      width: 4000,
      height: 3000,
    }),
    'application/json',
  );
  await store.putFile(sha512, 'iiif/full/max/0/default.jpg', jpeg('tile'), 'image/jpeg');
  await store.putFile(sha512, 'iiif/0,0,1024,1024/1024,/0/default.jpg', jpeg('tile2'), 'image/jpeg');
  await store.writeRecord({
    sha512,
    media_type: 'image/jpeg',
    technical: { type: 'image', width: 4000, height: 3000 },
    warnings: [],
    derivatives: { iiif: { status: 'ready', path: 'iiif', tiles: 2 } },
  });
}

t.test('hostile IIIF Image API parameters', async (t) => {
  const h = await hostileEnv(t, 'iiif parameters');
  const { api } = h;
  await withTiles(api, 'IIIF-PUB', { level: 'public' });
  await withTiles(api, 'IIIF-PRIV', { level: 'private' });
  const base = (id: string) => `/v1/items/${id}/files/scan.jpg/derivatives/iiif`;
  const ok = await h.probe(
    'info.json',
    'anonymous',
    { url: `${base('IIIF-PUB')}/info.json` },
    { ok: (s) => s === 200 },
  );
  t.equal(
    ok.json<{ id: string }>().id,
    'http://ciku.test/v1/items/IIIF-PUB/versions/v2/files/scan.jpg/derivatives/iiif',
    'id on the public origin',
  );
  const tiles = [
    'full/max/0/default.jpg',
    '0,0,1024,1024/1024,/0/default.jpg',
    'full/max/90/default.jpg',
    'full/max/0/color.jpg',
    'full/max/0/default.png',
    'full/max/!0/default.jpg',
    'full/pct:50/0/default.jpg',
    'square/max/0/default.jpg',
    'pct:10,10,10,10/max/0/default.jpg',
    '-1,0,10,10/max/0/default.jpg',
    '0,0,0,0/max/0/default.jpg',
    '9999999,9999999,9999999,9999999/max/0/default.jpg',
    '0,0,1024,1024/!1024,1024/0/default.jpg',
    '0,0,1024,1024/^1024,/0/default.jpg',
    '0,0,1024,1024/1024,1024,1024/0/default.jpg',
    'full/max/0/default.jpg/../../../record.json',
    '..%2F..%2Frecord.json',
    '%2e%2e/%2e%2e/record.json',
    'info.json/../record.json',
    'full/max/0/default.jpg%00.png',
    'full/max/0/default.jpg?x=../../record.json',
    `${'1,'.repeat(500)}1/max/0/default.jpg`,
    'full/max/0/default.jpg'.repeat(20),
    '全/max/0/default.jpg',
  ];
  for (const tile of tiles) {
    for (const id of ['IIIF-PUB', 'IIIF-PRIV', h.canaryItem, 'no-such-item']) {
      const res = await h.probe(
        `tile ${tile.slice(0, 40)} of ${id}`,
        'anonymous',
        { url: `${base(id)}/${tile}` },
        { ok: notServer },
      );
      // 404 as a missing item, or 400 for a path no item could have (the same for every id: nothing learnt).
      if (id !== 'IIIF-PUB')
        t.ok(
          res.statusCode === 404 || res.statusCode === 400,
          `${id}: ${tile.slice(0, 40)} → ${res.statusCode}`,
        );
      t.notMatch(res.body, /"sha512"|derivatives":/, `${tile.slice(0, 40)}: no record served`);
    }
  }
  for (const version of ['v0', 'v2', 'v99', 'v1%00', '../v1', 'V1', 'v1;v2']) {
    await h.probe(
      `info.json ?version=${version}`,
      'anonymous',
      { url: `${base('IIIF-PUB')}/info.json?version=${version}` },
      { ok: (s) => s === 400 || s === 404 || s === 200 },
    );
  }
  for (const host of ['evil.example', 'ciku.test:1@evil.example', 'localhost:3000\r\nX-Injected: 1']) {
    const res = await h.probe(
      `info.json with Host ${host}`,
      'anonymous',
      {
        url: `${base('IIIF-PUB')}/info.json`,
        headers: { host, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'gopher' },
      },
      { ok: notServer },
    );
    if (res.statusCode === 200) t.notMatch(res.body, /evil|gopher/, `Host ${host} does not reach the id`);
  }
  await h.report(t);
});

t.test('hostile search syntax', async (t) => {
  const h = await hostileEnv(t, 'search syntax');
  const { api } = h;
  for (const [id, title] of [
    ['S-1', '青花缠枝莲纹梅瓶'],
    ['S-2', '景德镇御窑厂遗址'],
    ['S-3', 'kiln site survey 1982'],
  ] as const) {
    await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.archivist,
      payload: { id, kind: 'heritage_site', metadata: { title }, access: { level: 'public' } },
    });
    await api.indexer.upsertItem(id);
  }
  const queries = [
    '"',
    '""',
    '"青花',
    '*',
    '青*',
    '^青花',
    'title:青花',
    'acl:public',
    'NEAR(青花 梅瓶)',
    'NEAR(a b, 99999999999)',
    'a AND',
    'OR',
    'NOT 青花',
    '- -- ---',
    '(((',
    ')',
    '{title}: x',
    "' OR 1=1 --",
    '"; DROP TABLE docs; --',
    'x\u0000y',
    '\ud800',
    '%',
    '\\',
    '青花 '.repeat(200),
    'x'.repeat(1000),
    'x'.repeat(1001),
    Array.from({ length: 300 }, (_, i) => `w${i}`).join(' OR '),
    '😀🏺',
    '\u202e花青',
    h.canaries[0]!,
    h.canaries[2]!,
    '秘密',
    '这段不公开',
    '受访者',
  ];
  for (const q of queries) {
    for (const role of ['anonymous', 'contributorA', 'researcher'] as const) {
      for (const path of ['/v1/search', '/v1/search/segments']) {
        const url = `${path}?q=${encodeURIComponent(q.isWellFormed() ? q : q.toWellFormed())}`;
        const res = await h.probe(
          `${path} q=${JSON.stringify(q).slice(0, 30)}`,
          role,
          { url },
          { ok: (s) => s === 200 || s === 400 },
        );
        if (res.statusCode === 200 && /秘密|不公开|受访者|CANARY/.test(q)) {
          t.equal(
            res.json<{ total: number }>().total,
            0,
            `${role}: ${q.slice(0, 20)} finds nothing of the canary`,
          );
        }
      }
    }
  }
  const params = [
    'facets=__proto__',
    'facets=constructor',
    'facets=acc_level',
    'facets=kind&facets=kind',
    'kind=__proto__',
    'kind=constructor',
    `kind=${'x'.repeat(201)}`,
    Array.from({ length: 51 }, () => 'kind=media').join('&'),
    'sort=__proto__',
    'sort=title; DROP TABLE docs',
    'page=0',
    'page=-1',
    'page=1e9',
    'page=10001&limit=100',
    'limit=0',
    'limit=101',
    'limit=abc',
    'year_from=2000&year_to=1000',
    'year_from=99999',
    'near=91,0,10',
    'near=0,0,-1',
    'near=abc',
    'bbox=0,0',
    'bbox=10,80,20,70',
    'has_media=maybe',
    'batch=x',
    'unknown=1',
    'q[]=a&q[]=b',
    'q[$ne]=x',
    'item=../x',
    `speaker=${'s'.repeat(300)}`,
  ];
  for (const p of params) {
    for (const path of ['/v1/search', '/v1/search/segments']) {
      await h.probe(
        `${path}?${p.slice(0, 40)}`,
        'anonymous',
        { url: `${path}?${p}` },
        { ok: (s) => s === 200 || s === 400 },
      );
    }
  }
  // The canary's facet values and totals: nothing counts it for those who may not read it.
  const facets = await h.probe(
    'facet counts',
    'anonymous',
    { url: '/v1/search?q=&facets=kind&limit=100' },
    { ok: (s) => s === 200 },
  );
  t.notOk(
    Object.hasOwn(facets.json<{ facets: { kind: object } }>().facets.kind, 'oral_history'),
    'the canary is not counted',
  );
  await h.report(t);
});
