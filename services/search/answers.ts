import {
  listFilterFields,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchFiltersT,
  type SearchHitT,
  type SegmentAnswerT,
} from '../../schemas/search.ts';
import { docSnippet, markAll } from './highlight.ts';
import type { SearchRequest, SegmentRequest } from './search-index.ts';

/** Answer shapes both engines build the same way: hits from stored documents, segments grouped by item. */

/** A list filter given with no values matches nothing (and is not valid filter syntax for Meilisearch). */
export function hasEmptyListFilter(filters: SearchFiltersT): boolean {
  return listFilterFields.some((k) => filters[k]?.length === 0);
}

export function emptyAnswer(request: SearchRequest): SearchAnswerT {
  const facets = Object.fromEntries(request.facets.map((f) => [f, {}]));
  return { total: 0, page: request.page, limit: request.limit, hits: [], facets };
}

export function toHit(doc: SearchDocumentT, needles: string[]): SearchHitT {
  const text = docSnippet(doc.text, needles);
  return {
    id: doc.id,
    kind: doc.kind,
    version: doc.version,
    title: doc.title,
    ...(doc.year === undefined ? {} : { year: doc.year }),
    // Only what anonymous readers cannot see is marked (public hits stay as they were).
    ...(doc.access.level === 'public' ? {} : { access: doc.access.level }),
    ...(doc.access.embargo_until === undefined ? {} : { embargo_until: doc.access.embargo_until }),
    highlights: { title: markAll(doc.title, needles), ...(text === undefined ? {} : { text }) },
  };
}

export interface SegmentRow {
  id: string;
  kind: string;
  title: string;
  file: string;
  start: number;
  end: number;
  speaker: string | null;
  text: string;
}

/** Segment hits (best first) grouped under their item in order of first appearance, each group in time order. */
export function groupSegments(
  request: SegmentRequest,
  total: number,
  rows: SegmentRow[],
  needles: string[],
): SegmentAnswerT {
  const byItem = new Map<string, SegmentAnswerT['items'][number]>();
  for (const r of rows) {
    let group = byItem.get(r.id);
    if (!group) {
      group = { id: r.id, kind: r.kind, title: r.title, segments: [] };
      byItem.set(r.id, group);
    }
    group.segments.push({
      file: r.file,
      start: r.start,
      end: r.end,
      ...(r.speaker === null ? {} : { speaker: r.speaker }),
      text: markAll(r.text, needles),
    });
  }
  for (const g of byItem.values()) g.segments.sort((x, y) => x.start - y.start);
  return { total, page: request.page, limit: request.limit, items: [...byItem.values()] };
}
