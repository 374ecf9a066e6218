import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createS3BlobStore, type S3Options } from '../../services/adapters/blob-s3.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { projectRoot, realS3, realS3Skipped, REDIS_URL, tempDir, testRedis } from '../helpers/env.ts';
import { CRASH_OBJECT, expectedFiles } from '../helpers/crash-plan.ts';

const ROUNDS = Number(process.env.CIKU_CRASH_ROUNDS ?? 25);

/**
 * Starts the writer (on the filesystem root, or on `s3` when given), lets it run for `ms` after its first commit,
 * SIGKILLs it; returns the last version it reported.
 */
function runAndKill(root: string, prefix: string, ms: number, s3?: S3Options): Promise<number> {
  return new Promise((resolve, reject) => {
    const writer = path.join(projectRoot, 'test/helpers/crash-writer.ts');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', writer, root, REDIS_URL, prefix, ...(s3 ? [JSON.stringify(s3)] : [])],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    let last = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Arm the kill once the writer is in its loop (first commit seen), so it lands inside a version write.
      if (out.includes('committed') && !child.killed && ms >= 0) {
        setTimeout(() => child.kill('SIGKILL'), ms);
        ms = -1;
      }
      for (const m of out.matchAll(/committed v(\d+)/g)) last = Math.max(last, Number(m[1]));
    });
    child.on('error', reject);
    // 'close', not 'exit': every line the writer printed has been read by then.
    child.on('close', () => resolve(last));
  });
}

/**
 * Where the writer runs, how many rounds, and the window the kill lands in after a commit: a version write on the
 * filesystem takes milliseconds, on RGW (a dozen HTTP requests) a few hundred, so the window follows the store.
 */
const stores: { name: string; s3?: S3Options; rounds: number; windowMs: number }[] = [
  { name: 'the filesystem store', rounds: ROUNDS, windowMs: 60 },
];
if (realS3) {
  const bucket = `ciku-crash-${Math.random().toString(36).slice(2, 10)}`;
  stores.push({
    name: 'Ceph RGW',
    s3: { ...realS3, bucket, partSize: 5 * 1024 * 1024 },
    rounds: Number(process.env.CIKU_CRASH_ROUNDS_S3 ?? 12),
    windowMs: 600,
  });
} else t.test('the crash matrix on Ceph RGW', { skip: realS3Skipped }, () => undefined);

for (const { name, s3, rounds, windowMs } of stores)
  t.test(
    `a writer SIGKILLed at ${rounds} random points never leaves a partial version (${name})`,
    async (t) => {
      const root = tempDir(t, 'ciku-crash-');
      const { redis, prefix } = testRedis(t);
      const blobs = s3 ? await createS3BlobStore(s3) : await createFsBlobStore(root);
      if (s3) t.teardown(() => blobs.deletePrefix(''));
      const ocfl = createOcflStore({
        blobs,
        locks: createRedisLocks(redis, { prefix, ttlMs: 1000 }),
        lockWaitMs: 10_000,
      });
      let head = 0;
      const outcomes: Record<string, number> = {};
      for (let round = 0; round < rounds; round += 1) {
        const ms = Math.floor(Math.random() * windowMs);
        const reported = await runAndKill(root, prefix, ms, s3);
        // Before any recovery, readers see a complete version: the last one reported, or the one after it.
        const seen = (await ocfl.exists(CRASH_OBJECT))
          ? Number((await ocfl.getInventory(CRASH_OBJECT)).head.slice(1))
          : 0;
        t.ok(
          seen === Math.max(reported, head) || seen === Math.max(reported, head) + 1,
          `round ${round}: head v${seen} after v${reported} was reported`,
        );
        if (seen > 0) {
          const state = await ocfl.getState(CRASH_OBJECT);
          const want = expectedFiles(seen);
          t.same(
            [...state.keys()].sort(),
            Object.keys(want).sort(),
            `round ${round}: v${seen} has exactly its files`,
          );
          for (const [p, bytes] of Object.entries(want)) {
            if (!(await ocfl.readFile(CRASH_OBJECT, p)).equals(bytes))
              t.fail(`round ${round}: ${p} of v${seen} differs`);
          }
        }
        const outcome = await ocfl.recover(CRASH_OBJECT);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        const after = (await ocfl.exists(CRASH_OBJECT))
          ? Number((await ocfl.getInventory(CRASH_OBJECT)).head.slice(1))
          : 0;
        t.ok(
          after === seen || (outcome === 'rolled-forward' && after === seen + 1),
          `round ${round}: recovery kept a complete version (${outcome})`,
        );
        if (after > 0) {
          const report = await validateObject(blobs, `ocfl/${objectPathFor(CRASH_OBJECT)}/`);
          t.same(report.findings, [], `round ${round}: object valid at v${after} after ${outcome}`);
        }
        head = after;
      }
      t.comment(`recoveries: ${JSON.stringify(outcomes)}; final head v${head}`);
      t.ok(
        (outcomes['rolled-back'] ?? 0) + (outcomes['rolled-forward'] ?? 0) > 0,
        'some kills landed inside a version write',
      );
      t.ok(head > 0, 'the writer made progress across the rounds');
    },
  );
