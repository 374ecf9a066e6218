import t from 'tap';
import type { Access } from '../../schemas/item.ts';
import { facetFields, type FacetField, type SearchFiltersT } from '../../schemas/search.ts';
import { corpusItems } from '../../scripts/corpus/ich-corpus.ts';
import { canRead, readScope } from '../../services/archive/access.ts';
import { analyzer } from '../../services/search/analyzer.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { skipUnlessShared, tempDir } from '../helpers/env.ts';
import { fill } from './relevance.ts';

/**
 * The corpus with restricted, private and embargoed records; 1,000 random queries as an anonymous caller. The
 * answer must equal — hits, total and every facet count — the answer of an index that never held the hidden
 * records at all; and a Han-only query's total must equal a brute-force substring scan of the visible records.
 */

function accessFor(_id: string, i: number): Access {
  if (i % 5 === 1) return { level: 'restricted' };
  if (i % 7 === 2) return { level: 'private', organisation: '某博物馆' };
  if (i % 11 === 3) return { level: 'public', embargo_until: '2999-12-31' };
  return { level: 'public' };
}

/** A seeded generator, so a failure names a reproducible query. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

t.test(
  'anonymous callers: no hidden record in hits, totals or facet counts over 1,000 random queries',
  { skip: skipUnlessShared('corpus/ich_national_projects.csv') },
  async (t) => {
    const now = new Date();
    const items = corpusItems({ access: accessFor });
    const visible = items.filter((i) => canRead({ role: 'anonymous' }, i.access, now));
    t.ok(items.length - visible.length > 2000, `${items.length - visible.length} hidden records`);
    const full = createSqliteIndex({ dir: tempDir(t) });
    const publicOnly = createSqliteIndex({ dir: tempDir(t) });
    t.teardown(async () => {
      await full.close();
      await publicOnly.close();
    });
    await fill(full, items);
    await fill(publicOnly, visible);
    const hidden = new Set(items.filter((i) => !visible.includes(i)).map((i) => i.id));
    const scope = readScope({ role: 'anonymous' }, now);
    const a = analyzer();
    const folded = new Map(
      visible.map((i) => [i.id, a.fold(JSON.stringify(Object.values(i.metadata)))] as const),
    );
    const random = rng(20261129);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const texts = items.map((i) =>
      String(i.metadata.description ?? i.metadata.biography ?? i.metadata.title),
    );
    let leaks = 0;
    let mismatches = 0;
    let bruteChecked = 0;
    for (let n = 0; n < 1000; n++) {
      const text = pick(texts);
      const chars = Array.from(text);
      const len = 1 + Math.floor(random() * 4);
      const at = Math.floor(random() * Math.max(1, chars.length - len));
      let q = chars.slice(at, at + len).join('');
      if (random() < 0.1) q = a.pinyin(q).replaceAll(' ', '');
      if (random() < 0.1) q = `${q} ${pick(texts).slice(0, 2)}`;
      const filters: SearchFiltersT =
        random() < 0.3 ? { kind: [pick(['inheritor', 'ich_project'] as const)] } : {};
      const facets: FacetField[] = facetFields.filter(() => random() < 0.4);
      const request = { q, filters, facets, sort: 'relevance' as const, page: 1, limit: 20 };
      const got = await full.search({ ...request, scope });
      const want = await publicOnly.search({ ...request, scope: { all: true } });
      const ids = got.hits.map((h) => h.id);
      if (ids.some((id) => hidden.has(id))) leaks++;
      // Hit order may differ (BM25's statistics count every stored record); the sets of a complete page may not.
      const sameHits =
        got.total > request.limit ||
        JSON.stringify([...ids].sort()) === JSON.stringify(want.hits.map((h) => h.id).sort());
      if (
        got.total !== want.total ||
        !sameHits ||
        JSON.stringify(got.facets) !== JSON.stringify(want.facets)
      ) {
        mismatches++;
        if (mismatches <= 3) t.fail(`query ${JSON.stringify(q)}: ${got.total} vs ${want.total}`);
      }
      // A single run of Han characters: the total is exactly the records containing it (substring semantics).
      if (/^\p{Script=Han}+$/u.test(q) && Object.keys(filters).length === 0) {
        const fq = a.fold(q);
        const brute = [...folded.values()].filter((v) => v.includes(fq)).length;
        // (When no visible record contains the run, the engine relaxes to its words: not a substring count.)
        if (brute > 0) {
          if (brute !== got.total)
            t.fail(`brute force disagrees for ${JSON.stringify(q)}: ${brute} vs ${got.total}`);
          bruteChecked++;
        }
      }
    }
    t.equal(leaks, 0, 'no hidden id in any hit list');
    t.equal(
      mismatches,
      0,
      'totals, hits and facet counts equal those of an index without the hidden records',
    );
    t.ok(bruteChecked > 300, `${bruteChecked} totals checked against a brute-force scan`);
  },
);
