import { readFileSync } from 'node:fs';
import type { Logger } from './logger.ts';
import { projectFile } from '../project-file.ts';
import { createOfficeAdapter } from './office.ts';
import { createTesseractOcr, ocrLanguagesFor, type OcrPreprocessing } from './ocr.ts';
import { createPdfTools } from './pdf.ts';
import { listZip } from './zip-list.ts';

/**
 * The document tools the derive-document job takes (DocumentTools in workers/document-ports.ts, matched
 * structurally): poppler, Tesseract, LibreOffice + officeparser and yauzl, put together once per worker.
 */

export interface DocumentToolsOptions {
  logger?: Logger;
  /** Largest page render (pixels at the dpi asked for): a bigger page is refused, not rendered. */
  maxRenderPixels?: number;
  /** Largest image decoded for OCR. */
  maxOcrPixels?: number;
  /** Budget of one poppler or tesseract run. */
  toolTimeoutMs?: number;
  /** Where temporary pages, profiles and conversions go. Default the OS temp folder. */
  tmpDir?: string;
  /** The ceramics vocabulary OCR post-correction uses (jieba's user dictionary format). */
  termsFile?: string;
  /** OCR preprocessing steps (all on by default): the bench turns them off one by one to measure each. */
  ocrPreprocess?: Partial<OcrPreprocessing>;
}

/** The multi-character words of a jieba user dictionary (`word [freq] [tag]` per line). */
export function readTerms(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((w) => [...w].length >= 2);
}

export function createDocumentTools(opts: DocumentToolsOptions = {}) {
  const tmp = opts.tmpDir === undefined ? {} : { tmpDir: opts.tmpDir };
  const pdf = createPdfTools({
    ...(opts.maxRenderPixels === undefined ? {} : { maxPixels: opts.maxRenderPixels }),
    ...(opts.toolTimeoutMs === undefined ? {} : { timeoutMs: opts.toolTimeoutMs }),
  });
  const terms = readTerms(
    opts.termsFile ?? projectFile(import.meta.url, 'storage-config/jieba/user-dict.txt'),
  );
  const ocr = createTesseractOcr({
    ...tmp,
    terms,
    ...(opts.maxOcrPixels === undefined ? {} : { maxPixels: opts.maxOcrPixels }),
    ...(opts.toolTimeoutMs === undefined ? {} : { timeoutMs: opts.toolTimeoutMs }),
    ...(opts.ocrPreprocess === undefined ? {} : { preprocess: opts.ocrPreprocess }),
  });
  const office = createOfficeAdapter({ pdf, ...tmp });
  opts.logger?.debug({ terms: terms.length }, 'document tools ready');
  return { pdf, ocr, office, listZip, ocrLanguagesFor };
}

export type DocumentToolsImpl = ReturnType<typeof createDocumentTools>;
