import { Value } from '@sinclair/typebox/value';
import { jobNames, jobSchemas, type JobName, type JobPayload } from '../schemas/jobs.ts';
import { CikuError, isCikuError, type ErrorCode } from '../services/errors.ts';

/**
 * The typed job registry: every job name has exactly one handler, checked when the worker starts (a missing or
 * extra handler refuses to start). Handlers take ids, re-read state, return `done | skipped`, throw a CikuError
 * with a permanent code for faults retrying cannot fix, and anything else for transient ones (retried with
 * backoff, set once in the queue adapter).
 */
export interface JobOutcome {
  status: 'done' | 'skipped';
  detail?: string;
}

export interface JobContext {
  jobId: string;
  attempt: number;
  /** `{ stage, percent }`, throttled before it reaches Redis. */
  progress(stage: string, percent: number): void;
  /** Aborted when the worker shuts down: long work stops and the job is released to run again. */
  signal: AbortSignal;
  /** This attempt's scratch folder: empty when first asked for, the same folder after, removed at the end. */
  scratch(): Promise<string>;
}

export type Handler<N extends JobName> = (payload: JobPayload<N>, ctx: JobContext) => Promise<JobOutcome>;
export type Registry = { [N in JobName]: Handler<N> };

export function checkRegistry(registry: Partial<Record<string, unknown>>): asserts registry is Registry {
  const problems: string[] = [];
  for (const name of jobNames) {
    if (typeof registry[name] !== 'function') problems.push(`no handler for job ${name}`);
  }
  for (const name of Object.keys(registry)) {
    if (!(jobNames as string[]).includes(name)) problems.push(`handler for unknown job ${name}`);
  }
  if (problems.length > 0) {
    throw new CikuError('CIKU_ERR_WORKER_REGISTRY', `job registry is incomplete: ${problems.join('; ')}`, {
      details: problems,
    });
  }
}

/** What came out of Redis is input: validated again before a handler sees it. */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const schema = jobSchemas[name];
  if (!Value.Check(schema, data)) {
    const first = [...Value.Errors(schema, data)][0];
    throw new CikuError(
      'CIKU_ERR_JOB_PAYLOAD_INVALID',
      `job ${name}: invalid payload at ${first?.path || '/'}: ${first?.message ?? 'does not match'}`,
    );
  }
  return data;
}

const permanentCodes: readonly ErrorCode[] = [
  'CIKU_ERR_MEDIA_UNREADABLE',
  'CIKU_ERR_MEDIA_UNSUPPORTED',
  'CIKU_ERR_MEDIA_TOO_LARGE',
  'CIKU_ERR_JOB_PAYLOAD_INVALID',
  'CIKU_ERR_ITEM_NOT_FOUND',
  'CIKU_ERR_VERSION_NOT_FOUND',
  'CIKU_ERR_FILE_NOT_FOUND',
  'CIKU_ERR_ID_INVALID',
];

/** A fault the same bytes will always produce: recorded once, never retried. */
export function isPermanent(err: unknown): boolean {
  return isCikuError(err) && permanentCodes.includes(err.code);
}
