import {
  SEARCH1_CONTEXT,
  SEARCH_CONTEXT,
  type Search1AnnotationListT,
  type HighlightingAnnotationT,
  type MatchingAnnotationT,
  type SearchAnnotationPageT,
  type TermPageT,
  type TextQuoteSelectorT,
} from '../../schemas/iiif-search.ts';
import { analyzer } from '../search/analyzer.ts';
import { findInHocr, scaleBox, type HocrPage } from './hocr.ts';
import { autocompleteServiceId, canvasId, pageCanvasId, searchService1Id, searchServiceId } from './ids.ts';

/**
 * IIIF Content Search 2.0 answers, built from what the search engine found in an item (pure: the route decides
 * access and asks the engine). Each text source turns its hits into `TextMatch`es — transcripts (a cue on the AV
 * canvas, `#t=`) and documents' pages (OCR words: a box on the page canvas, `#xywh=`; a text layer: the page
 * canvas) — and one builder makes the AnnotationPage from them.
 */

/** A stretch of an item's text that matched: where it is on a canvas, its plain text and the matched ranges. */
export interface TextMatch {
  /** Unique within the item version: the annotation's id ends with it. */
  key: string;
  /** The canvas id with its media fragment (`#t=start,end`, `#xywh=x,y,w,h`). */
  target: string;
  text: string;
  language: string;
  /** Matched ranges [start, end) in UTF-16 offsets of `text`, in order, not overlapping. */
  marks: [number, number][];
}

/** The parts of an item version a search answer names. */
export interface SearchedItem {
  id: string;
  version: string;
  files: { name: string; role: string; media_type?: string }[];
}

/** A transcript segment as the engine answers it: its text HTML-escaped with `<mark>` around the matches. */
export interface SegmentMatch {
  file: string;
  start: number;
  end: number;
  text: string;
}

const seg = (s: string): string => encodeURIComponent(s);

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

/** Marked, escaped HTML (the engine's highlight) → its plain text and the marked ranges. */
export function unmark(html: string): { text: string; marks: [number, number][] } {
  let text = '';
  const marks: [number, number][] = [];
  let open = -1;
  for (const part of html.split(/(<\/?mark>)/)) {
    if (part === '<mark>') open = text.length;
    else if (part === '</mark>') {
      if (open < 0) continue;
      const last = marks.at(-1);
      // Adjacent marks (two needles side by side) are one match to a reader.
      if (last !== undefined && last[1] === open) last[1] = text.length;
      else if (text.length > open) marks.push([open, text.length]);
      open = -1;
    } else text += part.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) => ENTITIES[name]!);
  }
  return { text, marks };
}

/** Seconds as a media fragment writes them: at most three decimals, no trailing zeros. */
const secs = (s: number): string => String(Math.round(s * 1000) / 1000);

/**
 * The canvas a transcript's cues are shown on: the item's first audio or video file (as the manifest paints it),
 * else the transcript's own canvas when the item has no media.
 */
export function transcriptCanvas(publicUrl: string, item: SearchedItem, transcriptFile: string): string {
  const av = item.files.find(
    (f) =>
      f.role !== 'transcript' &&
      (f.media_type?.startsWith('audio/') === true || f.media_type?.startsWith('video/') === true),
  );
  return canvasId(publicUrl, item.id, item.version, av?.name ?? transcriptFile);
}

/** Transcript segments → matches on the AV canvas at the cue's time (`#t=start,end`). */
export function transcriptMatches(
  publicUrl: string,
  item: SearchedItem,
  segments: SegmentMatch[],
): TextMatch[] {
  return segments.map((s) => {
    const { text, marks } = unmark(s.text);
    const t = `${secs(s.start)},${secs(s.end)}`;
    return {
      key: `${seg(s.file)}/t=${t}`,
      target: `${transcriptCanvas(publicUrl, item, s.file)}#t=${t}`,
      text,
      language: 'zh',
      marks,
    };
  });
}

/** A document page the engine found: its snippet marked as the engine highlights it, and what OCR read of it. */
export interface PageMatch {
  file: string;
  page: number;
  /** HTML-escaped text around the first match, the matches in `<mark>`. */
  snippet: string;
  ocr: boolean;
  /** The page canvas's size (manifest.ts pageCanvasSize): OCR boxes are scaled onto it. */
  canvas: { width: number; height: number };
  /** The page's hOCR, when OCR read it and the words are kept. */
  hocr?: HocrPage;
}

