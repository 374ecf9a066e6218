import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../services/adapters/logger.ts';
import { loadConfig } from '../../services/config.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { openArchive } from '../../services/runtime.ts';
import type { SearchIndex } from '../../services/search/search-index.ts';
import { REDIS_URL, tempDir } from '../helpers/env.ts';
import { agent } from '../helpers/workers.ts';

/**
 * One search engine per process (review finding 5): the engine commits write their catalogue rows through is the
 * one the process searches and indexes with (`archive.search()`), or one the caller gives `openArchive`.
 */

function config(t: { teardown(fn: () => unknown): void }) {
  return loadConfig({
    CIKU_DATA_DIR: tempDir(t, 'ciku-runtime-'),
    REDIS_URL,
    CIKU_QUEUE_PREFIX: `test-runtime-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'silent',
  });
}

const newItem = { kind: 'media', metadata: { title: '青花' }, access: { level: 'public' } } as const;

t.test(
  'commits, searches and index jobs of a process share one engine, opened with the archive',
  async (t) => {
    const archive = await openArchive(config(t));
    t.teardown(() => archive.close());
    const item = await archive.items.create({ id: 'one', ...newItem }, agent);
    const search = await archive.search();
    t.equal(await archive.search(), search, 'the same engine each time');
    t.equal(await search.cataloguedVersion('one'), item.version, 'the commit wrote its row through it');
    const page = await search.listItems({ scope: { all: true }, sort: 'id', limit: 10 });
    t.same(
      page.items.map((i) => i.id),
      ['one'],
      'and lists it',
    );
  },
);

t.test('an engine given to openArchive takes the commits’ rows, and stays open after close', async (t) => {
  const rows: string[] = [];
  let closed = 0;
  const given = new Proxy({} as SearchIndex, {
    get(_, prop) {
      if (prop === 'putItem') return (i: ItemView) => (rows.push(`${i.id}@${i.version}`), Promise.resolve());
      if (prop === 'close') return () => (closed++, Promise.resolve());
      if (prop === 'then') return undefined;
      throw new Error(`fake engine: ${String(prop)} is not implemented`);
    },
  });
  const archive = await openArchive(config(t), { search: given });
  await archive.items.create({ id: 'two', ...newItem }, agent);
  t.same(rows, ['two@v1'], 'the commit wrote through the given engine');
  t.equal(await archive.search(), given, 'and it is the process’s engine');
  await archive.close();
  t.equal(closed, 0, 'its owner closes it, not the archive');
});

t.test('a failed catalogue write is logged and the commit stands', async (t) => {
  const logged: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = {
    error: (obj: Record<string, unknown>, msg: string) => logged.push({ obj, msg }),
  } as unknown as Logger;
  const failing = new Proxy({} as SearchIndex, {
    get(_, prop) {
      if (prop === 'putItem') return () => Promise.reject(new Error('disk full'));
      if (prop === 'then') return undefined;
      throw new Error(`fake engine: ${String(prop)} is not implemented`);
    },
  });
  const archive = await openArchive(config(t), { search: failing, logger });
  t.teardown(() => archive.close());
  const item = await archive.items.create({ id: 'three', ...newItem }, agent);
  t.equal(item.version, 'v1', 'the write answered');
  t.equal((await archive.items.get('three')).version, 'v1', 'the version is committed');
  t.equal(logged.length, 1, 'one log line');
  t.match(
    logged[0],
    { obj: { item: 'three', version: 'v1', err: { message: 'disk full' } } },
    'naming the item',
  );
});
