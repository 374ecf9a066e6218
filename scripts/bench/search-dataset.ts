import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { corpusItems } from '../corpus/ich-corpus.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { analyzer } from '../../services/search/analyzer.ts';

/**
 * Benchmark documents and queries for `npm run bench:search`, made once per size and kept as JSON lines in the
 * bench folder. `corpus`: the national ICH lists as they are (7,605 records). `synthetic`: N catalogue-record-sized
 * documents derived from the corpus (~200 characters each: a title built from a corpus name and a qualifier, and
 * sentences from two or three different corpus texts, so no two documents are copies), with facet fields.
 */

export interface BenchDoc {
  id: string;
  kind: string;
  title: string;
  text: string;
  category: string;
  province: string;
  year: number;
}

export type QueryClass = 'char' | 'word' | 'phrase' | 'filter+facets';
export interface BenchQuery {
  q: string;
  cls: QueryClass;
  category?: string;
}

/** A seeded generator (mulberry32): the same documents and queries in every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A metadata field as text ('' when absent or not a string). */
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

function fromItem(item: ItemView): BenchDoc {
  const m = item.metadata;
  return {
    id: item.id,
    kind: item.kind,
    title: String(m.title),
    text: text(m.description) || text(m.biography),
    category: text(m.category),
    province: text(m.province),
    year: Number(m.date ?? 2000),
  };
}

const KINDS = ['archive_document', 'collection_object', 'inheritor', 'ich_project', 'oral_history', 'media'];
const QUALIFIERS = [
  '档案',
  '调查记录',
  '照片',
  '口述',
  '藏品登记',
  '保护规划',
  '普查表',
  '传习记录',
  '展览资料',
];

export async function writeDataset(dir: string, set: 'corpus' | 'synthetic', n: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, set === 'corpus' ? 'docs-corpus.jsonl' : `docs-synthetic-${n}.jsonl`);
  if (existsSync(file)) return file;
  const items = corpusItems();
  const out = createWriteStream(`${file}.tmp`);
  const write = async (doc: BenchDoc) => {
    if (!out.write(`${JSON.stringify(doc)}\n`)) await once(out, 'drain');
  };
  if (set === 'corpus') {
    for (const it of items) await write(fromItem(it));
  } else {
    const random = rng(8493);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const sentences = items.flatMap((it) =>
      (text(it.metadata.description) || text(it.metadata.biography))
        .split(/(?<=[。！？；])/u)
        .map((s) => s.trim())
        .filter((s) => s.length >= 12 && s.length <= 160),
    );
    const names = items.map((it) => String(it.metadata.title));
    const categories = [...new Set(items.map((it) => text(it.metadata.category)))].filter(Boolean);
    const provinces = [...new Set(items.map((it) => text(it.metadata.province)))].filter(Boolean);
    for (let i = 0; i < n; i++) {
      let text = '';
      const target = 150 + Math.floor(random() * 100);
      while (text.length < target) text += pick(sentences);
      await write({
        id: `syn-${i}`,
        kind: pick(KINDS),
        title: `${pick(names)}${pick(QUALIFIERS)}${1 + Math.floor(random() * 999)}号`,
        text: text.slice(0, target + 20),
        category: pick(categories),
        province: pick(provinces),
        year: 1950 + Math.floor(random() * 76),
      });
    }
  }
  out.end();
  await once(out, 'finish');
  renameSync(`${file}.tmp`, file);
  return file;
}

/** 1,000 queries in four classes of 250, drawn from the documents themselves. */
export function makeQueries(docs: BenchDoc[], count = 1000): BenchQuery[] {
  const random = rng(20261129);
  const a = analyzer();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const han = (s: string) => Array.from(s).filter((c) => /\p{Script=Han}/u.test(c));
  const out: BenchQuery[] = [];
  while (out.length < count) {
    const doc = pick(docs);
    const cls: QueryClass = (['char', 'word', 'phrase', 'filter+facets'] as const)[out.length % 4]!;
    const chars = han(doc.text);
    if (chars.length < 8) continue;
    if (cls === 'char') out.push({ q: pick(chars), cls });
    else if (cls === 'phrase') {
      const len = 3 + Math.floor(random() * 4);
      const text = Array.from(doc.text);
      const at = Math.floor(random() * Math.max(1, text.length - len));
      const q = text.slice(at, at + len).join('');
      if (han(q).length === len) out.push({ q, cls });
    } else {
      const words = a.queryWords(doc.text).filter((w) => Array.from(w).length >= 2);
      if (words.length === 0) continue;
      out.push(cls === 'word' ? { q: pick(words), cls } : { q: pick(words), cls, category: doc.category });
    }
  }
  return out;
}
