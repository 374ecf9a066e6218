import { analyzer, bigramsOf, splitPinyin, type ParsedQuery } from './analyzer.ts';

/**
 * Parsed query → an FTS5 MATCH expression. User text never reaches FTS5 as syntax: every token is one of ours
 * (letters, digits or Han characters, produced by the analyzer) and is written inside a double-quoted string, so
 * `"`, `*`, `NEAR(`, `OR`, `-`, `^` and `:` in a query are just characters that were not letters.
 *
 * Meaning: every whitespace-separated part must match (AND). A Han run matches when each of its jieba words does
 * (a word of two or more characters as its bigram phrase, a single character as a token prefix), and the whole
 * run as a phrase plus the words as dictionary words add to the score. Latin parts match words (a prefix for
 * alphabetic words of three or more letters); when the query has no Han at all, pinyin syllables are tried too.
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

function hanRunExpr(run: string, c: FtsColumns): string {
  const a = analyzer();
  const words = a.queryWords(run);
  const parts = words.map((w) => {
    const chars = Array.from(w);
    if (chars.length === 1) return `${cols(c.grams)} : ${quote([w])}*`;
    const grams = `${cols(c.grams)} : ${quote(bigramsOf(w))}`;
    return c.words.length > 0 ? `(${grams} OR ${cols(c.words)} : ${quote([w])})` : grams;
  });
  const all = parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
  if (words.length <= 1 || Array.from(run).length < 2) return all;
  return `(${all} OR ${cols(c.grams)} : ${quote(bigramsOf(run))})`;
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
export function ftsExpression(parsed: ParsedQuery, c: FtsColumns): string | undefined {
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
        terms.push(hanRunExpr(run.text, c));
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
