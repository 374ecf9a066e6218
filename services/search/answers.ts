import {
  listFilterFields,
  type PageAnswerT,
  type PageHitT,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchFiltersT,
  type SearchHitT,
  type SegmentAnswerT,
} from '../../schemas/search.ts';
import { docSnippet, markAll, snippet } from './highlight.ts';
import type { PageRequest, SearchRequest, SegmentRequest } from './search-index.ts';

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

/** A page as an engine stores it (ocr as stored: 0/1 in SQLite, a boolean in Meilisearch). */
export interface PageRow {
  file: string;
  page: number;
  ocr: number | boolean;
  label: string | null;
  text: string;
}

/** Characters of a page's snippet (a page is long: a window around the first match, not the page). */
const PAGE_SNIPPET_CHARS = 160;

/** A page hit: the snippet around the words, marked, and whether machine reading made the text. */
export function toPageHit(r: PageRow, needles: string[]): PageHitT {
  return {
    file: r.file,
    page: r.page,
    snippet: snippet([r.text], needles, PAGE_SNIPPET_CHARS) ?? '',
    ocr: r.ocr === true || r.ocr === 1,
    ...(r.label === null ? {} : { label: r.label }),
  };
}

/** Page hits (best first) grouped under their item in order of first appearance, each group in file and page order. */
export function groupPages(
  request: PageRequest,
  total: number,
  rows: (PageRow & { id: string; kind: string; title: string })[],
  needles: string[],
): PageAnswerT {
  const byItem = new Map<string, PageAnswerT['items'][number]>();
  for (const r of rows) {
    let group = byItem.get(r.id);
    if (!group) {
      group = { id: r.id, kind: r.kind, title: r.title, pages: [] };
      byItem.set(r.id, group);
    }
    group.pages.push(toPageHit(r, needles));
  }
  for (const g of byItem.values())
    g.pages.sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : x.page - y.page));
  return { total, page: request.page, limit: request.limit, items: [...byItem.values()] };
}
