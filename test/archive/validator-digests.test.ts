import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import {
  validateObject,
  validateStorageRoot,
  type TreeReader,
} from '../../services/archive/ocfl/validator.ts';
import { sharedPath, skipUnlessShared, tempDir } from '../helpers/env.ts';

const user = { name: 'tester', address: 'urn:ciku:agent:tester' };
const codes = (report: { findings: { code: string }[] }) => [...new Set(report.findings.map((f) => f.code))];

/** `tree` with its reads of each key counted. */
function counting(tree: TreeReader): { tree: TreeReader; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    tree: {
      list: (prefix) => tree.list(prefix),
      listChildren: (prefix) => tree.listChildren(prefix),
      get(key, range) {
        reads.set(key, (reads.get(key) ?? 0) + 1);
        return tree.get(key, range);
      },
    },
  };
}

t.test('a content file past 1 MiB (hashed on the hashing thread) whose bytes changed is E092', async (t) => {
  const dir = tempDir(t, 'ciku-validate-');
  const blobs = await createFsBlobStore(dir);
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  const id = 'urn:ciku:item:big';
  await ocfl.writeVersion(
    id,
    { put: [{ path: 'big.bin', body: randomBytes(3 * 1024 * 1024 + 7) }] },
    {
      message: 'v1',
      user,
    },
  );
  t.same(codes(await validateStorageRoot(blobs, 'ocfl/')), [], 'valid as written');
  const [contentPath] = Object.values((await ocfl.getInventory(id)).manifest)[0]!;
  const file = path.join(dir, 'ocfl', objectPathFor(id), contentPath!);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0]), 0, 1, 2 * 1024 * 1024); // one byte in the second MiB
  fs.closeSync(fd);
  const report = await validateStorageRoot(blobs, 'ocfl/');
  t.equal(report.valid, false);
  t.ok(
    report.findings.some((f) => f.code === 'E092' && f.message.includes(contentPath!)),
    'the changed file is named',
  );
  t.same(
    codes(await validateStorageRoot(blobs, 'ocfl/', { checkDigests: false })),
    [],
    'unseen without digests',
  );
});

t.test(
  'each content file is read once, for every algorithm the manifest and fixity blocks state of it',
  { skip: skipUnlessShared('fixtures/ocfl') },
  async (t) => {
    const base = path.join(sharedPath('fixtures/ocfl')!, '1.1/good-objects/spec-ex-full');
    const { tree, reads } = counting(await createFsBlobStore(base, { readOnly: true }));
    const report = await validateObject(tree, '');
    t.equal(report.valid, true, 'sha512 manifest, md5 and sha1 fixity all agree');
    const content = [...reads].filter(([key]) => key.includes('/content/'));
    t.ok(content.length > 1, 'content was read');
    t.same(
      content.filter(([, n]) => n !== 1),
      [],
      'no file read twice',
    );
  },
);

t.test(
  'a changed file fails every fixity algorithm it is listed under, blake2b-512 included',
  { skip: skipUnlessShared('fixtures/ocfl') },
  async (t) => {
    const dir = tempDir(t, 'ciku-fixity-');
    fs.cpSync(
      path.join(sharedPath('fixtures/ocfl')!, '1.1/good-objects/ocfl_object_all_fixity_digests'),
      dir,
      {
        recursive: true,
      },
    );
    const tree = await createFsBlobStore(dir, { readOnly: true });
    t.same(codes(await validateObject(tree, '')), [], 'valid as published');
    fs.appendFileSync(path.join(dir, 'v1/content/file.txt'), 'x');
    const report = await validateObject(tree, '');
    t.ok(report.findings.some((f) => f.code === 'E092'));
    const fixity = report.findings
      .filter((f) => f.code === 'E093')
      .map((f) => / has (\S+) /.exec(f.message)?.[1]);
    t.same(fixity.sort(), ['blake2b-512', 'md5', 'sha1', 'sha256', 'sha512']);
  },
);
