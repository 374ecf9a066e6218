import type { Redis } from 'ioredis';
import type { HeldLock, LockManager } from '../archive/locks.ts';
import { CikuError } from '../errors.ts';

// Compare-and-act scripts: only the holder of the current token may extend or release the lease.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface RedisLockOptions {
  prefix?: string;
  ttlMs?: number;
  waitMs?: number;
}

/**
 * Redis leases with fencing tokens: SET NX PX with a token from INCR, renewed at a third of the lease, released
 * by compare-and-delete. Waiters poll with jittered backoff (bounded by `waitMs`).
 */
export function createRedisLocks(redis: Redis, options: RedisLockOptions = {}): LockManager {
  const prefix = options.prefix ?? 'ciku:lock:';
  const ttlMs = options.ttlMs ?? 30_000;
  const defaultWait = options.waitMs ?? 120_000;

  async function acquire(name: string, opts: { waitMs?: number } = {}): Promise<HeldLock> {
    const key = `${prefix}${name}`;
    const deadline = Date.now() + (opts.waitMs ?? defaultWait);
    const token = await redis.incr(`${prefix}fence`);
    let delay = 5;
    for (;;) {
      const ok = await redis.set(key, String(token), 'PX', ttlMs, 'NX');
      if (ok === 'OK') break;
      if (Date.now() >= deadline) throw new CikuError('CIKU_ERR_LOCK_TIMEOUT', `object ${name} is busy`);
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 200);
    }
    let lost = false;
    const renew = setInterval(
      () => {
        redis
          .eval(RENEW, 1, key, String(token), String(ttlMs))
          .then((res) => {
            if (res !== 1) lost = true;
          })
          .catch(() => {
            // A failed renewal is not proof of loss; assertHeld() asks Redis directly.
          });
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    renew.unref();
    return {
      name,
      token,
      async assertHeld() {
        const current = lost ? null : await redis.get(key);
        if (current !== String(token)) {
          lost = true;
          throw new CikuError(
            'CIKU_ERR_LOCK_LOST',
            `write lock on ${name} was lost (lease expired or taken over)`,
          );
        }
      },
      async release() {
        clearInterval(renew);
        await redis.eval(RELEASE, 1, key, String(token));
      },
    };
  }

  return { acquire, close: () => Promise.resolve() };
}
