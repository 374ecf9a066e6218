import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobName } from '../schemas/jobs.ts';
import { loadConfig, type Config } from '../services/config.ts';
import { createLogger } from '../services/adapters/logger.ts';
import { createDerivativeStore } from '../services/archive/derivatives.ts';
import { isCikuError } from '../services/errors.ts';
import {
  createJobWorker,
  permanentFailure,
  type JobWorker,
  type QueuedJob,
} from '../services/adapters/queue.ts';
import { deriveAv } from './derive-av.job.ts';
import { deriveDocument } from './derive-document.job.ts';
import { deriveImage } from './derive-image.job.ts';
import { deriveTranscript } from './derive-transcript.job.ts';
import { indexItem } from './index-item.job.ts';
import { batchFinish, batchRow } from './batch-row.job.ts';
import { dropScan, fixityAudit, statsSnapshot } from './scheduled.job.ts';
import { failureReason, jobLimits, recordingFaults, type JobDeps } from './job-deps.ts';
import {
  checkRegistry,
  isPermanent,
  parsePayload,
  type Handler,
  type JobContext,
  type Registry,
} from './registry.ts';

export interface WorkersDeps extends JobDeps {
  redisUrl: string;
  prefix?: string;
  config: Config['worker'];
  /** Rows of a batch at once (default 2). */
  batchConcurrency?: number;
  /** Run only these queues (a CLI running a batch by itself runs just the batch queues). */
  only?: readonly JobName[];
  /** Replace handlers (tests); the result is checked like the default registry. */
  registry?: Partial<Record<string, unknown>>;
}

export interface Workers {
  workers: JobWorker[];
  ready(): Promise<void>;
  /** Finishes active jobs within `graceMs`, then releases the rest (they run again on the next worker). */
  close(graceMs?: number): Promise<void>;
}

/** Progress reaches Redis at most this often per job. */
const PROGRESS_EVERY_MS = 1_000;

export function defaultRegistry(deps: JobDeps): Registry {
  return {
    'derive-image': recordingFaults(deps, deriveImage(deps)),
    'derive-av': recordingFaults(deps, deriveAv(deps)),
    'derive-transcript': recordingFaults(deps, deriveTranscript(deps)),
    'derive-document': recordingFaults(deps, deriveDocument(deps), 'derive-document'),
    'index-item': indexItem(deps),
    'batch-row': batchRow(deps),
    'batch-finish': batchFinish(deps),
    'fixity-audit': fixityAudit(deps),
    'drop-scan': dropScan(deps),
    'stats-snapshot': statsSnapshot(deps),
  };
}

function concurrencyOf(name: JobName, c: Config['worker']['concurrency'], batch: number): number {
  switch (name) {
    case 'batch-row':
      return batch;
    case 'batch-finish':
    case 'fixity-audit':
    case 'drop-scan':
    case 'stats-snapshot':
      return 1;
    case 'derive-image':
      return c.image;
    case 'derive-av':
      return c.av;
    case 'derive-transcript':
      return c.transcript;
    case 'derive-document':
      return c.document;
    case 'index-item':
      return c.index;
  }
}

/**
 * One BullMQ worker per queue, each running the registry's handler for its job name. CPU-heavy work never runs on
 * the event loop: libvips decodes/encodes on its own threads and ffmpeg runs as a child process; what stays in
 * JS (EXIF and transcript parsing) is bounded in size, and transcripts are parsed in batches that yield.
 */
