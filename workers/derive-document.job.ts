import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { deriveJobFor, officeTypes, type JobPayload } from '../schemas/jobs.ts';
import type {
  DerivativeEntryT,
  DerivativeKind,
  DerivativeRecordT,
  DocumentTechnicalT,
  PageTextT,
} from '../schemas/technical.ts';
import { makeIiifTiles, makePageImages, writeUprightPng } from '../services/adapters/image.ts';
import { IIIF_MIN_SIDE, kindsOfJob } from '../services/archive/derivatives.ts';
import type { ItemView } from '../services/archive/items.ts';
import type { DocumentLimits } from '../services/config.ts';
import { dropUndefined } from '../services/drop-undefined.ts';
import { CikuError } from '../services/errors.ts';
import { imageInfoDocument, levelZeroInfo, type StoredImageInfo } from '../services/iiif/image-api.ts';
import { IIIF_MAX_SIDE, PREVIEW_SIDE, THUMBNAIL_SIDE } from './derive-image.job.ts';
import type { DocumentTools, OfficeText, PdfInfo } from './document-ports.ts';
import { failed, finishDerivation, kindsToMake, sourceFile, verdictOf, type JobDeps } from './job-deps.ts';
import type { Handler, JobContext } from './registry.ts';

type Payload = JobPayload<'derive-document'>;

/** Pages whose text layer is read in one `pdftotext` run: memory holds this many pages' text, never a document's. */
export const TEXT_CHUNK_PAGES = 32;
/** PDF's own implementation limit on a page side (ISO 32000-1 Annex C: 14,400 units, 200 in): past it, a bomb. */
export const MAX_PAGE_SIDE_POINTS = 14_400;
/** A PDF's text layer (or office text) kept per page at most: the PageText schema's own bound. */
const MAX_PAGE_CHARACTERS = 2_000_000;
const TILE_UPLOADS_AT_ONCE = 8;
const OUTLINE_MAX = 5000;
const HOCR_TYPE = 'text/vnd.hocr+html';

/**
 * When a page's own text layer is used instead of OCR: it holds at least MIN_TEXT_LAYER_CHARACTERS letters or
 * digits, and at most one in ten of its non-space characters is U+FFFD or private-use (what poppler writes for a
 * font without a Unicode map: such a layer has "text" no one can search). A scan with an invisible OCR layer made
 * elsewhere counts as text (it is not OCR'd again). A page without a usable layer is OCR'd when it is a scan (it
 * draws a raster image: `pdfimages -list`) or carries no text at all (text drawn as curves); a born-digital title
 * page of a few words keeps its words.
 */
export const MIN_TEXT_LAYER_CHARACTERS = 16;

export function usableTextLayer(text: string): boolean {
  const visible = text.match(/\S/gu)?.length ?? 0;
  if (visible === 0) return false;
  const words = text.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  const unmapped = text.match(/[\uFFFD\p{Co}]/gu)?.length ?? 0;
  return words >= MIN_TEXT_LAYER_CHARACTERS && unmapped * 10 <= visible;
}

/**
 * Documents: PDFs (text layer per page, every page rendered once into `pages/{n}/` — thumbnail, preview and, for
 * large renders, IIIF level-0 tiles — pages without a usable text layer OCR'd, hOCR kept), office files (their
 * extracted text, the PDF LibreOffice makes of them, its pages rendered like a PDF's and never OCR'd), plain and
 * CSV text (text.json only) and ZIPs (their listing as technical metadata). An image handed over by derive-image
 * (a scan of an item whose kind OCRs scans) is OCR'd at its own resolution into text + hOCR, merged into the
 * image's record without touching its own kinds. Bounds (config.worker.document) are checked before any render;
 * a document past one fails for good with `media-limits-exceeded: …`.
 */
