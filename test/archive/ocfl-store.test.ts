import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { readAll } from '../../services/archive/blob-store.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { validateObject, validateStorageRoot } from '../../services/archive/ocfl/validator.ts';
import { adapters, openAdapter, testRedis } from '../helpers/env.ts';

const user = { name: 'tester', address: 'urn:ciku:agent:tester' };

t.test('the 0004 layout maps ids as the extension specifies', async (t) => {
  t.equal(
    objectPathFor('object-01'),
    '3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4',
  );
  t.equal(
    objectPathFor('..hor/rib:le-$id'),
    '487/326/d8c/487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d',
  );
});

for (const name of adapters) {
  t.test(
    `round trip on ${name}: create, 3 more versions, every version read back byte for byte`,
    async (t) => {
      const blobs = await openAdapter(t, name);
      const { redis, prefix } = testRedis(t);
      const ocfl = createOcflStore({ blobs, locks: createRedisLocks(redis, { prefix }) });
      await ocfl.init();
      const id = 'urn:ciku:item:round-trip';
      const big = randomBytes(6 * 1024 * 1024 + 3);
      const expected: Record<string, Record<string, Buffer>> = {};

      const v1 = await ocfl.writeVersion(
        id,
        {
          put: [
            { path: 'files/访谈.mp4', body: big },
            { path: 'meta.json', body: '{"title":"一"}' },
          ],
        },
        { message: 'create', user },
        { expectHead: null },
      );
      t.equal(v1.version, 'v1');
      expected.v1 = { 'files/访谈.mp4': big, 'meta.json': Buffer.from('{"title":"一"}') };

      const v2 = await ocfl.writeVersion(
        id,
        { put: [{ path: 'files/transcript.vtt', body: 'WEBVTT\n' }] },
        { message: 'add', user },
      );
      expected.v2 = { ...expected.v1, 'files/transcript.vtt': Buffer.from('WEBVTT\n') };
      t.equal(v2.version, 'v2');

      const v3 = await ocfl.writeVersion(
        id,
        {
          rename: [{ from: 'files/访谈.mp4', to: 'files/interview 访谈 (master).mp4' }],
          remove: ['files/transcript.vtt'],
        },
        { message: 'rename and delete', user },
      );
      const { 'files/访谈.mp4': moved, ...rest } = expected.v2;
      expected.v3 = { ...rest, 'files/interview 访谈 (master).mp4': moved! };
      delete expected.v3['files/transcript.vtt'];
      t.equal(v3.version, 'v3');

      const v4 = await ocfl.writeVersion(
        id,
        {
          put: [
            { path: 'meta.json', body: '{"title":"二"}' },
            { path: 'files/copy.mp4', body: big },
          ],
        },
        { message: 'metadata edit and a duplicate', user },
        { expectHead: 'v3' },
      );
      expected.v4 = { ...expected.v3, 'meta.json': Buffer.from('{"title":"二"}'), 'files/copy.mp4': big };
      t.equal(v4.version, 'v4');
      t.equal(v4.added.get('files/copy.mp4')?.deduplicated, true, 'identical content is stored once');
      const bigDigest = createHash('sha512').update(big).digest('hex');
      t.same(
        v4.inventory.manifest[bigDigest],
        ['v1/content/files/访谈.mp4'],
        'one content path for the big file',
      );

      for (const [version, files] of Object.entries(expected)) {
        const state = await ocfl.getState(id, version);
        t.same([...state.keys()].sort(), Object.keys(files).sort(), `${version} has exactly its files`);
        for (const [path, bytes] of Object.entries(files)) {
          const got = await ocfl.readFile(id, path, version);
          t.ok(got.equals(bytes), `${version} ${path} byte for byte`);
        }
      }
      const ranged = await ocfl.openFile(id, 'files/copy.mp4', { range: { start: 100, end: 199 } });
      t.ok((await readAll(ranged.stream)).equals(big.subarray(100, 200)), 'ranged read of a file');

      await t.rejects(
        ocfl.writeVersion(
          id,
          { put: [{ path: 'x', body: 'x' }] },
          { message: 'stale', user },
          { expectHead: 'v2' },
        ),
        { code: 'CIKU_ERR_VERSION_CONFLICT' },
      );
      await t.rejects(ocfl.writeVersion(id, { put: [] }, { message: 'again', user }, { expectHead: null }), {
        code: 'CIKU_ERR_OBJECT_EXISTS',
      });

      const object = await validateObject(blobs, `ocfl/${objectPathFor(id)}/`, { expectedId: id });
      t.same(object.findings, [], 'the object validates with no errors and no warnings');
      const root = await validateStorageRoot(blobs, 'ocfl/');
      t.same(root.findings, [], 'the storage root validates clean');
      t.equal(root.objects, 1);

      const listed = [];
      for await (const o of ocfl.listObjects()) listed.push(o);
      t.same(
        listed.map((o) => [o.id, o.head]),
        [[id, 'v4']],
        'listObjects finds the object and its head',
      );
    },
  );
}

