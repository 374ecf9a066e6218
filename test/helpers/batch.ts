import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createItems } from '../../services/archive/items.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { createBatches, type Batches } from '../../services/batch/batches.ts';
import { createLogger } from '../../services/adapters/logger.ts';
import type { BatchView } from '../../schemas/batch.ts';
import { buildWorkers } from '../../workers/build-workers.ts';
import { REDIS_URL, tempDir, testRedis } from './env.ts';

/** An archive on a fresh fs store, its queues and batch store on real Redis, and in-process batch workers. */
export async function batchEnv(
  t: { teardown(fn: () => unknown): void },
  options: { workers?: boolean } = {},
) {
  const root = tempDir(t, 'ciku-batch-');
  const blobs = await createFsBlobStore(root);
  const { redis, prefix } = testRedis(t);
  const ocfl = createOcflStore({ blobs, locks: createRedisLocks(redis, { prefix }) });
  await ocfl.init();
  const items = createItems({ ocfl });
  const queuePrefix = `${prefix}bull`;
  const queue = createJobQueue(redis, { prefix: queuePrefix });
  const state = createBatchState(redis, queuePrefix);
  const batches: Batches = createBatches({ blobs, state, queue });
  const workers =
    options.workers === false
      ? undefined
      : buildWorkers({
          items,
          blobs,
          ocfl,
          batches,
          derivatives: createDerivativeStore({ blobs }),
          queue,
          limits: { maxImagePixels: 100_000_000 },
          logger: createLogger('silent'),
          redisUrl: REDIS_URL,
          prefix: queuePrefix,
          only: ['batch-row', 'batch-finish'],
          batchConcurrency: 4,
          config: {
            concurrency: { image: 1, av: 1, transcript: 1, index: 1 },
            lockMs: 5_000,
            graceMs: 1_000,
            maxImagePixels: 100_000_000,
            tmpDir: tempDir(t, 'ciku-batch-tmp-'),
          },
        });
  await workers?.ready();
  t.teardown(async () => {
    await workers?.close(1_000);
    await queue.close();
  });
  /** Waits until the batch has finished (the flow parent wrote its report). */
  const finished = async (id: string): Promise<BatchView> => {
    for (;;) {
      const v = await batches.view(id);
      if (v.status !== 'running') return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { root, blobs, redis, ocfl, items, queue, queuePrefix, batches, finished };
}
