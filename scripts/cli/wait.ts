import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions<T> {
  /** Reads the current state (a job's, a batch's): called again after every pause until `done`. */
  read: () => Promise<T>;
  done: (value: T) => boolean;
  everyMs: number;
  /** A state already in hand (what started the work): the first read is then after the first pause. */
  first?: T;
  /** Sees each state that is not done yet, before the pause that follows it. */
  onPending?: (value: T) => void;
}

/** Polls until `done`, returning the state that ended it. */
export async function waitUntil<T>(options: WaitOptions<T>): Promise<T> {
  let value = options.first === undefined ? await options.read() : options.first;
  while (!options.done(value)) {
    options.onPending?.(value);
    await sleep(options.everyMs);
    value = await options.read();
  }
  return value;
}
