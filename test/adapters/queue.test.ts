import t from 'tap';
import { createJobQueue, createJobWorker } from '../../services/adapters/queue.ts';
import { REDIS_URL, testRedis } from '../helpers/env.ts';

/**
 * Hardening issue, finding 13: job ids are deterministic and BullMQ keeps finished jobs, so asking again for work
 * the Redis remembers as done (a wiped data dir, a second archive, a restored backup on the same Redis) was
 * silently dropped. Deduplication is only against jobs still waiting or running.
 */
t.test(
  'a job asked for again after it finished runs again; one still waiting is not duplicated',
  async (t) => {
    const { redis, prefix } = testRedis(t);
    const queue = createJobQueue(redis, { prefix: `${prefix}q` });
    t.teardown(() => queue.close());
    const runs: string[] = [];
    let release: (() => void) | undefined;
    let gate: Promise<void> = Promise.resolve();
    const worker = createJobWorker(
      REDIS_URL,
      'index-item',
      async (job) => {
        await gate;
        runs.push(job.id);
        return { status: 'done' };
      },
      { prefix: `${prefix}q`, concurrency: 1, lockMs: 30_000 },
    );
    t.teardown(() => worker.close(true));
    await worker.ready();
    const completed = () => new Promise<void>((resolve) => worker.on('completed', () => resolve()));

    const payload = { itemId: 'JDZ-1', version: 'v1' };
    let done = completed();
    await queue.enqueue('index-item', payload);
    await done;
    t.same(runs, ['index-item-JDZ-1-v1'], 'ran once');
    t.equal((await queue.state('index-item', 'index-item-JDZ-1-v1')).state, 'completed');

    done = completed();
    await queue.enqueue('index-item', payload);
    await done;
    t.same(runs, ['index-item-JDZ-1-v1', 'index-item-JDZ-1-v1'], 'asked again after it finished: ran again');

    // While one is waiting (the worker is held), asking again adds nothing.
    gate = new Promise<void>((resolve) => (release = resolve));
    const other = { itemId: 'JDZ-2', version: 'v1' };
    done = completed();
    await queue.enqueue('index-item', other);
    await queue.enqueue('index-item', other);
    await queue.enqueue('index-item', other);
    release!();
    await done;
    t.same(
      runs.filter((r) => r === 'index-item-JDZ-2-v1'),
      ['index-item-JDZ-2-v1'],
      'three asks while waiting or running: one run',
    );
  },
);
