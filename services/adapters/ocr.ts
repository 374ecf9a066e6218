import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp, { type Sharp } from 'sharp';
import { CikuError } from '../errors.ts';
import { runTool, stderrTail } from './tool-process.ts';

/**
 * OCR with the Tesseract 5 CLI (Debian `tesseract-ocr` + the chi_sim / chi_tra / _vert / eng models), after a
 * preprocessing pass with sharp that gives the LSTM models the page they read best: greyscale (sharp's normalise
 * is off by default: measured, the stretched contrast made chi_sim+eng read Chinese lines as Latin), straightened (a scan's small skew, estimated from projection profiles), scaled so characters are the height the
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
  /** Stretch the grey levels to the full range (sharp's normalise). */
  normalise: boolean;
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
  /** Largest enlargement of a page with small characters (default MAX_SCALE). */
  maxScale?: number;
  /** Terms (ceramics vocabulary) whose one-character OCR confusions are corrected. */
  terms?: readonly string[];
  /**
   * A Tesseract user-words file passed with `--user-words`. Off by default: measured with the ceramics terms, it
   * changed nothing on held-out pages once the post-correction runs (CER 0.124× bare either way); the LSTM models
   * largely ignore it.
   */
  userWords?: string;
  /** Told each page's time in preprocessing and in tesseract (the bench reports them apart). */
  onTiming?: (t: { preprocessMs: number; tesseractMs: number }) => void;
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const DEFAULT_TIMEOUT_MS = 180_000;
/**
 * Measured on the tuning pages (bench:documents): glyph height 35 px read best (CER 0.05 clean/rotated beside 0.07
 * at 30 and 45 px, 0.15+ at 50–60 px on 150-dpi pages).
 */
const DEFAULT_CHAR_HEIGHT = 35;
const MAX_SKEW_DEGREES = 5;
/** The analysis copy's long side: enough for line structure, cheap to scan in JavaScript. */
const ANALYSIS_SIDE = 1200;
/**
 * Pages are never enlarged: measured on the tuning pages, enlarging 150-dpi pages (glyphs of 21–27 px) to 35 px
 * raised their CER from 0.046 to 0.05–0.15, while shrinking 300-dpi glyphs of 43–56 px to 35 px lowered it.
 */
const MAX_SCALE = 1;
/** Columns must be this much more clearly separated than rows to read a page as vertical (measured). */
const VERTICAL_MARGIN = 1.5;
const MIN_SCALE = 0.5;

/**
 * Which models read a page. Chinese models read Latin letters and digits too; adding `eng` beside them makes
 * Tesseract read whole Chinese lines as English garbage on some pages (measured: 2 of 15 clean and low-resolution
 * test pages, CER 0.5 instead of 0.1). So a page asked for Chinese + other languages is read with the Chinese
 * models first, and with the whole list only when that reading is mostly Latin (then the more confident wins).
 * Vertical pages take the `_vert` models of the Chinese languages.
 */
export function languagePlan(
  languages: readonly string[],
  vertical: boolean,
): { first: string; fallback?: string } {
  const chinese = languages.filter((l) => l.startsWith('chi_'));
  if (vertical && chinese.length > 0) {
    return { first: chinese.map((l) => (l.endsWith('_vert') ? l : `${l}_vert`)).join('+') };
  }
  if (chinese.length > 0 && chinese.length < languages.length) {
    return { first: chinese.join('+'), fallback: languages.join('+') };
  }
  return { first: languages.join('+') };
}

/** Share of ASCII letters among the non-space characters read. */
export function latinShare(text: string): number {
  const chars = text.replace(/\s+/g, '');
  if (chars.length === 0) return 0;
  return (chars.match(/[A-Za-z]/g)?.length ?? 0) / chars.length;
}

/** A page read with the Chinese models alone that is more Latin than this is read again with the whole list. */
const LATIN_PAGE_SHARE = 0.5;

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

/** The skew search's answer: the angle that levels the lines and how peaked the profile is there. */
interface SkewFit {
  /** Degrees clockwise to turn the page by so its lines are level. */
  angle: number;
  /** Squared coefficient of variation of the levelled profile: high when lines and gaps alternate cleanly. */
  peakiness: number;
}

