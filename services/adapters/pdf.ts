import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { OutlineEntryT } from '../../schemas/technical.ts';
import { CikuError } from '../errors.ts';
import { runTool, stderrTail } from './tool-process.ts';

/**
 * PDFs through poppler's command-line tools (Debian `poppler-utils`): `pdfinfo` for the facts, `pdftohtml -xml`
 * for the outline, `pdftotext` for the text layer of a page range, `pdftoppm` to render one page. Each runs as a
 * child process (a broken or hostile PDF crashes poppler, not the worker) with a time budget and bounded output.
 * Implements PdfTools (workers/document-ports.ts) structurally.
 */

export interface PdfInfoResult {
  pages: number;
  version?: string;
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
  page_width?: number;
  page_height?: number;
}

export interface PdfToolsOptions {
  /**
   * Largest page render, in pixels (width × height at the dpi asked for, before any `maxSide` cap): a page of
   * 100,000 × 100,000 pt is refused here instead of reaching pdftoppm. Default 100 megapixels.
   */
  maxPixels?: number;
  /** Budget of one poppler run. Default 120 s. */
  timeoutMs?: number;
  /** Largest text kept for one page, in characters (PageText's own bound). Default 2,000,000. */
  maxPageCharacters?: number;
  /** Tool paths, for machines where poppler is not on PATH. */
  bin?: { pdfinfo?: string; pdftotext?: string; pdftoppm?: string; pdftohtml?: string; pdfimages?: string };
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_PAGE_CHARS = 2_000_000;
/** The outline's XML is kept from `<outline>` on; past this the bookmarks are cut (their schema keeps 5,000). */
const MAX_OUTLINE_XML = 8 * 1024 * 1024;
/** Page sizes read per pdfinfo run when rendering, and the documents whose sizes are kept. */
const PAGE_BATCH = 64;
const MAX_CACHED_FILES = 8;

/** poppler's words for a file it cannot parse, and for a password it does not have. */
function popplerError(what: string, stderr: string): CikuError {
  const tail = stderrTail(stderr);
  return new CikuError(
    'CIKU_ERR_MEDIA_UNREADABLE',
    `${what} could not read the PDF: ${tail || 'no reason given'}`,
  );
}

const needsPassword = (stderr: string) => /incorrect password/i.test(stderr);

/** `Key:   value` lines of pdfinfo into a map (first occurrence wins). */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9 ]*?):\s*(.*)$/.exec(line);
    if (m && !map.has(m[1]!)) map.set(m[1]!, m[2]!.trim());
  }
  return map;
}

const nonEmpty = (s: string | undefined): string | undefined =>
  s === undefined || s.trim() === '' ? undefined : s.trim();

/** `609.714 x 789.041 pts` → [w, h]. */
function pageSize(s: string | undefined): [number, number] | undefined {
  const m = s === undefined ? null : /^([\d.]+)\s*x\s*([\d.]+)/.exec(s);
  if (!m) return undefined;
  const w = Number(m[1]);
  const h = Number(m[2]);
  return Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0 ? [w, h] : undefined;
}

/** XMP `pdfaid:part` + `pdfaid:conformance`, as attributes or as elements → `1b`. */
export function pdfaFromXmp(xmp: string): string | undefined {
  const read = (name: string) =>
    new RegExp(`pdfaid:${name}\\s*=\\s*["']([^"']+)["']`).exec(xmp)?.[1] ??
    new RegExp(`<pdfaid:${name}>\\s*([^<\\s]+)\\s*</pdfaid:${name}>`).exec(xmp)?.[1];
  const part = read('part');
  if (part === undefined || !/^\d$/.test(part)) return undefined;
  const conformance = read('conformance');
  return `${part}${conformance && /^[A-Za-z]$/.test(conformance) ? conformance.toLowerCase() : ''}`;
}

const xmlEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return xmlEntities[e] ?? '';
  });
}

