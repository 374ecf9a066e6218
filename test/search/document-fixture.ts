import type { OutlineEntryT, PageTextT } from '../../schemas/technical.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import type { TestApi } from '../helpers/api.ts';

/**
 * A document as the derive-document job leaves it, written straight through the DerivativeStore: the item and its
 * PDF ingested through the API, then record.json with the `text`, `hocr` and `pages` entries, text.json, the pages'
 * hOCR (words with boxes, in the pixels of the page render) and, for large pages, a level-0 info.json; then the
 * item indexed as the index job would.
 */

/** A word of an OCR'd page: its text and its box in the page render's pixels. */
export interface HocrWord {
  text: string;
  bbox: [number, number, number, number];
}

export interface FixturePage extends PageTextT {
  /** OCR'd pages: the lines of words written as hOCR. */
  lines?: HocrWord[][];
  /** Level-0 tiles: an info.json of this size under pages/{n}/iiif/. */
  tiles?: { width: number; height: number };
}

export interface FixtureDocument {
  id: string;
  title: string;
  access: { level: 'public' | 'restricted' | 'private'; organisation?: string };
  file: string;
  pages: FixturePage[];
  outline?: OutlineEntryT[];
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Tesseract-shaped hOCR of one page (single-quoted attributes, a word's confidence beside its box). */
export function hocrOf(page: FixturePage): string {
  let n = 0;
  const lines = (page.lines ?? []).map((words, l) => {
    const xs = words.map((w) => w.bbox);
    const box = [
      Math.min(...xs.map((b) => b[0])),
      Math.min(...xs.map((b) => b[1])),
      Math.max(...xs.map((b) => b[2])),
      Math.max(...xs.map((b) => b[3])),
    ].join(' ');
    const spans = words
      .map(
        (w) =>
          `<span class='ocrx_word' id='word_1_${++n}' title='bbox ${w.bbox.join(' ')}; x_wconf 91'>${escape(w.text)}</span>`,
      )
      .join(' ');
    return `<span class='ocr_line' id='line_1_${l + 1}' title="bbox ${box}; baseline 0 -8; x_size 40">${spans}</span>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en"><head><meta name='ocr-system' content='tesseract 5.3.0' /></head>
<body><div class='ocr_page' id='page_1' title='image "page.png"; bbox 0 0 ${page.width ?? 1} ${page.height ?? 1}; ppageno 0'>
<div class='ocr_carea' id='block_1_1'><p class='ocr_par' id='par_1_1'>
${lines.join('\n')}
</p></div></div></body></html>
`;
}

/** A small PDF's bytes (unique per id: each document its own digest, so its own derivatives). */
const pdfBytes = (id: string) =>
  Buffer.from(
    `%PDF-1.4\n% ${id}\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n`,
  );

/** Creates the item, uploads its PDF, writes the document's derivatives and indexes it. Answers the file's digest. */
export async function addDocument(api: TestApi, d: FixtureDocument): Promise<string> {
  const as = api.auth.admin;
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: as,
    payload: { id: d.id, kind: 'archive_document', metadata: { title: d.title }, access: d.access },
  });
  if (created.statusCode !== 201) throw new Error(`creating ${d.id}: ${created.body}`);
  const put = await api.app.inject({
    method: 'PUT',
    url: `/v1/items/${d.id}/files/${encodeURIComponent(d.file)}`,
    headers: as,
    payload: pdfBytes(d.id),
  });
  if (put.statusCode !== 201) throw new Error(`uploading ${d.file}: ${put.body}`);
  const item = (await api.app.inject({ url: `/v1/items/${d.id}`, headers: as })).json<{
    files: { name: string; digests: { sha512: string } }[];
  }>();
  const sha512 = item.files.find((f) => f.name === d.file)!.digests.sha512;
  const store = createDerivativeStore({ blobs: api.blobs });
  const pages: PageTextT[] = d.pages.map(({ lines: _lines, tiles: _tiles, ...p }) => p);
  await store.putFile(sha512, 'text.json', JSON.stringify({ version: 1, pages }), 'application/json');
  const ocr = d.pages.filter((p) => p.source === 'ocr');
  for (const p of ocr) await store.putFile(sha512, `hocr/${p.page}.hocr`, hocrOf(p), 'text/vnd.hocr+html');
  for (const p of d.pages) {
    await store.putFile(sha512, `pages/${p.page}/thumbnail.jpg`, Buffer.from('jpeg'), 'image/jpeg');
    await store.putFile(sha512, `pages/${p.page}/preview.jpg`, Buffer.from('jpeg'), 'image/jpeg');
    if (p.tiles) {
      const info = {
        width: p.tiles.width,
        height: p.tiles.height,
        sizes: [{ width: Math.ceil(p.tiles.width / 4), height: Math.ceil(p.tiles.height / 4) }],
        tiles: [{ width: 512, scaleFactors: [1, 2, 4] }],
      };
      await store.putFile(sha512, `pages/${p.page}/iiif/info.json`, JSON.stringify(info), 'application/json');
      await store.putFile(
        sha512,
        `pages/${p.page}/iiif/0,0,512,512/512,512/0/default.jpg`,
        Buffer.from('tile'),
        'image/jpeg',
      );
    }
  }
  const n = d.pages.length;
  await store.writeRecord({
    sha512,
    media_type: 'application/pdf',
    technical: {
      type: 'document',
      format: 'PDF',
      format_version: '1.4',
      pages: n,
      page_width: 595,
      page_height: 842,
      ...(d.outline ? { outline: d.outline } : {}),
      text_pages: n - ocr.length,
      ocr_pages: ocr.length,
    },
    warnings: [],
    derivatives: {
      text: { status: 'ready', path: 'text.json', media_type: 'application/json', pages: n },
      ...(ocr.length > 0 ? { hocr: { status: 'ready', path: 'hocr', pages: ocr.length } } : {}),
      pages: { status: 'ready', path: 'pages', pages: n },
    },
  });
  await api.indexer.upsertItem(d.id);
  return sha512;
}

/** Words of one line, each `width` pixels wide from `x`, on the band y0…y1: one per character run given. */
export function lineOf(runs: string[], x: number, y0: number, y1: number, perChar = 40): HocrWord[] {
  const words: HocrWord[] = [];
  let at = x;
  for (const text of runs) {
    const w = Array.from(text).length * perChar;
    words.push({ text, bbox: [at, y0, at + w, y1] });
    at += w + 10;
  }
  return words;
}
