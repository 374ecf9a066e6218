/**
 * npm run bench:search — our SQLite engine beside two in-memory peers (MiniSearch, FlexSearch) given the same
 * documents and the same Chinese tokens, in one run, each engine in its own process.
 *
 * Sets: `corpus` (the national ICH lists, 7,605 records) and `synthetic` (--docs N, default 1,000,000,
 * catalogue-record-sized documents derived from the corpus; see search-dataset.ts). Per engine: indexing docs/s,
 * index size (on disk for sqlite; heap growth for the in-memory peers), RSS after indexing and peak, query latency
 * p50/p95/p99 over a fixed mix of 1,000 queries (250 each: single characters, words, phrases, words + a category
 * filter + three facet counts), and recall@10 against a brute-force scan: for each query, the share of the top 10
 * that really contain the query text (folded) and pass the filter, out of min(10, number of such documents).
 * Goals (issue 5): recall ≥ every peer; p95 ≤ 2 × the fastest peer's; peak RSS ≤ 0.5 × the smallest peer's.
 * Options: --docs N (1000000) --sets corpus,synthetic --engines sqlite,minisearch,flexsearch
 *          --dir DIR (os tmp/ciku-bench-search) --out FILE (bench-results/search.json) --heap-mb N (20000)
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { corpusAvailable } from '../corpus/ich-corpus.ts';
import { analyzer } from '../../services/search/analyzer.ts';
import {
  makeQueries,
  writeDataset,
  type BenchDoc,
  type BenchQuery,
  type QueryClass,
} from './search-dataset.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '1000000' },
    sets: { type: 'string', default: 'corpus,synthetic' },
    engines: { type: 'string', default: 'sqlite,minisearch,flexsearch' },
    dir: { type: 'string', default: path.join(os.tmpdir(), 'ciku-bench-search') },
    out: { type: 'string', default: 'bench-results/search.json' },
    'heap-mb': { type: 'string', default: '20000' },
  },
});

if (!corpusAvailable()) {
  console.error(
    'bench:search skipped: ../shared/corpus is missing (the corpus is read from ../shared, never copied)',
  );
  process.exit(0);
}

interface EngineRun {
  engine: string;
  docs: number;
  indexMs: number;
  docsPerSecond: number;
  diskBytes: number;
  inMemoryBytes: number;
  rssAfterIndex: number;
  peakRss: number;
  maxRss: number;
  results: { top: string[]; ms: number }[];
}

async function loadDocs(file: string): Promise<BenchDoc[]> {
  const out: BenchDoc[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line) out.push(JSON.parse(line) as BenchDoc);
  return out;
}

function runEngine(engine: string, docsFile: string, queriesFile: string, work: string): Promise<EngineRun> {
  const outFile = path.join(work, `${engine}.json`);
  rmSync(path.join(work, engine), { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        `--max-old-space-size=${args['heap-mb']}`,
        '--import',
        'tsx',
        path.join(import.meta.dirname, 'search-engine.ts'),
        engine,
        docsFile,
        queriesFile,
        outFile,
        work,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: '2' } },
    );
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(JSON.parse(readFileSync(outFile, 'utf8')) as EngineRun);
      else reject(new Error(`${engine} exited with ${code ?? signal}`));
    });
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mib = (b: number) => b / 1024 / 1024;

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  host: os.hostname(),
  cpus: os.cpus().length,
};
const a = analyzer();
for (const set of args.sets.split(',') as ('corpus' | 'synthetic')[]) {
  const n = Number(args.docs);
  console.error(`[${set}] preparing documents…`);
  const docsFile = await writeDataset(args.dir, set, n);
  const docs = await loadDocs(docsFile);
  const queries = makeQueries(docs);
  const queriesFile = path.join(args.dir, `queries-${set}-${docs.length}.json`);
  writeFileSync(queriesFile, JSON.stringify(queries));

  // Brute force: folded text per document; how many documents are relevant (capped at 10) per query.
  console.error(`[${set}] ${docs.length} documents; brute-force truth for ${queries.length} queries…`);
  const folded = docs.map((d) => a.fold(`${d.title}\n${d.text}\n${d.category}\n${d.province}`));
  const byId = new Map(docs.map((d, i) => [d.id, i] as const));
  const relevant = (i: number, q: BenchQuery, fq: string) =>
    folded[i]!.includes(fq) && (q.category === undefined || docs[i]!.category === q.category);
  const want = queries.map((q) => {
    const fq = a.fold(q.q);
    let count = 0;
    for (let i = 0; i < docs.length && count < 10; i++) if (relevant(i, q, fq)) count++;
    return count;
  });

  const runs: Record<string, Record<string, unknown>> = {};
  for (const engine of args.engines.split(',')) {
    console.error(`[${set}] ${engine}: indexing ${docs.length} documents…`);
    let run: EngineRun;
    try {
      run = await runEngine(engine, docsFile, queriesFile, path.join(args.dir, `work-${set}`));
    } catch (err) {
      runs[engine] = { error: (err as Error).message };
      console.error(`[${set}] ${engine} failed: ${(err as Error).message}`);
      continue;
    }
    const recalls = run.results.map((r, k) => {
      if (want[k] === 0) return 1;
      const fq = a.fold(queries[k]!.q);
      const hits = r.top.filter((id) => relevant(byId.get(id)!, queries[k]!, fq)).length;
      return Math.min(hits, want[k]!) / want[k]!;
    });
    const latency = (filter: (q: BenchQuery) => boolean) => {
      const ms = run.results.filter((_r, k) => filter(queries[k]!)).map((r) => r.ms);
      return { p50: pct(ms, 50), p95: pct(ms, 95), p99: pct(ms, 99) };
    };
    const byClass = Object.fromEntries(
      (['char', 'word', 'phrase', 'filter+facets'] as QueryClass[]).map((c) => [
        c,
        {
          ...latency((q) => q.cls === c),
          recall: recalls.filter((_r, k) => queries[k]!.cls === c).reduce((x, y) => x + y, 0) / 250,
        },
      ]),
    );
    runs[engine] = {
      docs: run.docs,
      docsPerSecond: Math.round(run.docsPerSecond),
      indexSeconds: +(run.indexMs / 1000).toFixed(1),
      diskMiB: +mib(run.diskBytes).toFixed(1),
      inMemoryMiB: +mib(run.inMemoryBytes).toFixed(1),
      rssAfterIndexMiB: +mib(run.rssAfterIndex).toFixed(0),
      peakRssMiB: +mib(Math.max(run.peakRss, run.maxRss)).toFixed(0),
      ...latency(() => true),
      recall: +(recalls.reduce((x, y) => x + y, 0) / recalls.length).toFixed(4),
      byClass,
    };
  }

  // Table and goals.
  const rows = Object.entries(runs);
  console.log(`\n## ${set}: ${docs.length} documents, ${queries.length} queries`);
  console.log(
    '| engine | docs/s | index s | disk MiB | heap MiB | RSS after index MiB | peak RSS MiB | p50 ms | p95 ms | p99 ms | recall@10 |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [engine, r] of rows) {
    if ('error' in r) {
      console.log(`| ${engine} | failed: ${String(r.error)} |`);
      continue;
    }
    const f = (x: unknown, d = 2) => (typeof x === 'number' ? x.toFixed(d) : String(x));
    console.log(
      `| ${engine} | ${String(r.docsPerSecond)} | ${f(r.indexSeconds, 1)} | ${f(r.diskMiB, 1)} | ${f(r.inMemoryMiB, 1)} | ${String(r.rssAfterIndexMiB)} | ${String(r.peakRssMiB)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${f(r.recall, 3)} |`,
    );
  }
  console.log('\nper query class (p95 ms / recall@10):');
  for (const [engine, r] of rows) {
    if ('error' in r) continue;
    const bc = r.byClass as Record<string, { p95: number; recall: number }>;
    console.log(
      `  ${engine.padEnd(11)} ${Object.entries(bc)
        .map(([c, v]) => `${c} ${v.p95.toFixed(2)} / ${v.recall.toFixed(3)}`)
        .join(' · ')}`,
    );
  }
  const ours = runs.sqlite;
  const peers = rows.filter(([e, r]) => e !== 'sqlite' && !('error' in r)).map(([, r]) => r);
  if (ours && !('error' in ours) && peers.length > 0) {
    const goals = {
      recallVsBestPeer: +(
        (ours.recall as number) - Math.max(...peers.map((p) => p.recall as number))
      ).toFixed(4),
      p95VsFastestPeer: +((ours.p95 as number) / Math.min(...peers.map((p) => p.p95 as number))).toFixed(2),
      peakRssVsSmallestPeer: +(
        (ours.peakRssMiB as number) / Math.min(...peers.map((p) => p.peakRssMiB as number))
      ).toFixed(2),
    };
    console.log(
      `\ngoals: recall − best peer ${goals.recallVsBestPeer} (≥ 0) · p95 / fastest peer ${goals.p95VsFastestPeer} (≤ 2) · peak RSS / smallest peer ${goals.peakRssVsSmallestPeer} (≤ 0.5)`,
    );
    runs.goals = goals;
  }
  report[set] = { documents: docs.length, runs };
}

mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nwritten ${args.out}`);
if (!existsSync(args.out)) process.exitCode = 1;
