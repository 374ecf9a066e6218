import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobIdFor, priorities, type JobName, type JobPayload } from '../../schemas/jobs.ts';

/**
 * The one module that imports BullMQ on the producer side. One queue per job name, retry/backoff set once here,
 * failed jobs kept with their reason, completed ones trimmed.
 */
export interface JobQueue {
  enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options?: { backfill?: boolean },
  ): Promise<string>;
  ping(): Promise<boolean>;
  /** Ids of the jobs waiting, delayed, active or prioritised in every queue (for operators and tests). */
  jobIds(): Promise<string[]>;
  close(): Promise<void>;
}

export const queueNames: readonly JobName[] = ['extract-metadata', 'derive', 'index-item'];

export function createJobQueue(redis: Redis, options: { prefix?: string } = {}): JobQueue {
  const prefix = options.prefix ?? 'ciku';
  const queues = new Map<JobName, Queue>();
  const queueFor = (name: JobName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: redis,
        prefix,
        defaultJobOptions: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 5_000 },
          removeOnComplete: { count: 10_000 },
          removeOnFail: false,
        },
      });
      queues.set(name, q);
    }
    return q;
  };
  return {
    async enqueue(name, payload, opts = {}) {
      const jobId = jobIdFor(name, payload);
      await queueFor(name).add(name, payload, {
        jobId,
        priority: opts.backfill ? priorities.backfill : priorities.interactive,
      });
      return jobId;
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
    async ping() {
      return (await redis.ping()) === 'PONG';
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
