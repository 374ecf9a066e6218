import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { BlobTusStore } from '../../services/adapters/tus.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { ocflIdFor } from '../../services/archive/items.ts';
import { newItem, stagingLeft, startTestApi, type TestApi } from '../helpers/api.ts';
import { rawRequest, type RawResponse } from '../helpers/http.ts';
import { wavHeader } from '../../scripts/bench/wav-header.ts';

const TUS = { 'Tus-Resumable': '1.0.0' };
const meta = (pairs: Record<string, string>): string =>
  Object.entries(pairs)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');

/** A WAV file (so an oral history accepts it): RIFF header + `size` bytes of noise. */
function wav(size: number): Buffer {
  return Buffer.concat([wavHeader(size), randomBytes(size)]);
}

async function create(
  api: TestApi,
  headers: Record<string, string>,
  size: number,
  pairs: Record<string, string>,
): Promise<RawResponse> {
  const res = await rawRequest(`${api.url}/v1/uploads`, {
    method: 'POST',
    headers: { ...TUS, ...headers, 'Upload-Length': size, 'Upload-Metadata': meta(pairs) },
  });
  if (res === 'dropped') throw new Error('dropped');
  return res;
}

/**
 * The upload's URL on this test server. Its Location is absolute on the public origin (CIKU_PUBLIC_URL, here
 * http://ciku.test), whatever host the request came through.
 */
function served(api: TestApi, created: RawResponse): string {
  const location = created.headers.location!;
  if (!location.startsWith('http://ciku.test/v1/uploads/')) throw new Error(`Location ${location}`);
  return `${api.url}${new URL(location).pathname}`;
}

async function offsetOf(url: string, headers: Record<string, string>): Promise<number> {
  const head = await rawRequest(url, { method: 'HEAD', headers: { ...TUS, ...headers } });
  if (head === 'dropped' || head.status !== 200)
    throw new Error(`HEAD failed: ${head === 'dropped' ? head : head.status}`);
  return Number(head.headers['upload-offset']);
}

t.test(
  'a tus upload interrupted twice resumes to completion, byte-identical, committed as one version',
  async (t) => {
    const api = await startTestApi(t, { listen: true });
    await newItem(api, 'OH-TUS', 'oral_history', 'private');
    const data = wav(24 * 1024 * 1024);
    const created = await create(api, api.auth.archivist, data.length, {
      item: 'OH-TUS',
      filename: '窑工访谈 2024.wav',
    });
    t.equal(created.status, 201);
    const url = served(api, created);
    const offsets: number[] = [];
    let drops = 0;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const offset = await offsetOf(url, api.auth.archivist);
      offsets.push(offset);
      if (offset === data.length) break;
      const rest = data.subarray(offset);
      const cut = drops < 2 ? Math.floor(rest.length / 3) : undefined;
      const res = await rawRequest(url, {
        method: 'PATCH',
        headers: {
          ...TUS,
          ...api.auth.archivist,
          'Upload-Offset': offset,
          'Content-Type': 'application/offset+octet-stream',
          'Content-Length': rest.length,
        },
        body: rest,
        ...(cut === undefined ? {} : { cutAfter: cut }),
      });
      if (res === 'dropped') drops += 1;
      else if (res.status === 409)
        continue; // the dropped PATCH finished after our HEAD: ask again
      else {
        t.equal(res.status, 204, res.body.toString());
        t.equal(res.headers['ciku-item-version'], 'v2');
        t.equal(Number(res.headers['upload-offset']), data.length);
        break; // committed: the upload resource is gone now
      }
    }
    t.equal(drops, 2, 'the connection was dropped twice');
    t.ok(
      offsets.every((o, i) => i === 0 || o >= offsets[i - 1]!),
      `offsets only grow: ${offsets.join(' → ')}`,
    );
    const item = await api.items.get('OH-TUS');
    t.equal(item.version, 'v2', 'one new version for the whole upload');
    t.same(
      item.files.map((f) => [f.name, f.size, f.media_type]),
      [['窑工访谈 2024.wav', data.length, 'audio/wav']],
    );
    t.equal(item.files[0]!.digests.sha512, createHash('sha512').update(data).digest('hex'));
    const back = await api.items.readFileBytes('OH-TUS', '窑工访谈 2024.wav');
    t.ok(back.equals(data), 'byte-identical');
    t.same(await stagingLeft(api.blobs), [], 'staging removed after commit');
    t.same((await validateObject(api.blobs, `ocfl/${objectPathFor(ocflIdFor('OH-TUS'))}/`)).findings, []);
  },
);

