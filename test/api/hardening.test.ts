import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createApiKeys } from '../../services/auth/api-keys.ts';
import { ocflIdFor } from '../../services/archive/items.ts';
import { newItem, stagingLeft, startTestApi, type TestApi } from '../helpers/api.ts';
import { rawRequest } from '../helpers/http.ts';
import { tempDir } from '../helpers/env.ts';

/**
 * The hardening issue's findings on the API, each as the repro that found it (issue 13: 4, 5, 7, 8, 11, 12, 15).
 * Access over time (10) is in access-matrix.test.ts, new names for stored bytes (18) in uploads.test.ts.
 */

const json = <T>(res: { json: <U>() => U }) => res.json<T>();

async function head(api: TestApi, id: string): Promise<string> {
  return (await api.ocfl.getInventory(ocflIdFor(id))).head;
}

/** Every name `Object.prototype` has, `__proto__` included. */
const protoNames = Object.getOwnPropertyNames(Object.prototype);

t.test(
  '4. file names that are Object.prototype keys are files like any other, on every write path',
  async (t) => {
    const api = await startTestApi(t);
    await newItem(api, 'PROTO', 'archive_document');
    t.ok(protoNames.includes('__proto__') && protoNames.length >= 10, `${protoNames.length} names tried`);
    for (const name of protoNames) {
      const body = `bytes of ${name}\n`;
      const put = await api.app.inject({
        method: 'PUT',
        url: `/v1/items/PROTO/files/${encodeURIComponent(name)}`,
        headers: api.auth.archivist,
        payload: body,
      });
      t.equal(put.statusCode, 201, `PUT ${name}: ${put.body}`);
      const item = await api.items.get('PROTO');
      t.ok(
        item.files.some((f) => f.name === name),
        `${name} is in item.json`,
      );
      const get = await api.app.inject({ url: `/v1/items/PROTO/files/${encodeURIComponent(name)}` });
      t.equal(get.body, body, `${name} downloads`);
      const events = await api.items.events('PROTO');
      const mine = events.filter((e) => e.objects?.includes(name) && e.version === item.version);
      t.same(
        mine.map((e) => e.type).sort(),
        ['ingestion', 'message digest calculation'],
        `${name} is logged as an ingestion, not a modification`,
      );
      const renamed = await api.app.inject({
        method: 'PATCH',
        url: '/v1/items/PROTO',
        headers: api.auth.archivist,
        payload: { rename: [{ from: name, to: `renamed-${name}` }] },
      });
      t.equal(renamed.statusCode, 200, `rename ${name}: ${renamed.body}`);
      const back = await api.app.inject({
        method: 'PATCH',
        url: '/v1/items/PROTO',
        headers: api.auth.archivist,
        payload: { rename: [{ from: `renamed-${name}`, to: name }] },
      });
      t.equal(back.statusCode, 200, `rename back to ${name}`);
      t.ok(
        (await api.items.get('PROTO')).files.some((f) => f.name === name),
        `${name} is back in item.json`,
      );
    }
    // Multipart: each name as a part's file name, one version for all.
    await newItem(api, 'PROTO-MP', 'archive_document');
    const boundary = 'ciku-proto-boundary';
    const parts = protoNames.map(
      (name) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="original"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\nmultipart ${name}\n\r\n`,
    );
    const mp = await api.app.inject({
      method: 'POST',
      url: '/v1/items/PROTO-MP/files',
      headers: { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `${parts.join('')}--${boundary}--\r\n`,
    });
    t.equal(mp.statusCode, 201, mp.body);
    t.same(
      (await api.items.get('PROTO-MP')).files.map((f) => f.name).sort(),
      [...protoNames].sort(),
      'every multipart name is a file',
    );
    // Removal of every one of them.
    const removed = await api.app.inject({
      method: 'PATCH',
      url: '/v1/items/PROTO-MP',
      headers: api.auth.archivist,
      payload: { remove: protoNames },
    });
    t.equal(removed.statusCode, 200, removed.body);
    t.same((await api.items.get('PROTO-MP')).files, [], 'all removed');
    // Metadata keys with these names are unknown fields: a coded 400 (or 400 for __proto__ itself), no version.
    const before = await head(api, 'PROTO');
    for (const name of protoNames) {
      const res = await api.app.inject({
        method: 'PATCH',
        url: '/v1/items/PROTO',
        headers: { ...api.auth.archivist, 'content-type': 'application/json' },
        payload: `{"metadata":{${JSON.stringify(name)}:"x"}}`,
      });
      t.equal(res.statusCode, 400, `metadata key ${name}: ${res.body}`);
    }
    t.equal(await head(api, 'PROTO'), before, 'no version from any refused metadata key');
  },
);

t.test('5. deeply nested or key-heavy JSON answers a coded 400 and changes nothing', async (t) => {
  const api = await startTestApi(t);
  await newItem(api, 'DEEP', 'archive_document');
  const nested = (depth: number, open: string, close: string, leaf: string) =>
    `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
  const bodies: [string, string, string][] = [
    [
      'a description nested 5,000 levels in objects',
      nested(5000, '{"a":', '}', '"x"'),
      'CIKU_ERR_REQUEST_INVALID',
    ],
    ['5,000 levels of arrays', nested(5000, '[', ']', '1'), 'CIKU_ERR_REQUEST_INVALID'],
    [
      '20,000 keys',
      `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":1`).join(',')}}`,
      'CIKU_ERR_REQUEST_INVALID',
    ],
    // Under the bound: parsed, then refused by the schema (a description is text) — still a 400, never a 500.
    ['30 levels', nested(27, '{"a":', '}', '"x"'), 'CIKU_ERR_ITEM_METADATA_INVALID'],
  ];
  for (const [what, description, code] of bodies) {
    const created = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...api.auth.archivist, 'content-type': 'application/json' },
      payload: `{"id":"DEEP-NEW","kind":"archive_document","metadata":{"title":"x","description":${description}}}`,
    });
    t.equal(created.statusCode, 400, `POST, ${what}`);
    t.equal(json<{ code: string }>(created).code, code);
    const patched = await api.app.inject({
      method: 'PATCH',
      url: '/v1/items/DEEP',
      headers: { ...api.auth.archivist, 'content-type': 'application/json' },
      payload: `{"metadata":{"description":${description}}}`,
    });
    t.equal(patched.statusCode, 400, `PATCH, ${what}`);
    t.equal(json<{ code: string }>(patched).code, code);
  }
  t.equal((await api.app.inject({ url: '/v1/items/DEEP-NEW', headers: api.auth.archivist })).statusCode, 404);
  t.equal(await head(api, 'DEEP'), 'v1', 'DEEP unchanged');
});

t.test(
  '7. failed authentications count against the caller’s limit, and the key cache stays bounded',
  async (t) => {
    const api = await startTestApi(t, { anonymousRateLimit: 5 });
    const codes: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const token = `ck_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      const res = await api.app.inject({ url: '/v1/items', headers: { authorization: `Bearer ${token}` } });
      codes.push(res.statusCode);
    }
    t.same(codes.slice(0, 5), [401, 401, 401, 401, 401], 'the first guesses are refused');
    t.ok(
      codes.slice(5).every((c) => c === 429),
      'then the address is throttled like any anonymous caller',
    );
    const ok = await api.app.inject({ url: '/v1/items', headers: api.auth.researcher });
    t.equal(ok.statusCode, 200, 'a valid key is not throttled');

    const keys = createApiKeys({ blobs: await createFsBlobStore(tempDir(t)), cacheEntries: 100 });
    for (let i = 0; i < 2_000; i += 1) {
      const token = `ck_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      await t.rejects(keys.authenticate(token), { code: 'CIKU_ERR_AUTH_INVALID' });
    }
    t.ok(
      keys.cachedKeys() <= 100,
      `2,000 unknown key ids leave ${keys.cachedKeys()} cache entries (bound 100)`,
    );
    const made = await keys.create({ name: 'after the guesses', role: 'researcher' });
    t.match(await keys.authenticate(made.token), { role: 'researcher' }, 'a new key works at once');
  },
);

t.test(
  '8. multipart parts stream under the kind’s limit; no refused upload leaves staging behind, and any format is kept',
  async (t) => {
    const api = await startTestApi(t, { maxUploadBytes: 4 * 1024 * 1024, listen: true });
    await newItem(api, 'MP', 'archive_document');
    const boundary = 'ciku-mp';
    const part = (name: string, body: Buffer | string) =>
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="original"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        Buffer.from(body),
        Buffer.from('\r\n'),
      ]);
    const post = (...parts: Buffer[]) =>
      api.app.inject({
        method: 'POST',
        url: '/v1/items/MP/files',
        headers: { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]),
      });
    const text3m = Buffer.alloc(3 * 1024 * 1024, 'a');
    const ok = await post(part('three-mib.txt', text3m));
    t.equal(ok.statusCode, 201, `a 3 MiB part (over the 1 MiB JSON limit, under the file limit): ${ok.body}`);
    t.same(await stagingLeft(api.blobs), [], 'nothing staged after a success');
    const before = await head(api, 'MP');
    const refusals: [string, Buffer[], number][] = [
      ['a part over the kind’s limit', [part('big.txt', Buffer.alloc(5 * 1024 * 1024, 'b'))], 413],
      [
        'a good part, then one over the limit',
        [part('a.txt', 'ok\n'), part('big.txt', Buffer.alloc(5 * 1024 * 1024, 'b'))],
        413,
      ],
      ['a good part, then a climbing name', [part('a.txt', 'ok\n'), part('../x.txt', 'no\n')], 400],
      ['the same name twice', [part('a.txt', 'one\n'), part('a.txt', 'two\n')], 400],
    ];
    for (const [what, parts, status] of refusals) {
      const res = await post(...parts);
      t.equal(res.statusCode, status, `${what}: ${res.body}`);
      t.same(await stagingLeft(api.blobs), [], `${what}: nothing left in staging`);
    }
    t.equal(await head(api, 'MP'), before, 'no version from any refusal');

    // Uploads cut off by the client, on both routes: staging empties once the server has seen the close.
    const cut = async (url: string, headers: Record<string, string>, body: Buffer) => {
      const r = await rawRequest(`${api.url}${url}`, {
        method: url.endsWith('/files') ? 'POST' : 'PUT',
        headers: { ...headers, 'content-length': body.length + 100_000 },
        body,
        cutAfter: body.length,
      });
      t.equal(r, 'dropped');
      for (let i = 0; i < 200 && (await stagingLeft(api.blobs)).length > 0; i += 1)
        await new Promise((resolve) => setTimeout(resolve, 25));
      t.same(await stagingLeft(api.blobs), [], `cut-off ${url}: nothing left in staging`);
    };
    await cut('/v1/items/MP/files/cut.txt', api.auth.archivist, Buffer.alloc(512 * 1024, 'c'));
    await cut(
      '/v1/items/MP/files',
      { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
      part('cut.txt', Buffer.alloc(512 * 1024, 'c')),
    );
    t.equal(await head(api, 'MP'), before, 'no version from a cut-off upload');

    // Every format is kept (issue 17): bytes of no known type beside a good part are one version, not a refusal.
    const kept = await post(part('a.txt', 'ok\n'), part('b.bin', randomBytes(4096)));
    t.equal(kept.statusCode, 201, `a good part, then bytes of no known type: ${kept.body.slice(0, 200)}`);
    t.same(await stagingLeft(api.blobs), [], 'nothing staged after the kept upload');
  },
);

t.test('11. active content is never served inline; every download is nosniff and sandboxed', async (t) => {
  const api = await startTestApi(t);
  await newItem(api, 'ACTIVE', 'archive_document');
  const uploads: [string, string][] = [
    [
      'drawing.svg',
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>',
    ],
    [
      'page.xhtml',
      '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
    ],
    ['page.html', '<!doctype html><script>alert(1)</script>'],
    ['note.txt', '青花瓷的分水技法\n'],
  ];
  for (const [name, body] of uploads) {
    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/ACTIVE/files/${name}`,
      headers: api.auth.archivist,
      payload: body,
    });
    t.equal(put.statusCode, 201, put.body);
  }
  const get = (name: string) => api.app.inject({ url: `/v1/items/ACTIVE/files/${name}?disposition=inline` });
  for (const name of ['drawing.svg', 'page.xhtml']) {
    const res = await get(name);
    t.equal(res.statusCode, 200);
    t.match(
      res.headers['content-disposition'],
      /^attachment/,
      `${name} (${String(res.headers['content-type'])}) is an attachment`,
    );
    t.equal(res.headers['content-security-policy'], 'sandbox');
    t.equal(res.headers['x-content-type-options'], 'nosniff');
  }
  const text = await get('note.txt');
  t.match(text.headers['content-disposition'], /^inline/, 'plain text may be shown inline');
  t.equal(text.headers['content-type'], 'text/plain; charset=utf-8', 'with its charset');
  t.equal(text.headers['content-security-policy'], 'sandbox');
  const html = await get('page.html');
  t.equal(html.headers['content-type'], 'text/plain; charset=utf-8', 'HTML bytes are never served as HTML');
});

