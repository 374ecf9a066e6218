import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Jieba as JiebaClass } from '@node-rs/jieba';
import { loadCompacted } from '../memory.ts';
import { projectFile } from '../project-file.ts';

/**
 * The analysis libraries are loaded on first use, not at import: a process that never analyses text (an API
 * server that only streams uploads) does not carry jieba, OpenCC and pinyin-pro (~40 MiB of RSS together).
 */
const load = createRequire(import.meta.url);
/** The one pinyin-pro call we make: toneless syllables as an array. */
type PinyinArray = (
  text: string,
  options: { toneType: 'none'; type: 'array'; v: boolean; multiple?: false },
) => string[];
let pinyinFn: PinyinArray | undefined;
function pinyin(...args: Parameters<PinyinArray>): string[] {
  pinyinFn ??= (load('pinyin-pro') as { pinyin: PinyinArray }).pinyin;
  return pinyinFn(...args);
}

/**
 * Chinese-first text analysis, shared by the embedded engine (its whole analysis) and by Meilisearch (companion
 * fields). Every string goes through `fold` first — NFKC (full-width → half-width, ligatures, Ⅷ → VIII), lower
 * case, traditional → simplified (OpenCC `t` → `cn`, phrase-aware: 乾隆 stays 乾隆) — on the way in and on the way
 * out, so 景德鎮, ＶＩＩＩ－７ and viii-7 meet their records.
 *
 * Then three views of the folded text:
 * - `grams`: Han runs as overlapping bigrams plus the run's last character on its own (so every substring of two
 *   or more characters is a phrase of consecutive bigrams, and every single character is a prefix of some token),
 *   other letters and digits as words. This is what guarantees recall: 处理 finds 待处理.
 * - `words`: jieba's search-mode words (with the project's ceramics / ICH dictionary): used for ranking, so a
 *   whole-word hit outranks a bigram coincidence.
 * - `pinyin`: toneless syllables of Han text, one token each, used only for Latin queries (jingdezhen → jing de
 *   zhen), never for Chinese ones (so 景点 does not match 经典).
 */

const HAN = /\p{Script=Han}/u;
/** A run of Han characters, or a run of other letters/digits (marks included for scripts that need them). */
const RUNS = /(\p{Script=Han}+)|((?:(?!\p{Script=Han})[\p{L}\p{N}\p{M}])+)/gu;
/** Whitespace and control characters (NUL included) separate query parts. */
const SEGMENT_SPLIT = /[\s\p{Cc}]+/u;

export interface QueryRun {
  type: 'han' | 'latin';
  text: string;
}

/** A parsed query: whitespace-separated segments, each a list of runs (empty when the query has no words). */
export interface ParsedQuery {
  segments: QueryRun[][];
  /** True when the query has no Han characters at all: then pinyin is also tried. */
  latinOnly: boolean;
}

export const MAX_QUERY_SEGMENTS = 32;

let shared: Analyzer | undefined;

/** The process-wide analyzer (the dictionaries are read once; jieba and OpenCC are pure functions after that). */
export function analyzer(): Analyzer {
  shared ??= loadCompacted(() => createAnalyzer());
  return shared;
}

export type Analyzer = ReturnType<typeof createAnalyzer>;