/**
 * The skew of the lines (rows for horizontal text, columns for vertical): the angle whose sheared profile has the
 * most variance, searched coarse (0.5°) then fine (0.1°) within ±MAX_SKEW_DEGREES.
 */
export function fitSkew(b: Binary, vertical: boolean): SkewFit {
  const { xs, ys } = inkPoints(b, vertical);
  if (xs.length < 100) return { angle: 0, peakiness: 0 };
  const frame = vertical ? { ...b, width: b.height, height: b.width } : b;
  let best = { angle: 0, variance: -1 };
  const search = (from: number, to: number, step: number) => {
    for (let a = from; a <= to + 1e-9; a += step) {
      const v = profileVariance(frame, xs, ys, a);
      if (v > best.variance) best = { angle: a, variance: v };
    }
  };
  search(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES, 0.5);
  search(best.angle - 0.4, best.angle + 0.4, 0.1);
  const mean = xs.length / frame.height;
  // Shearing rows by +a levels text that slopes down to the right (turned clockwise by a): undo with -a. For
  // columns (transposed axes) the sense is mirrored.
  const angle = Math.round((vertical ? best.angle : -best.angle) * 100) / 100;
  return { angle: Object.is(angle, -0) ? 0 : angle, peakiness: best.variance / (mean * mean) };
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
  /** Degrees clockwise that level the page's lines. */
  angle: number;
  /** Character size (line height for horizontal text, column width for vertical) in original pixels. */
  charSize: number | undefined;
  /** The peakiness of the row and column profiles, levelled (what decided `vertical`). */
  rows: number;
  columns: number;
}

/** Ink per row (or column) of the analysis copy turned by `angle` (small-angle shear, as the skew search). */
function levelledProfile(b: Binary, vertical: boolean, angle: number): Float64Array {
  const { xs, ys } = inkPoints(b, vertical);
  const n = vertical ? b.width : b.height;
  const t = Math.tan(((vertical ? angle : -angle) * Math.PI) / 180);
  const p = new Float64Array(n);
  for (let i = 0; i < xs.length; i++) {
    const r = Math.round(ys[i]! - xs[i]! * t);
    if (r >= 0 && r < n) p[r]! += 1;
  }
  return p;
}

/**
 * Horizontal or vertical text, and the skew: the direction whose levelled profile alternates more cleanly between
 * ink and gaps. CJK glyphs sit in a square grid, so both directions have gaps; line spacing is wider than the
 * tracking between glyphs, which decides. Leveling first matters: a page turned by 2° has no blank row at all.
 */
