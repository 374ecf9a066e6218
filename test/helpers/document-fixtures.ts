import { execFile } from 'node:child_process';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { sharedPath } from './env.ts';

/**
 * Document fixtures the tests and bench:documents make themselves: OCR test pages drawn from the shared ceramics
 * corpus with Debian's Noto CJK fonts (clean, low resolution, rotated, noisy, vertical traditional), PDFs written
 * object by object (image-only pages, bookmarks, bombs), office files converted by LibreOffice, and ZIPs written by
 * hand (stored entries, an overlapping-entries bomb). Everything is generated into a folder the caller owns;
 * LibreOffice conversions (2–5 s each) are kept there and reused while the folder lives.
 */

const run = promisify(execFile);
const load = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------------------------
// Corpus

const CORPUS = 'corpus/ceramics_ner_sentences.json';

/** The ceramics sentences of the shared corpus, or undefined when ../shared is absent (tests skip). */
export function ceramicsSentences(): string[] | undefined {
  const file = sharedPath(CORPUS);
  if (!file) return undefined;
  const rows = JSON.parse(readFileSync(file, 'utf8')) as { text: string }[];
  return rows.map((r) => r.text.trim()).filter((s) => s.length > 0);
}

/** Simplified → traditional (Taiwan standard), for the vertical traditional pages. */
export function toTraditional(text: string): string {
  const { Converter } = load('opencc-js/cn2t') as {
    Converter: (o: { from: string; to: string }) => (s: string) => string;
  };
  return Converter({ from: 'cn', to: 'tw' })(text);
}

const isHan = (c: string) => /\p{Script=Han}/u.test(c);

// ---------------------------------------------------------------------------------------------------------------
// OCR test pages

export type PageClass = 'clean' | 'lowres' | 'rotated' | 'noisy' | 'vertical';
export const pageClasses: readonly PageClass[] = ['clean', 'lowres', 'rotated', 'noisy', 'vertical'];

export interface TestPage {
  class: PageClass;
  /** PNG file. */
  path: string;
  /** The text drawn, line by line (columns, right to left, for vertical pages). */
  lines: string[];
  /** The text drawn, as one string without whitespace. */
  truth: string;
  dpi: number;
  width: number;
  height: number;
  /** Tesseract languages a reader would use. */
  languages: string[];
  vertical: boolean;
  /** Degrees clockwise the page was turned. */
  rotation: number;
  /** Where each line was drawn, in the page's pixels (before rotation). */
  lineBoxes: { x0: number; y0: number; x1: number; y1: number }[];
}