export function buildWorkers(deps: WorkersDeps): Workers {
  const registry = deps.registry ?? defaultRegistry(deps);
  checkRegistry(registry);
  const shutdown = new AbortController();
  // Set as soon as closing starts: a job that fails for a transient reason from then on (its ffmpeg got the same
  // SIGTERM as we did) is released to run again, never recorded as a verdict on its file.
  let stopping = false;
  const active = new Set<Promise<unknown>>();
  const scratchRoot = path.join(deps.config.tmpDir, 'work');

  const run = async <N extends JobName>(name: N, job: QueuedJob): Promise<unknown> => {
    let payload;
    try {
      payload = parsePayload(name, job.data);
    } catch (err) {
      throw permanentFailure((err as Error).message);
    }
    const log = deps.logger.child({ job: job.id, queue: name, attempt: job.attemptsMade + 1 });
    // At most one progress write per second per job, none in a job's first second: short jobs (most images)
    // report nothing but their end state, long ones (transcodes) a steady trickle.
    let lastAt = Date.now();
    let scratch: string | undefined;
    let scratchReady: Promise<string> | undefined;
    const ctx: JobContext = {
      jobId: job.id,
      attempt: job.attemptsMade + 1,
      signal: shutdown.signal,
      progress(stage, percent) {
        const now = Date.now();
        if (now - lastAt < PROGRESS_EVERY_MS) return;
        lastAt = now;
        job
          .updateProgress({ stage, percent: Math.max(0, Math.min(100, Math.round(percent))) })
          .catch(() => undefined);
      },
      scratch() {
        // Named by job id: a restarted job starts from an empty folder (what a killed attempt left is removed).
        // Made once per attempt: later calls return the same folder with what the job already put there.
        scratchReady ??= (async () => {
          scratch = path.join(scratchRoot, job.id.replace(/[^A-Za-z0-9._-]/g, '_'));
          await fs.rm(scratch, { recursive: true, force: true });
          await fs.mkdir(scratch, { recursive: true });
          return scratch;
        })();
        return scratchReady;
      },
    };
    const started = Date.now();
    try {
      const outcome = await (registry[name] as Handler<N>)(payload, ctx);
      log.info({ outcome: outcome.status, detail: outcome.detail, ms: Date.now() - started }, 'job finished');
      return outcome;
    } catch (err) {
      if (shutdown.signal.aborted || (stopping && !isPermanent(err))) {
        // Released: the job goes back to the queue through the normal retry (with backoff) and starts over on
        // the next worker. (BullMQ's DelayedError release crashed a closing worker with an unhandled rejection.)
        log.info('worker shutting down: job released to run again');
        throw err instanceof Error ? err : new Error(String(err));
      }
      if (isPermanent(err)) {
        const reason = failureReason(err);
        log.warn({ code: isCikuError(err) ? err.code : undefined, reason }, 'job failed for good');
        throw permanentFailure(reason);
      }
      log.error({ err }, 'job failed; it will be retried');
      throw err;
    } finally {
      if (scratch !== undefined)
        await fs.rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    }
  };

  const names = (Object.keys(registry) as JobName[]).filter((n) => deps.only?.includes(n) ?? true);
  const workers = names.map((name) => {
    const w = createJobWorker(
      deps.redisUrl,
      name,
      (job) => {
        const p = run(name, job);
        active.add(p);
        return p.finally(() => active.delete(p));
      },
      {
        ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
        concurrency: concurrencyOf(name, deps.config.concurrency, deps.batchConcurrency ?? 2),
        lockMs: deps.config.lockMs,
      },
    );
    w.on('error', ({ reason }) => deps.logger.error({ queue: name, reason }, 'queue worker error'));
    return w;
  });

  return {
    workers,
    async ready() {
      await Promise.all(workers.map((w) => w.ready()));
    },
    async close(graceMs = 30_000) {
      stopping = true;
      const closing = Promise.all(workers.map((w) => w.close()));
      const timer = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), graceMs).unref(),
      );
      if ((await Promise.race([closing, timer])) === 'timeout') {
        // Long jobs (an hour-long transcode) are not waited for: stop them and put them back in the queue.
        shutdown.abort();
        await Promise.allSettled([...active]);
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}

/**
 * Only the batch queues (`batch-row`, `batch-finish`), with the default worker settings and a silent logger unless
 * one is given: for tests and benches that run a batch's rows in-process. (`ciku batch` and `ciku start` use
 * `startWorkers(config, { only })`, which wires the same two queues from the environment's config.)
 */
export function buildBatchWorkers(
  deps: Pick<WorkersDeps, 'items' | 'blobs' | 'ocfl' | 'batches' | 'queue' | 'redisUrl' | 'prefix'> & {
    tmpDir: string;
    concurrency?: number;
    lockMs?: number;
    logger?: WorkersDeps['logger'];
  },
): Workers {
  // The documented defaults: these workers run only batch rows, which make no derivatives themselves.
  const defaults = loadConfig({}).worker;
  const maxImagePixels = 100_000_000;
  return buildWorkers({
    items: deps.items,
    blobs: deps.blobs,
    ...(deps.ocfl === undefined ? {} : { ocfl: deps.ocfl }),
    ...(deps.batches === undefined ? {} : { batches: deps.batches }),
    ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
    derivatives: createDerivativeStore({ blobs: deps.blobs }),
    queue: deps.queue,
    limits: jobLimits({ ...defaults, maxImagePixels }),
    logger: deps.logger ?? createLogger('silent'),
    redisUrl: deps.redisUrl,
    only: ['batch-row', 'batch-finish'],
    batchConcurrency: deps.concurrency ?? 4,
    config: {
      ...defaults,
      concurrency: { image: 1, av: 1, transcript: 1, index: 1, document: 1 },
      lockMs: deps.lockMs ?? 5_000,
      graceMs: 1_000,
      maxImagePixels,
      tmpDir: deps.tmpDir,
    },
  });
}
