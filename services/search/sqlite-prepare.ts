import { createHash } from 'node:crypto';
import type { PageDocumentT, SearchDocumentT, SegmentDocumentT } from '../../schemas/search.ts';
import { analyzer } from './analyzer.ts';
import { listFilterValues } from './documents.ts';
import { slicer, type Tick } from './slices.ts';
import { aclTokens } from './sqlite-access.ts';
import type { PreparedDoc, PreparedPage, PreparedSegment } from './sqlite-writer.ts';

/**
 * An item's analysis for the index, done on the event loop in slices (long texts and many segments never hold it
 * for long); the SQL that stores the result runs on the writer thread (sqlite-writer.ts).
 */

/** Segments per chunk sent to the writer thread. */
const STAGE_CHUNK = 4000;
/** Characters of page text per chunk sent to the writer thread (a page may hold a whole report's text). */
const PAGE_CHUNK_CHARS = 1_000_000;

/** `text` in pieces of about `size` characters cut after a line end (folding and both token views work per line). */
function* lineChunks(text: string, size = 16_384): Generator<string> {
  let at = 0;
  while (at < text.length) {
    let end = at + size;
    if (end < text.length) {
      const nl = text.indexOf('\n', end);
      end = nl === -1 ? text.length : nl + 1;
    } else end = text.length;
    yield text.slice(at, end);
    at = end;
  }
}

/** grams and words of a long text, folded and analysed a piece at a time, with turns for the event loop between. */
async function analyseLong(
  text: string,
  tick: () => Promise<void>,
): Promise<{ grams: string; words: string }> {
  const a = analyzer();
  const grams: string[] = [];
  const words: string[] = [];
  for (const piece of lineChunks(text)) {
    const folded = a.fold(piece);
    grams.push(a.grams(folded));
    words.push(a.words(folded));
    await tick();
  }
  const join = (xs: string[]) => xs.filter((x) => x !== '').join(' ');
  return { grams: join(grams), words: join(words) };
}

/**
 * sha256 of JSON.stringify([doc, segments]) — or of [doc, segments, pages] when the item has pages, so the hash of
 * an item without documents is what it was before pages were indexed — fed an entry at a time (the same bytes, in
 * slices).
 */
export async function canonicalHash(
  doc: SearchDocumentT,
  segments: SegmentDocumentT[],
  pages: PageDocumentT[],
  tick: Tick,
): Promise<string> {
  const hash = createHash('sha256').update(`[${JSON.stringify(doc)},[`);
  for (let i = 0; i < segments.length; i++) {
    hash.update(`${i === 0 ? '' : ','}${JSON.stringify(segments[i])}`);
    if (i % 1000 === 999) await tick();
  }
  hash.update(']');
  if (pages.length > 0) {
    hash.update(',[');
    for (let i = 0; i < pages.length; i++) {
      hash.update(`${i === 0 ? '' : ','}${JSON.stringify(pages[i])}`);
      await tick();
    }
    hash.update(']');
  }
  return hash.update(']').digest('hex');
}

/** Pages analysed (the long-text way: a page may be long) and handed to `stage` in chunks. */
async function preparePages(
  pages: PageDocumentT[],
  stage: (rows: PreparedPage[]) => Promise<void>,
  tick: Tick,
): Promise<void> {
  let rows: PreparedPage[] = [];
  let chars = 0;
  for (const p of pages) {
    const { grams, words } = await analyseLong(p.text, tick);
    rows.push([p.file, p.page, p.ocr ? 1 : 0, p.label ?? null, p.text, grams, words]);
    chars += p.text.length;
    if (chars >= PAGE_CHUNK_CHARS) {
      await stage(rows);
      rows = [];
      chars = 0;
    }
  }
  if (rows.length > 0) await stage(rows);
}

/**
 * An item analysed for the index, on the event loop in slices: its document row and FTS columns, and its
 * segments' rows handed to `stage` in chunks as they are ready (the SQL runs on the writer thread).
 */
export async function prepareItem(
  doc: SearchDocumentT,
  segments: SegmentDocumentT[],
  pages: PageDocumentT[],
  stage: (rows: { segs?: PreparedSegment[]; pages?: PreparedPage[] }) => Promise<void>,
): Promise<PreparedDoc> {
  const a = analyzer();
  const tick = slicer();
  let rows: PreparedSegment[] = [];
  for (const s of segments) {
    const folded = a.fold(s.speaker === undefined ? s.text : `${s.speaker}：${s.text}`);
    rows.push([s.file, s.n, s.start, s.end, s.speaker ?? null, s.text, a.grams(folded), a.words(folded)]);
    if (rows.length >= STAGE_CHUNK) {
      await stage({ segs: rows });
      rows = [];
    }
    await tick();
  }
  if (rows.length > 0) await stage({ segs: rows });
  await preparePages(pages, (rows) => stage({ pages: rows }), tick);
  const title = a.fold(doc.title);
  const meta = a.fold(doc.text.meta);
  const body = await analyseLong(doc.text.body, tick);
  const hash = await canonicalHash(doc, segments, pages, tick);
  const prepared: PreparedDoc = {
    id: doc.id,
    row: {
      id: doc.id,
      version: doc.version,
      title_sort: doc.title_sort,
      title_key: a.titleKey(doc.title),
      date: doc.date ?? null,
      year: doc.year ?? null,
      ...listFilterValues(doc),
      has_media: doc.has_media ? 1 : 0,
      lat: doc.geo?.lat ?? null,
      lon: doc.geo?.lon ?? null,
      acc_level: doc.access.level,
      acc_embargo: doc.access.embargo_until ?? null,
      acc_org: doc.access.organisation ?? null,
      hash,
      n_segs: segments.length,
      n_pages: pages.length,
    },
    body: JSON.stringify(doc),
    fts: [
      a.grams(title),
      a.grams(meta),
      body.grams,
      a.words(title),
      a.words(meta),
      body.words,
      a.pinyin(`${doc.title}\n${doc.text.names}`),
      aclTokens(doc).join(' '),
    ],
    embargo: doc.access.embargo_until ?? null,
  };
  await tick();
  return prepared;
}
