import { MessageChannel, Worker } from 'node:worker_threads';
import { Semaphore } from 'async-mutex';
import { CikuError, type ErrorCode } from '../errors.ts';
import type { BatchPlan, PlannedRow, PlanOptions } from './sources.ts';

/**
 * Plans batch sources on worker threads (plan-worker.ts runs `planBatch`), so that parsing a 300,000-row CSV,
 * checking every row against its schema and hashing a bag's payload never hold the API's event loop. Rows come
 * back in chunks (500 rows) as they are planned and are handed to `onRows` in source order; the thread plans ahead
 * of `onRows` by 4 chunks at most, and their credit comes back from the event loop's check phase, so the loop turns
 * at least once every 4 chunks whatever the machine's speed. A refusal (CikuError) in the thread is thrown here
 * with its code.
 *
 * **Bounded.** A process plans `concurrency` sources at once (2 by default: a plan is I/O and hashing, and every
 * `POST /v1/batches`, dry runs included, is one); the next `maxWaiting` wait their turn in order, and beyond those
 * a plan is refused at once with CIKU_ERR_UNAVAILABLE (503, the route adds Retry-After) rather than queued without
 * end: a caller who sends hundreds learns it now, and the memory and sockets of the waiting requests stay bounded.
 *
 * **Threads are reused, plans are not mixed.** Starting a thread costs ~0.1 s compiled and ~0.5 s under tsx (the
 * loader registers again in every thread); a drop-zone scan or `ciku batch` over fifty bags paid it fifty times. So
 * a thread that finished a plan cleanly waits (unreferenced: it keeps no process alive) for the next one, and ends
 * after `idleMs` idle. A thread runs one plan at a time, and each plan has its own message channel and its own
 * state in the thread (the planner keeps none between plans: sources.ts and bagit.ts hold only constants at module
 * level). What one plan could leave behind is why a thread is not reused after it: a plan that failed other than by
 * a refusal (an unexpected error, a thread crash, a consumer that threw while the thread was still planning) ends
 * its thread; so does a plan that left the thread's heap above `retireHeapBytes` (a large manifest's memory does not
 * outlive its plan in a thread kept for the next), and every thread ends after `maxPlansPerThread` plans.
 */
export interface PlannerOptions {
  /** Plans at once in this process, each on its own thread (default 2). */
  concurrency?: number;
  /** Plans waiting for a thread before the next is refused with CIKU_ERR_UNAVAILABLE (default 16). */
  maxWaiting?: number;
  /** An idle thread ends after this long (default 30 s). */
  idleMs?: number;
  /** A thread ends after this many plans (default 100). */
  maxPlansPerThread?: number;
  /** A thread whose heap holds more than this after a plan ends (default 64 MiB). */
  retireHeapBytes?: number;
}

export interface PlannerStats {
  /** Plans running now, waiting now, and the most that ever ran at once. */
  running: number;
  waiting: number;
  peakRunning: number;
  /** Plans refused because too many were waiting. */
  refused: number;
  /** Threads alive now (idle ones included) and started so far. */
  threads: number;
  threadsStarted: number;
}

export interface Planner {
  plan(
    source: string,
    options: PlanOptions,
    onRows: (rows: PlannedRow[]) => void | Promise<void>,
  ): Promise<BatchPlan>;
  stats(): PlannerStats;
  /** Ends every idle thread (running plans finish first, then their threads end too). */
  close(): Promise<void>;
}

/** Seconds a refused caller is told to wait before asking again. */
export const PLAN_RETRY_AFTER_SECONDS = 5;

export function createPlanner(options: PlannerOptions = {}): Planner {
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const maxWaiting = Math.max(0, options.maxWaiting ?? 16);
  const idleMs = options.idleMs ?? 30_000;
  const maxPlans = Math.max(1, options.maxPlansPerThread ?? 100);
  const retireHeap = options.retireHeapBytes ?? 64 * 1024 * 1024;
  const slots = new Semaphore(concurrency);
  const idle: PlanThread[] = [];
  const alive = new Set<PlanThread>();
  let closed = false;
  const counts = { running: 0, waiting: 0, peakRunning: 0, refused: 0, threadsStarted: 0 };

  const retire = (thread: PlanThread) => {
    alive.delete(thread);
    const i = idle.indexOf(thread);
    if (i !== -1) idle.splice(i, 1);
    void thread.end();
  };
  const park = (thread: PlanThread) => {
    if (closed || thread.plans >= maxPlans) return retire(thread);
    idle.push(thread);
    thread.idle(idleMs, () => retire(thread));
  };
  const take = (): PlanThread => {
    const reused = idle.pop();
    if (reused) return reused;
    const thread = new PlanThread(() => retire(thread));
    alive.add(thread);
    counts.threadsStarted += 1;
    return thread;
  };

  return {
    async plan(source, planOptions, onRows) {
      if (closed) throw new CikuError('CIKU_ERR_UNAVAILABLE', 'the batch planner is shutting down');
      if (slots.getValue() <= 0 && counts.waiting >= maxWaiting) {
        counts.refused += 1;
        throw new CikuError(
          'CIKU_ERR_UNAVAILABLE',
          `${counts.running} batch plans are running and ${counts.waiting} waiting: try again in a few seconds`,
          { details: { retryAfter: PLAN_RETRY_AFTER_SECONDS } },
        );
      }
      counts.waiting += 1;
      let release: () => void;
      try {
        [, release] = await slots.acquire();
      } finally {
        counts.waiting -= 1;
      }
      counts.running += 1;
      counts.peakRunning = Math.max(counts.peakRunning, counts.running);
      const thread = take();
      try {
        const { plan, reusable, heapUsed } = await thread.run(source, planOptions, onRows);
        if (reusable && heapUsed <= retireHeap) park(thread);
        else retire(thread);
        return plan;
      } catch (err) {
        // A refusal leaves a sound thread; anything else may have left it mid-plan or in an unknown state.
        if (thread.reusableAfterFailure) park(thread);
        else retire(thread);
        throw err;
      } finally {
        counts.running -= 1;
        release();
      }
    },
    stats: () => ({
      running: counts.running,
      waiting: counts.waiting,
      peakRunning: counts.peakRunning,
      refused: counts.refused,
      threads: alive.size,
      threadsStarted: counts.threadsStarted,
    }),
    async close() {
      closed = true;
      await Promise.all(
        idle.splice(0).map((t) => {
          alive.delete(t);
          return t.end();
        }),
      );
    },
  };
}

