import type { InjectOptions } from 'fastify';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { ocflIdFor } from '../../services/archive/items.ts';
import { tempDir } from '../helpers/env.ts';
import { jpegFile, mp3File } from '../helpers/generated-media.ts';
import { newItem, stagingLeft, startTestApi, type TestApi } from '../helpers/api.ts';

const b64 = (alg: string, data: Buffer): string => createHash(alg).update(data).digest('base64');

function multipart(
  boundary: string,
  parts: { field: string; filename: string; data: Buffer }[],
  close = true,
): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"; filename="${p.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
    );
    chunks.push(p.data, Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Media made here, so the upload tests below never need ../shared: a small JPEG, one past 200 kB, an MP3. */
async function media(t: Test): Promise<{ jpeg: Buffer; big: Buffer; mp3: Buffer }> {
  const dir = tempDir(t);
  return {
    jpeg: fs.readFileSync(await jpegFile(dir, 'small.jpg', { width: 320, height: 240 })),
    big: fs.readFileSync(await jpegFile(dir, 'big.jpg', { width: 640, height: 480, noise: true })),
    mp3: fs.readFileSync(await mp3File(dir, 'song.mp3')),
  };
}

const NAME = '青花 梅瓶（正面）.jpg';
const FILE_URL = `/v1/items/OBJ-1/files/${encodeURIComponent(NAME)}`;

/** OBJ-1 with a JPEG PUT under a Chinese name, both digests given; the PUT's answer for the tests that check it. */
async function uploaded(t: Test) {
  const api = await startTestApi(t);
  await newItem(api, 'OBJ-1');
  const { jpeg } = await media(t);
  const put = await api.app.inject({
    method: 'PUT',
    url: FILE_URL,
    headers: {
      ...api.auth.archivist,
      'content-type': 'text/plain',
      'content-digest': `sha-256=:${b64('sha256', jpeg)}:, sha-512=:${b64('sha512', jpeg)}:`,
    },
    payload: jpeg,
  });
  return { api, jpeg, put };
}

async function validAndClean(t: Test, api: TestApi, id: string): Promise<void> {
  const report = await validateObject(api.blobs, `ocfl/${objectPathFor(ocflIdFor(id))}/`);
  t.same(report.findings, [], `valid OCFL for ${id}`);
  t.same(await stagingLeft(api.blobs), [], 'staging is empty');
}

t.test(
  'PUT streams a file in, verifies its digests and types it from its bytes, not its header',
  async (t) => {
    const { api, jpeg, put } = await uploaded(t);
    t.equal(put.statusCode, 201, put.body);
    const body = put.json<{
      item: { version: string };
      files: { name: string; media_type: string; size: number; digests: { sha256: string } }[];
      existing: boolean;
    }>();
    t.equal(body.item.version, 'v2');
    t.same(
      body.files.map((f) => [f.name, f.media_type, f.size]),
      [[NAME, 'image/jpeg', jpeg.length]],
      'type from the bytes, not the header',
    );
    t.equal(body.files[0]!.digests.sha256, createHash('sha256').update(jpeg).digest('hex'));
    await validAndClean(t, api, 'OBJ-1');
  },
);

t.test(
  'a stored file is served back byte-identical, with its ETag, Repr-Digest, type and name',
  async (t) => {
    const { api, jpeg } = await uploaded(t);
    const get = await api.app.inject({ url: FILE_URL });
    t.equal(get.statusCode, 200);
    t.ok(get.rawPayload.equals(jpeg), 'byte-identical download');
    t.equal(get.headers.etag, `"${createHash('sha512').update(jpeg).digest('hex')}"`);
    t.equal(get.headers['repr-digest'], `sha-512=:${b64('sha512', jpeg)}:`);
    t.equal(get.headers['content-type'], 'image/jpeg');
    t.match(get.headers['content-disposition'], /filename\*=UTF-8''%E9%9D%92%E8%8A%B1/);
  },
);

t.test('a byte range of a stored file answers 206 with its Content-Range', async (t) => {
  const { api, jpeg } = await uploaded(t);
  const ranged = await api.app.inject({ url: FILE_URL, headers: { range: 'bytes=10-19' } });
  t.equal(ranged.statusCode, 206);
  t.equal(ranged.headers['content-range'], `bytes 10-19/${jpeg.length}`);
  t.ok(ranged.rawPayload.equals(jpeg.subarray(10, 20)));
});

t.test('a suffix range answers the last bytes of a stored file', async (t) => {
  const { api, jpeg } = await uploaded(t);
  const suffix = await api.app.inject({ url: FILE_URL, headers: { range: 'bytes=-5' } });
  t.ok(suffix.rawPayload.equals(jpeg.subarray(jpeg.length - 5)));
});

t.test('a range starting at the end of a stored file answers 416 with its size', async (t) => {
  const { api, jpeg } = await uploaded(t);
  const bad = await api.app.inject({ url: FILE_URL, headers: { range: `bytes=${jpeg.length}-` } });
  t.equal(bad.statusCode, 416);
  t.equal(bad.headers['content-range'], `bytes */${jpeg.length}`);
});

t.test("a stored file's own ETag in If-None-Match answers 304", async (t) => {
  const { api } = await uploaded(t);
  const get = await api.app.inject({ url: FILE_URL });
  const notModified = await api.app.inject({
    url: FILE_URL,
    headers: { 'if-none-match': get.headers.etag as string },
  });
  t.equal(notModified.statusCode, 304);
});

t.test('a file asked for in a version before it was added answers 404', async (t) => {
  const { api } = await uploaded(t);
  t.equal((await api.app.inject({ url: `${FILE_URL}?version=v1` })).statusCode, 404, 'the file is not in v1');
});

t.test('the same bytes PUT again to the same name change nothing', async (t) => {
  const { api, jpeg } = await uploaded(t);
  const same = await api.app.inject({
    method: 'PUT',
    url: FILE_URL,
    headers: api.auth.archivist,
    payload: jpeg,
  });
  t.equal(same.statusCode, 200, 'the same bytes to the same name change nothing');
  t.equal(same.json<{ existing: boolean }>().existing, true);
  t.equal((await api.items.get('OBJ-1')).version, 'v2', 'no version for a no-op PUT');
});

t.test('the same bytes under a new name are a new version that shares the stored copy', async (t) => {
  const { api, jpeg } = await uploaded(t);
  const again = await api.app.inject({
    method: 'PUT',
    url: '/v1/items/OBJ-1/files/another-name.jpg',
    headers: api.auth.archivist,
    payload: jpeg,
  });
  t.equal(
    again.statusCode,
    201,
    'the same bytes under a new name are a new version (RFC 9110: the URL is readable)',
  );
  t.equal(again.json<{ existing: boolean }>().existing, false);
  t.equal((await api.items.get('OBJ-1')).version, 'v3');
  const copy = await api.app.inject({ url: '/v1/items/OBJ-1/files/another-name.jpg' });
  t.equal(copy.statusCode, 200, 'the new name answers GET');
  t.same(copy.rawPayload, jpeg);
  const inv = await api.ocfl.getInventory(ocflIdFor('OBJ-1'));
  t.same(
    inv.manifest[createHash('sha512').update(jpeg).digest('hex')]?.length,
    1,
    'one stored copy for both names',
  );
  t.notOk(
    Object.values(inv.manifest)
      .flat()
      .some((p) => p.startsWith('v3/content/files/')),
    "v3 writes no content bytes (its new name points at v2's copy)",
  );
  await validAndClean(t, api, 'OBJ-1');
});

type RefusalCase = [string, InjectOptions, number, string];

/**
 * Runs refused requests against OBJ-2 (an object) and DOC-2 (a document) under a 200 kB limit: each answers its
 * status and code, and afterwards neither head moved, no staging is left and OBJ-2 is valid OCFL.
 */
async function refuses(
  t: Test,
  cases: (api: TestApi, m: { jpeg: Buffer; big: Buffer; mp3: Buffer }) => RefusalCase[],
): Promise<void> {
  const api = await startTestApi(t, { maxUploadBytes: 200_000 });
  await newItem(api, 'OBJ-2');
  await newItem(api, 'DOC-2', 'archive_document');
  const m = await media(t);
  t.ok(m.big.length > 200_000, `the big picture (${m.big.length} bytes) is over the limit`);
  for (const [what, req, status, code] of cases(api, m)) {
    const res = await api.app.inject(req);
    t.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 200)}`);
    t.equal(res.json<{ code: string }>().code, code, `${what}: ${code}`);
  }
  t.equal((await api.items.get('OBJ-2')).version, 'v1', 'OBJ-2 head unchanged');
  t.equal((await api.items.get('DOC-2')).version, 'v1', 'DOC-2 head unchanged');
  t.same(await stagingLeft(api.blobs), [], 'no staging left behind');
  const report = await validateObject(api.blobs, `ocfl/${objectPathFor(ocflIdFor('OBJ-2'))}/`);
  t.same(report.findings, []);
}

t.test('an upload whose digest does not match its bytes, or names none we verify, is refused', async (t) => {
  await refuses(t, (api, { jpeg, big }) => [
    [
      'digest mismatch',
      {
        method: 'PUT',
        url: '/v1/items/OBJ-2/files/a.jpg',
        headers: { ...api.auth.archivist, 'content-digest': `sha-256=:${b64('sha256', big)}:` },
        payload: jpeg,
      },
      400,
      'CIKU_ERR_UPLOAD_DIGEST_MISMATCH',
    ],
    [
      'sha-512 mismatch',
      {
        method: 'PUT',
        url: '/v1/items/OBJ-2/files/a.jpg',
        headers: { ...api.auth.archivist, 'repr-digest': `sha-512=:${b64('sha512', big)}:` },
        payload: jpeg,
      },
      400,
      'CIKU_ERR_UPLOAD_DIGEST_MISMATCH',
    ],
    [
      'unverifiable digest',
      {
        method: 'PUT',
        url: '/v1/items/OBJ-2/files/a.jpg',
        headers: { ...api.auth.archivist, 'content-digest': `md5=:${b64('md5', jpeg)}:` },
        payload: jpeg,
      },
      400,
      'CIKU_ERR_UPLOAD_DIGEST_INVALID',
    ],
  ]);
});

t.test(
  "an upload of a type outside the kind's usual formats, or of executable bytes, is kept (201) and typed",
  async (t) => {
    const api = await startTestApi(t);
    await newItem(api, 'OBJ-3');
    await newItem(api, 'DOC-3', 'archive_document');
    const { mp3 } = await media(t);
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(4000)]);
    for (const [url, payload, type] of [
      ['/v1/items/OBJ-3/files/song.jpg', mp3, 'audio/mpeg'],
      ['/v1/items/DOC-3/files/x.pdf', elf, 'application/x-elf'],
    ] as const) {
      const put = await api.app.inject({ method: 'PUT', url, headers: api.auth.archivist, payload });
      t.equal(put.statusCode, 201, `${url}: ${put.body.slice(0, 200)}`);
      t.equal(
        put.json<{ files: { media_type: string }[] }>().files[0]!.media_type,
        type,
        `${url} is ${type}`,
      );
    }
    // Executable bytes are served as an attachment the browser may not sniff or run: keeping them is safe.
    const get = await api.app.inject({ url: '/v1/items/DOC-3/files/x.pdf?disposition=inline' });
    t.match(get.headers['content-disposition'], /^attachment/);
    t.equal(get.headers['x-content-type-options'], 'nosniff');
  },
);

t.test('an upload over the size limit answers 413', async (t) => {
  await refuses(t, (api, { big }) => [
    [
      'oversize',
      { method: 'PUT', url: '/v1/items/OBJ-2/files/big.jpg', headers: api.auth.archivist, payload: big },
      413,
      'CIKU_ERR_UPLOAD_TOO_LARGE',
    ],
  ]);
});

t.test('a file name that climbs out of the item or holds control characters is refused', async (t) => {
  await refuses(t, (api, { jpeg }) => [
    [
      'path traversal',
      {
        method: 'PUT',
        url: `/v1/items/OBJ-2/files/${encodeURIComponent('../../etc/passwd')}`,
        headers: api.auth.archivist,
        payload: jpeg,
      },
      400,
      'CIKU_ERR_PATH_INVALID',
    ],
    [
      'control characters',
      {
        method: 'PUT',
        url: `/v1/items/OBJ-2/files/${encodeURIComponent('a\u0000b\u0007.jpg')}`,
        headers: api.auth.archivist,
        payload: jpeg,
      },
      400,
      'CIKU_ERR_PATH_INVALID',
    ],
    [
      'newline in a name',
      {
        method: 'PUT',
        url: `/v1/items/OBJ-2/files/${encodeURIComponent('a\nb.jpg')}`,
        headers: api.auth.archivist,
        payload: jpeg,
      },
      400,
      'CIKU_ERR_PATH_INVALID',
    ],
  ]);
});

t.test(
  'a truncated multipart body, or one part with a traversal name, refuses the whole request',
  async (t) => {
    const boundary = 'ciku-boundary-1234';
    await refuses(t, (api, { jpeg }) => [
      [
        'truncated multipart',
        {
          method: 'POST',
          url: '/v1/items/OBJ-2/files',
          headers: { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
          payload: multipart(
            boundary,
            [{ field: 'original', filename: 'a.jpg', data: jpeg }],
            false,
          ).subarray(0, 5000),
        },
        400,
        'CIKU_ERR_UPLOAD_INCOMPLETE',
      ],
      [
        'multipart with a traversal name',
        {
          method: 'POST',
          url: '/v1/items/OBJ-2/files',
          headers: { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
          payload: multipart(boundary, [
            { field: 'original', filename: 'ok.jpg', data: jpeg },
            { field: 'original', filename: '../x.jpg', data: jpeg },
          ]),
        },
        400,
        'CIKU_ERR_PATH_INVALID',
      ],
    ]);
  },
);

t.test('an upload to a missing item answers 404, and one by a researcher 403', async (t) => {
  await refuses(t, (api, { jpeg }) => [
    [
      'upload to a missing item',
      { method: 'PUT', url: '/v1/items/NOPE/files/a.jpg', headers: api.auth.archivist, payload: jpeg },
      404,
      'CIKU_ERR_ITEM_NOT_FOUND',
    ],
    [
      'researcher upload',
      { method: 'PUT', url: '/v1/items/OBJ-2/files/a.jpg', headers: api.auth.researcher, payload: jpeg },
      403,
      'CIKU_ERR_FORBIDDEN',
    ],
  ]);
});

t.test('multipart: several files in one request become one version, roles by field name', async (t) => {
  const api = await startTestApi(t);
  await newItem(api, 'OH-1', 'oral_history');
  const { jpeg } = await media(t);
  const vtt = Buffer.from('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v 王师傅>分水\n');
  const boundary = 'b0undary';
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/items/OH-1/files',
    headers: { ...api.auth.archivist, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: multipart(boundary, [
      { field: 'supplement', filename: '受访者.jpg', data: jpeg },
      { field: 'transcript', filename: '逐字稿.vtt', data: vtt },
    ]),
  });
  t.equal(res.statusCode, 201, res.body);
  const out = res.json<{
    item: { version: string };
    files: { name: string; role: string; media_type: string }[];
  }>();
  t.equal(out.item.version, 'v2', 'one version for both files');
  t.same(out.files.map((f) => [f.name, f.role, f.media_type]).sort(), [
    ['受访者.jpg', 'supplement', 'image/jpeg'],
    ['逐字稿.vtt', 'transcript', 'text/vtt'],
  ]);
});

t.test(
  "a commit enqueues the derivative job of the file's media family and an index job, with deterministic ids",
  async (t) => {
    const api = await startTestApi(t);
    await newItem(api, 'OH-J', 'oral_history');
    const vtt = 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n青花\n';
    const res = await api.app.inject({
      method: 'PUT',
      url: '/v1/items/OH-J/files/t.vtt',
      headers: api.auth.archivist,
      payload: vtt,
    });
    t.equal(res.statusCode, 201);
    const sha512 = createHash('sha512').update(vtt).digest('hex');
    const ids = await api.queue.jobIds();
    t.ok(ids.includes(`derive-transcript-${sha512}`), 'transcript job keyed by content digest');
    t.notOk(
      ids.some((id) => id.startsWith('derive-image-') || id.startsWith('derive-av-')),
      'no image or AV job for a transcript',
    );
    t.ok(ids.includes('index-item-OH-J-v2'), 'index job keyed by item version');
    const again = await api.app.inject({
      method: 'PUT',
      url: '/v1/items/OH-J/files/t.vtt',
      headers: api.auth.archivist,
      payload: vtt,
    });
    t.equal(again.statusCode, 200);
    t.same(
      (await api.queue.jobIds()).sort(),
      ids.sort(),
      'identical content under its own name enqueues nothing new',
    );
  },
);
