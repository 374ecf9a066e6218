import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createItems } from '../../services/archive/items.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { createBatches, type Batches } from '../../services/batch/batches.ts';
import type { BatchView } from '../../schemas/batch.ts';
import { buildBatchWorkers } from '../../workers/build-workers.ts';
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
      : buildBatchWorkers({
          items,
          blobs,
          ocfl,
          batches,
          queue,
          redisUrl: REDIS_URL,
          prefix: queuePrefix,
          tmpDir: tempDir(t, 'ciku-batch-tmp-'),
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
