import { Value } from '@sinclair/typebox/value';
import { DocumentText, type DerivativeRecordT, type PageTextT } from '../../../schemas/technical.ts';
import { readAll } from '../../archive/blob-store.ts';
import type { DerivativeStore } from '../../archive/derivatives.ts';
import { isCikuError } from '../../errors.ts';
import { parseHocr, type HocrPage } from '../../iiif/hocr.ts';
import type { IiifPage } from '../../iiif/manifest.ts';

/**
 * What the IIIF routes read of a document's derivatives (the derive-document job's `pages`, `text` and `hocr`):
 * its pages for a manifest's canvases, and a page's OCR words for Content Search. The routes have read the item
 * through the access decision first; this only reads the files of a digest.
 */

/** Pages a manifest draws of one document at most (a PDF declaring more is bounded by the document job too). */
export const MAX_MANIFEST_PAGES = 10_000;
/** Page folders whose tiles are looked for at once (a stat each: cheap on a disk, a request each on S3). */
const STAT_PARALLEL = 16;
const MAX_TEXT_JSON_BYTES = 64 * 1024 * 1024;
const MAX_HOCR_BYTES = 16 * 1024 * 1024;

/** A file's `text.json` pages, by page number (missing or malformed: none — a derivative to remake, not an error). */
export async function readPageTexts(
  store: DerivativeStore,
  record: DerivativeRecordT,
): Promise<Map<number, PageTextT>> {
  const entry = record.derivatives.text;
  const out = new Map<number, PageTextT>();
  if (entry?.status !== 'ready' || entry.path === undefined) return out;
  try {
    const raw = await readAll(await store.open(record.sha512, entry.path), MAX_TEXT_JSON_BYTES);
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    if (Value.Check(DocumentText, parsed)) for (const p of parsed.pages) out.set(p.page, p);
  } catch (err) {
    if (!isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND') && !(err instanceof SyntaxError)) throw err;
  }
  return out;
}

/** The page count a `pages` derivative holds, or undefined when it is not ready. */
export function pageCount(record: DerivativeRecordT | undefined): number | undefined {
  const entry = record?.derivatives.pages;
  if (entry?.status !== 'ready' || entry.path === undefined) return undefined;
  const t = record!.technical?.type === 'document' ? record!.technical : undefined;
  const n = entry.pages ?? t?.pages ?? 0;
  return n > 0 ? Math.min(n, MAX_MANIFEST_PAGES) : undefined;
}

/** The key of a page's level-0 folder under the file's derivatives. */
export function pageTilesPath(record: DerivativeRecordT, page: number): string {
  return `${record.derivatives.pages!.path!}/${page}/iiif`;
}

/** A document's pages as a manifest draws them: size and label from its text, whether tiles were made. */
export async function readDocumentPages(
  store: DerivativeStore,
  record: DerivativeRecordT,
): Promise<IiifPage[] | undefined> {
  const count = pageCount(record);
  if (count === undefined) return undefined;
  const texts = await readPageTexts(store, record);
  const pages: IiifPage[] = [];
  for (let from = 1; from <= count; from += STAT_PARALLEL) {
    const batch = Array.from({ length: Math.min(STAT_PARALLEL, count - from + 1) }, (_, i) => from + i);
    const tiles = await Promise.all(
      batch.map(async (n) =>
        Boolean(await store.stat(record.sha512, `${pageTilesPath(record, n)}/info.json`)),
      ),
    );
    batch.forEach((n, i) => {
      const t = texts.get(n);
      pages.push({
        page: n,
        ...(t?.width !== undefined && t.height !== undefined ? { width: t.width, height: t.height } : {}),
        ...(t?.label === undefined ? {} : { label: t.label }),
        tiles: tiles[i]!,
        text: t !== undefined && t.text.trim() !== '',
      });
    });
  }
  return pages;
}

/** One page's OCR words, when the page was OCR'd and its hOCR is kept. */
export async function readHocr(
  store: DerivativeStore,
  record: DerivativeRecordT,
  page: number,
): Promise<HocrPage | undefined> {
  const entry = record.derivatives.hocr;
  if (entry?.status !== 'ready' || entry.path === undefined) return undefined;
  try {
    const raw = await readAll(await store.open(record.sha512, `${entry.path}/${page}.hocr`), MAX_HOCR_BYTES);
    return parseHocr(raw.toString('utf8'));
  } catch (err) {
    if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND')) return undefined;
    throw err;
  }
}
