import { analyzer, bigramsOf, splitPinyin, type ParsedQuery } from './analyzer.ts';

/**
 * Parsed query → an FTS5 MATCH expression. User text never reaches FTS5 as syntax: every token is one of ours
 * (letters, digits or Han characters, produced by the analyzer) and is written inside a double-quoted string, so
 * `"`, `*`, `NEAR(`, `OR`, `-`, `^` and `:` in a query are just characters that were not letters.
 *
 * Meaning: every whitespace-separated part must match (AND). A Han run must occur as written (strict); when that
 * finds nothing anywhere, the engine asks again relaxed, where each of the run's jieba words must occur somewhere
 * (so 景德镇的瓷器历史 still finds records about both). Latin parts match words (a prefix for alphabetic words of
 * three or more letters); when the query has no Han at all, pinyin syllables are tried too.
 */

export interface FtsColumns {
  /** Bigram columns. */
  grams: string[];
  /** jieba word columns (scoring only). */
  words: string[];
  /** The pinyin column, if the table has one. */
  pinyin?: string;
}

function quote(tokens: string[]): string {
  // Tokens hold no quote character (analyzer output); doubling is the FTS5 escape all the same.
  return `"${tokens.join(' ').replaceAll('"', '""')}"`;
}

function cols(names: string[]): string {
  return `{${names.join(' ')}}`;
}

/**
 * A Han run. Strict: the run itself must occur (a bigram phrase — substring semantics, so 处理 finds 待处理 and
 * 涂金水 finds only 涂金水); the run's dictionary words, where the words columns hold them, add to the score only.
 * Relaxed: each jieba word of the run must occur somewhere, and the whole run adds to the score.
 * (FTS5's bm25 scores every phrase of the expression found in a row, whatever the expression's structure: the
 * `X AND (X OR boost…)` form keeps the set of X and ranks by the boosts too.)
 */
function hanRunExpr(run: string, c: FtsColumns, strict: boolean): string {
  const a = analyzer();
  const words = a.queryWords(run);
  const wordExpr = (w: string) =>
    Array.from(w).length === 1
      ? `${cols(c.grams)} : ${quote([w])}*`
      : `${cols(c.grams)} : ${quote(bigramsOf(w))}`;
  const whole = wordExpr(run);
  const boosts =
    c.words.length > 0
      ? words.filter((w) => Array.from(w).length >= 2).map((w) => `${cols(c.words)} : ${quote([w])}`)
      : [];
  if (strict) return boosts.length === 0 ? whole : `(${whole} AND (${[whole, ...boosts].join(' OR ')}))`;
  const all = words.length <= 1 ? whole : `(${words.map(wordExpr).join(' AND ')})`;
  return words.length <= 1
    ? all
    : `(${all} AND (${[whole, ...words.map(wordExpr), ...boosts].join(' OR ')}))`;
}

/** True when relaxing can change anything: some Han run splits into more than one word. */
export function canRelax(parsed: ParsedQuery): boolean {
  const a = analyzer();
  return parsed.segments.some((seg) => seg.some((r) => r.type === 'han' && a.queryWords(r.text).length > 1));
}

function latinExpr(tokens: string[], c: FtsColumns): string {
  const last = tokens[tokens.length - 1]!;
  const prefix = /^\p{L}{3,}$/u.test(last) ? '*' : '';
  return `${cols(c.grams)} : ${quote(tokens)}${prefix}`;
}

function pinyinOf(tokens: string[]): string[] | undefined {
  const syl = tokens.flatMap((t) => splitPinyin(t) ?? [undefined]);
  return syl.includes(undefined) ? undefined : (syl as string[]);
}

/** The MATCH expression, or undefined when the query has no searchable token (then nothing matches). */
export function ftsExpression(
  parsed: ParsedQuery,
  c: FtsColumns,
  options: { strict?: boolean } = {},
): string | undefined {
  const strict = options.strict ?? true;
  const terms: string[] = [];
  const latinTokens: string[] = [];
  for (const seg of parsed.segments) {
    // Consecutive Latin runs in one part (VIII-7, 1.5) form a phrase; Han runs stand alone.
    let latin: string[] = [];
    const flush = () => {
      if (latin.length === 0) return;
      let expr = latinExpr(latin, c);
      const py = parsed.latinOnly && c.pinyin !== undefined ? pinyinOf(latin) : undefined;
      if (py) expr = `(${expr} OR ${c.pinyin} : ${quote(py)})`;
      terms.push(expr);
      latinTokens.push(...latin);
      latin = [];
    };
    for (const run of seg) {
      if (run.type === 'latin') latin.push(run.text);
      else {
        flush();
        terms.push(hanRunExpr(run.text, c, strict));
      }
    }
    flush();
  }
  if (terms.length === 0) return undefined;
  let expr = terms.length === 1 ? terms[0]! : terms.join(' AND ');
  // A Latin-only query also scores (and matches) as one pinyin phrase: "Tu Jinshui" → "tu jin shui".
  if (parsed.latinOnly && c.pinyin !== undefined && latinTokens.length > 1) {
    const whole = pinyinOf([latinTokens.join('')]);
    if (whole) expr = `(${expr}) OR ${c.pinyin} : ${quote(whole)}`;
  }
  return expr;
}