/** pdftohtml's `<outline>` tree (nested `<outline>` for each level, `<item page="n">title</item>`) flattened. */
export function parseOutlineXml(xml: string, max: number): OutlineEntryT[] {
  const entries: OutlineEntryT[] = [];
  let level = 0;
  const token = /<outline>|<\/outline>|<item(?:\s+page="(\d+)")?\s*>([\s\S]*?)<\/item>/g;
  for (let m = token.exec(xml); m !== null && entries.length < max; m = token.exec(xml)) {
    if (m[0] === '<outline>') level += 1;
    else if (m[0] === '</outline>') level -= 1;
    else {
      // Titles may carry markup pdftohtml adds (<b>, <i>) around the words.
      const title = unescapeXml(m[2]!.replace(/<[^>]*>/g, ''))
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 500);
      const page = m[1] === undefined ? 0 : Number(m[1]);
      entries.push({
        title,
        level: Math.min(Math.max(level, 1), 32),
        ...(page >= 1 ? { page } : {}),
      });
    }
  }
  return entries;
}

/** Width and height from a PNG's IHDR chunk (bytes 16–23), without decoding it. */
async function pngSize(file: string): Promise<{ width: number; height: number }> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(24);
    await fh.read(buf, 0, 24, 0);
    if (buf.toString('latin1', 12, 16) !== 'IHDR') {
      throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'pdftoppm wrote no PNG');
    }
    return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  } finally {
    await fh.close();
  }
}

