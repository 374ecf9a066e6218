import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { projectRoot, REDIS_URL, tempDir, testRedis } from '../helpers/env.ts';
import { CRASH_OBJECT, expectedFiles } from '../helpers/crash-plan.ts';

const ROUNDS = Number(process.env.CIKU_CRASH_ROUNDS ?? 25);

/** Starts the writer, lets it run for `ms` after its first commit, SIGKILLs it; returns the last version it reported. */
function runAndKill(root: string, prefix: string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'test/helpers/crash-writer.ts'), root, REDIS_URL, prefix],
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

t.test(`a writer SIGKILLed at ${ROUNDS} random points never leaves a partial version`, async (t) => {
  const root = tempDir(t, 'ciku-crash-');
  const { redis, prefix } = testRedis(t);
  const blobs = await createFsBlobStore(root);
  const ocfl = createOcflStore({
    blobs,
    locks: createRedisLocks(redis, { prefix, ttlMs: 1000 }),
    lockWaitMs: 10_000,
  });
  let head = 0;
  const outcomes: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round += 1) {
    const ms = Math.floor(Math.random() * 60);
    const reported = await runAndKill(root, prefix, ms);
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
});
