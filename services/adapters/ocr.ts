import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { CikuError } from '../errors.ts';
import { runTool, stderrTail } from './tool-process.ts';

/**
 * OCR with the Tesseract 5 CLI (Debian `tesseract-ocr` + the chi_sim / chi_tra / _vert / eng models), after a
 * preprocessing pass with sharp that gives the LSTM models the page they read best: greyscale and normalised,
 * straightened (a scan's small skew, estimated from projection profiles), scaled so characters are the height the
 * models were trained on, and read with the vertical models when the page's columns say so. hOCR boxes are mapped
 * back to the pixels of the image passed in. Implements OcrEngine (workers/document-ports.ts) structurally.
 *
 * sharp is imported here as well as in image.ts (see .dependency-cruiser.js): this preprocessing is OCR's, not an
 * image derivative.
 */

export interface OcrRecognition {
  text: string;
  hocr: string;
  confidence: number;
  width: number;
  height: number;
  languages: string;
  vertical: boolean;
}

export interface OcrPreprocessing {
  /** Estimate and undo a skew of up to ±maxSkewDegrees. Default true. */
  deskew: boolean;
  /** Scale so characters are about `targetCharHeight` pixels. Default true. */
  scale: boolean;
  /** Post-correct confusions inside ceramics terms (资器→瓷器) with the dictionary given. Default true when given. */
  correct: boolean;
}

export interface TesseractOcrOptions {
  /** The tesseract binary. Default `tesseract`. */
  tesseract?: string;
  /** Largest input decoded, in pixels. Default 100 megapixels. */
  maxPixels?: number;
  /** Budget of one tesseract run. Default 180 s. */
  timeoutMs?: number;
  tmpDir?: string;
  preprocess?: Partial<OcrPreprocessing>;
  /** Character height the preprocessing scales to, in pixels. */
  targetCharHeight?: number;
  /** Terms (ceramics vocabulary) whose one-character OCR confusions are corrected. */
  terms?: readonly string[];
  /** A Tesseract user-words file passed with `--user-words` (measured: see the README). */
  userWords?: string;
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const DEFAULT_TIMEOUT_MS = 180_000;
/** Measured on the test pages (test/adapters/ocr.test.ts): CJK glyphs of ~40 px read best with chi_sim. */
const DEFAULT_CHAR_HEIGHT = 40;
const MAX_SKEW_DEGREES = 5;
/** The analysis copy's long side: enough for line structure, cheap to scan in JavaScript. */
const ANALYSIS_SIDE = 1200;
/** Upscaling beyond this only magnifies noise; downscaling below it loses strokes. */
const MAX_SCALE = 4;
const MIN_SCALE = 0.5;

/** Item `language` (BCP 47) → Tesseract models. Traditional script for Taiwan, Hong Kong, Macau and `Hant`. */
export function ocrLanguagesFor(language: unknown): string[] {
  const tag = typeof language === 'string' ? language.trim().toLowerCase().replace(/_/g, '-') : '';
  if (tag === 'en' || tag.startsWith('en-')) return ['eng'];
  if (/^(zh|cmn|yue|lzh)(-|$)/.test(tag)) {
    if (/-hant\b|-(tw|hk|mo)\b/.test(tag) || tag.startsWith('yue') || tag.startsWith('lzh')) {
      return ['chi_tra', 'eng'];
    }
    return ['chi_sim', 'eng'];
  }
  return ['chi_sim', 'eng'];
}

/** The analysis copy: greyscale, dark text as 1, downscaled. */
interface Binary {
  width: number;
  height: number;
  /** 1 for ink. */
  ink: Uint8Array;
  /** original pixels per analysis pixel */
  factor: number;
}

async function analysisCopy(img: Sharp, width: number, height: number): Promise<Binary> {
  const factor = Math.max(1, Math.max(width, height) / ANALYSIS_SIDE);
  const w = Math.max(1, Math.round(width / factor));
  const h = Math.max(1, Math.round(height / factor));
  const { data } = await img
    .clone()
    .greyscale()
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Otsu's threshold: the page's own ink/paper split, whatever its contrast.
  const hist = new Float64Array(256);
  for (const v of data) hist[v]! += 1;
  const total = data.length;
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * hist[i]!;
  let sumB = 0;
  let wB = 0;
  let best = 0;
  let threshold = 128;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const between = wB * wF * (sumB / wB - (sum - sumB) / wF) ** 2;
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  const ink = new Uint8Array(total);
  let inkCount = 0;
  for (let i = 0; i < total; i++) {
    if (data[i]! <= threshold) {
      ink[i] = 1;
      inkCount++;
    }
  }
  // Light text on a dark ground: ink is the minority.
  if (inkCount > total / 2) for (let i = 0; i < total; i++) ink[i] = 1 - ink[i]!;
  return { width: w, height: h, ink, factor };
}

/** Variance of the row profile of the ink sheared by `deg` (small-angle rotation): peaks when lines are level. */
function profileVariance(b: Binary, xs: Int32Array, ys: Int32Array, deg: number): number {
  const t = Math.tan((deg * Math.PI) / 180);
  const offset = Math.ceil(Math.abs(t) * b.width);
  const bins = new Float64Array(b.height + 2 * offset + 1);
  for (let i = 0; i < xs.length; i++) {
    const r = Math.round(ys[i]! - xs[i]! * t) + offset;
    bins[r]! += 1;
  }
  let s = 0;
  let s2 = 0;
  for (const v of bins) {
    s += v;
    s2 += v * v;
  }
  const n = bins.length;
  return s2 / n - (s / n) ** 2;
}

function inkPoints(b: Binary, transpose: boolean): { xs: Int32Array; ys: Int32Array } {
  let n = 0;
  for (const v of b.ink) n += v;
  const xs = new Int32Array(n);
  const ys = new Int32Array(n);
  let k = 0;
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      if (b.ink[y * b.width + x]) {
        xs[k] = transpose ? y : x;
        ys[k] = transpose ? x : y;
        k++;
      }
    }
  }
  return { xs, ys };
}

