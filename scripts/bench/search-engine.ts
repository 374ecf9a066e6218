/**
 * One engine of `npm run bench:search`, in its own process (so RSS is the engine's): index the documents (JSON
 * lines), measure, run the queries, write top-10 ids and latencies as JSON. Engines: `sqlite` (ours, through the
 * SearchIndex port, with its whole analysis), `minisearch` and `flexsearch` (in memory, given our tokens: the
 * folded bigram view, the same the sqlite engine matches on).
 * Usage: node --expose-gc --import tsx search-engine.ts ENGINE DOCS.jsonl QUERIES.json OUT.json WORKDIR
 */
import { createReadStream, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Index as FlexIndex } from 'flexsearch';
import MiniSearch from 'minisearch';
import type { SearchDocumentT } from '../../schemas/search.ts';
import { analyzer, bigramsOf } from '../../services/search/analyzer.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import type { BenchDoc, BenchQuery } from './search-dataset.ts';

const [engine, docsFile, queriesFile, outFile, workDir] = process.argv.slice(2) as [
  'sqlite' | 'minisearch' | 'flexsearch',
  string,
  string,
  string,
  string,
];
const a = analyzer();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);

async function* readDocs(): AsyncIterable<BenchDoc> {
  const lines = createInterface({ input: createReadStream(docsFile), crlfDelay: Infinity });
  for await (const line of lines) if (line) yield JSON.parse(line) as BenchDoc;
}

/** Our tokens for a peer: fold, then the bigram view (+ Latin words). */
const tokens = (text: string): string[] => a.grams(a.fold(text)).split(' ').filter(Boolean);
/** A peer's query terms: a Han run as its bigrams (a single character alone), Latin words as they are. */
function queryTerms(q: string): string[] {
  const out: string[] = [];
  for (const seg of a.parseQuery(q).segments) {
    for (const run of seg) {
      if (run.type === 'latin') out.push(run.text);
      else out.push(...(Array.from(run.text).length === 1 ? [run.text] : bigramsOf(run.text)));
    }
  }
  return out;
}

interface Engine {
  add(doc: BenchDoc): Promise<void> | void;
  finish(): Promise<void> | void;
  /** Top 10 ids, plus facet counts for filter+facet queries. */
  query(q: BenchQuery): Promise<string[]> | string[];
  size(): number;
}

function sqliteEngine(): Engine {
  const dir = path.join(workDir, 'sqlite');
  const index = createSqliteIndex({ dir });
  let rebuild: Awaited<ReturnType<typeof index.rebuild>> | undefined;
  return {
    async add(d) {
      rebuild ??= await index.rebuild();
      const doc: SearchDocumentT = {
        id: d.id,
        kind: d.kind as SearchDocumentT['kind'],
        version: 'v1',
        title: d.title,
        title_sort: '',
        year: d.year,
        category: d.category,
        province: d.province,
        has_media: false,
        access: { level: 'public' },
        text: { meta: `${d.category}\n${d.province}`, body: d.text, names: '' },
      };
      await rebuild.put(doc, []);
    },
    async finish() {
      await rebuild?.commit();
    },
    async query(q) {
      const res = await index.search({
        q: q.q,
        filters: q.category ? { category: [q.category] } : {},
        facets: q.category ? ['kind', 'category', 'province'] : [],
        sort: 'relevance',
        page: 1,
        limit: 10,
        scope: { all: true },
      });
      return res.hits.map((h) => h.id);
    },
    size() {
      return readdirSync(dir)
        .filter((f) => f.startsWith('index-'))
        .reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
    },
  };
}

interface Stored {
  kind: string;
  category: string;
  province: string;
}

function facetCounts(ids: Iterable<string>, stored: (id: string) => Stored | undefined) {
  const counts = {
    kind: new Map<string, number>(),
    category: new Map<string, number>(),
    province: new Map<string, number>(),
  };
  for (const id of ids) {
    const s = stored(id)!;
    for (const f of ['kind', 'category', 'province'] as const)
      counts[f].set(s[f], (counts[f].get(s[f]) ?? 0) + 1);
  }
  return counts;
}

