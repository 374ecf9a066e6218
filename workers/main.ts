import { createLogger } from '../services/adapters/logger.ts';
import { createJobQueue } from '../services/adapters/queue.ts';
import { reindexRecovered } from '../services/app/follow-ups.ts';
import { closeOnSignals } from '../services/lifecycle.ts';
import { createDerivativeStore } from '../services/archive/derivatives.ts';
import { configureImageEngine } from '../services/adapters/image.ts';
import { createDocumentTools } from '../services/adapters/document-tools.ts';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../services/config.ts';
import { openArchive, openSearchIndex } from '../services/runtime.ts';
import { createIndexer } from '../services/search/indexer.ts';
import { createStatsService } from '../services/stats/stats.ts';
import { buildWorkers, type Workers } from './build-workers.ts';
import { jobLimits } from './job-deps.ts';
import type { JobName } from '../schemas/jobs.ts';
import { createBatchState } from '../services/adapters/batch-state.ts';
import { createBatches } from '../services/batch/batches.ts';

/**
 * `ciku work`: the job workers against the archive and Redis the config names. Closes gracefully on SIGTERM:
 * active jobs get a grace period to finish, then are released to run again elsewhere.
 */
export async function startWorkers(
  config: Config,
  options: { handleSignals?: boolean; only?: readonly JobName[]; schedules?: boolean } = {},
): Promise<{ workers: Workers; close: () => Promise<void> }> {
  const logger = createLogger(config.logLevel, { name: 'ciku-worker' });
  const archive = await openArchive(config);
  // A worker killed mid-write (a batch row, a record) left an intent: finish or roll it back before taking jobs.
  const recovered = await archive.ocfl.recoverAll();
  for (const r of recovered) logger.warn(r, 'recovered an interrupted version write');
  const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
  await reindexRecovered({ items: archive.items, queue }, recovered);
  configureImageEngine({});
  const derivatives = createDerivativeStore({ blobs: archive.blobs });
  const index = await openSearchIndex(config, { locks: archive.locks });
  const batches = createBatches({
    blobs: archive.blobs,
    state: createBatchState(archive.redis, config.redis.queuePrefix),
    queue,
  });
  // The document tools' scratch (LibreOffice profiles, OCR renders): made here, as the tools expect it to exist.
  const documentsTmp = path.join(config.worker.tmpDir, 'documents');
  await mkdir(documentsTmp, { recursive: true });
  const workers = buildWorkers({
    ...(options.only === undefined ? {} : { only: options.only }),
    batches,
    ocfl: archive.ocfl,
    batchConfig: config.batch,
    batchConcurrency: config.batch.concurrency,
    items: archive.items,
    blobs: archive.blobs,
    derivatives,
    search: createIndexer({ items: archive.items, derivatives, index }),
    stats: createStatsService({ search: index, blobs: archive.blobs, clock: () => new Date() }),
    documents: createDocumentTools({
      logger,
      maxRenderPixels: config.worker.document.maxRenderPixels,
      maxOcrPixels: config.worker.maxImagePixels,
      tmpDir: documentsTmp,
    }),
    queue,
    limits: jobLimits(config.worker),
    logger,
    redisUrl: config.redis.url,
    prefix: config.redis.queuePrefix,
    config: config.worker,
  });
  await workers.ready();
  if (options.schedules !== false && options.only === undefined) {
    // Job schedulers (one per id, replaced on every start, so a changed cron takes effect on restart).
    await queue.schedule('drop-scan', 'nightly-drop-scan', config.batch.dropCron, {});
    await queue.schedule('fixity-audit', 'nightly-fixity-audit', config.batch.fixityCron, {});
    await queue.schedule('stats-snapshot', 'yearly-stats-snapshot', config.batch.statsSnapshotCron, {});
    logger.info(
      {
        dropCron: config.batch.dropCron ?? 'off',
        fixityCron: config.batch.fixityCron ?? 'off',
        statsSnapshotCron: config.batch.statsSnapshotCron ?? 'off',
      },
      'schedules set',
    );
  }
  logger.info({ concurrency: config.worker.concurrency }, 'workers ready');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await workers.close(config.worker.graceMs);
      await queue.close();
      await index.close();
      await archive.close();
    })();
    return closing;
  };
  if (options.handleSignals !== false) closeOnSignals(logger, close);
  return { workers, close };
}
