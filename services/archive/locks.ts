import { CikuError } from '../errors.ts';

/**
 * The per-object write lock port. A lock is a lease: it expires unless renewed, so a crashed writer cannot block an
 * object forever, and every grant carries a fencing token that only grows, so a writer whose lease lapsed (a long
 * GC pause, a partition) finds out at `assertHeld()` before it publishes anything.
 */
export interface HeldLock {
  readonly name: string;
  readonly token: number;
  /** Throws CIKU_ERR_LOCK_LOST if the lease was lost or taken over by a later token. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LockManager {
  acquire(name: string, options?: { waitMs?: number }): Promise<HeldLock>;
  close(): Promise<void>;
}

/** In-process locks for single-process tools and unit tests; same contract, no Redis. */
export function createMemoryLocks(): LockManager {
  const held = new Map<string, number>();
  const waiters = new Map<string, (() => void)[]>();
  let fence = 0;
  const acquire = async (name: string, options: { waitMs?: number } = {}): Promise<HeldLock> => {
    const deadline = Date.now() + (options.waitMs ?? 120_000);
    while (held.has(name)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new CikuError('CIKU_ERR_LOCK_TIMEOUT', `object ${name} is busy`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        const list = waiters.get(name) ?? [];
        list.push(() => {
          clearTimeout(timer);
          resolve();
        });
        waiters.set(name, list);
      });
    }
    fence += 1;
    const token = fence;
    held.set(name, token);
    return {
      name,
      token,
      assertHeld: () =>
        held.get(name) === token
          ? Promise.resolve()
          : Promise.reject(new CikuError('CIKU_ERR_LOCK_LOST', `lock on ${name} lost`)),
      release: () => {
        if (held.get(name) === token) held.delete(name);
        const next = waiters.get(name)?.shift();
        next?.();
        return Promise.resolve();
      },
    };
  };
  return { acquire, close: () => Promise.resolve() };
}
