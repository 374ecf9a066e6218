import type { ItemView } from '../archive/items.ts';
import {
  listFilterFields,
  type ListFilterField,
  type PageDocumentT,
  type SearchDocumentT,
  type SegmentDocumentT,
} from '../../schemas/search.ts';
import type { PageTextT } from '../../schemas/technical.ts';
import { analyzer } from './analyzer.ts';
import type { Tick } from './slices.ts';

/**
 * Item → search documents. Pure: the indexer reads the item and its transcripts' segments, this decides what is
 * searchable and how. Every kind of DESIGN.md maps its facet fields here.
 */

const SHORT_FIELDS = [
  'creator',
  'subject',
  'publisher',
  'contributor',
  'identifier',
  'coverage',
  'type',
  'source',
  'relation',
  // kind fields
  'interviewee',
  // The inheritor record an interview is with: its id found by a search, so the record's page lists the interview.
  'interviewee_ref',
  'interviewer',
  'place',
  'dialect',
  'reference_code',
  'fonds',
  'series',
  'museum',
  'accession_number',
  'object_name',
  'period',
  'kiln',
  'ware_type',
  'glaze',
  'decoration',
  'material',
  'name',
  'ethnicity',
  'ich_projects',
  'project_codes',
  'code',
  'category',
  'region',
  'province',
  'protection_unit',
  'site_type',
  'protection_status',
  'event',
  'level',
] as const;
const LONG_FIELDS = ['description', 'biography', 'ocr_text', 'rights', 'consent'] as const;
const NAME_FIELDS = [
  'creator',
  'interviewee',
  'interviewer',
  'name',
  'place',
  'region',
  'museum',
  'kiln',
] as const;

