import t, { type Test } from 'tap';
import type { ItemView } from '../../services/archive/items.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { catalogueContract, contract } from './contract.ts';
import { pagesContract } from './pages-contract.ts';

const open = (t: Test) => {
  const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  t.teardown(() => index.close());
  return Promise.resolve(index);
};
contract(t, 'sqlite', open);
pagesContract(t, 'sqlite', open);
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

t.test(
  'sqlite: the title tiers hold on every path (ranked, joined for a year filter, past rankAll)',
  async (t) => {
    const { buildDocuments } = await import('../../services/search/documents.ts');
    const { item, req, titleRankingSample } = await import('./contract.ts');
    // Dated (so a year filter has something to keep), and ten records that have the words in their body only.
    const entries: { item: ItemView }[] = titleRankingSample().map((e) => ({
      item: { ...e.item, metadata: { ...e.item.metadata, date: '2006' } },
    }));
    for (let i = 0; i < 10; i++) {
      entries.push({
        item: item(`T-BODY-${i}`, 'media', {
          title: `展览照片 ${i}`,
          description: '景德镇手工制瓷技艺展。',
          date: '2006',
        }),
      });
    }
    const open = async (rankAll?: number) => {
      const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-'), ...(rankAll ? { rankAll } : {}) });
      t.teardown(() => index.close());
      for (const e of entries) {
        const { doc, segments } = buildDocuments(e.item);
        await index.put(doc, segments);
      }
      return index;
    };
    const q = '景德镇手工制瓷技艺';
    const inheritors = entries.filter((e) => e.item.id.startsWith('T-IN-')).map((e) => e.item.id);
    const top = async (index: Awaited<ReturnType<typeof open>>, more = {}) =>
      (await index.search(req(q, { limit: 30, ...more }))).hits.map((h) => h.id);

    const joined = await top(await open(), { filters: { year_from: 1900 } });
    t.same(joined.slice(0, 2), ['T-EXACT', 'T-START'], 'joined for a year filter: exact, then the prefix');

    // 25 matches past rankAll 16, the 15 title matches within it: the title tier is ranked as a small match is.
    const rankedTier = await open(16);
    const ranked = await top(rankedTier);
    t.same(
      ranked.slice(0, 2),
      ['T-EXACT', 'T-START'],
      'past rankAll, a ranked title tier: exact, then the prefix',
    );
    t.same(ranked.slice(2, 15).sort(), inheritors, 'then the other title matches');
    t.ok(
      ranked.slice(15).every((id) => id.startsWith('T-BODY-')),
      'then the body matches',
    );

    // Past rankAll 5 the title tier itself is too large to rank: exact, prefix, then the others newest first.
    const newestTier = await open(5);
    const newest = await top(newestTier);
    t.same(
      newest.slice(0, 2),
      ['T-EXACT', 'T-START'],
      'an unranked title tier still puts exact, then prefix first',
    );
    t.same(newest.slice(2, 15), [...inheritors].reverse(), 'then the other title matches newest first');
    t.equal(newest.length, 25, 'every match once');
    const pages: string[] = [];
    for (let page = 1; page <= 9; page++) {
      const res = await newestTier.search(req(q, { limit: 3, page }));
      t.equal(res.total, 25, `page ${page}: the exact total`);
      pages.push(...res.hits.map((h) => h.id));
    }
    t.same(pages, newest, 'pages of 3 across the tier boundaries give the same order');
  },
);

t.test(
  'sqlite: an index file of the format before title keys is refused until ciku reindex rebuilds it',
  async (t) => {
    const { openDb } = await import('../../services/search/sqlite-schema.ts');
    const file = `${tempDir(t, 'ciku-search-')}/index.sqlite`;
    const fresh = openDb(file, 8);
    t.ok(
      fresh.prepare("SELECT 1 FROM pragma_table_info('docs') WHERE name = 'title_key'").get(),
      'title_key column',
    );
    fresh.pragma('user_version = 3');
    fresh.close();
    t.throws(() => openDb(file, 8), { code: 'CIKU_ERR_UNAVAILABLE', message: /format 3.*ciku reindex/ });
  },
);

t.test(
  'sqlite: an index file of the format before document pages is refused until ciku reindex rebuilds it',
  async (t) => {
    const { openDb } = await import('../../services/search/sqlite-schema.ts');
    const file = `${tempDir(t, 'ciku-search-')}/index.sqlite`;
    const fresh = openDb(file, 8);
    t.ok(fresh.prepare("SELECT 1 FROM sqlite_master WHERE name = 'pages_fts'").get(), 'pages_fts table');
    fresh.pragma('user_version = 4');
    fresh.close();
    t.throws(() => openDb(file, 8), {
      code: 'CIKU_ERR_UNAVAILABLE',
      message: /format 4.*format 5.*ciku reindex/,
    });
  },
);

t.test(
  'sqlite: a rebuild replaces an index of an earlier format, which it never needs to open',
  async (t) => {
    const dir = tempDir(t, 'ciku-search-');
    const { load, req, item } = await import('./contract.ts');
    const { buildDocuments } = await import('../../services/search/documents.ts');
    const { openDb } = await import('../../services/search/sqlite-schema.ts');
    const { readFileSync } = await import('node:fs');
    const before = createSqliteIndex({ dir });
    await load(before);
    await before.close();
    // The live file as an earlier build left it.
    const live = openDb(`${dir}/${readFileSync(`${dir}/CURRENT`, 'utf8').trim()}`, 8);
    live.pragma('user_version = 4');
    live.close();

    const index = createSqliteIndex({ dir });
    t.teardown(() => index.close());
    await t.rejects(index.search(req('昆曲')), { code: 'CIKU_ERR_UNAVAILABLE', message: /run ciku reindex/ });
    const rebuild = await index.rebuild();
    await rebuild.put(buildDocuments(item('Z-1', 'media', { title: '昆曲录像' })).doc, []);
    await rebuild.commit();
    t.same(
      (await index.search(req('昆曲'))).hits.map((h) => h.id),
      ['Z-1'],
      'the rebuilt index is live and answers',
    );
  },
);
