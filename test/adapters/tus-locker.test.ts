import t from 'tap';
import { createRedis } from '../../services/adapters/redis.ts';
import { createRedisTusLocker } from '../../services/adapters/tus.ts';
import { REDIS_URL, testRedis } from '../helpers/env.ts';

/**
 * The tus locker two API processes share (each its own Redis connection and locker, as two processes have): a
 * request for an upload held elsewhere asks the holder to let go and gets the lock once it has; a holder that never
 * lets go makes the other wait no longer than its timeout; a request that is stopped stops waiting.
 */
t.test('two processes: the second asks the first to let go, then holds the upload', async (t) => {
  const { redis, prefix } = testRedis(t);
  const other = createRedis(REDIS_URL);
  t.teardown(() => other.disconnect());
  const a = createRedisTusLocker(redis, { prefix });
  const b = createRedisTusLocker(other, { prefix });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const events: string[] = [];
  const first = a.newLock('upload-1');
  await first.lock(new AbortController().signal, async () => {
    events.push('a asked to let go');
    await first.unlock();
    events.push('a let go');
  });
  events.push('a holds');
  const second = b.newLock('upload-1');
  await second.lock(new AbortController().signal, () => undefined);
  events.push('b holds');
  t.same(events, ['a holds', 'a asked to let go', 'a let go', 'b holds'], 'in that order');
  t.ok(await redis.get(`${prefix}tus-lock:upload-1`), 'the lease is in Redis');
  await second.unlock();
  t.equal(await redis.get(`${prefix}tus-lock:upload-1`), null, 'and gone once released');

  // Another upload is independent: no waiting, no ask.
  const third = b.newLock('upload-2');
  await third.lock(new AbortController().signal, () => {
    t.fail('nothing holds upload-2');
  });
  await third.unlock();
});

t.test('a holder that never lets go: the other waits until its timeout, then ERR_LOCK_TIMEOUT', async (t) => {
  const { redis, prefix } = testRedis(t);
  const other = createRedis(REDIS_URL);
  t.teardown(() => other.disconnect());
  const a = createRedisTusLocker(redis, { prefix });
  const b = createRedisTusLocker(other, { prefix, acquireTimeoutMs: 300 });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  let asked = 0;
  const stubborn = a.newLock('upload-3');
  await stubborn.lock(new AbortController().signal, () => {
    asked++;
  });
  const timedOut = await b
    .newLock('upload-3')
    .lock(new AbortController().signal, () => undefined)
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  t.match(timedOut, { status_code: 500, body: /lock/i }, 'ERR_LOCK_TIMEOUT, as tus answers it');
  t.ok(asked > 0, 'the holder was asked');
  const stopped = new AbortController();
  stopped.abort();
  const stoppedErr = await b
    .newLock('upload-3')
    .lock(stopped.signal, () => undefined)
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  t.match(stoppedErr, { status_code: 500 }, 'a stopped request stops waiting');
  await stubborn.unlock();
});

t.test('a process that died holding a lock frees it within the lease', async (t) => {
  const { redis, prefix } = testRedis(t);
  const alive = createRedisTusLocker(redis, { prefix, ttlMs: 300, acquireTimeoutMs: 5_000 });
  t.teardown(() => alive.close());
  // What a killed process leaves: its lease (no renewal any more, nobody to answer the ask to let go).
  await redis.set(`${prefix}tus-lock:upload-4`, 'a-dead-process', 'PX', 300);
  const lock = alive.newLock('upload-4');
  await lock.lock(new AbortController().signal, () => undefined);
  t.equal(
    (await redis.get(`${prefix}tus-lock:upload-4`)) === 'a-dead-process',
    false,
    'taken once the lease ran out',
  );
  await lock.unlock();
});