function texts(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(texts);
  return [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** The year an item is about: an explicit year, else the first four digits of its date or recording date. */
function yearOf(m: Record<string, unknown>): number | undefined {
  const explicit = int(m.year);
  if (explicit !== undefined) return explicit;
  for (const key of ['date', 'recorded_at']) {
    const d = str(m[key]);
    const match = d === undefined ? null : /^(-?\d{4})/.exec(d);
    if (match) return Number(match[1]);
  }
  return undefined;
}

export interface TranscriptSegments {
  file: string;
  segments: { start: number; end: number; speaker?: string; text: string }[];
}

/** A document file's pages as its `text` derivative has them (text.json). */
export interface DocumentPages {
  file: string;
  pages: PageTextT[];
}

/**
 * How much of an item's documents' text goes into its own body (UTF-8 bytes, over all its documents, in file and
 * page order): enough for a phrase of a report or a spreadsheet to find the item, while a 500-page PDF does not
 * make one item document of megabytes (every page is searchable in full as a page document anyway).
 */
export const MAX_DOCUMENT_BODY_BYTES = 200 * 1024;

/**
 * A page's text as it is searched: a line break (and the spaces around it) between two CJK characters is layout,
 * not a word boundary — Chinese print wraps mid-word, and OCR and pdftotext keep the page's lines — so it is
 * removed, and a phrase that runs across a line is found. Other breaks stay.
 */
const CJK = '\\p{Script=Han}\\u3000-\\u303f\\uff00-\\uffef';
const WRAPPED = new RegExp(`([${CJK}])[ \\t]*\\r?\\n[ \\t]*(?=[${CJK}])`, 'gu');

export function searchablePageText(text: string): string {
  return text.replace(WRAPPED, '$1');
}

/** The pages' text for the item body: whole pages while they fit, then the part of the next one that does. */
function documentBody(documents: DocumentPages[]): string[] {
  const out: string[] = [];
  const encoder = new TextEncoder();
  let left = MAX_DOCUMENT_BODY_BYTES;
  for (const d of documents) {
    for (const page of d.pages) {
      if (left <= 0) return out;
      if (page.text === '') continue;
      const text = searchablePageText(page.text);
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes <= left) {
        out.push(text);
        left -= bytes + 1;
        continue;
      }
      // encodeInto stops before a character that does not fit: `read` is a cut on a character boundary.
      const { read } = encoder.encodeInto(text, new Uint8Array(left));
      out.push(text.slice(0, read));
      return out;
    }
  }
  return out;
}

/** The page documents of an item's documents: one per page that has text. */
function pageDocuments(itemId: string, documents: DocumentPages[]): PageDocumentT[] {
  return documents.flatMap((d) =>
    d.pages
      .filter((p) => p.text.trim() !== '')
      .map((p) => ({
        item_id: itemId,
        file: d.file,
        page: p.page,
        ocr: p.source === 'ocr',
        ...(p.label === undefined ? {} : { label: p.label }),
        text: searchablePageText(p.text),
      })),
  );
}

/** One transcript segment's document (keys in this order: the content hash depends on it). */
function segmentDocument(
  itemId: string,
  file: string,
  s: TranscriptSegments['segments'][number],
  n: number,
): SegmentDocumentT {
  return s.speaker === undefined
    ? { item_id: itemId, file, n, start: s.start, end: s.end, text: s.text }
    : { item_id: itemId, file, n, start: s.start, end: s.end, speaker: s.speaker, text: s.text };
}

export interface BuiltDocuments {
  doc: SearchDocumentT;
  segments: SegmentDocumentT[];
  pages: PageDocumentT[];
}

export function buildDocuments(
  item: ItemView,
  transcripts: TranscriptSegments[] = [],
  documents: DocumentPages[] = [],
): BuiltDocuments {
  const segments = transcripts.flatMap((t) =>
    t.segments.map((s, n) => segmentDocument(item.id, t.file, s, n)),
  );
  return documentsOf(item, segments, documents);
}

/** `buildDocuments` with turns for the event loop while the segments are built (the same documents). */
export async function buildDocumentsSliced(
  item: ItemView,
  transcripts: TranscriptSegments[],
  tick: Tick,
  documents: DocumentPages[] = [],
): Promise<BuiltDocuments> {
  const segments: SegmentDocumentT[] = [];
  for (const t of transcripts) {
    for (let n = 0; n < t.segments.length; n++) {
      segments.push(segmentDocument(item.id, t.file, t.segments[n]!, n));
      if (n % 1000 === 999) await tick();
    }
  }
  await tick();
  const built = documentsOf(item, segments, documents);
  await tick();
  return built;
}

function documentsOf(
  item: ItemView,
  segments: SegmentDocumentT[],
  documents: DocumentPages[],
): BuiltDocuments {
  const m = item.metadata;
  const title = str(m.title) ?? item.id;
  const meta = SHORT_FIELDS.flatMap((f) => texts(m[f])).join('\n');
  const body = [
    ...LONG_FIELDS.flatMap((f) => texts(m[f])),
    ...segments.map((s) => s.text),
    ...documentBody(documents),
  ].join('\n');
  const names = NAME_FIELDS.flatMap((f) => texts(m[f])).join('\n');
  const coords = m.coordinates as { lat?: unknown; lon?: unknown } | undefined;
  const year = yearOf(m);
  const doc: SearchDocumentT = {
    id: item.id,
    kind: item.kind,
    version: item.version,
    title,
    title_sort: analyzer().pinyin(title),
    ...opt('date', str(m.date) ?? str(m.recorded_at)),
    ...opt('year', year),
    ...opt('category', str(m.category)),
    ...opt('province', str(m.province)),
    ...opt('region', str(m.region)),
    ...opt('level', str(m.level)),
    ...opt('batch', int(m.batch)),
    ...opt('museum', str(m.museum)),
    ...opt('period', str(m.period)),
    ...opt('series', str(m.series)),
    has_media: item.files.some((f) => f.role === 'original'),
    ...(typeof coords?.lat === 'number' && typeof coords.lon === 'number'
      ? { geo: { lat: coords.lat, lon: coords.lon } }
      : {}),
    access: {
      level: item.access.level,
      ...opt('embargo_until', item.access.embargo_until),
      ...opt('organisation', item.access.organisation),
    },
    text: { meta, body, names },
  };
  return { doc, segments, pages: pageDocuments(item.id, documents) };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** A document's list-filter fields, `null` where absent: the columns (sqlite) and attributes (Meilisearch) stored. */
export function listFilterValues(doc: SearchDocumentT): Record<ListFilterField, string | number | null> {
  return Object.fromEntries(listFilterFields.map((f) => [f, doc[f] ?? null])) as Record<
    ListFilterField,
    string | number | null
  >;
}
