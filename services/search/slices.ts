import { performance } from 'node:perf_hooks';

/**
 * Long CPU work on the event loop (an interview's 140,000 segments: parsed, built, analysed) done in slices: the
 * loop gets a turn at least every `sliceMs`, so the API sharing the process (`ciku start`) keeps answering.
 */
export type Tick = () => Promise<void>;

/** A slicer: each call yields to the event loop once the current slice has run `sliceMs`. */
export function slicer(sliceMs = 8): Tick {
  let started = performance.now();
  return async () => {
    if (performance.now() - started < sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    started = performance.now();
  };
}

/** Never yields: for callers with nothing to share the loop with. */
export const noTick: Tick = () => Promise.resolve();
