import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  /**
   * The vocabulary OCR post-correction uses (one word a line, jieba's `word freq tag` format read too). Default
   * the jieba user dictionary and storage-config/ocr/ceramics-terms.txt.
   */
  termsFiles?: readonly string[];
  /** OCR preprocessing steps (all on by default): the bench turns them off one by one to measure each. */
  ocrPreprocess?: Partial<OcrPreprocessing>;
}

/** The multi-character words of a word list (`word [freq] [tag]` per line; `#` starts a comment line). */
export function readTerms(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((w) => [...w].length >= 2);
}

/** The word lists' terms in simplified script and in traditional (Taiwan) forms, for chi_tra pages. */
export function loadOcrTerms(files: readonly string[]): string[] {
  const simplified = [...new Set(files.flatMap(readTerms))];
  // opencc-js ships types that do not resolve under NodeNext (see services/search/analyzer.ts): the one call used.
  const { Converter } = createRequire(import.meta.url)('opencc-js/cn2t') as {
    Converter: (options: { from: string; to: string }) => (text: string) => string;
  };
  const toTraditional = Converter({ from: 'cn', to: 'tw' });
  const traditional = simplified.map(toTraditional).filter((t) => !simplified.includes(t));
  return [...simplified, ...traditional];
}

export const defaultTermsFiles = (): string[] => [
  projectFile(import.meta.url, 'storage-config/jieba/user-dict.txt'),
  projectFile(import.meta.url, 'storage-config/ocr/ceramics-terms.txt'),
];

export function createDocumentTools(opts: DocumentToolsOptions = {}) {
  const tmp = opts.tmpDir === undefined ? {} : { tmpDir: opts.tmpDir };
  const pdf = createPdfTools({
    ...(opts.maxRenderPixels === undefined ? {} : { maxPixels: opts.maxRenderPixels }),
    ...(opts.toolTimeoutMs === undefined ? {} : { timeoutMs: opts.toolTimeoutMs }),
  });
  const terms = loadOcrTerms(opts.termsFiles ?? defaultTermsFiles());
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
