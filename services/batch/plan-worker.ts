import { parentPort, workerData } from 'node:worker_threads';
import { isCikuError } from '../errors.ts';
import { planBatch, type PlannedRow, type PlanOptions } from './sources.ts';

/**
 * The planning thread's side (plan-thread.ts starts it): plans one source, posting rows in chunks as they are
 * planned, at most `CREDITS` chunks ahead of what the main thread has taken (backpressure), then the plan itself.
 */
const CREDITS = 4;
const port = parentPort!;
const { source, options } = workerData as { source: string; options: PlanOptions };
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
  port.postMessage({ op: 'done', plan });
} catch (err) {
  port.postMessage({
    op: 'error',
    error: {
      code: isCikuError(err) ? err.code : undefined,
      message: (err as Error).message,
      stack: (err as Error).stack,
    },
  });
}