export function deriveDocument(deps: JobDeps): Handler<'derive-document'> {
  return async (p, ctx) => {
    const tools = deps.documents;
    if (tools === undefined)
      throw new CikuError('CIKU_ERR_INTERNAL', 'derive-document needs the document tools wired in');
    const { missing, record } = await deps.derivatives.missingKinds(p.sha512, p.mediaType);
    const scan = deriveJobFor(p.mediaType) === 'derive-image';
    const expected = kindsOfJob('derive-document', p.mediaType, record?.technical);
    if (expected.length === 0) {
      // A ZIP: nothing but its listing, which is in the record once read.
      if (!p.force && record?.technical !== undefined)
        return { status: 'skipped', detail: 'listing already read' };
    } else {
      // An image's OCR kinds are not expected (so not `missing`) until made once: absent entries count as missing.
      const absent = expected.filter((k) => record?.derivatives[k] === undefined);
      if (kindsToMake(expected, p, record, [...missing, ...absent]).length === 0)
        return { status: 'skipped', detail: 'every derivative is already made' };
    }
    const [item, src] = await Promise.all([
      deps.items.get(p.itemId),
      sourceFile(deps, p, () => ctx.scratch()),
    ]);
    // Indexed as the head the text was made for (the index job reads the head; the id names its version).
    const at = { ...p, version: item.version };
    const budget = timeBudget(deps.limits.document, ctx.signal);
    try {
      const work: Work = {
        deps,
        tools,
        p,
        ctx,
        src,
        item,
        signal: budget.signal,
        limits: deps.limits.document,
      };
      if (scan) await ocrScan(work, at);
      else await deriveFile(work, at, record);
      return { status: 'done' };
    } catch (err) {
      const spent = budget.verdict(err);
      if (spent === undefined) throw err;
      // Out of time: every kind this job makes is recorded failed (a verdict the same bytes would get again).
      const fresh = await deps.derivatives.readRecord(p.sha512);
      const derivatives: Record<string, DerivativeEntryT> = {};
      for (const kind of kindsOfJob('derive-document', p.mediaType)) derivatives[kind] = failed(spent);
      await finishDerivation(
        deps,
        at,
        {
          ...(fresh?.technical ? { technical: fresh.technical } : {}),
          warnings: fresh?.warnings ?? [],
          derivatives,
          previous: fresh,
        },
        [spent],
      );
      throw spent;
    } finally {
      budget.clear();
    }
  };
}

interface Work {
  deps: JobDeps;
  tools: DocumentTools;
  p: Payload;
  ctx: JobContext;
  src: string;
  item: ItemView;
  signal: AbortSignal;
  limits: DocumentLimits;
}

/**
 * The document's wall-clock budget beside the worker's shutdown: a stop by the budget is a verdict, not a release.
 * One controller both abort, held by the timer and the listener (AbortSignal.any's signal is held only weakly by
 * its sources: a job whose only pending work waited on it was collected, and the budget never fired).
 */
function timeBudget(limits: DocumentLimits, shutdown: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  const onShutdown = () => controller.abort(shutdown.reason);
  shutdown.addEventListener('abort', onShutdown, { once: true });
  if (shutdown.aborted) onShutdown();
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('time budget spent'));
  }, limits.timeLimitS * 1000);
  return {
    signal: controller.signal,
    verdict(err: unknown): CikuError | undefined {
      if (!timedOut || shutdown.aborted) return undefined;
      return new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        `the document took longer than its ${limits.timeLimitS} s budget (CIKU_DOCUMENT_TIME_LIMIT_S)`,
        { cause: err },
      );
    },
    clear() {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
    },
  };
}

async function deriveFile(w: Work, at: Payload, record: DerivativeRecordT | undefined): Promise<void> {
  const { p } = w;
  if (p.mediaType === 'application/zip') return listZip(w, at, record);
  if (p.mediaType === 'application/pdf') return derivePdf(w, at, record);
  if (officeTypes.has(p.mediaType)) return deriveOffice(w, at, record);
  return deriveText(w, at, record);
}

/** Everything this job makes, or the verdict that none of it could be made (nothing half-recorded). */
interface Outcome {
  technical?: DocumentTechnicalT;
  warnings: string[];
  derivatives: Record<string, DerivativeEntryT>;
  errors: unknown[];
}

/** A verdict on the whole document: every kind it would have made is recorded failed with the reason. */
function allFailed(
  kinds: readonly DerivativeKind[],
  err: CikuError,
  technical?: DocumentTechnicalT,
): Outcome {
  const derivatives: Record<string, DerivativeEntryT> = {};
  for (const kind of kinds) derivatives[kind] = failed(err);
  return { ...(technical ? { technical } : {}), warnings: [], derivatives, errors: [err] };
}