/**
 * The skew, in degrees clockwise, that levels the lines (rows for horizontal text, columns for vertical): the
 * angle whose sheared profile has the most variance, searched coarse then fine.
 */
export function estimateSkew(b: Binary, vertical: boolean): number {
  const { xs, ys } = inkPoints(b, vertical);
  if (xs.length < 100) return 0;
  const search = (from: number, to: number, step: number) => {
    let bestAngle = 0;
    let best = -1;
    for (let a = from; a <= to + 1e-9; a += step) {
      const v = profileVariance(vertical ? { ...b, width: b.height, height: b.width } : b, xs, ys, a);
      if (v > best) {
        best = v;
        bestAngle = a;
      }
    }
    return bestAngle;
  };
  const coarse = search(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES, 0.5);
  const fine = search(coarse - 0.5, coarse + 0.5, 0.1);
  // Shearing rows by +a levels text that slopes down to the right, i.e. rotated clockwise by a: undo with -a.
  // For columns (transposed) the sense is mirrored.
  return Math.round((vertical ? fine : -fine) * 100) / 100;
}

/** Runs of ink rows (or columns): their median length is the text's line height (or column width). */
function medianRun(profile: Float64Array, minInk: number): number | undefined {
  const runs: number[] = [];
  let run = 0;
  for (const v of profile) {
    if (v > minInk) run++;
    else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  const real = runs.filter((r) => r >= 3).sort((a, b) => a - b);
  return real.length === 0 ? undefined : real[Math.floor(real.length / 2)];
}

interface Layout {
  vertical: boolean;
  /** Character size (line height for horizontal text, column width for vertical) in original pixels. */
  charSize: number | undefined;
}

/**
 * Horizontal or vertical text, from which direction has the clearer gaps: between lines of horizontal text whole
 * rows are blank, between columns of vertical text whole columns are. CJK glyphs sit in a square grid, so both
 * directions have some gaps; line spacing is wider than the tracking between glyphs, which decides.
 */
export function analyseLayout(b: Binary): Layout {
  const rows = new Float64Array(b.height);
  const cols = new Float64Array(b.width);
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      if (b.ink[y * b.width + x]) {
        rows[y]! += 1;
        cols[x]! += 1;
      }
    }
  }
  /** Share of blank lines among those between the first and the last inked one. */
  const blankShare = (p: Float64Array) => {
    let first = p.findIndex((v) => v > 0);
    let last = p.length - 1;
    while (last > 0 && p[last] === 0) last--;
    if (first < 0) first = 0;
    let blank = 0;
    for (let i = first; i <= last; i++) if (p[i]! <= 0) blank++;
    return blank / Math.max(1, last - first + 1);
  };
  const vertical = blankShare(cols) > blankShare(rows) * 1.5;
  const run = medianRun(vertical ? cols : rows, 0);
  return { vertical, charSize: run === undefined ? undefined : run * b.factor };
}

