import type { InjectOptions } from 'fastify';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { ocflIdFor } from '../../services/archive/items.ts';
import { sharedPath, skipUnlessShared } from '../helpers/env.ts';
import { newItem, stagingLeft, startTestApi } from '../helpers/api.ts';

const images = sharedPath('fixtures/images');
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

t.test(
  'PUT streams a file in, verifies its digest, detects its type, and serves it back',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const api = await startTestApi(t);
    await newItem(api, 'OBJ-1');
    const jpeg = fs.readFileSync(path.join(images!, 'issue-exifr-59.jpg'));
    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/OBJ-1/files/${encodeURIComponent('青花 梅瓶（正面）.jpg')}`,
      headers: {
        ...api.auth.archivist,
        'content-type': 'text/plain',
        'content-digest': `sha-256=:${b64('sha256', jpeg)}:, sha-512=:${b64('sha512', jpeg)}:`,
      },
      payload: jpeg,
    });
    t.equal(put.statusCode, 201, put.body);
    const body = put.json<{
      item: { version: string };
      files: { name: string; media_type: string; size: number; digests: { sha256: string } }[];
      existing: boolean;
    }>();
    t.equal(body.item.version, 'v2');
    t.same(
      body.files.map((f) => [f.name, f.media_type, f.size]),
      [['青花 梅瓶（正面）.jpg', 'image/jpeg', jpeg.length]],
      'type from the bytes, not the header',
    );
    t.equal(body.files[0]!.digests.sha256, createHash('sha256').update(jpeg).digest('hex'));

    const url = `/v1/items/OBJ-1/files/${encodeURIComponent('青花 梅瓶（正面）.jpg')}`;
    const get = await api.app.inject({ url });
    t.equal(get.statusCode, 200);
    t.ok(get.rawPayload.equals(jpeg), 'byte-identical download');
    t.equal(get.headers.etag, `"${createHash('sha512').update(jpeg).digest('hex')}"`);
    t.equal(get.headers['repr-digest'], `sha-512=:${b64('sha512', jpeg)}:`);
    t.equal(get.headers['content-type'], 'image/jpeg');
    t.match(get.headers['content-disposition'], /filename\*=UTF-8''%E9%9D%92%E8%8A%B1/);
    const ranged = await api.app.inject({ url, headers: { range: 'bytes=10-19' } });
    t.equal(ranged.statusCode, 206);
    t.equal(ranged.headers['content-range'], `bytes 10-19/${jpeg.length}`);
    t.ok(ranged.rawPayload.equals(jpeg.subarray(10, 20)));
    const suffix = await api.app.inject({ url, headers: { range: 'bytes=-5' } });
    t.ok(suffix.rawPayload.equals(jpeg.subarray(jpeg.length - 5)));
    const bad = await api.app.inject({ url, headers: { range: `bytes=${jpeg.length}-` } });
    t.equal(bad.statusCode, 416);
    t.equal(bad.headers['content-range'], `bytes */${jpeg.length}`);
    const notModified = await api.app.inject({
      url,
      headers: { 'if-none-match': get.headers.etag as string },
    });
    t.equal(notModified.statusCode, 304);
    t.equal((await api.app.inject({ url: `${url}?version=v1` })).statusCode, 404, 'the file is not in v1');

    const same = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/OBJ-1/files/${encodeURIComponent('青花 梅瓶（正面）.jpg')}`,
      headers: api.auth.archivist,
      payload: jpeg,
    });
    t.equal(same.statusCode, 200, 'the same bytes to the same name change nothing');
    t.equal(same.json<{ existing: boolean }>().existing, true);
    t.equal((await api.items.get('OBJ-1')).version, 'v2', 'no version for a no-op PUT');

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

    const report = await validateObject(api.blobs, `ocfl/${objectPathFor(ocflIdFor('OBJ-1'))}/`);
    t.same(report.findings, [], 'valid OCFL after the upload');
    t.same(await stagingLeft(api.blobs), [], 'staging is empty');
  },
);

t.test(
  'refused uploads answer a coded 4xx, leave the head alone and leave no staging',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const api = await startTestApi(t, { maxUploadBytes: 200_000 });
    await newItem(api, 'OBJ-2');
    await newItem(api, 'DOC-2', 'archive_document');
    const jpeg = fs.readFileSync(path.join(images!, 'issue-exifr-59.jpg'));
    const big = fs.readFileSync(path.join(images!, 'canon-dslr.jpg'));
    const mp3 = fs.readFileSync(path.join(sharedPath('fixtures/av')!, 'chapters.mp3'));
    const boundary = 'ciku-boundary-1234';
    const cases: [string, InjectOptions, number, string][] = [
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
      [
        'wrong type for the kind',
        { method: 'PUT', url: '/v1/items/OBJ-2/files/song.jpg', headers: api.auth.archivist, payload: mp3 },
        415,
        'CIKU_ERR_UPLOAD_TYPE_REFUSED',
      ],
      [
        'executable bytes',
        {
          method: 'PUT',
          url: '/v1/items/DOC-2/files/x.pdf',
          headers: api.auth.archivist,
          payload: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(4000)]),
        },
        415,
        'CIKU_ERR_UPLOAD_TYPE_REFUSED',
      ],
      [
        'oversize',
        { method: 'PUT', url: '/v1/items/OBJ-2/files/big.jpg', headers: api.auth.archivist, payload: big },
        413,
        'CIKU_ERR_UPLOAD_TOO_LARGE',
      ],
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
    ];
    for (const [what, req, status, code] of cases) {
      const res = await api.app.inject(req);
      t.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 200)}`);
      t.equal(res.json<{ code: string }>().code, code, `${what}: ${code}`);
    }
    t.equal((await api.items.get('OBJ-2')).version, 'v1', 'OBJ-2 head unchanged');
    t.equal((await api.items.get('DOC-2')).version, 'v1', 'DOC-2 head unchanged');
    t.same(await stagingLeft(api.blobs), [], 'no staging left behind');
    const report = await validateObject(api.blobs, `ocfl/${objectPathFor(ocflIdFor('OBJ-2'))}/`);
    t.same(report.findings, []);
  },
);

t.test(
  'multipart: several files in one request become one version, roles by field name',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const api = await startTestApi(t);
    await newItem(api, 'OH-1', 'oral_history');
    const jpeg = fs.readFileSync(path.join(images!, 'noexif.jpg'));
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
  },
);

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