async function finish(
  w: Work,
  at: Payload,
  record: DerivativeRecordT | undefined,
  o: Outcome,
): Promise<void> {
  w.ctx.progress('record', 98);
  await finishDerivation(
    w.deps,
    at,
    {
      ...(o.technical ? { technical: o.technical } : {}),
      warnings: o.warnings,
      derivatives: o.derivatives,
      previous: record,
    },
    o.errors,
  );
}

/** Runs `step`; a verdict on the bytes is answered as `onVerdict`'s outcome, anything else is thrown (retried). */
async function verdicts<T, U = T>(step: () => Promise<T>, onVerdict: (err: CikuError) => U): Promise<T | U> {
  try {
    return await step();
  } catch (err) {
    const verdict = verdictOf(err);
    if (!verdict) throw err;
    return onVerdict(verdict);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PDF

async function derivePdf(w: Work, at: Payload, record: DerivativeRecordT | undefined): Promise<void> {
  const kinds = kindsOfJob('derive-document', w.p.mediaType);
  w.ctx.progress('metadata', 2);
  let known: PdfInfo | undefined;
  const read = await verdicts(
    async () => {
      known = await w.tools.pdf.info(w.src, { signal: w.signal });
      checkBounds(known, w.limits);
      return known;
    },
    (err) => err,
  );
  // Refused (a bound, a password): what was read of it is kept beside the reason.
  if (read instanceof CikuError)
    return finish(w, at, record, allFailed(kinds, read, known && pdfTechnical(known)));
  const info = read;
  const warnings: string[] = [];
  const outline = await verdicts(
    () => w.tools.pdf.outline(w.src, { signal: w.signal, max: OUTLINE_MAX }),
    (err) => {
      warnings.push(`the outline could not be read: ${err.message}`);
      return [];
    },
  );
  const languages = w.tools.ocrLanguagesFor(firstLanguage(w.item));
  const pages = await renderPages(w, w.src, info, { ocr: true, languages, texts: 'text-layer' });
  warnings.push(...pages.warnings);
  const technical: DocumentTechnicalT = dropUndefined({
    ...pdfTechnical(info),
    ...(outline.length > 0 ? { outline } : {}),
    text_pages: pages.texts.filter((t) => t.source === 'text-layer' && usableTextLayer(t.text)).length,
    ocr_pages: pages.ocrPages,
    ocr_languages: pages.ocrPages > 0 ? languages.join('+') : undefined,
    characters: pages.characters,
  });
  const text = await publishText(w, pages.texts);
  await finish(w, at, record, {
    technical,
    warnings,
    derivatives: { ...pages.derivatives, text },
    errors: pages.errors,
  });
}

/** Refuses a document past a bound before anything is rendered. */
function checkBounds(info: PdfInfo, limits: DocumentLimits): void {
  if (info.pages > limits.maxPages) {
    throw new CikuError(
      'CIKU_ERR_MEDIA_TOO_LARGE',
      `the document declares ${info.pages} pages, above the limit of ${limits.maxPages} (CIKU_DOCUMENT_MAX_PAGES)`,
    );
  }
  if (info.pages < 1) throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'the document has no pages');
  const side = Math.max(info.page_width ?? 0, info.page_height ?? 0);
  if (side > MAX_PAGE_SIDE_POINTS) {
    throw new CikuError(
      'CIKU_ERR_MEDIA_TOO_LARGE',
      `a page of ${Math.round(info.page_width ?? 0)} × ${Math.round(info.page_height ?? 0)} points is past the ` +
        `${MAX_PAGE_SIDE_POINTS}-point side PDF itself allows`,
    );
  }
}

/** The item's language (a list's first: the one its text is mostly in). */
function firstLanguage(item: ItemView): unknown {
  const language = item.metadata.language;
  return Array.isArray(language) ? (language as unknown[])[0] : language;
}

/**
 * The resolution a page is rendered at: the one asked for, lowered so that a page of the first page's size fits
 * CIKU_DOCUMENT_MAX_RENDER_PIXELS (an A0 plan is rendered smaller, not refused). A later page larger than the first
 * may still be refused by the renderer's bound: a warning for that page.
 */
export function renderDpi(dpi: number, info: Pick<PdfInfo, 'page_width' | 'page_height'>, maxPixels: number) {
  const w = info.page_width ?? 0;
  const h = info.page_height ?? 0;
  if (!(w > 0 && h > 0)) return dpi;
  const fit = Math.floor(72 * Math.sqrt(maxPixels / (w * h)));
  return Math.max(1, Math.min(dpi, fit));
}

function pdfTechnical(info: PdfInfo): DocumentTechnicalT {
  return dropUndefined({
    type: 'document' as const,
    format: info.pdfa === undefined ? 'PDF' : 'PDF/A',
    format_version: info.version,
    pdfa: info.pdfa,
    pages: info.pages,
    title: info.title,
    author: info.author,
    subject: info.subject,
    keywords: info.keywords,
    creator_tool: info.creator_tool,
    producer: info.producer,
    created: info.created,
    modified: info.modified,
    encrypted: info.encrypted,
    page_width: info.page_width,
    page_height: info.page_height,
  });
}

interface RenderedPages {
  /** One entry per page, in page order (a PDF's: text layer or OCR; an office file's: none, its text is extracted). */
  texts: PageTextT[];
  ocrPages: number;
  characters: number;
  derivatives: Record<string, DerivativeEntryT>;
  warnings: string[];
  errors: unknown[];
}

/**
 * Every page once: its text layer read in chunks, its render made at the resolution it needs (OCR's for a page
 * without a usable text layer, the preview's otherwise), turned into thumbnail, preview and (large renders) tiles,
 * OCR'd when needed, and removed before the next page of its slot starts. Pages run CIKU_DOCUMENT_PAGE_CONCURRENCY
 * at a time; memory holds those renders and the chunk's text, whatever the page count.
 */
async function renderPages(
  w: Work,
  pdf: string,
  info: PdfInfo,
  options: { ocr: boolean; languages: string[]; texts: 'text-layer' | 'none' },
): Promise<RenderedPages> {
  const { deps, p, limits } = w;
  const count = info.pages;
  const dpis = {
    ocr: renderDpi(limits.ocrDpi, info, limits.maxRenderPixels),
    preview: renderDpi(limits.previewDpi, info, limits.maxRenderPixels),
  };
  if (p.force) {
    // A forced rebuild starts from empty folders: no page or hOCR of an earlier run stays behind.
    await deps.derivatives.clear(p.sha512, 'pages/');
    await deps.derivatives.clear(p.sha512, 'hocr/');
  }
  const texts: PageTextT[] = [];
  const warnings: string[] = [];
  const cut = characterBudget(limits.maxCharacters);
  let first: PageImages | undefined;
  let firstFailure: CikuError | undefined;
  let ocrPages = 0;
  let done = 0;
  const scratch = await w.ctx.scratch();
  // Which pages are scans (draw a raster image): only those, or pages with no text at all (text drawn as curves),
  // are OCR'd when their text layer is not usable. A born-digital title page with a few words keeps its words.
  const scanned =
    options.ocr && w.tools.pdf.imagePages
      ? await verdicts(
          () => w.tools.pdf.imagePages!(pdf, { signal: w.signal }),
          (err) => {
            warnings.push(
              `the page images could not be listed (every page is treated as a scan): ${err.message}`,
            );
            return undefined;
          },
        )
      : undefined;
  for (let start = 1; start <= count; start += TEXT_CHUNK_PAGES) {
    w.signal.throwIfAborted();
    const end = Math.min(count, start + TEXT_CHUNK_PAGES - 1);
    const layer =
      options.texts === 'text-layer'
        ? await verdicts(
            () => w.tools.pdf.text(pdf, start, end, { signal: w.signal }),
            (err) => {
              warnings.push(`pages ${start}–${end}: the text layer could not be read: ${err.message}`);
              return [];
            },
          )
        : [];
    const chunk = Array.from({ length: end - start + 1 }, (_, i) => start + i);
    const made = new Map<number, PageTextT>();
    await inPool(chunk, limits.pageConcurrency, async (n) => {
      const own = layer[n - start] ?? '';
      const needsOcr =
        options.ocr && !usableTextLayer(own) && (scanned === undefined || scanned.has(n) || !/\S/u.test(own));
      const dpi = needsOcr ? dpis.ocr : dpis.preview;
      const page = await onePage(
        w,
        pdf,
        n,
        path.join(scratch, `page-${n}`),
        { needsOcr, dpi },
        options.languages,
      );
      if (page.failure) {
        warnings.push(`page ${n}: ${page.failure.message}`);
        if (n === 1) firstFailure = page.failure;
      }
      if (n === 1) first = page.images;
      if (page.ocr) ocrPages += 1;
      if (options.texts === 'text-layer') {
        made.set(
          n,
          dropUndefined({
            page: n,
            text: page.ocr?.text ?? own,
            source: page.ocr ? ('ocr' as const) : ('text-layer' as const),
            confidence: page.ocr?.confidence,
            width: page.images?.width,
            height: page.images?.height,
          }),
        );
      }
      done += 1;
      w.ctx.progress(`page ${done}/${count}`, 5 + (90 * done) / count);
    });
    for (const n of chunk) {
      const t = made.get(n);
      if (t) texts.push({ ...t, text: cut(t.text) });
    }
  }
  if (cut.truncated())
    warnings.push(`text cut at ${limits.maxCharacters} characters (CIKU_DOCUMENT_MAX_CHARACTERS)`);
  const derivatives: Record<string, DerivativeEntryT> = {};
  const errors: unknown[] = [];
  if (first === undefined) {
    // Without its first page a document has no thumbnail, preview nor page folder anything points to.
    const err =
      firstFailure ?? new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'the first page could not be rendered');
    errors.push(err);
    for (const kind of ['pages', 'thumbnail', 'preview'] as const) derivatives[kind] = failed(err);
  } else {
    derivatives.pages = { status: 'ready', path: 'pages', media_type: 'image/jpeg', pages: count };
    derivatives.thumbnail = imageEntry('pages/1/thumbnail.jpg', first.thumbnail);
    derivatives.preview = imageEntry('pages/1/preview.jpg', first.preview);
  }
  if (ocrPages > 0)
    derivatives.hocr = { status: 'ready', path: 'hocr', media_type: HOCR_TYPE, pages: ocrPages };
  return { texts, ocrPages, characters: cut.used(), derivatives, warnings, errors };
}

