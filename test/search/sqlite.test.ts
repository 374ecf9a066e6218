import t, { type Test } from 'tap';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { catalogueContract, contract } from './contract.ts';

const open = (t: Test) => {
  const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  t.teardown(() => index.close());
  return Promise.resolve(index);
};
contract(t, 'sqlite', open);
catalogueContract(t, 'sqlite', open);

t.test('sqlite: another process (another handle) sees a committed rebuild on its next call', async (t) => {
  const dir = tempDir(t, 'ciku-search-');
  const writer = createSqliteIndex({ dir });
  const reader = createSqliteIndex({ dir });
  t.teardown(async () => {
    await writer.close();
    await reader.close();
  });
  const { load, req, item } = await import('./contract.ts');
  await load(writer);
  t.equal((await reader.search(req('昆曲'))).total, 1, 'the reader shares the live index');
  const rebuild = await writer.rebuild();
  const { buildDocuments } = await import('../../services/search/documents.ts');
  await rebuild.put(buildDocuments(item('Z-1', 'media', { title: '昆曲录像' })).doc, []);
  await rebuild.commit();
  t.same(
    (await reader.search(req('昆曲'))).hits.map((h) => h.id),
    ['Z-1'],
    'the reader switched over',
  );
});

t.test(
  'sqlite: past rankAll matches, pages come from title matches first, then the rest, newest first',
  async (t) => {
    const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-'), rankAll: 5 });
    t.teardown(() => index.close());
    const { item, req } = await import('./contract.ts');
    const { buildDocuments } = await import('../../services/search/documents.ts');
    for (let i = 0; i < 30; i++) {
      const title = i % 10 === 0 ? `青花瓷盘 ${i}` : `记录 ${i}`;
      const level = i % 7 === 3 ? 'restricted' : 'public';
      const doc = buildDocuments(
        item(`T-${i}`, 'media', { title, description: `第${i}件，青花纹样。` }, { level }),
      );
      await index.put(doc.doc, doc.segments);
    }
    const anon = { all: false as const, levels: ['public' as const], today: '2026-01-01' };
    const visible = [...Array(30).keys()].filter((i) => i % 7 !== 3).map((i) => `T-${i}`);
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const res = await index.search(req('青花', { scope: anon, limit: 8, page }));
      t.equal(res.total, visible.length, `page ${page}: the exact total`);
      seen.push(...res.hits.map((h) => h.id));
    }
    t.same(
      [...seen].sort(),
      [...visible].sort(),
      'every visible match exactly once over the pages, no hidden one',
    );
    t.same(seen.slice(0, 2).sort(), ['T-0', 'T-20'], 'title matches first (T-10 is restricted)');
    const rest = seen.slice(2).map((id) => Number(id.slice(2)));
    t.same(
      rest,
      [...rest].sort((a, b) => b - a),
      'then newest first',
    );
    const one = await index.search(req('青花', { scope: anon, limit: 2, page: 2 }));
    t.same(
      one.hits.map((h) => h.id),
      [seen[2], seen[3]],
      'a page across the tier boundary',
    );
  },
);
