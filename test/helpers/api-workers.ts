import { createDocumentTools } from '../../services/adapters/document-tools.ts';
import { createLogger } from '../../services/adapters/logger.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { loadConfig } from '../../services/config.ts';
import { buildWorkers } from '../../workers/build-workers.ts';
import { jobLimits } from '../../workers/job-deps.ts';
import type { TestApi } from './api.ts';
import { REDIS_URL, tempDir } from './env.ts';

/** Real BullMQ workers (every queue) consuming a test API's queues, with the documented limits, closed at teardown. */
export async function startWorkersFor(t: { teardown(fn: () => unknown): void }, api: TestApi) {
  const derivatives = createDerivativeStore({ blobs: api.blobs });
  const defaults = loadConfig({}).worker;
  const workers = buildWorkers({
    items: api.items,
    blobs: api.blobs,
    derivatives,
    search: api.indexer,
    documents: createDocumentTools({ tmpDir: tempDir(t, 'ciku-document-tools-') }),
    queue: api.queue,
    limits: jobLimits(defaults),
    logger: createLogger('silent'),
    redisUrl: REDIS_URL,
    prefix: api.queuePrefix,
    config: {
      ...defaults,
      concurrency: { image: 2, av: 1, transcript: 2, index: 2, document: 1 },
      lockMs: 5_000,
      graceMs: 1_000,
      maxImagePixels: 200_000_000,
      tmpDir: tempDir(t, 'ciku-worker-tmp-'),
    },
  });
  await workers.ready();
  t.teardown(() => workers.close(1_000));
  return { workers, derivatives };
}

/** Polls `what` until it answers something (every 100 ms), or fails saying what it waited for. */
export async function until<T>(what: () => Promise<T | undefined>, label: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