export function analyseLayout(b: Binary, vertical: boolean | 'auto', deskew: boolean): Layout {
  const rows = fitSkew(b, false);
  const columns = vertical === false ? { angle: 0, peakiness: 0 } : fitSkew(b, true);
  const isVertical = vertical === 'auto' ? columns.peakiness > rows.peakiness * VERTICAL_MARGIN : vertical;
  const fit = isVertical ? columns : rows;
  const angle = deskew ? fit.angle : 0;
  const run = medianRun(levelledProfile(b, isVertical, fit.angle), 0);
  return {
    vertical: isVertical,
    angle,
    charSize: run === undefined ? undefined : run * b.factor,
    rows: rows.peakiness,
    columns: columns.peakiness,
  };
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
 * What Tesseract's chi_sim / chi_tra models read instead of the glyphs the archive cares most about (瓷 釉 窑/窯),
 * collected on tuning pages drawn from the first part of the corpus (the tests read pages from another part):
 * read → the characters it may stand for.
 */
export const ceramicsConfusions: Record<string, readonly string[]> = {
  资: ['瓷'],
  次: ['瓷'],
  姿: ['瓷'],
  盗: ['瓷'],
  窗: ['窑'],
  密: ['窑'],
  窖: ['窑'],
  窒: ['窑'],
  害: ['窑'],
  审: ['窑'],
  守: ['窑', '窯'],
  寨: ['窯'],
  寒: ['窯'],
  察: ['窯'],
  罕: ['窯'],
  寡: ['窯'],
  穴: ['窯'],
  窟: ['窑', '窯'],
  轴: ['釉'],
  柚: ['釉'],
  袖: ['釉'],
  抽: ['釉'],
  独: ['釉'],
  笨: ['釉'],
  箱: ['釉'],
};

/**
 * Confusions corrected wherever they stand in simplified text, unless the character is part of one of the words
 * listed: in a ceramics archive 窗 is far likelier a misread 窑 than a window, 资 a misread 瓷. Characters that are
 * common on their own (次, 密, 守) are corrected inside terms only.
 */
export const ceramicsPriors: Record<string, { meant: string; unless: readonly string[] }> = {
  窗: {
    meant: '窑',
    unless: [
      '窗户',
      '窗口',
      '窗花',
      '窗帘',
      '窗棂',
      '窗棱',
      '门窗',
      '天窗',
      '橱窗',
      '纱窗',
      '窗台',
      '同窗',
      '窗外',
      '窗前',
      '窗格',
      '花窗',
      '开窗',
      '气窗',
      '视窗',
      '窗框',
      '窗洞',
      '窗扇',
      '窗纸',
      '寒窗',
      '车窗',
      '舷窗',
      '窗饰',
      '东窗',
      '西窗',
      '南窗',
      '北窗',
      '铁窗',
      '窗下',
      '窗边',
    ],
  },
  资: {
    meant: '瓷',
    unless: [
      '资料',
      '资金',
      '投资',
      '资源',
      '资助',
      '工资',
      '物资',
      '资格',
      '资深',
      '资讯',
      '资本',
      '资产',
      '资质',
      '资历',
      '出资',
      '融资',
      '集资',
      '外资',
      '合资',
      '独资',
      '资方',
      '资费',
      '资信',
      '师资',
      '天资',
      '薪资',
      '资政',
      '资治',
      '资阳',
      '资中',
      '资兴',
      '资溪',
      '斥资',
      '耗资',
      '巨资',
      '筹资',
      '劳资',
      '资财',
      '资鉴',
      '谈资',
      '川资',
      '军资',
      '邮资',
      '资遣',
      '资送',
      '资敌',
      '游资',
      '注资',
      '增资',
      '资费',
      '资望',
      '资证',
      '资阳',
    ],
  },
  窖: {
    meant: '窑',
    unless: ['窖藏', '地窖', '酒窖', '冰窖', '菜窖', '窖穴', '窖池', '窖泥', '窖酒', '窖坑'],
  },
  窒: { meant: '窑', unless: ['窒息', '窒碍', '窒闷'] },
};

export interface OcrCorrector {
  /** `simplified`: the priors apply too (they are written for simplified text). */
  (text: string, script: 'simplified' | 'traditional'): string;
}

/**
 * Post-correction of OCR text for the archive's vocabulary. (1) Terms: a run of the text that differs from a
 * term of 2+ characters in exactly one position, where the text has a known confusion of the term's character
 * (`资器` for 瓷器), becomes the term; the longest term wins. (2) Priors (simplified text): 窗 → 窑, 资 → 瓷 … unless
 * the character belongs to a listed everyday word. Everything else is left as read.
 */
export function createOcrCorrector(
  terms: readonly string[],
  confusions: Record<string, readonly string[]> = ceramicsConfusions,
  priors: Record<string, { meant: string; unless: readonly string[] }> = ceramicsPriors,
): OcrCorrector {
  const meantChars = new Set(Object.values(confusions).flat());
  // Terms keyed by their text with the confusable position masked: `青花?` → 青花瓷.
  const byLength = new Map<number, Map<string, string>>();
  for (const term of new Set(terms)) {
    const chars = [...term];
    if (chars.length < 2) continue;
    chars.forEach((c, i) => {
      if (!meantChars.has(c)) return;
      const key = chars.map((x, j) => (j === i ? '?' : x)).join('');
      let m = byLength.get(chars.length);
      if (!m) byLength.set(chars.length, (m = new Map<string, string>()));
      if (!m.has(key)) m.set(key, term);
    });
  }
  const lengths = [...byLength.keys()].sort((a, b) => b - a);
  const fromTerm = (chars: string[], i: number, options: readonly string[]): string | undefined => {
    for (const n of lengths) {
      const m = byLength.get(n)!;
      for (let start = Math.max(0, i - n + 1); start <= i && start + n <= chars.length; start++) {
        let key = '';
        for (let j = start; j < start + n; j++) key += j === i ? '?' : chars[j];
        const term = m.get(key);
        const meant = term === undefined ? undefined : [...term][i - start];
        if (meant !== undefined && options.includes(meant)) return meant;
      }
    }
    return undefined;
  };
  const inWord = (chars: string[], i: number, words: readonly string[]): boolean =>
    words.some((w) => {
      const wc = [...w];
      return wc.some((c, k) => c === chars[i] && wc.every((x, j) => chars[i - k + j] === x));
    });
  return (text, script) => {
    const chars = [...text];
    const read = [...chars];
    for (let i = 0; i < chars.length; i++) {
      const options = confusions[read[i]!];
      if (options === undefined) continue;
      const meant = fromTerm(read, i, options);
      if (meant !== undefined) {
        chars[i] = meant;
        continue;
      }
      const prior = script === 'simplified' ? priors[read[i]!] : undefined;
      if (prior && !inWord(read, i, prior.unless)) chars[i] = prior.meant;
    }
    return chars.join('');
  };
}

/** The layout analysis alone (direction, skew, character size) of an image file: what recognise decides from. */
export async function detectLayout(
  file: string,
  opts: { vertical?: boolean | 'auto'; deskew?: boolean; maxPixels?: number } = {},
): Promise<Layout> {
  const img = sharp(file, { limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS, page: 0, pages: 1 });
  const meta = await img.metadata();
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'the page image has no size');
  const b = await analysisCopy(img.clone().autoOrient().greyscale(), width, height);
  return analyseLayout(b, opts.vertical ?? 'auto', opts.deskew ?? true);
}

