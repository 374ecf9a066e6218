import t from 'tap';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { createRedis } from '../../services/adapters/redis.ts';
import { openAdapter, REDIS_URL, testRedis } from '../helpers/env.ts';

const user = { name: 'writer', address: 'urn:ciku:agent:writer' };

t.test('20 parallel writers to one object make 20 versions and lose nothing', async (t) => {
  const blobs = await openAdapter(t, 'fs');
  const { prefix } = testRedis(t);
  // One Redis connection per writer, as if each were its own process.
  const stores = Array.from({ length: 20 }, () => {
    const redis = createRedis(REDIS_URL);
    t.teardown(() => redis.disconnect());
    return createOcflStore({ blobs, locks: createRedisLocks(redis, { prefix }) });
  });
  await stores[0]!.init();
  const id = 'urn:ciku:test:contended';
  const results = await Promise.all(
    stores.map((ocfl, i) =>
      ocfl.writeVersion(
        id,
        { put: [{ path: `writer-${i}.txt`, body: `from writer ${i}` }] },
        { message: `writer ${i}`, user },
      ),
    ),
  );
  const versions = results.map((r) => r.version).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  t.same(
    versions,
    Array.from({ length: 20 }, (_, i) => `v${i + 1}`),
    'each writer got its own version',
  );
  const state = await stores[0]!.getState(id);
  t.equal(state.size, 20, 'the head holds every writer’s file');
  for (let i = 0; i < 20; i += 1)
    t.equal((await stores[0]!.readFile(id, `writer-${i}.txt`)).toString(), `from writer ${i}`);
  const report = await validateObject(blobs, `ocfl/${objectPathFor(id)}/`);
  t.same(report.findings, [], 'valid after contention');
});

t.test('a writer to another object does not wait for a busy one', async (t) => {
  const blobs = await openAdapter(t, 'fs');
  const { redis, prefix } = testRedis(t);
  const locks = createRedisLocks(redis, { prefix });
  const ocfl = createOcflStore({ blobs, locks });
  await ocfl.init();
  // Hold object A's lock as a slow writer would.
  const held = await locks.acquire(`ocfl:${objectPathFor('urn:x:A')}`);
  const order: string[] = [];
  const writeA = ocfl
    .writeVersion('urn:x:A', { put: [{ path: 'a', body: 'a' }] }, { message: 'A', user })
    .then(() => order.push('A'));
  await ocfl.writeVersion('urn:x:B', { put: [{ path: 'b', body: 'b' }] }, { message: 'B', user });
  order.push('B');
  t.same(order, ['B'], 'B committed while A was still waiting for its lock');
  await held.release();
  await writeA;
  t.same(order, ['B', 'A'], 'A committed once its lock was free');
});

t.test('a writer whose lease was taken over refuses to publish', async (t) => {
  const blobs = await openAdapter(t, 'fs');
  const { redis, prefix } = testRedis(t);
  const locks = createRedisLocks(redis, { prefix, ttlMs: 1000 });
  const ocfl = createOcflStore({ blobs, locks });
  await ocfl.init();
  await ocfl.writeVersion('urn:x:C', { put: [{ path: 'c', body: 'c1' }] }, { message: 'v1', user });
  const key = `${prefix}ocfl:${objectPathFor('urn:x:C')}`;
  await t.rejects(
    ocfl.writeVersion(
      'urn:x:C',
      {
        put: [{ path: 'c', body: 'c2' }],
        // Simulate a pause long enough for the lease to pass to someone else before publishing.
        finalize: async () => {
          await redis.set(key, 'someone-else');
          return [];
        },
      },
      { message: 'v2', user },
    ),
    { code: 'CIKU_ERR_LOCK_LOST' },
  );
  await redis.del(key);
  t.equal((await ocfl.getInventory('urn:x:C')).head, 'v1', 'the head did not move');
  const after = await ocfl.writeVersion(
    'urn:x:C',
    { put: [{ path: 'c', body: 'c3' }] },
    { message: 'v2 again', user },
  );
  t.equal(after.version, 'v2', 'the next writer cleaned up and wrote v2');
  t.same((await validateObject(blobs, `ocfl/${objectPathFor('urn:x:C')}/`)).findings, []);
});
