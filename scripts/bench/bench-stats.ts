/**
 * `npm run bench:stats`: the whole `GET /v1/stats` at 100,000 items (issue 20), beside the same GROUP BYs on bare
 * SQLite tables in the same run.
 *
 * Dataset: the statistics read the item catalogue only, so the catalogue is what is built: 100,000 synthetic item
 * views of the seven kinds with the fields the tables group by (categories, levels, batches, regions, genders,
 * birth years, series, museums, periods, ware types, site types, durations, files of several formats; ~40 %
 * readable by anonymous), written one by one through `SearchIndex.putItem` — the call every commit makes, whose
 * catalogue write fires the fact-table triggers — into `<dir>/data/search`, kept between runs (rebuilt when
 * --items or the fact tables' format changes). A `ciku serve` is started on that data dir.
 *
 * Sides, each the whole answer (every table) as anonymous and as admin, one request at a time:
 * - `bare`: better-sqlite3 on a copy of the fact rows in a file of their own (same columns and index, no
 *   triggers, no catalogue beside them), the same GROUP BY statements in one read transaction: the floor. (It
 *   imports better-sqlite3 itself on purpose: the baseline is the library without our engine.)
 * - `api`: HTTP through `ciku serve` (auth, zero rows, schema, serialisation, loopback).
 * Rounds in ABBA order; per side the best of --rounds p50/p95 (--requests each) with the median beside it, and the
 * p95 ratio against `bare`. Goal: api p95 ≤ 200 ms and ≤ 3 × bare. Writes the table and --out (JSON).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ichCategories, itemKinds, regions, type ItemKind } from '../../schemas/item.ts';
import { readScope, type Role } from '../../services/archive/access.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { STATS_FORMAT, statQuerySql } from '../../services/search/sqlite-stats.ts';
import { STAT_DEFINITIONS } from '../../services/stats/definitions.ts';
import { keepAlive, startServer } from './http.ts';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: path.join(os.tmpdir(), 'ciku-bench-stats') },
    out: { type: 'string', default: 'bench-results/stats.json' },
  },
});
const N = Number(args.items);
const REQUESTS = Number(args.requests);
const ROUNDS = Number(args.rounds);
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const YEAR = new Date().getUTCFullYear();

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
const MUSEUMS = Array.from({ length: 35 }, (_, i) => `博物馆${i + 1}`);
const PERIODS = ['宋', '元', '明', '清', '民国', '当代'];
const WARES = ['梅瓶', '碗', '盘', '罐', '杯', '壶'];
const FORMATS = ['image/tiff', 'image/jpeg', 'video/mp4', 'audio/x-wav', 'application/pdf'];

function metadataOf(kind: ItemKind, i: number): Record<string, unknown> {
  switch (kind) {
    case 'inheritor':
      return {
        gender: i % 4 === 0 ? '女' : '男',
        birth_year: 1925 + (i % 70),
        ethnicity: i % 9 === 0 ? '畲族' : '汉族',
        level: pick(['国家级', '省级', '市级', '县级'], i),
        category: pick(ichCategories, i),
        batch: 1 + (i % 6),
        region: pick(regions, i),
      };
    case 'ich_project':
      return {
        category: pick(ichCategories, i * 7),
        level: pick(['国家级', '省级', '市级', '县级'], i * 3),
        batch: 1 + (i % 5),
        region: pick(regions, i * 5),
      };
    case 'archive_document':
      return {
        series: pick(['四有档案', '文物普查', '非遗', '保护工程', '公众参与'], i),
        year: 1950 + (i % 75),
      };
    case 'collection_object':
      return { museum: pick(MUSEUMS, i), period: pick(PERIODS, i), ware_type: pick(WARES, i * 11) };
    case 'heritage_site':
      return {
        site_type: pick(['窑址', '里弄', '工业遗产'], i),
        protection_status: pick(['国保', '省保', '市保'], i),
      };
    case 'oral_history':
      return { duration: 600 + (i % 7200) };
    case 'media':
      return {};
  }
}

function view(i: number): ItemView {
  const m = i % 10;
  const access: ItemView['access'] =
    m < 4
      ? { level: 'public' }
      : m < 6
        ? { level: 'restricted' }
        : m < 9
          ? { level: 'private', organisation: pick(MUSEUMS, i) }
          : { level: 'public', embargo_until: '2999-01-01' };
  const kind = pick(itemKinds, i * 3);
  const at = new Date(Date.UTC(2019, 0, 1) + Math.floor((i / N) * (YEAR - 2018) * 365 * 86_400_000));
  const stamp = at.toISOString();
  const files: ItemView['files'] = Array.from({ length: i % 3 }, (_, f) => ({
    name: `f${f}.bin`,
    role: kind === 'oral_history' && f === 1 ? 'transcript' : 'original',
    size: 1000 + ((i * 7919 + f) % 5_000_000),
    digests: { sha512: randomBytes(64).toString('hex') },
    media_type: pick(FORMATS, i + f),
    added_in: 'v1',
  }));
  return {
    id: `st-${i.toString(36).padStart(6, '0')}`,
    kind,
    version: 'v1',
    created: stamp,
    updated: stamp,
    access,
    metadata: { title: `条目 ${i}`, ...metadataOf(kind, i) },
    files,
  };
}

function catalogueFile(dataDir: string): string {
  const current = fs.readFileSync(path.join(dataDir, 'search', 'CURRENT'), 'utf8').trim();
  return path.join(dataDir, 'search', current.replace(/^index-/, 'catalogue-'));
}

async function buildDataset(dataDir: string): Promise<void> {
  const marker = path.join(dataDir, 'bench-stats.json');
  if (fs.existsSync(marker)) {
    const built = JSON.parse(fs.readFileSync(marker, 'utf8')) as { items: number; format?: string };
    if (built.items === N && built.format === STATS_FORMAT) return;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  const index = createSqliteIndex({ dir: path.join(dataDir, 'search') });
  // The fact tables exist before the first row, so every row goes through the triggers as a commit's does.
  await index.aggregate({ scope: { all: true }, ageAt: YEAR, queries: [] });
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    await index.putItem(view(i));
    if (i % 20_000 === 0) process.stderr.write(`catalogue: ${i}/${N}\n`);
  }
  await index.close();
  const s = (performance.now() - started) / 1000;
  process.stderr.write(`catalogue: ${N} rows through putItem in ${s.toFixed(1)} s\n`);
  // The bare tables: the same fact rows, columns and index, in a file of their own.
  const bareFile = path.join(dataDir, 'bare.sqlite');
  const bare = new Database(bareFile);
  const source = catalogueFile(dataDir);
  bare.exec(`ATTACH DATABASE '${source.replaceAll("'", "''")}' AS cat`);
  const ddl = bare
    .prepare("SELECT sql FROM cat.sqlite_master WHERE name LIKE 'stat_%' AND type IN ('table', 'index')")
    .pluck()
    .all() as string[];
  for (const sql of ddl) bare.exec(sql);
  bare.exec(
    'INSERT INTO stat_items SELECT * FROM cat.stat_items; INSERT INTO stat_files SELECT * FROM cat.stat_files',
  );
  bare.exec('DETACH DATABASE cat');
  bare.exec('ANALYZE');
  bare.close();
  fs.writeFileSync(marker, JSON.stringify({ items: N, format: STATS_FORMAT, builtSeconds: s }));
}

type Side = (role: Role) => Promise<number>;

function bareSide(file: string): Side & { close(): void } {
  const db = new Database(file, { readonly: true });
  const run = db.transaction((role: Role) => {
    const scope = readScope({ role }, new Date());
    const request = { scope, ageAt: YEAR, createdBefore: `${YEAR + 1}-01-01T00:00:00.000Z` };
    let rows = 0;
    for (const def of STAT_DEFINITIONS) {
      const { sql, params } = statQuerySql(def.query, request);
      rows += db
        .prepare(sql)
        .raw()
        .all(...params).length;
    }
    return rows;
  });
  const side = (role: Role) => {
    const t0 = performance.now();
    run(role);
    return Promise.resolve(performance.now() - t0);
  };
  return Object.assign(side, { close: () => db.close() });
}

function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
    http
      .get(url, { agent: keepAlive, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

function apiSide(url: string): Side {
  return async (role) => {
    const t0 = performance.now();
    const res = await get(`${url}/v1/stats`, role === 'admin' ? ADMIN : undefined);
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${res.status} ${res.text.slice(0, 200)}`);
    return ms;
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);

async function main(): Promise<void> {
  const dataDir = path.join(args.dir, 'data');
  await buildDataset(dataDir);
  const server = await startServer({
    dataDir,
    adminKey: ADMIN,
    env: { CIKU_QUEUE_PREFIX: `bench-stats-${process.pid}`, CIKU_ANON_RATE_LIMIT: '1000000' },
  });
  const bare = bareSide(path.join(dataDir, 'bare.sqlite'));
  const sides: Record<string, Side> = { bare, api: apiSide(server.url) };
  const order = ['bare', 'api'];
  const roles: Role[] = ['anonymous', 'admin'];
  const runs = new Map<string, { p50: number[]; p95: number[] }>();
  try {
    for (const role of roles) for (let i = 0; i < 5; i++) await sides.api!(role); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const sequence = round % 2 === 0 ? order : [...order].reverse();
      for (const role of roles) {
        for (const s of sequence) {
          const ms: number[] = [];
          for (let r = 0; r < REQUESTS; r++) ms.push(await sides[s]!(role));
          const key = `${role}\t${s}`;
          const entry = runs.get(key) ?? { p50: [], p95: [] };
          entry.p50.push(pct(ms, 50));
          entry.p95.push(pct(ms, 95));
          runs.set(key, entry);
        }
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await server.stop();
    bare.close();
    keepAlive.destroy();
  }
  const results = roles.map((role) => {
    const b = runs.get(`${role}\tbare`)!;
    const a = runs.get(`${role}\tapi`)!;
    return {
      caller: role,
      'bare p50': Math.min(...b.p50),
      'bare p95': Math.min(...b.p95),
      'api p50': Math.min(...a.p50),
      'api p95': Math.min(...a.p95),
      'api p95 median': median(a.p95),
      'api/bare p95': Math.min(...a.p95) / Math.min(...b.p95),
      'api/bare p95 median': median(a.p95) / median(b.p95),
    };
  });
  const fmt = (v: unknown) =>
    typeof v !== 'number' ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  const cols = Object.keys(results[0]!);
  process.stdout.write(
    `${N} items; ms per whole /v1/stats (${STAT_DEFINITIONS.length} tables); ${REQUESTS} requests a round, best of ${ROUNDS} rounds (median beside)\n`,
  );
  process.stdout.write(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`);
  for (const r of results)
    process.stdout.write(`| ${cols.map((k) => fmt((r as Record<string, unknown>)[k])).join(' | ')} |\n`);
  const goal = results.every((r) => r['api p95'] <= 200 && r['api/bare p95'] <= 3);
  process.stdout.write(`goal api p95 ≤ 200 ms and ≤ 3 × bare: ${goal ? 'met' : 'NOT met'}\n`);
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ when: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, args, results }, null, 2)}\n`,
  );
  process.stdout.write(`written ${args.out}\n`);
}

await main();