t.test('a write whose stream fails leaves the object at its previous version', async (t) => {
  const blobs = await openAdapter(t, 'fs');
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  await ocfl.writeVersion('urn:x:obj', { put: [{ path: 'a.txt', body: 'a' }] }, { message: 'v1', user });
  const { Readable } = await import('node:stream');
  const failing = new Readable({
    read() {
      this.destroy(new Error('client went away'));
    },
  });
  await t.rejects(
    ocfl.writeVersion('urn:x:obj', { put: [{ path: 'b.txt', body: failing }] }, { message: 'v2', user }),
  );
  t.equal((await ocfl.getInventory('urn:x:obj')).head, 'v1');
  const report = await validateObject(blobs, `ocfl/${objectPathFor('urn:x:obj')}/`);
  t.same(report.findings, [], 'no partial v2 left behind');
});

t.test('file names: stored safely in NFC inside the object, or refused with a coded error', async (t) => {
  const blobs = await openAdapter(t, 'fs');
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  const refused = [
    '../escape',
    'a/../../b',
    '/etc/passwd',
    'a//b',
    './a',
    'a/.',
    'nul\u0000byte',
    'tab\tname',
    'bell\u0007',
    'back\\slash',
    'x'.repeat(300),
    'lone\ud800',
    '',
  ];
  for (const path of refused) {
    await t.rejects(
      ocfl.writeVersion('urn:x:names', { put: [{ path, body: 'x' }] }, { message: 'bad', user }),
      { code: 'CIKU_ERR_PATH_INVALID' },
      `refuses ${JSON.stringify(path.slice(0, 24))}`,
    );
  }
  t.equal(await ocfl.exists('urn:x:names'), false, 'nothing was created by refused writes');
  const nfd = 'Nu\u0301n\u0303ez 青花瓷 Blue-and-White.txt';
  await ocfl.writeVersion(
    'urn:x:names',
    {
      put: [
        { path: nfd, body: 'ok' },
        { path: '目录/子目录/景德鎮.txt', body: 'ok' },
      ],
    },
    { message: 'ok', user },
  );
  const state = await ocfl.getState('urn:x:names');
  t.ok(state.has(nfd.normalize('NFC')), 'stored under its NFC form');
  t.equal((await ocfl.readFile('urn:x:names', nfd)).toString(), 'ok', 'readable by its NFD form too');
  await t.rejects(
    ocfl.writeVersion('urn:x:names', { put: [{ path: '目录', body: 'x' }] }, { message: 'conflict', user }),
    {
      code: 'CIKU_ERR_PATH_INVALID',
    },
  );
  for (const id of ['', 'id\u0000nul', 'x'.repeat(2000), 'lone\udc00']) {
    await t.rejects(ocfl.writeVersion(id, { put: [] }, { message: 'bad id', user }), {
      code: 'CIKU_ERR_ID_INVALID',
    });
  }
  const odd = await ocfl.writeVersion(
    'urn:x:../../etc/passwd',
    { put: [{ path: 'a', body: 'a' }] },
    { message: 'odd id', user },
  );
  t.equal(odd.version, 'v1', 'a hostile-looking id is only hashed into the layout, never used as a path');
  const report = await validateStorageRoot(blobs, 'ocfl/');
  t.same(report.findings, [], 'storage root still valid');
});
