import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Access } from '../../schemas/item.ts';
import { readScope } from '../../services/archive/access.ts';
import type { ItemView } from '../../services/archive/items.ts';
import type { StatQuery } from '../../services/search/aggregate.ts';
import { buildDocuments } from '../../services/search/documents.ts';
import { createMeiliIndex } from '../../services/search/meili-index.ts';
import type { SearchIndex } from '../../services/search/search-index.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';

/**
 * `SearchIndex.aggregate` on both engines: single-field counts in a read scope equal the engine's own search
 * facets for that scope; what an engine cannot count it says so (Meilisearch: no sums, cross tables or fields its
 * documents lack), never a guess.
 */

const url = process.env.MEILI_URL;
const noMeili = url
  ? false
  : 'MEILI_URL is not set: the Meilisearch statistics were NOT tested (set MEILI_URL, and MEILI_KEY, to run them)';

function item(i: number): ItemView {
  const access: Access =
    i % 4 === 0
      ? { level: 'restricted' }
      : i % 5 === 0
        ? { level: 'private', organisation: '某馆' }
        : { level: 'public' };
  return {
    id: `e-${i}`,
    kind: i % 3 === 0 ? 'inheritor' : 'ich_project',
    version: 'v1',
    created: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-01T00:00:00.000Z',
    access,
    metadata: {
      title: `条目${i}`,
      category: ['民俗', '传统技艺', '曲艺'][i % 3],
      level: ['国家级', '省级'][i % 2],
      batch: 1 + (i % 4),
      region: ['珠山区', '浮梁县'][i % 2],
    },
    files: [],
  };
}

async function check(t: Test, index: SearchIndex, single: boolean) {
  const items = Array.from({ length: 40 }, (_, i) => item(i));
  for (const it of items) {
    const { doc, segments } = buildDocuments(it);
    await index.put(doc, segments);
    await index.putItem(it);
  }
  const fields = ['category', 'level', 'batch', 'region'] as const;
  for (const role of ['anonymous', 'researcher', 'admin'] as const) {
    const scope = readScope({ role }, new Date());
    const queries: StatQuery[] = fields.map((f) => ({ source: 'items', kind: 'ich_project', by: [f] }));
    const results = await index.aggregate({ scope, ageAt: 2026, queries });
    const facets = await index.search({
      q: '',
      filters: { kind: ['ich_project'] },
      facets: [...fields],
      sort: 'relevance',
      page: 1,
      limit: 1,
      scope,
    });
    fields.forEach((f, i) => {
      const r = results[i]!;
      if ('unavailable' in r) {
        t.fail(`${role} ${f}: ${r.unavailable}`);
        return;
      }
      const counts = Object.fromEntries(r.rows.map((row) => [String(row.key[0]), row.count]));
      t.same(counts, facets.facets[f], `${index.engine} ${role}: counts by ${f} = the facet`);
    });
  }
  const cross = await index.aggregate({
    scope: { all: true },
    ageAt: 2026,
    queries: [
      { source: 'items', kind: 'ich_project', by: ['category', 'level'] },
      { source: 'files', by: ['media_type'], sums: ['bytes'] },
    ],
  });
  if (single)
    t.ok(
      cross.every((r) => 'unavailable' in r),
      'cross tables and sums: unavailable, not guessed',
    );
  else
    t.ok(
      cross.every((r) => 'rows' in r),
      'the embedded engine counts them',
    );
}

t.test('the embedded engine counts as its facets do', async (t) => {
  const index = createSqliteIndex({ dir: tempDir(t) });
  t.teardown(() => index.close());
  await check(t, index, false);
});

t.test('the Meilisearch engine counts as its facets do', { skip: noMeili }, async (t) => {
  const prefix = `ciku_stats_${randomBytes(4).toString('hex')}`;
  const index = createMeiliIndex({
    url: url!,
    ...(process.env.MEILI_KEY ? { key: process.env.MEILI_KEY } : {}),
    indexPrefix: prefix,
  });
  t.teardown(async () => {
    const { Meilisearch } = await import('meilisearch');
    const client = new Meilisearch({
      host: url!,
      ...(process.env.MEILI_KEY ? { apiKey: process.env.MEILI_KEY } : {}),
    });
    for (const uid of [`${prefix}_items`, `${prefix}_segments`, `${prefix}_catalogue`])
      await client.deleteIndexIfExists(uid);
    await index.close();
  });
  await check(t, index, true);
});