interface PageImages {
  width: number;
  height: number;
  thumbnail: { size: number; width: number; height: number };
  preview: { size: number; width: number; height: number };
}

interface PageResult {
  images?: PageImages;
  ocr?: { text: string; confidence: number };
  failure?: CikuError;
}

/** One page: render, thumbnail + preview, tiles when large, OCR when asked; its scratch folder removed after. */
async function onePage(
  w: Work,
  pdf: string,
  n: number,
  dir: string,
  { needsOcr, dpi }: { needsOcr: boolean; dpi: number },
  languages: string[],
): Promise<PageResult> {
  const { deps, p, limits, signal } = w;
  await fs.mkdir(dir, { recursive: true });
  try {
    const maxSide = Math.floor(Math.sqrt(limits.maxRenderPixels));
    const rendered = await verdicts(
      () => w.tools.pdf.render(pdf, n, dir, { dpi, maxSide, signal }),
      (err) => err,
    );
    if (rendered instanceof CikuError) return { failure: rendered };
    const imageLimits = { maxPixels: limits.maxRenderPixels };
    const made = await verdicts(
      () =>
        makePageImages(rendered.path, {
          ...imageLimits,
          previewSide: PREVIEW_SIDE,
          thumbnailSide: THUMBNAIL_SIDE,
        }),
      (err) => err,
    );
    if (made instanceof CikuError) return { failure: made };
    await Promise.all([
      deps.derivatives.putFile(p.sha512, `pages/${n}/thumbnail.jpg`, made.thumbnail.data, 'image/jpeg'),
      deps.derivatives.putFile(p.sha512, `pages/${n}/preview.jpg`, made.preview.data, 'image/jpeg'),
    ]);
    const images: PageImages = {
      width: rendered.width,
      height: rendered.height,
      thumbnail: made.thumbnail,
      preview: made.preview,
    };
    const result: PageResult = { images };
    if (Math.max(rendered.width, rendered.height) >= IIIF_MIN_SIDE) {
      const tiles = await verdicts(
        async () => {
          await publishPageTiles(w, n, rendered.path, path.join(dir, 'tiles'), imageLimits);
          return undefined;
        },
        (err) => err,
      );
      if (tiles !== undefined) result.failure = tiles;
    }
    if (needsOcr) {
      signal.throwIfAborted();
      const ocr = await verdicts(
        () => w.tools.ocr.recognise({ path: rendered.path, languages, vertical: 'auto', dpi, signal }),
        (err) => err,
      );
      if (ocr instanceof CikuError) result.failure = ocr;
      else {
        await deps.derivatives.putFile(p.sha512, `hocr/${n}.hocr`, ocr.hocr, HOCR_TYPE);
        result.ocr = { text: ocr.text, confidence: clampConfidence(ocr.confidence) };
      }
    }
    return result;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A page's IIIF level-0 tiles under `pages/{n}/iiif/`, uploaded a few at a time, info.json last (as derive-image). */
async function publishPageTiles(
  w: Work,
  n: number,
  render: string,
  dir: string,
  limits: { maxPixels: number },
): Promise<void> {
  const { deps, p } = w;
  const tiles = await makeIiifTiles(render, dir, { ...limits, maxSide: IIIF_MAX_SIDE });
  const files = tiles.files.filter((f) => f !== 'info.json' && f.endsWith('.jpg'));
  const folder = `pages/${n}/iiif`;
  for (let i = 0; i < files.length; i += TILE_UPLOADS_AT_ONCE) {
    await Promise.all(
      files
        .slice(i, i + TILE_UPLOADS_AT_ONCE)
        .map((f) =>
          deps.derivatives.putFile(
            p.sha512,
            `${folder}/${f}`,
            createReadStream(path.join(tiles.root, f)),
            'image/jpeg',
          ),
        ),
    );
  }
  const libvipsInfo = JSON.parse(
    await fs.readFile(path.join(tiles.root, 'info.json'), 'utf8'),
  ) as StoredImageInfo;
  const info = imageInfoDocument('https://ciku.invalid/iiif', levelZeroInfo(libvipsInfo, files, tiles.max));
  await deps.derivatives.putFile(
    p.sha512,
    `${folder}/info.json`,
    JSON.stringify(info),
    'application/ld+json',
  );
}

function imageEntry(relPath: string, m: { size: number; width: number; height: number }): DerivativeEntryT {
  return {
    status: 'ready',
    path: relPath,
    media_type: 'image/jpeg',
    size: m.size,
    width: m.width,
    height: m.height,
  };
}

function clampConfidence(c: number): number {
  return Number.isFinite(c) ? Math.round(Math.max(0, Math.min(100, c)) * 10) / 10 : 0;
}

/** Cuts text at the document's character bound, page by page in order. */
function characterBudget(max: number) {
  let used = 0;
  let truncated = false;
  const cut = (text: string): string => {
    const room = Math.max(0, Math.min(max - used, MAX_PAGE_CHARACTERS));
    const kept = text.length > room ? text.slice(0, room) : text;
    if (kept.length < text.length) truncated = true;
    used += kept.length;
    return kept;
  };
  return Object.assign(cut, { used: () => used, truncated: () => truncated });
}

/** Runs `fn` over `items`, `width` at a time; the first failure stops new work, and is thrown once all have ended. */
async function inPool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const runner = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, runner));
  if (failure) throw failure.err;
}