export function createTesseractOcr(opts: TesseractOcrOptions = {}) {
  const bin = opts.tesseract ?? 'tesseract';
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tmpRoot = opts.tmpDir ?? os.tmpdir();
  const target = opts.targetCharHeight ?? DEFAULT_CHAR_HEIGHT;
  const pre: OcrPreprocessing = {
    deskew: opts.preprocess?.deskew ?? true,
    scale: opts.preprocess?.scale ?? true,
    normalise: opts.preprocess?.normalise ?? false,
    correct: opts.preprocess?.correct ?? (opts.terms !== undefined && opts.terms.length > 0),
  };
  const correct = pre.correct && opts.terms ? createOcrCorrector(opts.terms) : undefined;

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
    const layout = analyseLayout(b, vertical, pre.deskew);
    const isVertical = layout.vertical;
    const angle = layout.angle;
    let scale = 1;
    if (pre.scale) {
      if (layout.charSize !== undefined && layout.charSize > 4) scale = target / layout.charSize;
      // No lines found to measure: a scan above 300 dpi is brought down to it.
      else if (dpi !== undefined && dpi > 300) scale = 300 / dpi;
      scale = Math.min(opts.maxScale ?? MAX_SCALE, Math.max(MIN_SCALE, scale));
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
    if (pre.normalise) pipeline = pipeline.normalise();
    await pipeline.greyscale().png({ compressionLevel: 1 }).toFile(out);
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
        const started = performance.now();
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
        const preparedAt = performance.now();
        const plan = languagePlan(o.languages, vertical);
        const tesseract = async (languages: string, tag: string) => {
          const outBase = path.join(dir, tag);
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
          const [hocr, txt] = await Promise.all([
            fs.readFile(`${outBase}.hocr`, 'utf8'),
            fs.readFile(`${outBase}.txt`, 'utf8'),
          ]);
          return { languages, hocr, txt, confidence: meanConfidence(hocr) };
        };
        let read = await tesseract(plan.first, 'first');
        if (plan.fallback !== undefined && latinShare(read.txt) > LATIN_PAGE_SHARE) {
          const other = await tesseract(plan.fallback, 'fallback');
          if (other.confidence > read.confidence) read = other;
        }
        const { hocr: hocrRaw, txt, languages } = read;
        opts.onTiming?.({ preprocessMs: preparedAt - started, tesseractMs: performance.now() - preparedAt });
        const tidy = tidyText(txt);
        return {
          text: correct ? correct(tidy, /chi_tra/.test(languages) ? 'traditional' : 'simplified') : tidy,
          // The temporary file's name is no business of the reader's.
          hocr: mapHocrBoxes(hocrRaw, transform).replace(/image "[^"]*"/, 'image "page"'),
          confidence: read.confidence,
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
