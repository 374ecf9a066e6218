import { getHeapStatistics } from 'node:v8';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { isCikuError } from '../errors.ts';
import { planBatch, type PlannedRow, type PlanOptions } from './sources.ts';

/**
 * The planning thread's side (plan-thread.ts starts it and may reuse it): plans one source per `plan` message, over
 * the message port that came with it, posting rows in chunks as they are planned, at most `CREDITS` chunks ahead of
 * what the main thread has taken (backpressure), then the plan itself and the heap the thread holds after it (the
 * main thread ends a thread left large). Everything a plan uses lives in `planOne`'s scope: nothing is kept here
 * from one plan to the next.
 */
const CREDITS = 4;

interface PlanRequest {
  op: 'plan';
  source: string;
  options: PlanOptions;
  port: MessagePort;
}

async function planOne({ source, options, port }: PlanRequest): Promise<void> {
  let credits = CREDITS;
  let wake: (() => void) | undefined;
  port.on('message', (m: { op: 'ack' }) => {
    if (m.op !== 'ack') return;
    credits += 1;
    wake?.();
    wake = undefined;
  });
  const sink = async (rows: PlannedRow[]): Promise<void> => {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    credits -= 1;
    port.postMessage({ op: 'rows', rows });
  };
  try {
    const plan = await planBatch(source, options, sink);
    port.postMessage({ op: 'done', plan, heapUsed: getHeapStatistics().used_heap_size });
  } catch (err) {
    port.postMessage({
      op: 'error',
      error: {
        code: isCikuError(err) ? err.code : undefined,
        message: (err as Error).message,
        stack: (err as Error).stack,
      },
      heapUsed: getHeapStatistics().used_heap_size,
    });
  }
}

parentPort!.on('message', (m: PlanRequest) => {
  if (m.op === 'plan') void planOne(m);
});