export interface PageSpec {
  class: PageClass;
  /** Sentences drawn, in order, wrapped at `charsPerLine`. */
  sentences: string[];
  dpi?: number;
  /** Font size in points (a 12 pt glyph is 50 px at 300 dpi). */
  fontPt?: number;
  charsPerLine?: number;
  maxLines?: number;
  font?: 'sans' | 'serif';
  rotation?: number;
  /** Gaussian noise σ (grey levels) and blur σ (px) for the noisy class. */
  noise?: number;
  blur?: number;
  seed?: number;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A small deterministic PRNG (mulberry32), so noisy pages are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Wraps text into lines of at most n characters (CJK glyphs are all one em wide; ASCII counted the same). */
function wrap(text: string, n: number): string[] {
  const chars = [...text];
  const lines: string[] = [];
  for (let i = 0; i < chars.length; i += n) lines.push(chars.slice(i, i + n).join(''));
  return lines;
}

/**
 * Draws one test page as a PNG in `dir`: horizontal lines (or, for the vertical class, traditional-script columns
 * from right to left, Han characters only as in old vertical print) with Noto CJK via librsvg, then turned,
 * blurred or noised as its class asks.
 */
export async function renderTestPage(dir: string, name: string, spec: PageSpec): Promise<TestPage> {
  const vertical = spec.class === 'vertical';
  const dpi = spec.dpi ?? (spec.class === 'lowres' ? 150 : 300);
  const fontPt = spec.fontPt ?? 12;
  const px = Math.round((fontPt / 72) * dpi);
  const perLine = spec.charsPerLine ?? (vertical ? 18 : 24);
  const maxLines = spec.maxLines ?? (vertical ? 10 : 10);
  const family = spec.font === 'serif' ? 'Noto Serif CJK' : 'Noto Sans CJK';
  const script = vertical ? 'TC' : 'SC';
  const body = spec.sentences.join('');
  const text = vertical ? [...toTraditional(body)].filter(isHan).join('') : body;
  const lines = wrap(text, perLine).slice(0, maxLines);
  const margin = Math.round(0.5 * dpi);
  const step = Math.round(px * 1.6);
  const width = vertical ? margin * 2 + step * lines.length : margin * 2 + px * perLine;
  const height = vertical ? margin * 2 + px * perLine : margin * 2 + step * lines.length;
  const lineBoxes: TestPage['lineBoxes'] = [];
  const parts: string[] = [];
  lines.forEach((line, i) => {
    if (vertical) {
      const cx = width - margin - step * i - px / 2;
      [...line].forEach((c, j) => {
        parts.push(
          `<text x="${cx}" y="${margin + px * (j + 1) - px * 0.12}" text-anchor="middle">${escapeXml(c)}</text>`,
        );
      });
      lineBoxes.push({ x0: cx - px / 2, y0: margin, x1: cx + px / 2, y1: margin + px * [...line].length });
    } else {
      const y = margin + step * i + px;
      parts.push(`<text x="${margin}" y="${y - px * 0.12}">${escapeXml(line)}</text>`);
      lineBoxes.push({ x0: margin, y0: y - px, x1: margin + px * [...line].length, y1: y });
    }
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<g font-family="${family} ${script}" font-size="${px}" fill="#111">${parts.join('')}</g></svg>`;
  let img = sharp(Buffer.from(svg), { density: 72 }).flatten({ background: '#fff' }).greyscale();
  const rotation = spec.rotation ?? (spec.class === 'rotated' ? 2 : 0);
  if (rotation !== 0) img = img.rotate(rotation, { background: '#fff' });
  let out = await img.png().toBuffer();
  if (spec.class === 'noisy') {
    const blurred = await sharp(out)
      .blur(spec.blur ?? 1.2)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rand = prng(spec.seed ?? 17);
    const sigma = spec.noise ?? 40;
    const data = blurred.data;
    for (let i = 0; i < data.length; i++)
      data[i] = Math.max(0, Math.min(255, data[i]! + sigma * gaussian(rand)));
    out = await sharp(data, {
      raw: { width: blurred.info.width, height: blurred.info.height, channels: blurred.info.channels },
    })
      .png()
      .toBuffer();
  }
  const file = path.join(dir, `${name}.png`);
  // The resolution is recorded in the PNG (pHYs), as a scanner would.
  const info = await sharp(out).withMetadata({ density: dpi }).png().toFile(file);
  return {
    class: spec.class,
    path: file,
    lines,
    truth: lines.join('').replace(/\s+/g, ''),
    dpi,
    width: info.width,
    height: info.height,
    languages: vertical ? ['chi_tra'] : ['chi_sim', 'eng'],
    vertical,
    rotation,
    lineBoxes,
  };
}

/**
 * `perClass` pages of each class from consecutive corpus sentences (each page its own text), at a few font sizes
 * and both turns (±2°) so no class is one lucky layout.
 */
export async function renderTestPages(
  dir: string,
  sentences: string[],
  perClass: number,
  classes: readonly PageClass[] = pageClasses,
  /** The first sentence used: tuning and testing draw from different parts of the corpus. */
  offset = 0,
): Promise<TestPage[]> {
  const pages: TestPage[] = [];
  let cursor = offset;
  const take = (chars: number) => {
    const picked: string[] = [];
    let n = 0;
    while (n < chars) {
      const s = sentences[cursor++ % sentences.length]!;
      picked.push(s);
      n += s.length;
    }
    return picked;
  };
  const sizes = [11, 12, 14];
  for (const cls of classes) {
    for (let i = 0; i < perClass; i++) {
      const fontPt = sizes[i % sizes.length]!;
      pages.push(
        await renderTestPage(dir, `${cls}-${i + 1}`, {
          class: cls,
          sentences: take(cls === 'vertical' ? 260 : 220),
          fontPt,
          font: i % 2 === 0 ? 'sans' : 'serif',
          maxLines: cls === 'vertical' ? 8 : 6,
          ...(cls === 'rotated' ? { rotation: i % 2 === 0 ? 2 : -2 } : {}),
          seed: 100 + i,
        }),
      );
    }
  }
  return pages;
}

// ---------------------------------------------------------------------------------------------------------------
// Character error rate

/** Levenshtein distance over code points. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/** Characters compared for CER: whitespace dropped, full-width ASCII folded (Tesseract mixes both). */
export function cerForm(s: string): string {
  return s.normalize('NFKC').replace(/\s+/g, '').replace(/[，]/g, ',');
}

/** Character error rate: edits / characters of the truth. */
export function cer(truth: string, read: string): number {
  const t = cerForm(truth);
  return t.length === 0 ? 0 : editDistance(t, cerForm(read)) / t.length;
}

/**
 * How many occurrences of `ch` in the truth were read as `ch`: the two strings are aligned by the edit-distance
 * path and each truth occurrence counts when it is matched, not substituted or deleted.
 */
export function charRecall(truth: string, read: string, ch: string): { total: number; right: number } {
  const x = [...cerForm(truth)];
  const y = [...cerForm(read)];
  const d: Uint32Array[] = [];
  for (let i = 0; i <= x.length; i++) {
    d.push(new Uint32Array(y.length + 1));
    d[i]![0] = i;
  }
  for (let j = 0; j <= y.length; j++) d[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
  }
  let i = x.length;
  let j = y.length;
  let total = 0;
  let right = 0;
  while (i > 0) {
    if (j > 0 && d[i]![j] === d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1)) {
      if (x[i - 1] === ch) {
        total++;
        if (y[j - 1] === ch) right++;
      }
      i--;
      j--;
    } else if (d[i]![j] === d[i - 1]![j]! + 1) {
      if (x[i - 1] === ch) total++;
      i--;
    } else j--;
  }
  return { total, right };
}

/** The substitutions of an alignment of truth and reading, as `truth→read` pairs (for confusion tables). */
export function substitutions(truth: string, read: string): string[] {
  const x = [...cerForm(truth)];
  const y = [...cerForm(read)];
  const d: Uint32Array[] = [];
  for (let i = 0; i <= x.length; i++) {
    d.push(new Uint32Array(y.length + 1));
    d[i]![0] = i;
  }
  for (let j = 0; j <= y.length; j++) d[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
  }
  const out: string[] = [];
  let i = x.length;
  let j = y.length;
  while (i > 0 && j > 0) {
    const same = x[i - 1] === y[j - 1];
    if (d[i]![j] === d[i - 1]![j - 1]! + (same ? 0 : 1)) {
      if (!same) out.push(`${x[i - 1]}→${y[j - 1]}`);
      i--;
      j--;
    } else if (d[i]![j] === d[i - 1]![j]! + 1) i--;
    else j--;
  }
  return out.reverse();
}

// ---------------------------------------------------------------------------------------------------------------
// PDFs written object by object

export interface PdfPageSpec {
  /** Points. Default A4 portrait. */
  width?: number;
  height?: number;
  /** Lines of ASCII text in Helvetica (a real text layer). */
  text?: string[];
  /** A JPEG drawn over the whole page (an image-only, scanned page). */
  jpeg?: { data: Buffer; width: number; height: number };
}

export interface PdfOutlineSpec {
  title: string;
  /** 1-based page. */
  page: number;
  children?: PdfOutlineSpec[];
}

export interface PdfSpec {
  pages: PdfPageSpec[];
  outline?: PdfOutlineSpec[];
  /** A page count declared in the page tree regardless of the pages there (a lie poppler refuses). */
  declaredCount?: number;
  /**
   * The last page repeated until the document has this many pages, all sharing its content (a real 100,000-page
   * PDF in ~9 MB).
   */
  repeatTo?: number;
  /** XMP metadata with pdfaid part/conformance (`2b`). */
  pdfa?: string;
  title?: string;
}

const pdfString = (s: string) => `(${s.replace(/[\\()]/g, '\\$&')})`;
/** A text string in UTF-16BE with BOM, so outline titles can be Chinese. */
const pdfText = (s: string) => {
  const units = [
    0xfeff,
    ...[...s].flatMap((c) => {
      const cp = c.codePointAt(0)!;
      if (cp < 0x10000) return [cp];
      const v = cp - 0x10000;
      return [0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff)];
    }),
  ];
  return `<${units.map((u) => u.toString(16).padStart(4, '0')).join('')}>`;
};

/** Writes a PDF from objects with its cross-reference table; answers the bytes. */
export function buildPdf(spec: PdfSpec): Buffer {
  const objects: (string | Buffer)[] = [];
  const add = (body: string | Buffer) => {
    objects.push(body);
    return objects.length;
  };
  const reserve = () => add('');
  const catalog = reserve();
  const pagesId = reserve();
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const pageIds: number[] = [];
  for (const p of spec.pages) {
    const w = p.width ?? 595;
    const h = p.height ?? 842;
    let content = '';
    let resources = `/Font << /F1 ${font} 0 R >>`;
    if (p.jpeg) {
      const img = add(
        Buffer.concat([
          Buffer.from(
            `<< /Type /XObject /Subtype /Image /Width ${p.jpeg.width} /Height ${p.jpeg.height} ` +
              `/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length ${p.jpeg.data.length} >>\nstream\n`,
          ),
          p.jpeg.data,
          Buffer.from('\nendstream'),
        ]),
      );
      resources += ` /XObject << /Im1 ${img} 0 R >>`;
      content += `q ${w} 0 0 ${h} 0 0 cm /Im1 Do Q\n`;
    }
    if (p.text) {
      content += 'BT /F1 14 Tf 72 ' + (h - 72) + ' Td 18 TL\n';
      for (const line of p.text) content += `${pdfString(line)} Tj T*\n`;
      content += 'ET\n';
    }
    const stream = add(`<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}endstream`);
    pageIds.push(
      add(
        `<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 ${w} ${h}] /Resources << ${resources} >> ` +
          `/Contents ${stream} 0 R >>`,
      ),
    );
  }
  const last = pageIds[pageIds.length - 1];
  if (spec.repeatTo !== undefined && last !== undefined) {
    const copy = (objects[last - 1] as string).trim();
    while (pageIds.length < spec.repeatTo) pageIds.push(add(copy));
  }
  objects[pagesId - 1] =
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${spec.declaredCount ?? pageIds.length} >>`;
  let outlineRef = '';
  if (spec.outline && spec.outline.length > 0) {
    const root = reserve();
    const build = (
      items: PdfOutlineSpec[],
      parent: number,
    ): { first: number; last: number; count: number } => {
      const ids = items.map(() => reserve());
      let count = items.length;
      items.forEach((item, i) => {
        const kids = item.children && item.children.length > 0 ? build(item.children, ids[i]!) : undefined;
        if (kids) count += kids.count;
        const page = pageIds[item.page - 1]!;
        objects[ids[i]! - 1] =
          `<< /Title ${pdfText(item.title)} /Parent ${parent} 0 R /Dest [${page} 0 R /Fit]` +
          (i > 0 ? ` /Prev ${ids[i - 1]} 0 R` : '') +
          (i < ids.length - 1 ? ` /Next ${ids[i + 1]} 0 R` : '') +
          (kids ? ` /First ${kids.first} 0 R /Last ${kids.last} 0 R /Count ${kids.count}` : '') +
          ' >>';
      });
      return { first: ids[0]!, last: ids[ids.length - 1]!, count };
    };
    const top = build(spec.outline, root);
    objects[root - 1] =
      `<< /Type /Outlines /First ${top.first} 0 R /Last ${top.last} 0 R /Count ${top.count} >>`;
    outlineRef = ` /Outlines ${root} 0 R /PageMode /UseOutlines`;
  }
  let metaRef = '';
  if (spec.pdfa) {
    const xmp =
      `<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">` +
      `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" ` +
      `xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="${spec.pdfa[0]}" ` +
      `pdfaid:conformance="${spec.pdfa.slice(1).toUpperCase()}"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
    const meta = add(
      `<< /Type /Metadata /Subtype /XML /Length ${Buffer.byteLength(xmp)} >>\nstream\n${xmp}\nendstream`,
    );
    metaRef = ` /Metadata ${meta} 0 R`;
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesId} 0 R${outlineRef}${metaRef} >>`;
  const info = spec.title ? add(`<< /Title ${pdfText(spec.title)} /Producer (ciku fixtures) >>`) : undefined;

  const chunks: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = chunks[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(offset);
    const b = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`),
      typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
      Buffer.from('\nendobj\n'),
    ]);
    chunks.push(b);
    offset += b.length;
  });
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R${info ? ` /Info ${info} 0 R` : ''} >>\n` +
    `startxref\n${offset}\n%%EOF\n`;
  chunks.push(Buffer.from(xref));
  return Buffer.concat(chunks);
}

/** The page rendered as a greyscale JPEG for an image-only PDF page. */
export async function pageJpeg(png: string): Promise<{ data: Buffer; width: number; height: number }> {
  // One channel for certain (the PDF declares the image DeviceGray; a three-channel JPEG would draw stripes).
  const { data, info } = await sharp(png)
    .toColourspace('b-w')
    .jpeg({ quality: 90 })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** An image-only PDF: each test page a scanned page at its own resolution. */
export async function imageOnlyPdf(file: string, pages: TestPage[]): Promise<string> {
  const specs: PdfPageSpec[] = [];
  for (const p of pages) {
    specs.push({
      width: (p.width / p.dpi) * 72,
      height: (p.height / p.dpi) * 72,
      jpeg: await pageJpeg(p.path),
    });
  }
  await fs.writeFile(file, buildPdf({ pages: specs }));
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// LibreOffice conversions (cached in the caller's folder)

/**
 * Converts `source` into `format` with LibreOffice headless, a fresh profile per call (concurrent calls would
 * lock each other out of a shared one). Answers the converted file; reuses it when already made in `dir`.
 */
export async function convertWithLibreOffice(
  source: string,
  format: string,
  dir: string,
  opts: { infilter?: string } = {},
): Promise<string> {
  const out = path.join(dir, `${path.basename(source, path.extname(source))}.${format}`);
  if (existsSync(out)) return out;
  const profile = await fs.mkdtemp(path.join(dir, '.lo-profile-'));
  try {
    await run(
      'soffice',
      [
        `-env:UserInstallation=${pathToFileURL(profile).href}`,
        '--headless',
        '--norestore',
        ...(opts.infilter ? [`--infilter=${opts.infilter}`] : []),
        '--convert-to',
        format,
        '--outdir',
        dir,
        source,
      ],
      { timeout: 120_000 },
    );
  } finally {
    await fs.rm(profile, { recursive: true, force: true });
  }
  if (!existsSync(out)) throw new Error(`LibreOffice did not convert ${source} to ${format}`);
  return out;
}

/** A phrase and its GB18030 bytes (older Chinese exports are written in GB18030/GBK, not UTF-8). */
export const GB_PHRASE = '景德镇青花瓷器与釉里红，湖田窑。';
const GB_PHRASE_BYTES = 'beb0b5c2d5f2c7e0bba8b4c9c6f7d3ebd3d4c0efbaeca3acbafeccefd2a4a1a30a';

export interface OfficeFixtures {
  /** The phrase each file holds (a search test looks for it). */
  phrases: { docx: string; xlsx: string; odt: string; pptx: string; ods: string; odp: string; rtf: string };
  docx: string;
  odt: string;
  rtf: string;
  xlsx: string;
  ods: string;
  pptx: string;
  odp: string;
  /** Plain text and CSV as written (UTF-8) and a GB18030 copy of the text. */
  txt: string;
  csv: string;
  gbTxt: string;
  /** A three-page PDF with a text layer made by LibreOffice from HTML with page breaks. */
  textPdf: string;
  /** The phrase on each of textPdf's pages. */
  textPdfPhrases: string[];
}

/**
 * Office files made by LibreOffice from text, CSV and HTML written here: DOCX/ODT/RTF from the text, XLSX/ODS from
 * the CSV (two sheets are not possible from CSV: one sheet named after the file), PPTX/ODP from a PDF of the text
 * (LibreOffice's PDF import opens it in Impress), and a 3-page text-layer PDF from HTML with page breaks.
 */
export async function officeFixtures(dir: string, sentences: string[]): Promise<OfficeFixtures> {
  await fs.mkdir(dir, { recursive: true });
  const [s1, s2, s4, s5] = [sentences[0]!, sentences[1]!, sentences[3]!, sentences[4]!];
  const txt = path.join(dir, 'ceramics.txt');
  if (!existsSync(txt)) await fs.writeFile(txt, `${s1}\n${s2}\n`);
  const gbTxt = path.join(dir, 'ceramics-gb18030.txt');
  // Node can decode GB18030 but not encode it: the bytes of GB_PHRASE, encoded once with iconv-lite.
  if (!existsSync(gbTxt)) await fs.writeFile(gbTxt, Buffer.from(GB_PHRASE_BYTES, 'hex'));
  const csv = path.join(dir, 'kilns.csv');
  if (!existsSync(csv))
    await fs.writeFile(csv, `名称,描述\n青花瓷,"${s4.replace(/"/g, '""')}"\n影青,湖田窑\n`);
  const html = path.join(dir, 'pages.html');
  const pagePhrases = [s1, s2, s5];
  if (!existsSync(html)) {
    await fs.writeFile(
      html,
      `<html><head><meta charset="utf-8"></head><body>` +
        pagePhrases
          .map((s, i) => `<p${i > 0 ? ' style="page-break-before: always"' : ''}>${escapeXml(s)}</p>`)
          .join('') +
        `</body></html>`,
    );
  }
  const docx = await convertWithLibreOffice(txt, 'docx', dir);
  const odt = await convertWithLibreOffice(txt, 'odt', dir);
  const rtf = await convertWithLibreOffice(txt, 'rtf', dir);
  const csvFilter = { infilter: 'CSV:44,34,76' };
  const xlsx = await convertWithLibreOffice(csv, 'xlsx', dir, csvFilter);
  const ods = await convertWithLibreOffice(csv, 'ods', dir, csvFilter);
  const textPdf = await convertWithLibreOffice(html, 'pdf', dir, { infilter: 'HTML (StarWriter)' });
  const slidesPdf = await convertWithLibreOffice(txt, 'pdf', dir);
  const pptx = await convertWithLibreOffice(slidesPdf, 'pptx', dir, { infilter: 'impress_pdf_import' });
  const odp = await convertWithLibreOffice(slidesPdf, 'odp', dir, { infilter: 'impress_pdf_import' });
  return {
    phrases: { docx: s1, odt: s1, rtf: s1, xlsx: s4, ods: s4, pptx: s1, odp: s1 },
    docx,
    odt,
    rtf,
    xlsx,
    ods,
    pptx,
    odp,
    txt,
    csv,
    gbTxt,
    textPdf,
    textPdfPhrases: pagePhrases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ZIPs written by hand

export interface ZipEntrySpec {
  name: string;
  data: Buffer;
}

/** A ZIP of stored (uncompressed) entries; `overlap` makes every central record point at the first local file. */
export function buildZip(entries: ZipEntrySpec[], opts: { overlap?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const dosTime = (12 << 11) | (30 << 5); // 12:30:00
  const dosDate = ((2024 - 1980) << 9) | (5 << 5) | 17; // 2024-05-17
  const offsets: number[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = zlib.crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    offsets.push(offset);
    locals.push(local, name, e.data);
    offset += 30 + name.length + e.data.length;
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt16LE(dosTime, 12);
    c.writeUInt16LE(dosDate, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(e.data.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(opts.overlap ? 0 : offsets[offsets.length - 1]!, 42);
    central.push(c, name);
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