export function createPdfTools(opts: PdfToolsOptions = {}) {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxPageChars = opts.maxPageCharacters ?? DEFAULT_MAX_PAGE_CHARS;
  const bin = {
    pdfinfo: opts.bin?.pdfinfo ?? 'pdfinfo',
    pdftotext: opts.bin?.pdftotext ?? 'pdftotext',
    pdftoppm: opts.bin?.pdftoppm ?? 'pdftoppm',
    pdftohtml: opts.bin?.pdftohtml ?? 'pdftohtml',
    pdfimages: opts.bin?.pdfimages ?? 'pdfimages',
  };

  /** pdfinfo's fields (for the page range given, its per-page sizes too). */
  async function pdfinfo(file: string, extra: string[], signal: AbortSignal | undefined) {
    const run = await runTool(bin.pdfinfo, ['-isodates', '-enc', 'UTF-8', ...extra, file], {
      timeoutMs,
      signal,
      maxStdout: 4 * 1024 * 1024,
      what: 'pdfinfo',
    });
    return run;
  }

  /** The page's size in points as displayed (rotation applied), from pdfinfo. */
  /**
   * Page sizes (points, rotation applied) of the files rendered lately, read PAGE_BATCH pages per pdfinfo run: a
   * document rendered page by page then costs one pdfinfo per 64 pages instead of one per page. Keyed by path,
   * size and mtime, so a changed file is read again; a few files are kept.
   */
  const boxes = new Map<string, { pages: number; sizes: Map<number, [number, number]> }>();

  async function pageBox(
    file: string,
    page: number,
    signal: AbortSignal | undefined,
  ): Promise<[number, number]> {
    const st = await fs.stat(file);
    const key = `${file}\0${st.size}\0${st.mtimeMs}`;
    let entry = boxes.get(key);
    if (!entry?.sizes.has(page)) {
      const last = entry ? Math.min(entry.pages, page + PAGE_BATCH - 1) : page + PAGE_BATCH - 1;
      const run = await pdfinfo(file, ['-f', String(page), '-l', String(Math.max(page, last))], signal);
      if (run.code !== 0 && /wrong page range/i.test(run.stderr)) {
        throw new CikuError('CIKU_ERR_REQUEST_INVALID', `page ${page} is outside the PDF`);
      }
      if (run.code !== 0) throw popplerError('pdfinfo', run.stderr);
      const text = run.stdout.toString('utf8');
      const pages = Number(fields(text).get('Pages'));
      entry ??= { pages, sizes: new Map() };
      const rots = new Map<number, number>();
      for (const m of text.matchAll(/^Page\s+(\d+) (size|rot):\s*(.*)$/gm)) {
        const n = Number(m[1]);
        if (m[2] === 'rot') rots.set(n, Number(m[3]));
        else {
          const size = pageSize(m[3]);
          if (size) entry.sizes.set(n, size);
        }
      }
      for (const [n, rot] of rots) {
        const size = entry.sizes.get(n);
        if (size && Math.abs(rot) % 180 === 90) entry.sizes.set(n, [size[1], size[0]]);
      }
      boxes.delete(key);
      boxes.set(key, entry);
      while (boxes.size > MAX_CACHED_FILES) boxes.delete(boxes.keys().next().value!);
    }
    if (!(page >= 1 && page <= entry.pages)) {
      throw new CikuError(
        'CIKU_ERR_REQUEST_INVALID',
        `page ${page} is outside the PDF's ${entry.pages} pages`,
      );
    }
    const size = entry.sizes.get(page);
    if (!size) throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', `pdfinfo gave no size for page ${page}`);
    return size;
  }

  return {
    async info(file: string, o: { signal?: AbortSignal }): Promise<PdfInfoResult> {
      const run = await pdfinfo(file, [], o.signal);
      if (run.code !== 0) {
        // A PDF locked with a user password is still a PDF we keep: we say so instead of failing it.
        if (needsPassword(run.stderr)) return { pages: 0, encrypted: true };
        throw popplerError('pdfinfo', run.stderr);
      }
      const f = fields(run.stdout.toString('utf8'));
      const pages = Number(f.get('Pages'));
      if (!Number.isInteger(pages) || pages < 0) {
        throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'pdfinfo gave no page count');
      }
      let size = pageSize(f.get('Page size'));
      if (size && Math.abs(Number(f.get('Page rot') ?? 0)) % 180 === 90) size = [size[1], size[0]];
      let pdfa: string | undefined;
      if (f.get('Metadata Stream') !== 'no') {
        const meta = await pdfinfo(file, ['-meta'], o.signal);
        if (meta.code === 0) pdfa = pdfaFromXmp(meta.stdout.toString('utf8'));
      }
      const result: PdfInfoResult = {
        pages,
        encrypted: (f.get('Encrypted') ?? 'no').startsWith('yes'),
      };
      const add = <K extends keyof PdfInfoResult>(k: K, v: PdfInfoResult[K] | undefined) => {
        if (v !== undefined) result[k] = v;
      };
      add('version', nonEmpty(f.get('PDF version')));
      add('pdfa', pdfa);
      add('title', nonEmpty(f.get('Title'))?.slice(0, 2000));
      add('author', nonEmpty(f.get('Author'))?.slice(0, 2000));
      add('subject', nonEmpty(f.get('Subject'))?.slice(0, 2000));
      add('keywords', nonEmpty(f.get('Keywords'))?.slice(0, 2000));
      add('creator_tool', nonEmpty(f.get('Creator'))?.slice(0, 500));
      add('producer', nonEmpty(f.get('Producer'))?.slice(0, 500));
      add('created', nonEmpty(f.get('CreationDate'))?.slice(0, 64));
      add('modified', nonEmpty(f.get('ModDate'))?.slice(0, 64));
      add('page_width', size?.[0]);
      add('page_height', size?.[1]);
      return result;
    },

    /**
     * The pages that draw a raster image (`pdfimages -list`: the image table, no pixels decoded or written), so
     * that OCR is spent on scanned pages only: a born-digital page with little text has nothing more to read.
     */
    async imagePages(file: string, o: { signal?: AbortSignal }): Promise<Set<number>> {
      const run = await runTool(bin.pdfimages, ['-list', file], {
        timeoutMs,
        signal: o.signal,
        maxStdout: 32 * 1024 * 1024,
        what: 'pdfimages',
      });
      if (run.code !== 0) throw popplerError('pdfimages', run.stderr);
      const pages = new Set<number>();
      for (const line of run.stdout.toString('utf8').split('\n').slice(2)) {
        const m = /^\s*(\d+)\s+\d+\s+(\S+)/.exec(line);
        // Soft masks and stencils are not pictures of anything to read.
        if (m && m[2] === 'image') pages.add(Number(m[1]));
      }
      return pages;
    },

    async outline(file: string, o: { signal?: AbortSignal; max: number }): Promise<OutlineEntryT[]> {
      // pdftohtml writes page 1 before the outline: only what follows `<outline>` is kept, so a huge first page
      // costs time, not memory.
      const decoder = new StringDecoder('utf8');
      let pending = '';
      let xml = '';
      let seen = false;
      const run = await runTool(
        bin.pdftohtml,
        ['-xml', '-i', '-q', '-nodrm', '-stdout', '-f', '1', '-l', '1', file],
        {
          timeoutMs,
          signal: o.signal,
          what: 'pdftohtml',
          onStdout: (chunk) => {
            const s = decoder.write(chunk);
            if (seen) xml += s;
            else {
              pending += s;
              const at = pending.indexOf('<outline>');
              if (at >= 0) {
                seen = true;
                xml = pending.slice(at);
                pending = '';
              } else pending = pending.slice(-16);
            }
            return xml.length < MAX_OUTLINE_XML;
          },
        },
      );
      if (run.code !== 0 && !run.stoppedEarly) {
        if (needsPassword(run.stderr)) return [];
        throw popplerError('pdftohtml', run.stderr);
      }
      return seen ? parseOutlineXml(xml, o.max) : [];
    },

    async text(file: string, first: number, last: number, o: { signal?: AbortSignal }): Promise<string[]> {
      if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) {
        throw new CikuError('CIKU_ERR_REQUEST_INVALID', `page range ${first}–${last} is not valid`);
      }
      const count = last - first + 1;
      const pages: string[] = [];
      let current = '';
      let cut = false;
      const decoder = new StringDecoder('utf8');
      // Each page ends with a form feed; text is kept page by page, a page's beyond maxPageChars dropped.
      const take = (s: string) => {
        let from = 0;
        for (let ff = s.indexOf('\f'); ff >= 0; ff = s.indexOf('\f', from)) {
          if (!cut) current += s.slice(from, ff);
          pages.push(current.slice(0, maxPageChars));
          current = '';
          cut = false;
          from = ff + 1;
        }
        if (!cut) current += s.slice(from);
        if (current.length > maxPageChars) {
          current = current.slice(0, maxPageChars);
          cut = true;
        }
      };
      const run = await runTool(
        bin.pdftotext,
        ['-layout', '-enc', 'UTF-8', '-f', String(first), '-l', String(last), file, '-'],
        {
          timeoutMs,
          signal: o.signal,
          what: 'pdftotext',
          onStdout: (chunk) => {
            take(decoder.write(chunk));
            return pages.length < count;
          },
        },
      );
      if (run.code !== 0 && !run.stoppedEarly) throw popplerError('pdftotext', run.stderr);
      take(decoder.end());
      if (current.trim() !== '' && pages.length < count) pages.push(current);
      while (pages.length < count) pages.push('');
      return pages.slice(0, count).map((p) => p.replace(/[ \t]+$/gm, '').replace(/^(?:[ \t]*\n)+|\s+$/g, ''));
    },

    async render(
      file: string,
      page: number,
      outDir: string,
      o: { dpi: number; maxSide: number; signal?: AbortSignal },
    ): Promise<{ path: string; width: number; height: number }> {
      if (!(o.dpi > 0) || !(o.maxSide > 0)) {
        throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'render needs a positive dpi and maxSide');
      }
      const [w, h] = await pageBox(file, page, o.signal);
      const atDpi = [(w / 72) * o.dpi, (h / 72) * o.dpi] as const;
      if (atDpi[0] * atDpi[1] > maxPixels) {
        throw new CikuError(
          'CIKU_ERR_MEDIA_TOO_LARGE',
          `page ${page} is ${Math.round(w)} × ${Math.round(h)} pt: ${Math.round(atDpi[0])} × ` +
            `${Math.round(atDpi[1])} pixels at ${o.dpi} dpi, above the ${maxPixels}-pixel render limit`,
        );
      }
      // -scale-to also enlarges: it is passed only when the page at this dpi would exceed maxSide.
      const scale =
        Math.max(...atDpi) > o.maxSide ? ['-scale-to', String(Math.floor(o.maxSide))] : ['-r', String(o.dpi)];
      const root = path.join(outDir, `page-${page}`);
      const run = await runTool(
        bin.pdftoppm,
        ['-png', '-singlefile', '-f', String(page), '-l', String(page), ...scale, file, root],
        { timeoutMs, signal: o.signal, what: 'pdftoppm', maxStdout: 1024 * 1024 },
      );
      if (run.code !== 0) throw popplerError('pdftoppm', run.stderr);
      const out = `${root}.png`;
      return { path: out, ...(await pngSize(out)) };
    },
  };
}

export type PdfToolsAdapter = ReturnType<typeof createPdfTools>;