t.test(
  'tus: checksum per PATCH, only the creator continues, termination, refusals at creation',
  async (t) => {
    const api = await startTestApi(t, { listen: true });
    await newItem(api, 'OH-2', 'oral_history', 'public');
    const data = wav(100_000);
    const created = await create(api, api.auth.archivist, data.length, { item: 'OH-2', filename: 'a.wav' });
    const url = served(api, created);
    const sum = (b: Buffer, alg = 'sha256'): string => `${alg} ${createHash(alg).update(b).digest('base64')}`;
    const patch = (headers: Record<string, string | number>, body: Buffer) =>
      rawRequest(url, {
        method: 'PATCH',
        headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', ...headers },
        body,
      });

    const wrong = await patch(
      { ...api.auth.archivist, 'Upload-Offset': 0, 'Upload-Checksum': sum(data.subarray(1, 50_001)) },
      data.subarray(0, 50_000),
    );
    t.equal(wrong !== 'dropped' && wrong.status, 460, 'checksum mismatch → 460');
    t.equal(await offsetOf(url, api.auth.archivist), 0, 'the mismatched bytes were discarded');
    const unsupported = await patch(
      { ...api.auth.archivist, 'Upload-Offset': 0, 'Upload-Checksum': sum(data.subarray(0, 10), 'md5') },
      data.subarray(0, 10),
    );
    t.equal(unsupported !== 'dropped' && unsupported.status, 400);
    const good = await patch(
      {
        ...api.auth.archivist,
        'Upload-Offset': 0,
        'Upload-Checksum': sum(data.subarray(0, 50_000), 'sha512'),
      },
      data.subarray(0, 50_000),
    );
    t.equal(good !== 'dropped' && good.status, 204);

    for (const who of ['researcher', 'anonymous', 'admin'] as const) {
      const head = await rawRequest(url, { method: 'HEAD', headers: { ...TUS, ...api.auth[who] } });
      t.equal(head !== 'dropped' && head.status, 404, `${who} cannot see someone else’s upload`);
    }
    const del = await rawRequest(url, { method: 'DELETE', headers: { ...TUS, ...api.auth.archivist } });
    t.equal(del !== 'dropped' && del.status, 204, 'termination');
    t.equal(
      ((await rawRequest(url, { method: 'HEAD', headers: { ...TUS, ...api.auth.archivist } })) as RawResponse)
        .status,
      404,
    );
    t.same(await stagingLeft(api.blobs), [], 'terminated upload removed');

    const refusals: [string, Record<string, string>, number, Record<string, string>, number][] = [
      ['no item', api.auth.archivist, 10, { filename: 'a.wav' }, 400],
      ['hidden item', api.auth.anonymous, 10, { item: 'OH-2', filename: 'a.wav' }, 403],
      ['missing item', api.auth.archivist, 10, { item: 'NOPE', filename: 'a.wav' }, 404],
      ['traversal name', api.auth.archivist, 10, { item: 'OH-2', filename: '../../x.wav' }, 400],
      ['bad role', api.auth.archivist, 10, { item: 'OH-2', filename: 'a.wav', role: 'boss' }, 400],
    ];
    for (const [what, headers, size, pairs, status] of refusals) {
      const res = await create(api, headers, size, pairs);
      t.equal(res.status, status, `${what}: ${res.body.toString()}`);
    }
    t.equal((await api.items.get('OH-2')).version, 'v1', 'nothing committed');
  },
);

t.test(
  "tus: a finished upload of a format outside the kind's usual ones is committed all the same",
  async (t) => {
    const api = await startTestApi(t, { listen: true });
    await newItem(api, 'OBJ-T', 'collection_object', 'private');
    const data = wav(10_000);
    const created = await create(api, api.auth.archivist, data.length, {
      item: 'OBJ-T',
      filename: 'scan.tif',
    });
    const res = await rawRequest(served(api, created), {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...api.auth.archivist,
        'Upload-Offset': 0,
        'Content-Type': 'application/offset+octet-stream',
      },
      body: data,
    });
    t.equal(res !== 'dropped' && res.status, 204, res !== 'dropped' ? res.body.toString() : 'dropped');
    const item = await api.items.get('OBJ-T');
    t.equal(item.version, 'v2');
    const file = item.files.find((f) => f.name === 'scan.tif');
    t.equal(file?.media_type, 'audio/wav', 'typed from its bytes, not its name');
    t.equal(file?.format?.name, 'WAV');
    t.same(await stagingLeft(api.blobs), []);
  },
);

t.test('tus: abandoned uploads expire', async (t) => {
  const api = await startTestApi(t);
  const store = new BlobTusStore(api.blobs, 1);
  const { Upload } = await import('@tus/server');
  await store.create(new Upload({ id: 'a'.repeat(32), size: 10, offset: 0, metadata: {} }));
  await new Promise((r) => setTimeout(r, 5));
  t.equal(await store.deleteExpired(), 1);
  t.same(await stagingLeft(api.blobs), []);
});
