import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { OfficeParser, type OfficeContentNode, type OfficeParserAST } from 'officeparser';
import { CikuError } from '../errors.ts';
import { runTool, stderrTail } from './tool-process.ts';

/**
 * Office documents: text through officeparser (DOCX, XLSX, PPTX, ODT, ODS, ODP, RTF — its OCR option, which
 * would start tesseract.js workers inside the process, is never turned on: scans are OCR'd by ocr.ts), plain text
 * and CSV read directly, and PDF copies through LibreOffice headless. The old binary formats (DOC, XLS, PPT) have
 * no maintained JavaScript reader: their text is LibreOffice's PDF read by pdftotext. Implements OfficeAdapter
 * (workers/document-ports.ts) structurally.
 */

export interface OfficePageText {
  text: string;
  label?: string;
}

export interface OfficeTextResult {
  pages: OfficePageText[];
  format: string;
  sheets?: string[];
  title?: string;
  author?: string;
  created?: string;
  modified?: string;
  characters: number;
  truncated: boolean;
}

/** What the old binary formats need from the PDF tools (pdf.ts): the page count and the text layer. */
export interface PdfTextReader {
  info(file: string, opts: { signal?: AbortSignal }): Promise<{ pages: number }>;
  text(file: string, first: number, last: number, opts: { signal?: AbortSignal }): Promise<string[]>;
}

export interface OfficeAdapterOptions {
  pdf: PdfTextReader;
  /** The LibreOffice binary. Default `soffice`. */
  soffice?: string;
  /** Largest file read into memory for text (officeparser reads whole files). Default 200 MB. */
  maxBytes?: number;
  /** Where the per-call profile and working folders go. Default the OS temp folder. */
  tmpDir?: string;
  /** Budget for the LibreOffice conversion behind an old binary format's text. Default 120 s. */
  convertTimeoutMs?: number;
}

interface Kind {
  format: string;
  ext: string;
  /** How the text is read. */
  via: 'officeparser' | 'plain' | 'libreoffice';
}

/** Canonical media types (and the aliases browsers and `file` send) → what we do with them. */
const kinds: Record<string, Kind> = {
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    format: 'DOCX',
    ext: 'docx',
    via: 'officeparser',
  },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
    format: 'XLSX',
    ext: 'xlsx',
    via: 'officeparser',
  },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    format: 'PPTX',
    ext: 'pptx',
    via: 'officeparser',
  },
  'application/vnd.oasis.opendocument.text': { format: 'ODT', ext: 'odt', via: 'officeparser' },
  'application/vnd.oasis.opendocument.spreadsheet': { format: 'ODS', ext: 'ods', via: 'officeparser' },
  'application/vnd.oasis.opendocument.presentation': { format: 'ODP', ext: 'odp', via: 'officeparser' },
  'application/rtf': { format: 'RTF', ext: 'rtf', via: 'officeparser' },
  'text/rtf': { format: 'RTF', ext: 'rtf', via: 'officeparser' },
  'text/plain': { format: 'Text', ext: 'txt', via: 'plain' },
  'text/csv': { format: 'CSV', ext: 'csv', via: 'plain' },
  'application/msword': { format: 'DOC', ext: 'doc', via: 'libreoffice' },
  'application/vnd.ms-excel': { format: 'XLS', ext: 'xls', via: 'libreoffice' },
  'application/vnd.ms-powerpoint': { format: 'PPT', ext: 'ppt', via: 'libreoffice' },
};

/** The media types this adapter reads text from (and LibreOffice converts). */
export const officeMediaTypes: readonly string[] = Object.keys(kinds);

function kindOf(mediaType: string): Kind {
  const k = kinds[mediaType.split(';')[0]!.trim().toLowerCase()];
  if (!k) throw new CikuError('CIKU_ERR_MEDIA_UNSUPPORTED', `no office text reader for ${mediaType}`);
  return k;
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CikuError('CIKU_ERR_UNAVAILABLE', 'stopped: the worker is shutting down');
}

/**
 * Bytes as text: UTF-8 when they are valid UTF-8 (a BOM dropped), else GB18030 — the superset of GBK/GB2312 that
 * older Chinese office exports are written in. Node's TextDecoder (full ICU) decodes both.
 */
