import { analyzer, splitPinyin, wellFormed, type ParsedQuery } from './analyzer.ts';

/**
 * Highlights for hits, computed from the stored text (engines index folded tokens, not display text): each
 * needle (a query word, a whole Han run, a Latin word) is found in the folded text, and the match is mapped back
 * to the original characters, so 景德鎮 in a record is marked for the query 景德镇. Output is HTML-escaped with
 * `<mark>` around matches.
 */

/**
 * A pinyin needle is its syllables joined by a space ("jing de zhen"): no other needle holds a space (queries are
 * split on whitespace), so the two kinds share one list. It marks the Han characters that read so (景德镇).
 */
const isPinyinNeedle = (needle: string): boolean => needle.includes(' ');

export function needlesOf(parsed: ParsedQuery): string[] {
  const a = analyzer();
  const out = new Set<string>();
  for (const seg of parsed.segments) {
    for (const run of seg) {
      out.add(run.text);
      if (run.type === 'han') for (const w of a.queryWords(run.text)) out.add(w);
      // A Latin-only query also matched the pinyin of titles and names: mark the characters it matched.
      if (run.type === 'latin' && parsed.latinOnly) {
        const syllables = splitPinyin(run.text);
        if (syllables !== undefined && syllables.length > 1) out.add(syllables.join(' '));
      }
    }
  }
  // Longest first, so a whole run wins over its words where both match.
  return [...out].filter((n) => n.length > 0).sort((x, y) => y.length - x.length);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Marked ranges [start, end) in code points of `text`. */
function matches(text: string, needles: string[]): { chars: string[]; ranges: [number, number][] } {
  const chars = Array.from(wellFormed(text));
  const folded = analyzer().foldChars(text);
  // Folded string plus, for every UTF-16 offset in it, the code point of the original it came from.
  let joined = '';
  const owner: number[] = [];
  folded.forEach((f, i) => {
    joined += f;
    for (let k = 0; k < f.length; k++) owner.push(i);
  });
  const marked = new Uint8Array(chars.length);
  let readings: string[] | undefined;
  for (const needle of needles) {
    if (isPinyinNeedle(needle)) {
      readings ??= chars.map(readingOf);
      markPinyin(readings, needle.split(' '), marked);
      continue;
    }
    let from = 0;
    for (;;) {
      const at = joined.indexOf(needle, from);
      if (at < 0) break;
      const first = owner[at]!;
      const last = owner[at + needle.length - 1]!;
      for (let i = first; i <= last; i++) marked[i] = 1;
      from = at + needle.length;
    }
  }
  const ranges: [number, number][] = [];
  for (let i = 0; i < chars.length; i++) {
    if (!marked[i]) continue;
    let j = i;
    while (j < chars.length && marked[j]) j++;
    ranges.push([i, j]);
    i = j;
  }
  return { chars, ranges };
}

/** Toneless pinyin of one character ('' for anything but Han), remembered: a title's characters repeat a lot. */
const readings = new Map<string, string>();
function readingOf(ch: string): string {
  let r = readings.get(ch);
  if (r === undefined) {
    r = /\p{Script=Han}/u.test(ch) ? analyzer().pinyin(ch) : '';
    if (readings.size < 50_000) readings.set(ch, r);
  }
  return r;
}

/** Marks each run of characters whose readings are `syllables`, in order. */
function markPinyin(readingsOfText: string[], syllables: string[], marked: Uint8Array): void {
  const n = syllables.length;
  for (let i = 0; i + n <= readingsOfText.length; i++) {
    let k = 0;
    while (k < n && readingsOfText[i + k] === syllables[k]) k++;
    if (k === n) {
      marked.fill(1, i, i + n);
      i += n - 1;
    }
  }
}

function render(chars: string[], ranges: [number, number][], from: number, to: number): string {
  let out = '';
  let at = from;
  for (const [s, e] of ranges) {
    if (e <= from || s >= to) continue;
    const a = Math.max(s, from);
    const b = Math.min(e, to);
    out +=
      escapeHtml(chars.slice(at, a).join('')) + '<mark>' + escapeHtml(chars.slice(a, b).join('')) + '</mark>';
    at = b;
  }
  return out + escapeHtml(chars.slice(at, to).join(''));
}

/** The whole text, marked (titles, segments). */
export function markAll(text: string, needles: string[]): string {
  const { chars, ranges } = matches(text, needles);
  return render(chars, ranges, 0, chars.length);
}

/**
 * A window of about `width` characters around the first match in the first text that has one (or the start of
 * the first non-empty text), with `…` where it was cut.
 */
export function snippet(texts: string[], needles: string[], width = 120): string | undefined {
  const a = analyzer();
  let fallback: string | undefined;
  for (const text of texts) {
    if (text === '') continue;
    // Find the first match on the folded text (one OpenCC pass), then mark only the window around it.
    const folded = a.fold(text);
    let first = -1;
    for (const n of needles) {
      const at = isPinyinNeedle(n) ? pinyinAt(text, n) : folded.indexOf(n);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first < 0) {
      if (fallback === undefined) {
        const head = Array.from(text.slice(0, width * 2)).slice(0, width);
        fallback = escapeHtml(head.join('')) + (Array.from(text).length > width ? '…' : '');
      }
      continue;
    }
    if (folded.length !== text.length) {
      // Folding changed lengths (NFKC expansions): map character by character over the whole text.
      const { chars, ranges } = matches(text, needles);
      const start = ranges[0]?.[0] ?? 0;
      const from = Math.max(0, start - Math.floor(width / 3));
      const to = Math.min(chars.length, from + width);
      return (from > 0 ? '…' : '') + render(chars, ranges, from, to) + (to < chars.length ? '…' : '');
    }
    let from = Math.max(0, first - Math.floor(width / 3));
    let to = Math.min(text.length, from + width);
    // Never cut a surrogate pair.
    if (from > 0 && /[\udc00-\udfff]/.test(text[from]!)) from--;
    if (to < text.length && /[\udc00-\udfff]/.test(text[to]!)) to++;
    return (from > 0 ? '…' : '') + markAll(text.slice(from, to), needles) + (to < text.length ? '…' : '');
  }
  return fallback;
}

/** Where (UTF-16 offset) a pinyin needle first matches in the head of `text` (long texts are not read whole). */
function pinyinAt(text: string, needle: string): number {
  const head = text.slice(0, PINYIN_SNIPPET_SCAN);
  const { chars, ranges } = matches(head, [needle]);
  const first = ranges[0]?.[0];
  return first === undefined ? -1 : chars.slice(0, first).join('').length;
}

/** How far into a long text a pinyin query's snippet is looked for. */
const PINYIN_SNIPPET_SCAN = 4000;

/** A hit's text highlight: from the long text first, else from the short fields (shown as `a · b · c`). */
export function docSnippet(text: { body: string; meta: string }, needles: string[]): string | undefined {
  return snippet([text.body, text.meta.replaceAll('\n', ' · ')], needles);
}