/**
 * Document pages → matches: on an OCR'd page, one per place the query's words are among the OCR words (its line as
 * the text, the box as `#xywh=` on the page canvas, scaled from the hOCR's pixels); on a page with a text layer or
 * extracted text (no boxes), or an OCR page whose words do not hold the match as one line, the page canvas with
 * the snippet.
 */
export function pageMatches(
  publicUrl: string,
  item: SearchedItem,
  pages: PageMatch[],
  needles: string[],
): TextMatch[] {
  const out: TextMatch[] = [];
  for (const p of pages) {
    const canvas = pageCanvasId(publicUrl, item.id, item.version, p.file, p.page);
    const key = `${seg(p.file)}/p${p.page}`;
    const found = p.hocr ? findInHocr(p.hocr, needles) : [];
    const space = p.hocr?.width && p.hocr.height ? { width: p.hocr.width, height: p.hocr.height } : p.canvas;
    if (found.length === 0) {
      const { text, marks } = unmark(p.snippet);
      out.push({ key, target: canvas, text, language: 'zh', marks });
      continue;
    }
    found.forEach((m, k) => {
      const b = scaleBox(m.box, space, p.canvas);
      out.push({
        key: `${key}/${k + 1}`,
        target: `${canvas}#xywh=${b.x},${b.y},${b.w},${b.h}`,
        text: m.line,
        language: 'zh',
        marks: [m.mark],
      });
    });
  }
  return out;
}

/** Characters of context on each side of a highlighted match (code points). */
const CONTEXT_CHARS = 12;

function selector(text: string, [start, end]: [number, number]): TextQuoteSelectorT {
  const prefix = Array.from(text.slice(0, start)).slice(-CONTEXT_CHARS).join('');
  const suffix = Array.from(text.slice(end)).slice(0, CONTEXT_CHARS).join('');
  return {
    type: 'TextQuoteSelector',
    ...(prefix === '' ? {} : { prefix }),
    exact: text.slice(start, end),
    ...(suffix === '' ? {} : { suffix }),
  };
}

/** The parameters a search answer's own URLs carry (those it acted on; ignored ones are dropped, as 4.2.4 allows). */
export interface SearchParams {
  q: string;
  motivation?: string;
}

function searchUrl(service: string, params: SearchParams, page?: number): string {
  const qs = new URLSearchParams({ q: params.q });
  if (params.motivation !== undefined) qs.set('motivation', params.motivation);
  if (page !== undefined) qs.set('page', String(page));
  return `${service}?${qs.toString()}`;
}

/**
 * One page of an item's search answer (spec 4.2.2, paged results, always in the paged form so that every page
 * carries the total): the matching annotations in `items`, a `highlighting` annotation per match in
 * `annotations` (4.3.2, the matched words with the text before and after them inside the cue).
 */
export function searchAnnotationPage(input: {
  publicUrl: string;
  item: SearchedItem;
  params: SearchParams;
  page: number;
  pageSize: number;
  total: number;
  /** The last page, when it is not `total / pageSize` (sources paged one after the other). */
  last?: number;
  matches: TextMatch[];
  ignored: string[];
}): SearchAnnotationPageT {
  const { publicUrl, item, params, page, pageSize, total } = input;
  const service = searchServiceId(publicUrl, item.id);
  const last = input.last ?? Math.max(1, Math.ceil(total / pageSize));
  const ref = (n: number) => ({ id: searchUrl(service, params, n), type: 'AnnotationPage' as const });
  const annotationBase = `${service}/annotation/${seg(item.version)}`;
  const items: MatchingAnnotationT[] = [];
  const highlights: HighlightingAnnotationT[] = [];
  for (const m of input.matches) {
    const id = `${annotationBase}/${m.key}`;
    items.push({
      id,
      type: 'Annotation',
      motivation: 'supplementing',
      body: { type: 'TextualBody', value: m.text, format: 'text/plain', language: m.language },
      target: m.target,
    });
    m.marks.forEach((range, k) => {
      highlights.push({
        id: `${id}/match/${k + 1}`,
        type: 'Annotation',
        motivation: 'highlighting',
        target: { type: 'SpecificResource', source: id, selector: [selector(m.text, range)] },
      });
    });
  }
  return {
    '@context': SEARCH_CONTEXT,
    id: ref(page).id,
    type: 'AnnotationPage',
    partOf: {
      id: searchUrl(service, params),
      type: 'AnnotationCollection',
      total,
      first: ref(1),
      last: ref(last),
    },
    ...(page < last ? { next: ref(page + 1) } : {}),
    ...(page > 1 ? { prev: ref(Math.min(page - 1, last)) } : {}),
    startIndex: (page - 1) * pageSize,
    ...(input.ignored.length > 0 ? { ignored: input.ignored } : {}),
    items,
    ...(highlights.length > 0
      ? { annotations: [{ type: 'AnnotationPage' as const, items: highlights }] }
      : {}),
  };
}