/** How the preprocessed image relates to the original: rotate by `angle` (clockwise, canvas grown), then scale. */
interface Transform {
  angle: number;
  width: number;
  height: number;
  /** the rotated canvas */
  rotatedWidth: number;
  rotatedHeight: number;
  sx: number;
  sy: number;
}

/** A point of the preprocessed image → the original image's pixels. */
function toOriginal(t: Transform, x: number, y: number): [number, number] {
  const rx = x / t.sx - t.rotatedWidth / 2;
  const ry = y / t.sy - t.rotatedHeight / 2;
  const a = (t.angle * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  // Inverse of a clockwise rotation in y-down image coordinates.
  return [rx * c + ry * s + t.width / 2, -rx * s + ry * c + t.height / 2];
}

/** Every `bbox x0 y0 x1 y1` of the hOCR mapped back (the box around the four corners), clamped to the image. */
export function mapHocrBoxes(hocr: string, t: Transform): string {
  const clampX = (v: number) => Math.min(t.width, Math.max(0, Math.round(v)));
  const clampY = (v: number) => Math.min(t.height, Math.max(0, Math.round(v)));
  return hocr.replace(/bbox (\d+) (\d+) (\d+) (\d+)/g, (_, a: string, b: string, c: string, d: string) => {
    const [x0, y0, x1, y1] = [a, b, c, d].map(Number) as [number, number, number, number];
    const corners = [
      toOriginal(t, x0, y0),
      toOriginal(t, x1, y0),
      toOriginal(t, x0, y1),
      toOriginal(t, x1, y1),
    ];
    const xs = corners.map((p) => p[0]);
    const ys = corners.map((p) => p[1]);
    return `bbox ${clampX(Math.min(...xs))} ${clampY(Math.min(...ys))} ${clampX(Math.max(...xs))} ${clampY(Math.max(...ys))}`;
  });
}

/** Mean of the words' `x_wconf`. */
export function meanConfidence(hocr: string): number {
  const confs = [...hocr.matchAll(/x_wconf (\d+)/g)].map((m) => Number(m[1]));
  if (confs.length === 0) return 0;
  return Math.round((confs.reduce((a, b) => a + b, 0) / confs.length) * 10) / 10;
}

const CJK = '\\u3000-\\u303f\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef';
const betweenCjk = new RegExp(`(?<=[${CJK}])[ \\t]+(?=[${CJK}])`, 'g');

/** Tesseract's plain text: the spaces it puts between CJK glyphs dropped, blank lines collapsed. */
export function tidyText(txt: string): string {
  return txt
    .replace(/\f/g, '')
    .replace(betweenCjk, '')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * One-character OCR confusions inside the dictionary's terms: a run of the text that differs from a term of 2+
 * characters in exactly one position, whose other characters match, is replaced by the term. Only characters the
 * confusion table says are confused (资→瓷, 轴→釉 …) are replaced, so a real different word is left alone.
 */
export function createTermCorrector(terms: readonly string[], confusions: Record<string, string>) {
  const byLength = new Map<number, Map<string, string>>();
  // Keyed by the term with its one confusable position masked: `青花?` → 青花瓷.
  for (const term of new Set(terms)) {
    const chars = [...term];
    if (chars.length < 2) continue;
    for (let i = 0; i < chars.length; i++) {
      if (!Object.values(confusions).includes(chars[i]!)) continue;
      const key = chars.map((c, j) => (j === i ? '?' : c)).join('');
      let m = byLength.get(chars.length);
      if (!m) byLength.set(chars.length, (m = new Map<string, string>()));
      if (!m.has(key)) m.set(key, term);
    }
  }
  const lengths = [...byLength.keys()].sort((a, b) => b - a);
  return (text: string): string => {
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const meant = confusions[chars[i]!];
      if (meant === undefined) continue;
      // The confusable character at i: try every term window covering i.
      let fixed = false;
      for (const n of lengths) {
        const m = byLength.get(n)!;
        for (let start = Math.max(0, i - n + 1); start <= i && start + n <= chars.length && !fixed; start++) {
          const key = chars
            .slice(start, start + n)
            .map((c, j) => (start + j === i ? '?' : c))
            .join('');
          const term = m.get(key);
          if (term !== undefined && [...term][i - start] === meant) {
            chars[i] = meant;
            fixed = true;
          }
        }
        if (fixed) break;
      }
    }
    return chars.join('');
  };
}

/** Confusions Tesseract's chi_sim/chi_tra make on these glyphs (seen on the test pages): read → meant. */
export const ceramicsConfusions: Record<string, string> = {
  资: '瓷',
  姿: '瓷',
  盗: '瓷',
  轴: '釉',
  柚: '釉',
  袖: '釉',
  抽: '釉',
  密: '窑',
  窟: '窑',
  害: '窑',
};

export function createTesseractOcr(opts: TesseractOcrOptions = {}) {
  const bin = opts.tesseract ?? 'tesseract';
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tmpRoot = opts.tmpDir ?? os.tmpdir();
  const target = opts.targetCharHeight ?? DEFAULT_CHAR_HEIGHT;
  const pre: OcrPreprocessing = {
    deskew: opts.preprocess?.deskew ?? true,
    scale: opts.preprocess?.scale ?? true,
    correct: opts.preprocess?.correct ?? (opts.terms !== undefined && opts.terms.length > 0),
  };
  const correct = pre.correct && opts.terms ? createTermCorrector(opts.terms, ceramicsConfusions) : undefined;

  /** Decides rotation, scale and direction from the analysis copy, and writes the page tesseract reads. */
  async function prepare(
    file: string,
    out: string,
    vertical: boolean | 'auto',
    dpi: number | undefined,
  ): Promise<{ transform: Transform; vertical: boolean }> {
    const img = sharp(file, { limitInputPixels: maxPixels, page: 0, pages: 1 });
    const meta = await img.metadata();
    const width = meta.autoOrient?.width ?? meta.width;
    const height = meta.autoOrient?.height ?? meta.height;
    if (!width || !height) throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'the page image has no size');
    const base = img.clone().autoOrient().greyscale();
    const b = await analysisCopy(base, width, height);
    const layout = analyseLayout(b);
    const isVertical = vertical === 'auto' ? layout.vertical : vertical;
    const angle = pre.deskew ? estimateSkew(b, isVertical) : 0;
    let scale = 1;
    if (pre.scale) {
      if (layout.charSize !== undefined && layout.charSize > 4) scale = target / layout.charSize;
      else if (dpi !== undefined && dpi > 0) scale = 300 / dpi;
      scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
      // Within 15 %: the resampling would cost more than it gives.
      if (Math.abs(scale - 1) < 0.15) scale = 1;
    }
    const rotated = Math.abs(angle) >= 0.1;
    const a = (angle * Math.PI) / 180;
    const rotatedWidth = rotated
      ? Math.round(width * Math.abs(Math.cos(a)) + height * Math.abs(Math.sin(a)))
      : width;
    const rotatedHeight = rotated
      ? Math.round(width * Math.abs(Math.sin(a)) + height * Math.abs(Math.cos(a)))
      : height;
    let pipeline = base.clone();
    if (rotated) {
      // Rotated in its own pass, so the scale below applies to the rotated canvas whose size we know exactly.
      const r = await base
        .clone()
        .rotate(angle, { background: { r: 255, g: 255, b: 255 } })
        .raw()
        .toBuffer({ resolveWithObject: true });
      pipeline = sharp(r.data, {
        raw: { width: r.info.width, height: r.info.height, channels: r.info.channels },
      });
    }
    const outWidth = Math.max(1, Math.round(rotatedWidth * scale));
    const outHeight = Math.max(1, Math.round(rotatedHeight * scale));
    if (outWidth * outHeight > maxPixels) {
      throw new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        `the page scaled for OCR would exceed ${maxPixels} pixels`,
      );
    }
    if (scale !== 1) pipeline = pipeline.resize(outWidth, outHeight, { fit: 'fill', kernel: 'lanczos3' });
    await pipeline.normalise().greyscale().png({ compressionLevel: 1 }).toFile(out);
    return {
      vertical: isVertical,
      transform: {
        angle: rotated ? angle : 0,
        width,
        height,
        rotatedWidth,
        rotatedHeight,
        sx: outWidth / rotatedWidth,
        sy: outHeight / rotatedHeight,
      },
    };
  }

  return {
    async recognise(o: {
      path: string;
      languages: readonly string[];
      vertical?: boolean | 'auto';
      dpi?: number;
      signal?: AbortSignal;
    }): Promise<OcrRecognition> {
      if (o.signal?.aborted)
        throw new CikuError('CIKU_ERR_UNAVAILABLE', 'OCR was not started: shutting down');
      const dir = await fs.mkdtemp(path.join(tmpRoot, 'ciku-ocr-'));
      try {
        const input = path.join(dir, 'page.png');
        let prepared;
        try {
          prepared = await prepare(o.path, input, o.vertical ?? 'auto', o.dpi);
        } catch (err) {
          if (err instanceof CikuError) throw err;
          const msg = (err as Error).message ?? String(err);
          throw new CikuError(
            /pixel limit/i.test(msg) ? 'CIKU_ERR_MEDIA_TOO_LARGE' : 'CIKU_ERR_MEDIA_UNREADABLE',
            `the page image could not be read for OCR: ${msg}`.slice(0, 1000),
            { cause: err },
          );
        }
        const { vertical, transform } = prepared;
        const langs = vertical
          ? o.languages
              .filter((l) => l.startsWith('chi_'))
              .map((l) => (l.endsWith('_vert') ? l : `${l}_vert`))
          : [...o.languages];
        const languages = (langs.length > 0 ? langs : [...o.languages]).join('+');
        const outBase = path.join(dir, 'out');
        const run = await runTool(
          bin,
          [
            input,
            outBase,
            '-l',
            languages,
            // 5: one block of vertical text; 3 (automatic) reads horizontal pages, columns and all.
            '--psm',
            vertical ? '5' : '3',
            ...(opts.userWords ? ['--user-words', opts.userWords] : []),
            '-c',
            'preserve_interword_spaces=1',
            'hocr',
            'txt',
          ],
          {
            timeoutMs,
            signal: o.signal,
            what: 'tesseract',
            // One thread per tesseract: the worker runs pages in parallel on its cores instead.
            env: { ...process.env, OMP_THREAD_LIMIT: '1' },
          },
        );
        if (run.code !== 0) {
          throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', `tesseract failed: ${stderrTail(run.stderr)}`);
        }
        const [hocrRaw, txt] = await Promise.all([
          fs.readFile(`${outBase}.hocr`, 'utf8'),
          fs.readFile(`${outBase}.txt`, 'utf8'),
        ]);
        const tidy = tidyText(txt);
        return {
          text: correct ? correct(tidy) : tidy,
          // The temporary file's name is no business of the reader's.
          hocr: mapHocrBoxes(hocrRaw, transform).replace(/image "[^"]*"/, 'image "page"'),
          confidence: meanConfidence(hocrRaw),
          width: transform.width,
          height: transform.height,
          languages,
          vertical,
        };
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type TesseractOcr = ReturnType<typeof createTesseractOcr>;