type Message =
  | { op: 'rows'; rows: PlannedRow[] }
  | { op: 'done'; plan: BatchPlan; heapUsed: number }
  | { op: 'error'; error: { code?: ErrorCode; message: string; stack?: string }; heapUsed: number };

/** One planning thread: runs one plan at a time, each over a channel of its own. */
class PlanThread {
  readonly worker: Worker;
  plans = 0;
  /** Set when the last plan failed by a refusal only (the thread finished it and is sound). */
  reusableAfterFailure = false;
  private current: ((err: Error) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(onDeath: () => void) {
    this.worker = new Worker(BOOT, {
      eval: true,
      // The planner needs no flags of ours; under tsx (sources, tests) the bootstrap registers it in the thread.
      execArgv: [],
      workerData: { entry: entry.href, tsx: tsxLoader },
    });
    const died = (err: Error) => {
      this.ended = true;
      this.current?.(err);
      onDeath();
    };
    this.worker.on('error', died);
    this.worker.on('exit', (code) => died(new Error(`the planning thread exited (${code}) before its plan`)));
  }

  /** Waits for the next plan without keeping the process alive; `expire` after `ms`. */
  idle(ms: number, expire: () => void): void {
    this.worker.unref();
    this.timer = setTimeout(expire, ms);
    this.timer.unref();
  }

  async end(): Promise<void> {
    clearTimeout(this.timer);
    if (this.ended) return;
    this.ended = true;
    await this.worker.terminate();
  }

  run(
    source: string,
    options: PlanOptions,
    onRows: (rows: PlannedRow[]) => void | Promise<void>,
  ): Promise<{ plan: BatchPlan; reusable: boolean; heapUsed: number }> {
    clearTimeout(this.timer);
    this.worker.ref();
    this.plans += 1;
    this.reusableAfterFailure = false;
    const { port1, port2 } = new MessageChannel();
    return new Promise<{ plan: BatchPlan; reusable: boolean; heapUsed: number }>((resolve, reject) => {
      let settled = false;
      let queue = Promise.resolve();
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.current = undefined;
        port1.close();
        fn();
      };
      const fail = (err: Error) => settle(() => reject(err));
      this.current = fail;
      if (this.ended) return fail(new Error('the planning thread has ended'));
      port1.on('message', (m: Message) => {
        if (m.op === 'rows') {
          // In order, one chunk after the other; each acknowledged once taken (the thread's credit back), from
          // the loop's check phase: so the loop always turns between one window of chunks and the next.
          queue = queue
            .then(() => onRows(m.rows))
            .then(() => {
              setImmediate(() => {
                if (!settled) port1.postMessage({ op: 'ack' });
              });
            })
            .catch(fail);
        } else if (m.op === 'done') {
          void queue.then(() =>
            settle(() => resolve({ plan: m.plan, reusable: true, heapUsed: m.heapUsed })),
          );
        } else {
          void queue.then(() =>
            settle(() => {
              // A refusal is the plan's verdict, the thread is fine; an unexpected error may not have left it so.
              this.reusableAfterFailure = m.error.code !== undefined;
              reject(
                m.error.code
                  ? new CikuError(m.error.code, m.error.message)
                  : Object.assign(new Error(m.error.message), { stack: m.error.stack }),
              );
            }),
          );
        }
      });
      this.worker.postMessage({ op: 'plan', source, options, port: port2 }, [port2]);
    });
  }
}

/** This module's sibling, as sources (`.ts`, run through tsx) or as the compiled build (`.js`). */
const entry = new URL(`./plan-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const tsxLoader = entry.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;

/** CommonJS, eval'd: registers tsx when the entry is TypeScript, then loads the entry (an ES module). */
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((err) => {
  throw err;
});
`;