/**
 * The same page as Content Search 1.0 (`sc:AnnotationList`): a resource per matching cue (the 2.0 answer's
 * annotation ids), a hit per highlighted range with its text before and after. `within.total` counts cues, as the
 * 2.0 `partOf.total` does, so both views page alike.
 */
export function searchAnnotationList1(
  input: Parameters<typeof searchAnnotationPage>[0],
): Search1AnnotationListT {
  const { publicUrl, item, params, page, pageSize, total } = input;
  const service = searchService1Id(publicUrl, item.id);
  const last = input.last ?? Math.max(1, Math.ceil(total / pageSize));
  const annotationBase = `${searchServiceId(publicUrl, item.id)}/annotation/${seg(item.version)}`;
  const resources: Search1AnnotationListT['resources'] = [];
  const hits: Search1AnnotationListT['hits'] = [];
  for (const m of input.matches) {
    const id = `${annotationBase}/${m.key}`;
    const cut = m.target.indexOf('#');
    resources.push({
      '@id': id,
      '@type': 'oa:Annotation',
      motivation: 'sc:painting',
      resource: { '@type': 'cnt:ContentAsText', chars: m.text },
      on: {
        '@type': 'oa:SpecificResource',
        full: cut < 0 ? m.target : m.target.slice(0, cut),
        selector: { '@type': 'oa:FragmentSelector', value: cut < 0 ? '' : m.target.slice(cut + 1) },
      },
    });
    for (const range of m.marks) {
      const q = selector(m.text, range);
      hits.push({
        '@type': 'search:Hit',
        annotations: [id],
        match: q.exact,
        before: q.prefix ?? '',
        after: q.suffix ?? '',
      });
    }
  }
  return {
    '@context': SEARCH1_CONTEXT,
    '@id': searchUrl(service, params, page),
    '@type': 'sc:AnnotationList',
    within: {
      '@type': 'sc:Layer',
      total,
      first: searchUrl(service, params, 1),
      last: searchUrl(service, params, last),
      ...(input.ignored.length > 0 ? { ignored: input.ignored } : {}),
    },
    ...(page < last ? { next: searchUrl(service, params, page + 1) } : {}),
    ...(page > 1 ? { prev: searchUrl(service, params, Math.min(page - 1, last)) } : {}),
    startIndex: (page - 1) * pageSize,
    resources,
    hits,
  };
}

/**
 * Whether annotations of `ours` answer a `motivation` parameter (a space-separated list; any one present
 * matches, `non-painting` matches every motivation but painting). An absent or empty list restricts nothing.
 */
export function motivationMatches(motivation: string | undefined, ours: string): boolean {
  const asked = (motivation ?? '').split(/\s+/).filter((m) => m !== '');
  if (asked.length === 0) return true;
  return asked.some((m) => m === ours || (m === 'non-painting' && ours !== 'painting'));
}

const collator = new Intl.Collator('zh-CN');

/**
 * Autocomplete terms (spec 5.2): the words of the matched texts that begin with `q` (compared folded, so 窯
 * completes 窑火 too), counted, at least `min` times, in pinyin order. Words are jieba's, as the index cuts them.
 */
export function termPage(input: {
  publicUrl: string;
  itemId: string;
  params: SearchParams;
  texts: string[];
  min: number;
  ignored: string[];
}): TermPageT {
  const a = analyzer();
  const prefix = a.fold(input.params.q.trim());
  const counts = new Map<string, number>();
  if (prefix !== '') {
    for (const text of input.texts) {
      for (const word of a.queryWords(text)) {
        if (a.fold(word).startsWith(prefix)) counts.set(word, (counts.get(word) ?? 0) + 1);
      }
    }
  }
  const items = [...counts]
    .filter(([, n]) => n >= input.min)
    .sort(([x], [y]) => collator.compare(x, y))
    .map(([value, total]) => ({ value, total, language: 'zh' }));
  const service = autocompleteServiceId(input.publicUrl, input.itemId);
  return {
    '@context': SEARCH_CONTEXT,
    id: searchUrl(service, input.params),
    type: 'TermPage',
    ...(input.ignored.length > 0 ? { ignored: input.ignored } : {}),
    items,
  };
}