function miniEngine(): Engine {
  const mini = new MiniSearch<BenchDoc>({
    fields: ['title', 'text', 'meta'],
    storeFields: ['kind', 'category', 'province'],
    extractField: (doc, field) =>
      field === 'meta'
        ? `${doc.category}\n${doc.province}`
        : String((doc as unknown as Record<string, unknown>)[field]),
    tokenize: tokens,
    processTerm: (t) => t,
    searchOptions: {
      tokenize: queryTerms,
      processTerm: (t) => t,
      combineWith: 'AND',
      boost: { title: 10, meta: 4 },
      prefix: (term, _i, terms) => terms.length === 1 && Array.from(term).length === 1,
    },
  });
  let batch: BenchDoc[] = [];
  return {
    add(d) {
      batch.push(d);
      if (batch.length >= 10_000) {
        mini.addAll(batch);
        batch = [];
      }
    },
    finish() {
      mini.addAll(batch);
      batch = [];
    },
    query(q) {
      if (!q.category)
        return mini
          .search(q.q)
          .slice(0, 10)
          .map((r) => String(r.id));
      const results = mini.search(q.q, { filter: (r) => r.category === q.category });
      facetCounts(
        results.map((r) => String(r.id)),
        (id) => mini.getStoredFields(id) as unknown as Stored,
      );
      return results.slice(0, 10).map((r) => String(r.id));
    },
    size: () => 0,
  };
}

/** FlexSearch runs its `encode` on queries too: a query arrives pre-tokenised behind this marker. */
const PRETOKENISED = '\u0001';

function flexEngine(): Engine {
  const encode = (text: string) => (text.startsWith(PRETOKENISED) ? text.slice(1).split(' ') : tokens(text));
  const index = new FlexIndex({ tokenize: 'strict', encode, resolution: 9, context: false });
  const stored = new Map<string, Stored>();
  return {
    add(d) {
      index.add(d.id, `${d.title}\n${d.text}\n${d.category}\n${d.province}`);
      stored.set(d.id, { kind: d.kind, category: d.category, province: d.province });
    },
    finish() {},
    query(q) {
      const terms = PRETOKENISED + queryTerms(q.q).join(' ');
      if (!q.category) return (index.search(terms, { limit: 10 }) as (string | number)[]).map(String);
      const all = (index.search(terms, { limit: 10_000_000 }) as (string | number)[]).map(String);
      const kept = all.filter((id) => stored.get(id)?.category === q.category);
      facetCounts(kept, (id) => stored.get(id));
      return kept.slice(0, 10);
    },
    size: () => 0,
  };
}

const make = { sqlite: sqliteEngine, minisearch: miniEngine, flexsearch: flexEngine }[engine];
const e = make();
gc();
const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().external;
const t0 = performance.now();
let docs = 0;
for await (const d of readDocs()) {
  await e.add(d);
  docs++;
}
await e.finish();
const indexMs = performance.now() - t0;
gc();
const mem = process.memoryUsage();
const inMemory = mem.heapUsed + mem.external - heapBefore;
const rssAfterIndex = mem.rss;

const queries = JSON.parse(readFileSync(queriesFile, 'utf8')) as BenchQuery[];
for (const q of queries.slice(0, 100)) await e.query(q); // warm-up
const results: { top: string[]; ms: number }[] = [];
for (const q of queries) {
  const s = performance.now();
  const top = await e.query(q);
  results.push({ top, ms: performance.now() - s });
}
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage.rss());
writeFileSync(
  outFile,
  JSON.stringify({
    engine,
    docs,
    indexMs,
    docsPerSecond: docs / (indexMs / 1000),
    diskBytes: e.size(),
    inMemoryBytes: engine === 'sqlite' ? 0 : inMemory,
    rssAfterIndex,
    peakRss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    results,
  }),
);
