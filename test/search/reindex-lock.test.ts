import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { listed } from './contract.ts';

/**
 * `ciku reindex` (SQLite) swaps in its fresh catalogue under the live catalogue's write lock, which every commit in
 * every process needs (synchronously, on its event loop). Review finding 4: the slow parts of the swap (the fresh
 * file's checkpoint, the merge of a long rebuild's commits) ran under that lock. Here another "process" (a thread
 * with its own connections) holds a read on the fresh catalogue, so its checkpoint has to wait, and meanwhile tries
 * to take the live catalogue's write lock without waiting: it must never find it taken.
 */

const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const fresh = new Database(workerData.fresh);
const live = new Database(workerData.live);
live.pragma('busy_timeout = 0');
fresh.exec('BEGIN');
fresh.prepare('SELECT count(*) AS n FROM items').get();
parentPort.postMessage({ holding: true });
const nap = new Int32Array(new SharedArrayBuffer(4));
const until = Date.now() + workerData.holdMs;
let attempts = 0, busy = 0;
while (Date.now() < until) {
  attempts++;
  try {
    live.exec('BEGIN IMMEDIATE');
    live.exec('COMMIT');
  } catch (err) {
    if (err.code !== 'SQLITE_BUSY') throw err;
    busy++;
  }
  Atomics.wait(nap, 0, 0, 10);
}
fresh.exec('COMMIT');
fresh.close();
live.close();
parentPort.postMessage({ attempts, busy });
`;

t.test(
  'a reindex’s swap never holds the live catalogue’s write lock while its fresh catalogue checkpoints',
  async (t) => {
    const dir = tempDir(t, 'ciku-search-');
    const index = createSqliteIndex({ dir });
    t.teardown(() => index.close());
    for (let i = 0; i < 50; i++) await index.putItem(listed(`old-${i}`, 'media', { level: 'public' }, i));
    const live = readFileSync(path.join(dir, 'CURRENT'), 'utf8')
      .trim()
      .replace(/^index-/, 'catalogue-');
    const rebuild = await index.rebuild();
    for (let i = 0; i < 300; i++)
      await rebuild.putItem(listed(`old-${i % 50}-${i}`, 'media', { level: 'public' }, i));
    // Commits while the rebuild runs: the swap carries them over.
    for (let i = 0; i < 40; i++)
      await index.putItem(listed(`during-${i}`, 'media', { level: 'public' }, 1000 + i));
    const fresh = readdirSync(dir).find((f) => /^catalogue-.*\.sqlite$/.test(f) && f !== live);
    t.ok(fresh, 'the fresh catalogue file');

    const probe = new Worker(PROBE, {
      eval: true,
      workerData: {
        sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
        fresh: path.join(dir, fresh!),
        live: path.join(dir, live),
        holdMs: 1500,
      },
    });
    const messages: { holding?: boolean; attempts?: number; busy?: number }[] = [];
    const finished = new Promise<{ attempts: number; busy: number }>((resolve, reject) => {
      probe.on('message', (m: (typeof messages)[number]) => {
        messages.push(m);
        if (m.attempts !== undefined) resolve(m as { attempts: number; busy: number });
      });
      probe.on('error', reject);
    });
    await new Promise<void>((resolve) => {
      const check = () => (messages.some((m) => m.holding) ? resolve() : setTimeout(check, 5));
      check();
    });
    const committed = rebuild.commit();
    const seen = await finished;
    await committed;
    await probe.terminate();
    t.ok(
      seen.attempts > 10,
      `the other process tried the live catalogue's write lock ${seen.attempts} times`,
    );
    t.equal(seen.busy, 0, 'and never found it taken while the fresh catalogue waited to checkpoint');
    const all = await index.listItems({ scope: { all: true }, sort: 'id', limit: 1000 });
    t.equal(
      all.items.filter((i) => i.id.startsWith('during-')).length,
      40,
      'the commits made during the rebuild kept',
    );
    t.equal(all.items.length, 340, 'and the rebuilt rows');
  },
);
