import { Worker } from 'node:worker_threads';
import { CikuError, type ErrorCode } from '../errors.ts';
import type { BatchPlan, PlannedRow, PlanOptions } from './sources.ts';

/**
 * Plans a batch source on a worker thread (plan-worker.ts runs `planBatch`), so that parsing a 300,000-row CSV,
 * checking every row against its schema and hashing a bag's payload never hold the API's event loop. Rows come
 * back in chunks (500 rows) as they are planned and are handed to `onRows` in source order; the thread plans ahead
 * of `onRows` by 4 chunks at most, and their credit comes back from the event loop's check phase, so the loop turns
 * at least once every 4 chunks whatever the machine's speed. A refusal (CikuError) in the thread is thrown here
 * with its code.
 *
 * One thread per plan, ended with it: a plan is seconds of work next to the thread's start (~0.1 s compiled), and
 * nothing of one plan (a large manifest's memory, a crash) outlives it.
 */
export async function planInThread(
  source: string,
  options: PlanOptions,
  onRows: (rows: PlannedRow[]) => void | Promise<void>,
): Promise<BatchPlan> {
  const worker = new Worker(BOOT, {
    eval: true,
    // The planner needs no flags of ours; under tsx (sources, tests) the bootstrap registers it in the thread.
    execArgv: [],
    workerData: { entry: entry.href, tsx: tsxLoader, source, options },
  });
  try {
    return await new Promise<BatchPlan>((resolve, reject) => {
      let settled = false;
      let queue = Promise.resolve();
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      worker.on('message', (m: Message) => {
        if (m.op === 'rows') {
          // In order, one chunk after the other; each acknowledged once taken (the thread's credit back), from
          // the loop's check phase: so the loop always turns between one window of chunks and the next.
          queue = queue
            .then(() => onRows(m.rows))
            .then(() => {
              setImmediate(() => worker.postMessage({ op: 'ack' }));
            })
            .catch(fail);
        } else if (m.op === 'done') {
          void queue.then(() => {
            if (settled) return;
            settled = true;
            resolve(m.plan);
          });
        } else {
          const err = m.error.code
            ? new CikuError(m.error.code, m.error.message)
            : Object.assign(new Error(m.error.message), { stack: m.error.stack });
          fail(err);
        }
      });
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the planning thread exited (${code}) before its plan`)));
    });
  } finally {
    await worker.terminate();
  }
}

type Message =
  | { op: 'rows'; rows: PlannedRow[] }
  | { op: 'done'; plan: BatchPlan }
  | { op: 'error'; error: { code?: ErrorCode; message: string; stack?: string } };

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
