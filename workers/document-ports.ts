import type { ArchiveEntryT, OutlineEntryT } from '../schemas/technical.ts';

/**
 * What the `derive-document` job needs from the document tools, as ports: poppler (services/adapters/pdf.ts),
 * Tesseract (services/adapters/ocr.ts), LibreOffice + officeparser (services/adapters/office.ts) and yauzl
 * (services/adapters/zip-list.ts) implement them structurally; tests can hand the job fakes. Every call takes an
 * AbortSignal (the worker's shutdown) and ends its child processes when it fires.
 */

/** What poppler reads from a PDF without rendering it. */
export interface PdfInfo {
  pages: number;
  /** `1.7` from the header. */
  version?: string;
  /** PDF/A conformance from the XMP metadata (`1b`, `2b`, `3a` …). */
  pdfa?: string;
  title?: string;
  author?: string;
  subject?: string;
  keywords?: string;
  creator_tool?: string;
  producer?: string;
  created?: string;
  modified?: string;
  encrypted: boolean;
  /** The first page's size in points. */
  page_width?: number;
  page_height?: number;
}

export interface PdfTools {
  info(path: string, opts: { signal?: AbortSignal }): Promise<PdfInfo>;
  /** Bookmarks, flattened in reading order with their depth (an empty list when the PDF has none). */
  outline(path: string, opts: { signal?: AbortSignal; max: number }): Promise<OutlineEntryT[]>;
  /**
   * The text layer of pages first…last (1-based, inclusive), one string per page in page order (an empty string
   * for a page without text). Streams: memory is bounded by the pages asked for, not by the document.
   */
  text(path: string, first: number, last: number, opts: { signal?: AbortSignal }): Promise<string[]>;
  /**
   * The pages that draw a raster image (a scan); optional: without it every page lacking a usable text layer is
   * treated as one.
   */
  imagePages?(path: string, opts: { signal?: AbortSignal }): Promise<Set<number>>;
  /**
   * Renders page `page` to a PNG (or JPEG) file in `outDir` at `dpi`, its long side capped at `maxSide` pixels;
   * answers the file written and its pixel size.
   */
  render(
    path: string,
    page: number,
    outDir: string,
    opts: { dpi: number; maxSide: number; signal?: AbortSignal },
  ): Promise<{ path: string; width: number; height: number }>;
}

export interface OcrResult {
  text: string;
  /** hOCR (XHTML) with word boxes in the pixels of the image passed in (not of any rescaled copy). */
  hocr: string;
  /** Mean word confidence 0–100. */
  confidence: number;
  width: number;
  height: number;
  /** The Tesseract languages used, `chi_sim+eng`. */
  languages: string;
  vertical: boolean;
}

export interface OcrEngine {
  recognise(opts: {
    path: string;
    /** Tesseract language codes, `['chi_sim', 'eng']`. */
    languages: readonly string[];
    /** `auto`: decide from the page (vertical Chinese columns read with the `_vert` models). */
    vertical?: boolean | 'auto';
    /** The resolution the image was scanned or rendered at, when known (scaling decisions use it). */
    dpi?: number;
    signal?: AbortSignal;
  }): Promise<OcrResult>;
}

export interface OfficeText {
  /** One entry per page, sheet or slide where the format has them, else one. */
  pages: { text: string; label?: string }[];
  /** `DOCX`, `XLSX`, `PPTX`, `ODT`, `ODS`, `ODP`, `RTF`, `Text`, `CSV`. */
  format: string;
  sheets?: string[];
  title?: string;
  author?: string;
  created?: string;
  modified?: string;
  characters: number;
  /** True when the text was cut at maxCharacters. */
  truncated: boolean;
}

export interface OfficeAdapter {
  extractText(
    path: string,
    mediaType: string,
    opts: { maxCharacters: number; signal?: AbortSignal },
  ): Promise<OfficeText>;
  /** A PDF of the file made by LibreOffice headless (its own profile folder per call); answers its path. */
  toPdf(
    path: string,
    mediaType: string,
    outDir: string,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<string>;
}

export interface ZipListing {
  entries: ArchiveEntryT[];
  entry_count: number;
}

export type ListZip = (path: string, max: number) => Promise<ZipListing>;

export interface DocumentTools {
  pdf: PdfTools;
  ocr: OcrEngine;
  office: OfficeAdapter;
  listZip: ListZip;
  /** Tesseract languages for an item's `language` field (`zh-Hant` → chi_tra …); a default when unknown. */
  ocrLanguagesFor(language: unknown): string[];
}
