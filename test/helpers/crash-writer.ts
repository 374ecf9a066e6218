/**
 * A child process for the crash-safety test: writes versions of one object as fast as it can and prints
 * `committed vN` after each, until it is killed. Version N's files have contents derived from N (see
 * `expectedFiles`), so the parent can check any version it finds byte for byte.
 */
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createS3BlobStore, type S3Options } from '../../services/adapters/blob-s3.ts';
import { createRedis } from '../../services/adapters/redis.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { expectedFiles, CRASH_OBJECT } from './crash-plan.ts';

const [root, redisUrl, prefix, s3] = process.argv.slice(2) as [string, string, string, string?];
// A JSON S3Options after the prefix: the same crash plan on an S3 server (Ceph RGW in CI).
const blobs =
  s3 === undefined ? await createFsBlobStore(root) : await createS3BlobStore(JSON.parse(s3) as S3Options);
const redis = createRedis(redisUrl);
const ocfl = createOcflStore({
  blobs,
  locks: createRedisLocks(redis, { prefix, ttlMs: 1000 }),
  lockWaitMs: 10_000,
});
await ocfl.init();
process.stdout.write('ready\n');
for (;;) {
  const head = (await ocfl.exists(CRASH_OBJECT)) ? (await ocfl.getInventory(CRASH_OBJECT)).head : undefined;
  const n = head === undefined ? 1 : Number(head.slice(1)) + 1;
  const prev = n === 1 ? {} : expectedFiles(n - 1);
  const next = expectedFiles(n);
  const remove = Object.keys(prev).filter((p) => !(p in next));
  const put = Object.entries(next)
    .filter(([p, body]) => !(p in prev) || !prev[p]!.equals(body))
    .map(([path, body]) => ({ path, body }));
  const { version } = await ocfl.writeVersion(
    CRASH_OBJECT,
    { remove, put },
    { message: `v${n}`, user: { name: 'crash', address: 'urn:x:crash' } },
  );
  process.stdout.write(`committed ${version}\n`);
}
