import { FlowProducer, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobIdFor, jobNames, priorities, type JobName, type JobPayload } from '../../schemas/jobs.ts';

/**
 * The one module that imports BullMQ on the producer side. One queue per job name, retry/backoff set once here,
 * failed jobs kept with their reason, completed ones trimmed.
 */
export interface JobQueue {
  /**
   * Adds a job under its deterministic id; a job with that id still waiting or running makes this a no-op. A
   * finished (completed or failed) job with the id is replaced: deduplication is only against work still to do.
   * (BullMQ keeps finished jobs, and ids are deterministic: a wiped data dir, a restored backup or a second
   * archive on the same Redis asked again for work the Redis remembered as done, and it was silently dropped.)
   */
  enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options?: { backfill?: boolean },
  ): Promise<string>;
  /** State of a job by id (`missing` when unknown), with its failure reason if it failed. */
  state(name: JobName, jobId: string): Promise<{ state: string; reason?: string; progress?: unknown }>;
  /**
   * A parent job that runs once all its children have ended (a BullMQ flow): how a batch's report is written after
   * its last row. A child that fails for good does not hold the parent back. Children are added in chunks.
   */
  enqueueFlow<P extends JobName, C extends JobName>(
    parent: { name: P; payload: JobPayload<P> },
    childName: C,
    children: JobPayload<C>[],
    options?: { backfill?: boolean },
  ): Promise<string>;
  /** A BullMQ job scheduler (cron pattern, UTC): one per id, replaced when called again; `undefined` removes it. */
  schedule<N extends JobName>(
    name: N,
    schedulerId: string,
    cron: string | undefined,
    payload: JobPayload<N>,
  ): Promise<void>;
  /** Workers connected to a queue right now (a CLI decides whether to run its own). */
  workerCount(name: JobName): Promise<number>;
  /** The underlying BullMQ queues (for the admin dashboard). */
  rawQueues(): Queue[];
  ping(): Promise<boolean>;
  /** Ids of the jobs waiting, delayed, active or prioritised in every queue (for operators and tests). */
  jobIds(): Promise<string[]>;
  close(): Promise<void>;
}

export const queueNames: readonly JobName[] = jobNames;