/** `{"version":1,"pages":[…]}`, a page per chunk (a 2,000-page document's text is not one `JSON.stringify`). */
async function* documentTextJson(pages: readonly PageTextT[]): AsyncGenerator<Buffer> {
  yield Buffer.from('{"version":1,"pages":[');
  for (let i = 0; i < pages.length; i += 1) {
    yield Buffer.from(`${i === 0 ? '' : ','}${JSON.stringify(pages[i])}`);
    if (i % 64 === 63) await nextTurn();
  }
  yield Buffer.from(']}');
}

async function publishText(w: Work, pages: readonly PageTextT[]): Promise<DerivativeEntryT> {
  const body = Readable.from(documentTextJson(pages), { objectMode: false });
  const put = await w.deps.derivatives.putFile(w.p.sha512, 'text.json', body, 'application/json');
  return {
    status: 'ready',
    path: 'text.json',
    media_type: 'application/json',
    size: put.size,
    pages: pages.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Office files, plain text, ZIP

async function deriveOffice(w: Work, at: Payload, record: DerivativeRecordT | undefined): Promise<void> {
  const { deps, p, limits } = w;
  const kinds = kindsOfJob('derive-document', p.mediaType);
  w.ctx.progress('text', 2);
  const extracted = await verdicts(
    () =>
      w.tools.office.extractText(w.src, p.mediaType, {
        maxCharacters: limits.maxCharacters,
        signal: w.signal,
      }),
    (err) => err,
  );
  const derivatives: Record<string, DerivativeEntryT> = {};
  const warnings: string[] = [];
  const errors: unknown[] = [];
  let technical: DocumentTechnicalT = { type: 'document' };
  if (extracted instanceof CikuError) {
    errors.push(extracted);
    derivatives.text = failed(extracted);
  } else {
    technical = officeTechnical(extracted);
    if (extracted.truncated)
      warnings.push(`text cut at ${limits.maxCharacters} characters (CIKU_DOCUMENT_MAX_CHARACTERS)`);
    derivatives.text = await publishText(w, extractedPages(extracted));
  }
  w.ctx.progress('pdf', 5);
  const outDir = path.join(await w.ctx.scratch(), 'pdf');
  await fs.mkdir(outDir, { recursive: true });
  const pdf = await verdicts(
    async () => {
      const made = await w.tools.office.toPdf(w.src, p.mediaType, outDir, {
        timeoutMs: limits.timeLimitS * 1000,
        signal: w.signal,
      });
      const info = await w.tools.pdf.info(made, { signal: w.signal });
      checkBounds(info, limits);
      return { made, info };
    },
    (err) => err,
  );
  if (pdf instanceof CikuError) {
    errors.push(pdf);
    for (const kind of kinds) if (kind !== 'text') derivatives[kind] = failed(pdf);
  } else {
    const put = await deps.derivatives.putFile(
      p.sha512,
      'preview.pdf',
      createReadStream(pdf.made),
      'application/pdf',
    );
    derivatives.pdf = {
      status: 'ready',
      path: 'preview.pdf',
      media_type: 'application/pdf',
      size: put.size,
      pages: pdf.info.pages,
    };
    // Rendered like a PDF's pages, never OCR'd: the office file's own text is already exact.
    const pages = await renderPages(w, pdf.made, pdf.info, {
      ocr: false,
      languages: [],
      texts: 'none',
    });
    Object.assign(derivatives, pages.derivatives);
    warnings.push(...pages.warnings);
    errors.push(...pages.errors);
    technical = { ...technical, pages: pdf.info.pages };
    await fs.rm(outDir, { recursive: true, force: true });
  }
  await finish(w, at, record, { technical, warnings, derivatives, errors });
}

function officeTechnical(t: OfficeText): DocumentTechnicalT {
  return dropUndefined({
    type: 'document' as const,
    format: t.format,
    title: t.title,
    author: t.author,
    created: t.created,
    modified: t.modified,
    sheets: t.sheets && t.sheets.length > 0 ? t.sheets.slice(0, 1000) : undefined,
    characters: t.characters,
    text_pages: t.pages.filter((x) => x.text.trim() !== '').length,
  });
}

function extractedPages(t: OfficeText): PageTextT[] {
  return t.pages.map((x, i) =>
    dropUndefined({
      page: i + 1,
      text: x.text.slice(0, MAX_PAGE_CHARACTERS),
      source: 'extracted' as const,
      label: x.label?.slice(0, 500),
    }),
  );
}

async function deriveText(w: Work, at: Payload, record: DerivativeRecordT | undefined): Promise<void> {
  const { p, limits } = w;
  w.ctx.progress('text', 10);
  const outcome = await verdicts(
    async (): Promise<Outcome> => {
      const t = await w.tools.office.extractText(w.src, p.mediaType, {
        maxCharacters: limits.maxCharacters,
        signal: w.signal,
      });
      const warnings = t.truncated
        ? [`text cut at ${limits.maxCharacters} characters (CIKU_DOCUMENT_MAX_CHARACTERS)`]
        : [];
      const text = await publishText(w, extractedPages(t));
      return { technical: officeTechnical(t), warnings, derivatives: { text }, errors: [] };
    },
    (err) => allFailed(['text'], err),
  );
  await finish(w, at, record, outcome);
}

/** ZIP: the central directory's entries (the first 10,000) as technical metadata; nothing is extracted. */
async function listZip(w: Work, at: Payload, record: DerivativeRecordT | undefined): Promise<void> {
  w.ctx.progress('listing', 10);
  const outcome = await verdicts(
    async (): Promise<Outcome> => {
      const listing = await w.tools.listZip(w.src, 10_000);
      return {
        technical: {
          type: 'document',
          format: 'ZIP',
          entries: listing.entries.slice(0, 10_000),
          entry_count: listing.entry_count,
        },
        warnings: [],
        derivatives: {},
        errors: [],
      };
    },
    (err) => ({ warnings: [`the ZIP could not be listed: ${err.message}`], derivatives: {}, errors: [err] }),
  );
  await finish(w, at, record, outcome);
}

// ---------------------------------------------------------------------------------------------------------------
// Scans

/** Formats Tesseract (leptonica) reads as they are; others (and turned or multi-page images) go through a PNG. */
const TESSERACT_READS = new Set(['image/jpeg', 'image/png', 'image/tiff', 'image/bmp', 'image/gif']);

/**
 * OCR of a scan at its own resolution (the original's pixels, upright, not the preview's), into `text.json` (one
 * page) and `hocr/1.hocr`. Only these two kinds are written, into the record re-read just before: derive-image
 * wrote the image's own kinds and technical metadata before it handed the scan over, and they stay as they are.
 */
async function ocrScan(w: Work, at: Payload): Promise<void> {
  const { deps, p } = w;
  const before = await deps.derivatives.readRecord(p.sha512);
  const image = before?.technical?.type === 'image' ? before.technical : undefined;
  const upright = (image?.orientation ?? 1) === 1 && (image?.pages ?? 1) === 1;
  w.ctx.progress('ocr', 10);
  const outcome = await verdicts(
    async (): Promise<Outcome> => {
      let file = w.src;
      if (!TESSERACT_READS.has(p.mediaType) || !upright) {
        file = path.join(await w.ctx.scratch(), 'scan.png');
        await writeUprightPng(w.src, file, { maxPixels: deps.limits.maxImagePixels });
      }
      const languages = w.tools.ocrLanguagesFor(firstLanguage(w.item));
      const ocr = await w.tools.ocr.recognise({ path: file, languages, vertical: 'auto', signal: w.signal });
      await deps.derivatives.putFile(p.sha512, 'hocr/1.hocr', ocr.hocr, HOCR_TYPE);
      const cut = characterBudget(w.limits.maxCharacters);
      const page: PageTextT = dropUndefined({
        page: 1,
        text: cut(ocr.text),
        source: 'ocr' as const,
        confidence: clampConfidence(ocr.confidence),
        // hOCR boxes are in the pixels of the image Tesseract was given: the original's, upright.
        width: ocr.width,
        height: ocr.height,
      });
      const text = await publishText(w, [page]);
      return {
        warnings: [],
        derivatives: { text, hocr: { status: 'ready', path: 'hocr', media_type: HOCR_TYPE, pages: 1 } },
        errors: [],
      };
    },
    (err) => allFailed(['text', 'hocr'], err),
  );
  // Re-read: only the OCR kinds are this job's; the rest of the record is whatever is there now.
  const fresh = await deps.derivatives.readRecord(p.sha512);
  w.ctx.progress('record', 98);
  await finishDerivation(
    deps,
    at,
    {
      ...(fresh?.technical ? { technical: fresh.technical } : {}),
      warnings: [...(fresh?.warnings ?? []), ...outcome.warnings],
      derivatives: outcome.derivatives,
      previous: fresh,
    },
    outcome.errors,
  );
}