export function createAnalyzer(options: { userDict?: string } = {}) {
  const { Jieba } = load('@node-rs/jieba') as { Jieba: typeof JiebaClass };
  // The dictionary file is read here and dropped once jieba has built its own structures: the package's
  // `@node-rs/jieba/dict` module would keep it, and the TF-IDF table we never use, in memory for the life of the
  // process (11 MiB).
  const jieba = Jieba.withDict(readFileSync(load.resolve('@node-rs/jieba/dict.txt')));
  // opencc-js ships types that do not resolve under NodeNext (extension-less imports): the one call we use. Its
  // traditional → mainland bundle only: the full one also carries the other direction's dictionaries.
  const { Converter } = load('opencc-js/t2cn') as {
    Converter: (options: { from: string; to: string }) => (text: string) => string;
  };
  const userDict = options.userDict ?? projectFile(import.meta.url, 'storage-config/jieba/user-dict.txt');
  jieba.loadDict(readFileSync(userDict));
  const t2s = Converter({ from: 't', to: 'cn' });

  function fold(text: string): string {
    return t2s(wellFormed(text).normalize('NFKC').toLowerCase());
  }

  /**
   * The folded form of each code point of `text` (for mapping highlights back). The whole text is folded at once
   * (fast, and OpenCC sees phrases); only when that changes the number of code points is it done one by one.
   */
  function foldChars(text: string): string[] {
    const chars = Array.from(wellFormed(text));
    const whole = Array.from(fold(text));
    if (whole.length === chars.length) return whole;
    return chars.map((ch) => t2s(ch.normalize('NFKC').toLowerCase()));
  }

  function grams(folded: string): string {
    const out: string[] = [];
    for (const m of folded.matchAll(RUNS)) {
      if (m[1] !== undefined) pushBigrams(Array.from(m[1]), out);
      else out.push(m[2]!);
    }
    return out.join(' ');
  }

  function words(folded: string): string {
    const out: string[] = [];
    for (const w of jieba.cutForSearch(folded, true)) {
      // Only words that say something: Han words of two or more characters (single characters and Latin words
      // are already exact tokens in `grams`).
      if (w.length >= 2 && HAN.test(w) && !/[^\p{Script=Han}]/u.test(w)) out.push(w);
    }
    return out.join(' ');
  }

  /** Toneless pinyin, one syllable per Han character; Latin words kept as they are. */
  function toPinyin(text: string): string {
    const folded = fold(text);
    const out: string[] = [];
    for (const m of folded.matchAll(RUNS)) {
      if (m[1] !== undefined) out.push(...pinyin(m[1], { toneType: 'none', type: 'array', v: true }));
      else out.push(m[2]!);
    }
    return out.join(' ');
  }

  function parseQuery(q: string): ParsedQuery {
    const folded = fold(q);
    const segments: QueryRun[][] = [];
    for (const seg of folded.split(SEGMENT_SPLIT)) {
      const runs: QueryRun[] = [];
      for (const m of seg.matchAll(RUNS)) {
        runs.push(m[1] !== undefined ? { type: 'han', text: m[1] } : { type: 'latin', text: m[2]! });
      }
      if (runs.length > 0) segments.push(runs);
    }
    return { segments, latinOnly: !segments.some((s) => s.some((r) => r.type === 'han')) };
  }

  /**
   * A title as ranking compares it with a query: folded, then only its runs of letters, digits and Han characters,
   * one space between (punctuation and spacing are not what makes 《景德鎮手工製瓷技藝》 a different title from the
   * query 景德镇手工制瓷技艺). A query's key is `queryKey` of its parse: the same runs.
   */
  function titleKey(title: string): string {
    return Array.from(fold(title).matchAll(RUNS), (m) => m[0]).join(' ');
  }

  /** jieba's words for a Han run of a query (plain mode: no overlapping sub-words). */
  function queryWords(run: string): string[] {
    return jieba.cut(run, true).filter((w) => HAN.test(w));
  }

  return { fold, foldChars, grams, words, pinyin: toPinyin, parseQuery, queryWords, titleKey, bigramsOf };
}

/** The query as a title key (see `titleKey`): its runs in order, one space between; '' when it has no words. */
export function queryKey(parsed: ParsedQuery): string {
  return parsed.segments.map((seg) => seg.map((r) => r.text).join(' ')).join(' ');
}

/** Lone surrogates (invalid UTF-16) become U+FFFD rather than reaching a tokenizer. */
export function wellFormed(text: string): string {
  return text.replace(/\p{Cs}/gu, '\uFFFD');
}

function pushBigrams(chars: string[], out: string[]): void {
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  out.push(chars[chars.length - 1]!);
}

/** The bigram phrase a Han string (≥ 2 characters) is indexed as: "景德镇" → ["景德", "德镇"]. */
export function bigramsOf(han: string): string[] {
  const chars = Array.from(han);
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

let syllables: Set<string> | undefined;

/** Every toneless pinyin syllable, taken from pinyin-pro's own readings of the CJK Unified Ideographs block. */
function pinyinSyllables(): Set<string> {
  if (syllables) return syllables;
  let block = '';
  for (let c = 0x4e00; c <= 0x9fff; c++) block += String.fromCodePoint(c);
  syllables = new Set(
    pinyin(block, { toneType: 'none', type: 'array', v: true, multiple: false }).filter((s) =>
      /^[a-z]+$/.test(s),
    ),
  );
  return syllables;
}

/**
 * Splits Latin letters into pinyin syllables ("jingdezhen" → ["jing", "de", "zhen"]) with the fewest syllables,
 * or undefined when the letters are not pinyin ("kiln").
 */
export function splitPinyin(letters: string): string[] | undefined {
  if (!/^[a-z]+$/.test(letters) || letters.length > 60) return undefined;
  const set = pinyinSyllables();
  const n = letters.length;
  const best: (string[] | undefined)[] = new Array<string[] | undefined>(n + 1);
  best[0] = [];
  for (let i = 1; i <= n; i++) {
    for (let len = Math.min(6, i); len >= 1; len--) {
      const prev = best[i - len];
      const syl = letters.slice(i - len, i);
      if (
        prev !== undefined &&
        set.has(syl) &&
        (best[i] === undefined || prev.length + 1 < best[i]!.length)
      ) {
        best[i] = [...prev, syl];
      }
    }
  }
  return best[n];
}