t.test('12. absolute URLs come from CIKU_PUBLIC_URL, never from Host or X-Forwarded-*', async (t) => {
  const api = await startTestApi(t);
  await newItem(api, 'HOSTS', 'oral_history', 'public');
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/uploads',
    headers: {
      ...api.auth.archivist,
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'host=evil.example;proto=https',
      'tus-resumable': '1.0.0',
      'upload-length': '10',
      'upload-metadata': `item ${Buffer.from('HOSTS').toString('base64')},filename ${Buffer.from('a.vtt').toString('base64')}`,
    },
  });
  t.equal(created.statusCode, 201, created.body);
  t.match(
    created.headers.location,
    /^http:\/\/ciku\.test\/v1\/uploads\/[^/]+$/,
    'tus Location on the public origin',
  );
});

t.test(
  '15. embargo and metadata dates must be real days; a PATCH that changes nothing makes no version',
  async (t) => {
    const api = await startTestApi(t);
    const post = (id: string, metadata: object, access: object = { level: 'public' }) =>
      api.app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: api.auth.archivist,
        payload: { id, kind: 'oral_history', metadata: { title: id, ...metadata }, access },
      });
    for (const embargo of ['2099-99-99', '0000-00-00', '2023-02-29', '2024-13-01', '2024-04-31']) {
      const res = await post(`E-${embargo}`, {}, { level: 'public', embargo_until: embargo });
      t.equal(res.statusCode, 400, `embargo ${embargo} refused`);
    }
    t.equal(
      (await post('E-leap', {}, { level: 'public', embargo_until: '2028-02-29' })).statusCode,
      201,
      'a leap day is a day',
    );
    for (const date of ['2023-02-30', '1990-00', '2020/2010', '1368-13']) {
      t.equal(
        (await post(`D-${date.replace('/', '_')}`, { recorded_at: date })).statusCode,
        400,
        `date ${date} refused`,
      );
    }
    for (const date of ['1368', '1368/1644', '2019-06', '-0200/0100']) {
      t.equal(
        (await post(`D-${date.replace(/\//g, '_')}`, { date })).statusCode,
        201,
        `date ${date} accepted`,
      );
    }
    await newItem(api, 'NOOP', 'archive_document');
    const patch = (payload: object, headers: Record<string, string> = {}) =>
      api.app.inject({
        method: 'PATCH',
        url: '/v1/items/NOOP',
        headers: { ...api.auth.archivist, ...headers },
        payload,
      });
    for (let i = 0; i < 3; i += 1) {
      const res = await patch({});
      t.equal(res.statusCode, 200);
      t.equal(json<{ version: string }>(res).version, 'v1', `empty PATCH ${i + 1}: still v1`);
    }
    t.equal(
      json<{ version: string }>(await patch({ metadata: { title: 'NOOP' } })).version,
      'v1',
      'the title it has',
    );
    t.equal(
      json<{ version: string }>(await patch({ access: { level: 'public' } })).version,
      'v1',
      'the access it has',
    );
    t.equal((await patch({}, { 'if-match': '"v7"' })).statusCode, 412, 'a stale If-Match still conflicts');
    t.equal(await head(api, 'NOOP'), 'v1', 'no version was written');
    t.equal(
      json<{ version: string }>(await patch({ metadata: { title: 'changed' } })).version,
      'v2',
      'a change still is one',
    );
  },
);

