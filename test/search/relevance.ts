import type { ItemView } from '../../services/archive/items.ts';
import { buildDocuments } from '../../services/search/documents.ts';
import type { IndexWriter, SearchIndex } from '../../services/search/search-index.ts';
import { relevanceSet, type RelevanceCase } from './relevance-set.ts';

export interface CaseResult {
  case: RelevanceCase;
  top: string[];
  total: number;
  /** Wanted ids found in the top 10, of those wanted. */
  recall: number;
  /** 1 / rank of the first wanted id in the top 10 (0 when none). */
  rr: number;
  ok: boolean;
}

export async function fill(target: IndexWriter, items: ItemView[]): Promise<void> {
  for (const it of items) {
    const { doc, segments } = buildDocuments(it);
    await target.put(doc, segments);
  }
}

export async function runRelevance(
  index: SearchIndex,
): Promise<{ results: CaseResult[]; recall: number; mrr: number }> {
  const results: CaseResult[] = [];
  for (const c of relevanceSet) {
    const answer = await index.search({
      q: c.q,
      filters: c.filters ?? {},
      facets: [],
      sort: 'relevance',
      page: 1,
      limit: 10,
      scope: { all: true },
    });
    const top = answer.hits.map((h) => h.id);
    if (c.nothing) {
      results.push({
        case: c,
        top,
        total: answer.total,
        recall: answer.total === 0 ? 1 : 0,
        rr: answer.total === 0 ? 1 : 0,
        ok: answer.total === 0,
      });
      continue;
    }
    const want = c.want ?? [];
    const found = want.filter((id) => top.includes(id)).length;
    const first = top.findIndex((id) => want.includes(id));
    results.push({
      case: c,
      top,
      total: answer.total,
      recall: found / want.length,
      rr: first < 0 ? 0 : 1 / (first + 1),
      ok: found === want.length,
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { results, recall: mean(results.map((r) => r.recall)), mrr: mean(results.map((r) => r.rr)) };
}
