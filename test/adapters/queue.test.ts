import t from 'tap';
import { createJobQueue, createJobWorker } from '../../services/adapters/queue.ts';
import { REDIS_URL, testRedis } from '../helpers/env.ts';
import { newItem, startTestApi, type TestApi } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';
import { wavFile } from '../helpers/media-bombs.ts';

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

t.test(
  'a wiped data dir on the same Redis: everything uploaded again is derived and indexed again',
  async (t) => {
    const upload = async (api: TestApi) => {
      await newItem(api, 'JDZ-OH-REDIS', 'oral_history', 'public');
      const put = await api.app.inject({
        method: 'PUT',
        url: '/v1/items/JDZ-OH-REDIS/files/interview.wav',
        headers: api.auth.archivist,
        payload: wavFile({ sampleRate: 8000, channels: 1, dataBytes: 16_000 }),
      });
      t.equal(put.statusCode, 201, put.body);
    };
    const derivedAndIndexed = (api: TestApi, label: string) =>
      until(
        async () => {
          const item = await api.app.inject({ url: '/v1/items/JDZ-OH-REDIS', headers: api.auth.archivist });
          const d = item.json<{ files: { derivatives?: Record<string, { status: string }> }[] }>().files[0]
            ?.derivatives;
          const ready =
            d !== undefined &&
            Object.values(d).length > 0 &&
            Object.values(d).every((x) => x.status === 'ready');
          const found = await api.app.inject({
            url: '/v1/search?q=JDZ-OH-REDIS',
            headers: api.auth.archivist,
          });
          return ready && found.json<{ total: number }>().total === 1 ? true : undefined;
        },
        label,
        60_000,
      );
    const first = await startTestApi(t);
    const firstWorkers = await startWorkersFor(t, first);
    await upload(first);
    t.ok(
      await derivedAndIndexed(first, 'the first archive derived and indexed'),
      'first archive: derived and indexed',
    );
    await firstWorkers.workers.close(1_000);
    // The data dir is gone (a fresh store and index); the Redis, its queues and their finished jobs are not.
    const second = await startTestApi(t, { queuePrefix: first.queuePrefix });
    await startWorkersFor(t, second);
    await upload(second);
    t.ok(
      await derivedAndIndexed(second, 'the second archive derived and indexed'),
      'second archive: derived and indexed again',
    );
  },
);