t.test('18. the same bytes under a new name are a version on every upload route', async (t) => {
  const api = await startTestApi(t, { listen: true });
  await newItem(api, 'COPY', 'oral_history');
  const vtt = 'WEBVTT\n\n00:00.000 --> 00:01.000\n涂金水：青花\n';
  const put = (name: string) =>
    api.app.inject({
      method: 'PUT',
      url: `/v1/items/COPY/files/${name}`,
      headers: api.auth.archivist,
      payload: vtt,
    });
  t.equal((await put('a.vtt')).statusCode, 201);
  const boundary = 'b';
  const mp = await api.app.inject({
    method: 'POST',
    url: '/v1/items/COPY/files',
    headers: { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: `--${boundary}\r\nContent-Disposition: form-data; name="transcript"; filename="copy-b.vtt"\r\n\r\n${vtt}\r\n--${boundary}--\r\n`,
  });
  t.equal(mp.statusCode, 201, `multipart: ${mp.body}`);
  const tus = await rawRequest(`${api.url}/v1/uploads`, {
    method: 'POST',
    headers: {
      ...api.auth.archivist,
      'tus-resumable': '1.0.0',
      'upload-length': Buffer.byteLength(vtt),
      'content-type': 'application/offset+octet-stream',
      'upload-metadata': `item ${Buffer.from('COPY').toString('base64')},filename ${Buffer.from('copy-c.vtt').toString('base64')}`,
    },
    body: Buffer.from(vtt),
  });
  t.ok(tus !== 'dropped' && tus.status === 201, 'tus creation with upload');
  const item = await api.items.get('COPY');
  t.same(
    item.files.map((f) => f.name),
    ['a.vtt', 'copy-b.vtt', 'copy-c.vtt'],
    'three names',
  );
  for (const f of item.files) {
    const get = await api.app.inject({ url: `/v1/items/COPY/files/${f.name}`, headers: api.auth.archivist });
    t.equal(get.statusCode, 200, `${f.name} answers GET`);
  }
  const sha = createHash('sha512').update(vtt).digest('hex');
  const inv = await api.ocfl.getInventory(ocflIdFor('COPY'));
  t.same(inv.manifest[sha]?.length, 1, 'one stored copy');
  t.equal((await put('a.vtt')).statusCode, 200, 'the same bytes to the same name: 200, no version');
  t.equal(await head(api, 'COPY'), item.version);
});