/** Retry/backoff, set once for every queue: transient faults retry, permanent ones (UnrecoverableError) do not. */
export const defaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { count: 10_000 },
  removeOnFail: false,
} as const;
export function createJobQueue(redis: Redis, options: { prefix?: string } = {}): JobQueue {
  const prefix = options.prefix ?? 'ciku';
  const queues = new Map<JobName, Queue>();
  const queueFor = (name: JobName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: redis,
        prefix,
        defaultJobOptions,
      });
      queues.set(name, q);
    }
    return q;
  };
  return {
    async enqueue(name, payload, opts = {}) {
      const jobId = jobIdFor(name, payload);
      const q = queueFor(name);
      const state = await q.getJobState(jobId);
      if (state === 'completed' || state === 'failed') {
        // Finished jobs are final in BullMQ (nothing moves them again), so removing one races only with another
        // enqueuer doing the same, whose add then finds ours waiting: one job either way.
        await q.remove(jobId).catch(() => undefined);
      }
      await q.add(name, payload, {
        jobId,
        priority: opts.backfill ? priorities.backfill : priorities.interactive,
      });
      return jobId;
    },
    async enqueueFlow(parent, childName, children, opts = {}) {
      const flows = new FlowProducer({ connection: redis, prefix });
      try {
        const parentId = jobIdFor(parent.name, parent.payload);
        const priority = opts.backfill ? priorities.backfill : priorities.interactive;
        await flows.add({
          name: parent.name,
          queueName: parent.name,
          data: parent.payload,
          opts: { ...defaultJobOptions, jobId: parentId },
          children: children.map((payload) => ({
            name: childName,
            queueName: childName,
            data: payload,
            opts: {
              ...defaultJobOptions,
              jobId: jobIdFor(childName, payload),
              priority,
              ignoreDependencyOnFailure: true,
            },
          })),
        });
        return parentId;
      } finally {
        await flows.close();
      }
    },
    async schedule(name, schedulerId, cron, payload) {
      const q = queueFor(name);
      if (cron === undefined) {
        await q.removeJobScheduler(schedulerId);
        return;
      }
      await q.upsertJobScheduler(schedulerId, { pattern: cron, tz: 'UTC' }, { name, data: payload });
    },
    async workerCount(name) {
      return queueFor(name).getWorkersCount();
    },
    rawQueues() {
      return queueNames.map((n) => queueFor(n));
    },
    async jobIds() {
      const out: string[] = [];
      for (const name of queueNames) {
        const jobs = await queueFor(name).getJobs([
          'waiting',
          'delayed',
          'active',
          'prioritized',
          'completed',
          'failed',
        ]);
        for (const j of jobs) if (j.id !== undefined) out.push(j.id);
      }
      return out;
    },
    async state(name, jobId) {
      // State first, then the job's fields: a job read first could still be active, then fail before its state is
      // read, and be reported failed without its reason (the reason is written together with the failed state).
      const state = await queueFor(name).getJobState(jobId);
      if (state === 'unknown') return { state: 'missing' };
      const job = await queueFor(name).getJob(jobId);
      if (!job) return { state: 'missing' };
      return {
        state,
        ...(job.failedReason ? { reason: job.failedReason } : {}),
        ...(job.progress === undefined ? {} : { progress: job.progress }),
      };
    },
    async ping() {
      return (await redis.ping()) === 'PONG';
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** What a processor sees of a BullMQ job: our words, so job handlers never import BullMQ. */
export interface QueuedJob {
  id: string;
  name: string;
  data: unknown;
  attemptsMade: number;
  updateProgress(progress: object): Promise<void>;
}

/** Thrown by a processor for a fault that retrying cannot fix (corrupt media, invalid payload). */
export function permanentFailure(message: string): Error {
  return new UnrecoverableError(message);
}

export interface JobWorker {
  readonly name: string;
  /** Waits for active jobs (`force`: does not wait; their locks lapse and another worker takes them over). */
  close(force?: boolean): Promise<void>;
  /** Resolves when the worker is connected and taking jobs. */
  ready(): Promise<void>;
  on(
    event: 'completed' | 'failed' | 'error',
    listener: (info: { jobId?: string | undefined; reason?: string }) => void,
  ): void;
}

/**
 * A consumer of one queue. BullMQ's stalled-job check (every `lockMs`) moves the jobs of a killed worker back to
 * waiting; a job may stall `maxStalls` times (hour-long transcodes meet restarts) before it counts as failed.
 */
export function createJobWorker(
  redisUrl: string,
  name: JobName,
  processor: (job: QueuedJob) => Promise<unknown>,
  options: { prefix?: string; concurrency: number; lockMs: number; maxStalls?: number },
): JobWorker {
  const worker = new Worker(
    name,
    async (job: Job) => {
      const queued: QueuedJob = {
        id: job.id ?? '',
        name: job.name,
        data: job.data as unknown,
        attemptsMade: job.attemptsMade,
        updateProgress: (p) => job.updateProgress(p),
      };
      return processor(queued);
    },
    {
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      prefix: options.prefix ?? 'ciku',
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount: options.maxStalls ?? 3,
      autorun: true,
    },
  );
  return {
    name,
    async close(force = false) {
      await worker.close(force);
    },
    async ready() {
      await worker.waitUntilReady();
    },
    on(event, listener) {
      if (event === 'completed') worker.on('completed', (job) => listener({ jobId: job.id }));
      else if (event === 'failed')
        worker.on('failed', (job, err) => listener({ jobId: job?.id, reason: err.message }));
      else worker.on('error', (err) => listener({ reason: err.message }));
    },
  };
}
