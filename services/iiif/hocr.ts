import { analyzer } from '../search/analyzer.ts';

/**
 * OCR words with their boxes, read from Tesseract's hOCR (the `hocr` derivative, one file per page), and where a
 * query's words are among them. Pure: the route reads the file, this finds the boxes.
 *
 * A query word is rarely one hOCR word: Tesseract cuts Chinese into runs of its own (青花 | 瓷片), and a match may
 * start inside one. So the words of each line are joined (folded, as the index folds them: 鎮 finds 镇) and the
 * needles are found in the line's text; a match's box is the union of the boxes of the words it touches.
 */

export interface HocrWord {
  text: string;
  /** x0, y0, x1, y1 in the page render's pixels. */
  bbox: [number, number, number, number];
}

export interface HocrPage {
  /** The page's own box (`ocr_page` bbox): the pixel space of the words. */
  width?: number;
  height?: number;
  lines: HocrWord[][];
}

/** A match of the query on an OCR line: the line's text (as read), the matched range in it, the box. */
export interface HocrMatch {
  line: string;
  /** [start, end) in UTF-16 offsets of `line`. */
  mark: [number, number];
  box: { x: number; y: number; w: number; h: number };
}

/** Line-level classes Tesseract 5 writes (a heading or caption is a line of its own class). */
const LINE_CLASSES = new Set(['ocr_line', 'ocr_header', 'ocr_caption', 'ocr_textfloat']);
const ELEMENT =
  /<(div|span|p)\s[^>]*?class=(['"])(ocr_page|ocr_line|ocr_header|ocr_caption|ocr_textfloat|ocrx_word)\2[^>]*>/g;
const BBOX = /\bbbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)/;
const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(ENTITY, (_m, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return NAMED[lower] ?? '';
  });
}

function titleOf(tag: string): string {
  return /\btitle=(['"])(.*?)\1/.exec(tag)?.[2] ?? '';
}

function bboxOf(title: string): [number, number, number, number] | undefined {
  const m = BBOX.exec(title);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : undefined;
}

/** The words of a page, line by line (words outside any line form a line of their own). */
export function parseHocr(html: string): HocrPage {
  const page: HocrPage = { lines: [] };
  let line: HocrWord[] | undefined;
  for (const m of html.matchAll(ELEMENT)) {
    const cls = m[3]!;
    const box = bboxOf(decode(titleOf(m[0])));
    if (cls === 'ocr_page') {
      if (box) {
        page.width = box[2] - box[0];
        page.height = box[3] - box[1];
      }
      continue;
    }
    if (LINE_CLASSES.has(cls)) {
      line = [];
      page.lines.push(line);
      continue;
    }
    // A word: its text up to its closing tag (Tesseract nests only <strong>/<em> inside a word).
    const start = m.index + m[0].length;
    const end = html.indexOf('</span>', start);
    if (end < 0 || !box) continue;
    const text = decode(html.slice(start, end).replace(/<[^>]*>/g, '')).trim();
    if (text === '') continue;
    if (!line) {
      line = [];
      page.lines.push(line);
    }
    line.push({ text, bbox: box });
  }
  return { ...page, lines: page.lines.filter((l) => l.length > 0) };
}

const HAN_EDGE = /\p{Script=Han}/u;

/**
 * Where `needles` (folded query words, longest first: the engine's highlight needles) are on the page: each match
 * once (a longer needle wins over the words inside it), in reading order.
 */
export function findInHocr(page: HocrPage, needles: string[]): HocrMatch[] {
  const a = analyzer();
  const wanted = needles.filter((n) => n !== '' && !n.includes(' '));
  const out: HocrMatch[] = [];
  for (const words of page.lines) {
    // The line as read and folded, with for every folded UTF-16 unit the word it came from (-1: a joining space).
    let line = '';
    let folded = '';
    const owner: number[] = [];
    const at: number[] = [];
    words.forEach((w, i) => {
      const prev = words[i - 1]?.text;
      if (prev !== undefined && !(HAN_EDGE.test(prev.at(-1) ?? '') || HAN_EDGE.test(w.text[0] ?? ''))) {
        line += ' ';
        folded += ' ';
        owner.push(-1);
        at.push(line.length - 1);
      }
      const chars = Array.from(w.text);
      const foldedChars = a.foldChars(w.text);
      chars.forEach((ch, k) => {
        const f = foldedChars[k] ?? ch;
        for (let u = 0; u < f.length; u++) {
          owner.push(i);
          at.push(line.length);
        }
        folded += f;
        line += ch;
      });
    });
    const taken = new Uint8Array(folded.length);
    const found: { from: number; to: number }[] = [];
    for (const needle of wanted) {
      for (let from = folded.indexOf(needle); from >= 0; from = folded.indexOf(needle, from + 1)) {
        const to = from + needle.length;
        if (taken.subarray(from, to).some((x) => x === 1)) continue;
        taken.fill(1, from, to);
        found.push({ from, to });
      }
    }
    found.sort((x, y) => x.from - y.from);
    for (const { from, to } of found) {
      const touched = new Set(owner.slice(from, to).filter((o) => o >= 0));
      const boxes = [...touched].map((i) => words[i]!.bbox);
      if (boxes.length === 0) continue;
      const x0 = Math.min(...boxes.map((b) => b[0]));
      const y0 = Math.min(...boxes.map((b) => b[1]));
      const x1 = Math.max(...boxes.map((b) => b[2]));
      const y1 = Math.max(...boxes.map((b) => b[3]));
      const start = at[from]!;
      const lastChar = at[to - 1]!;
      const end = lastChar + (/[\ud800-\udbff]/.test(line[lastChar]!) ? 2 : 1);
      out.push({ line, mark: [start, end], box: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } });
    }
  }
  return out;
}

/** A box from the hOCR's pixel space onto a canvas of another size (rounded outwards, kept inside the canvas). */
export function scaleBox(
  box: HocrMatch['box'],
  from: { width: number; height: number },
  to: { width: number; height: number },
): HocrMatch['box'] {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  const x = Math.max(0, Math.floor(box.x * sx));
  const y = Math.max(0, Math.floor(box.y * sy));
  const x1 = Math.min(to.width, Math.ceil((box.x + box.w) * sx));
  const y1 = Math.min(to.height, Math.ceil((box.y + box.h) * sy));
  return { x, y, w: Math.max(1, x1 - x), h: Math.max(1, y1 - y) };
}