export function decodeText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return new TextDecoder('gb18030').decode(bytes);
  }
}

/**
 * officeparser 6.1.1 does not skip the fallback character RTF writes after each `\uN` (under the default `\uc1`):
 * LibreOffice's `\u26223\'3f` came out as `景?`. The fallback is dropped here before parsing; a document that
 * changes `\uc` from 1 is left as it is.
 */
export function dropRtfUnicodeFallbacks(rtf: string): string {
  if (/\\uc(?!1\b)\d/.test(rtf)) return rtf;
  return rtf.replace(/(\\u-?\d+) ?(?:\\'[0-9a-fA-F]{2}|[^\\{}\s])/g, '$1 ');
}

/** A node's text: cells of a row by tabs, everything else line by line. */
function textOf(node: OfficeContentNode): string {
  if (node.children && node.children.length > 0 && node.type !== 'paragraph' && node.type !== 'heading') {
    const sep = node.type === 'row' ? '\t' : '\n';
    return node.children
      .map(textOf)
      .filter((s) => s !== '')
      .join(sep);
  }
  return node.text ?? node.children?.map(textOf).join('') ?? '';
}

const iso = (d: Date | undefined): string | undefined =>
  d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined;

/** Pages cut at `max` characters in all. */
function bound(
  pages: OfficePageText[],
  max: number,
): { pages: OfficePageText[]; characters: number; truncated: boolean } {
  let characters = 0;
  let truncated = false;
  const out: OfficePageText[] = [];
  for (const p of pages) {
    if (characters >= max) {
      truncated = true;
      break;
    }
    const room = max - characters;
    const text = p.text.length > room ? p.text.slice(0, room) : p.text;
    if (text.length < p.text.length) truncated = true;
    characters += text.length;
    out.push({ ...p, text });
  }
  if (out.length === 0) out.push({ text: '' });
  return { pages: out, characters, truncated };
}

export function createOfficeAdapter(opts: OfficeAdapterOptions) {
  const soffice = opts.soffice ?? 'soffice';
  const maxBytes = opts.maxBytes ?? 200 * 1024 * 1024;
  const tmpRoot = opts.tmpDir ?? os.tmpdir();
  const convertTimeoutMs = opts.convertTimeoutMs ?? 120_000;

  async function readBounded(file: string): Promise<Buffer> {
    const st = await fs.stat(file);
    if (st.size > maxBytes) {
      throw new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        `${st.size} bytes is above the ${maxBytes} read for an office file's text`,
      );
    }
    return fs.readFile(file);
  }

  async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await fs.mkdtemp(path.join(tmpRoot, 'ciku-office-'));
    try {
      return await fn(dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  async function parse(file: string, kind: Kind): Promise<OfficeParserAST> {
    const bytes = await readBounded(file);
    return withTemp(async (dir) => {
      // officeparser picks its parser from the name's extension; archived files have none.
      const named = path.join(dir, `document.${kind.ext}`);
      if (kind.ext === 'rtf')
        await fs.writeFile(named, dropRtfUnicodeFallbacks(bytes.toString('latin1')), 'latin1');
      else await fs.writeFile(named, bytes);
      try {
        return await OfficeParser.parseOffice(named, {
          ocr: false,
          extractAttachments: false,
          ignoreNotes: false,
        });
      } catch (err) {
        throw new CikuError(
          'CIKU_ERR_MEDIA_UNREADABLE',
          `the ${kind.format} file could not be read: ${(err as Error).message ?? String(err)}`.slice(
            0,
            1000,
          ),
          { cause: err },
        );
      }
    });
  }

  async function toPdf(
    file: string,
    mediaType: string,
    outDir: string,
    o: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<string> {
    const kind = kindOf(mediaType);
    return withTemp(async (dir) => {
      const named = path.join(dir, `document.${kind.ext}`);
      await fs.symlink(path.resolve(file), named);
      // A fresh profile per call: two conversions sharing one profile lock each other out (or corrupt it).
      const profile = pathToFileURL(path.join(dir, 'profile')).href;
      const args = [
        `-env:UserInstallation=${profile}`,
        '--headless',
        '--norestore',
        '--nolockcheck',
        '--nodefault',
        // CSV: UTF-8 (76), comma-separated, double-quoted — the encoding we also read it in.
        ...(kind.ext === 'csv' ? ['--infilter=CSV:44,34,76'] : []),
        '--convert-to',
        'pdf',
        '--outdir',
        dir,
        named,
      ];
      const run = await runTool(soffice, args, {
        timeoutMs: o.timeoutMs,
        signal: o.signal,
        what: 'LibreOffice',
        env: { ...process.env, HOME: dir },
      });
      const made = path.join(dir, 'document.pdf');
      const ok = await fs.stat(made).then(
        (s) => s.size > 0,
        () => false,
      );
      if (!ok) {
        throw new CikuError(
          'CIKU_ERR_MEDIA_UNREADABLE',
          `LibreOffice made no PDF of the ${kind.format} file (exit ${run.code}): ${stderrTail(run.stderr)}`,
        );
      }
      await fs.mkdir(outDir, { recursive: true });
      const out = path.join(outDir, 'document.pdf');
      await fs.copyFile(made, out);
      return out;
    });
  }

  return {
    toPdf,

    async extractText(
      file: string,
      mediaType: string,
      o: { maxCharacters: number; signal?: AbortSignal },
    ): Promise<OfficeTextResult> {
      const kind = kindOf(mediaType);
      aborted(o.signal);
      if (kind.via === 'plain') {
        const text = decodeText(await readBounded(file)).replace(/\r\n?/g, '\n');
        return { format: kind.format, ...bound([{ text }], o.maxCharacters) };
      }
      if (kind.via === 'libreoffice') {
        return withTemp(async (dir) => {
          const pdf = await toPdf(file, mediaType, dir, {
            timeoutMs: convertTimeoutMs,
            ...(o.signal ? { signal: o.signal } : {}),
          });
          const info = await opts.pdf.info(pdf, o.signal ? { signal: o.signal } : {});
          const pages =
            info.pages > 0
              ? await opts.pdf.text(pdf, 1, info.pages, o.signal ? { signal: o.signal } : {})
              : [];
          return {
            format: kind.format,
            ...bound(
              pages.map((text) => ({ text })),
              o.maxCharacters,
            ),
          };
        });
      }
      const ast = await parse(file, kind);
      aborted(o.signal);
      const sheets: string[] = [];
      const parts: OfficePageText[] = [];
      const split = ast.content.some((n) => n.type === 'sheet' || n.type === 'slide');
      if (split) {
        for (const node of ast.content) {
          if (node.type === 'sheet') {
            const name = (node.metadata as { sheetName?: string } | undefined)?.sheetName;
            if (name !== undefined) sheets.push(name.slice(0, 500));
            parts.push({ text: textOf(node), ...(name === undefined ? {} : { label: name.slice(0, 500) }) });
          } else if (node.type === 'slide') {
            const n =
              (node.metadata as { slideNumber?: number } | undefined)?.slideNumber ?? parts.length + 1;
            parts.push({ text: textOf(node), label: `${n}` });
          } else if (parts.length > 0) {
            // Notes and other nodes after a slide belong to it.
            parts[parts.length - 1]!.text += `\n${textOf(node)}`;
          } else parts.push({ text: textOf(node) });
        }
      } else {
        parts.push({ text: ast.toText() });
      }
      const meta = ast.metadata ?? {};
      const result: OfficeTextResult = { format: kind.format, ...bound(parts, o.maxCharacters) };
      if (sheets.length > 0) result.sheets = sheets.slice(0, 1000);
      const title = meta.title?.trim();
      const author = meta.author?.trim();
      if (title) result.title = title.slice(0, 2000);
      if (author) result.author = author.slice(0, 2000);
      const created = iso(meta.created);
      const modified = iso(meta.modified);
      if (created) result.created = created;
      if (modified) result.modified = modified;
      return result;
    },
  };
}

export type OfficeAdapterImpl = ReturnType<typeof createOfficeAdapter>;
