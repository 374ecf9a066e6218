import t, { type Test } from 'tap';
import { corpusAvailable, corpusItems } from '../../scripts/corpus/ich-corpus.ts';
import { createMeiliIndex } from '../../services/search/meili-index.ts';
import type { SearchIndex } from '../../services/search/search-index.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { skipUnlessShared, tempDir } from '../helpers/env.ts';
import { relevanceSet } from './relevance-set.ts';
import { fill, runRelevance } from './relevance.ts';

const skip = skipUnlessShared('corpus/ich_national_projects.csv');

async function check(t: Test, engine: string, index: SearchIndex) {
  const rebuild = await index.rebuild();
  await fill(rebuild, corpusItems());
  await rebuild.commit();
  const { results, recall, mrr } = await runRelevance(index);
  const groups = new Map<string, number[]>();
  for (const r of results) {
    groups.set(r.case.group, [...(groups.get(r.case.group) ?? []), r.recall]);
    t.ok(r.ok, `${r.case.group}: ${r.case.q}${r.ok ? '' : ` → top ${r.top.join(', ')} (total ${r.total})`}`);
  }
  const table = [...groups].map(
    ([g, xs]) => `${g} ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)}`,
  );
  t.comment(
    `${engine}: ${results.length} queries, recall@10 ${recall.toFixed(3)}, MRR ${mrr.toFixed(3)} — ${table.join(' · ')}`,
  );
  t.ok(relevanceSet.length >= 60, 'at least 60 queries');
}

t.test('relevance on the national ICH lists: sqlite', { skip }, async (t) => {
  t.ok(corpusAvailable());
  const index = createSqliteIndex({ dir: tempDir(t, 'ciku-relevance-') });
  t.teardown(() => index.close());
  await check(t, 'sqlite', index);
});

t.test(
  'relevance on the national ICH lists: meilisearch',
  {
    skip:
      skip ||
      (process.env.MEILI_URL ? false : 'SKIPPED: MEILI_URL is not set (no Meilisearch server to test)'),
  },
  async (t) => {
    const index = createMeiliIndex({
      url: process.env.MEILI_URL!,
      ...(process.env.MEILI_KEY ? { key: process.env.MEILI_KEY } : {}),
      indexPrefix: `ciku_relevance_${process.pid}`,
    });
    await check(t, 'meilisearch', index);
  },
);
