/**
 * `npm run bench:list`: `GET /v1/items` paging through a 100,000-item archive (issue 13, finding 16), beside a bare
 * SQLite query over the same rows in the same run.
 *
 * Dataset (the fastest honest way): the list reads the item catalogue only, never the store, so the catalogue is
 * what is built: 100,000 synthetic item views (7 kinds; ~35 % readable by anonymous: public, restricted, private
 * of three organisations or of none, embargoes past and future; `updated` spread with ties) written one by one
 * through `SearchIndex.putItem` — the call every commit's `onCommit` makes — into `<dir>/data/search`, kept between
 * runs (rebuilt when --items changes). A `ciku serve` is started on that data dir (its OCFL store stays empty).
 *
 * Sides, per list (anonymous and admin, with and without `kind=collection_object`, sort=id; both sort=-updated),
 * each paging the whole list at --limit per page, one request at a time:
 * - `bare`: better-sqlite3 on the catalogue file, the straightforward keyset query (the access rule inline in the
 *   WHERE, `ORDER BY id`), JSON.parse of each row and JSON.stringify of the page: the floor any server pays. (It
 *   imports better-sqlite3 itself on purpose: the baseline is the library without our adapter.)
 * - `engine`: the engine's `listItems` in this process (scope arms, merge, JSON).
 * - `api`: HTTP through `ciku serve` (auth, schema, cursor, serialisation, loopback).
 * Rounds in ABBA order (bare, engine, api, api, engine, bare, …); per side the best of --rounds p50/p95 with the
 * median beside it, and p95 ratios against `bare`. Timings on a shared 2-core VM are noisy: read the ratios.
 * Goal: api p95 ≤ 50 ms, and ≤ 2 × bare. Writes the table and --out (JSON).
 * Options: --items (100000) --limit (50) --rounds (3) --dir (os tmp/ciku-bench-list) --out (bench-results/list.json)
 * --embargoed (0): the share of items made public with an embargo still to come (2999), in place of the mix above —
 * the embargo-heavy archive (e.g. 0.5, 0.95) where the embargo arm must not cost a walk over the hidden rows. The
 * dataset is rebuilt when --items or --embargoed changes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { readScope, type Principal } from '../../services/archive/access.ts';
import type { ItemView } from '../../services/archive/items.ts';
import type { ItemKind } from '../../schemas/item.ts';
import { encodeCursor } from '../../services/search/catalogue.ts';
import type { ListAfter, ListRequest, ListSort, SearchIndex } from '../../services/search/search-index.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import http from 'node:http';
import { keepAlive, startServer } from './http.ts';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    limit: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: path.join(os.tmpdir(), 'ciku-bench-list') },
    out: { type: 'string', default: 'bench-results/list.json' },
    embargoed: { type: 'string', default: '0' },
  },
});
const N = Number(args.items);
const LIMIT = Number(args.limit);
const ROUNDS = Number(args.rounds);
const EMBARGOED = Number(args.embargoed);
if (!(EMBARGOED >= 0 && EMBARGOED <= 1)) throw new Error('--embargoed is a share between 0 and 1');
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const KINDS: ItemKind[] = [
  'collection_object',
  'archive_document',
  'oral_history',
  'inheritor',
  'ich_project',
  'heritage_site',
  'media',
];
const ORGS = ['景德镇中国陶瓷博物馆', '景德镇御窑博物馆', '景德镇陶瓷大学'];
const TEXT = '景德镇御窑厂遗址出土青花瓷片，釉色莹润，纹饰为缠枝莲纹，器型为梅瓶，胎质细腻洁白。';

/** Whether item i is one of the --embargoed share (spread over the ids and the `updated` order alike). */
const futureEmbargoed = (i: number) => (i * 0.6180339887498949) % 1 < EMBARGOED;

function view(i: number): ItemView {
  const m = i % 20;
  const access: ItemView['access'] = futureEmbargoed(i)
    ? { level: 'public', embargo_until: '2999-01-01' }
    : m < 6
      ? { level: 'public' }
      : m < 9
        ? { level: 'restricted' }
        : m < 15
          ? { level: 'private', organisation: ORGS[i % 3]! }
          : m < 18
            ? { level: 'private' }
            : { level: 'public', embargo_until: m === 18 ? '2001-01-01' : '2999-01-01' };
  // Ten items a minute, in an order unrelated to the ids.
  const at = new Date(Date.UTC(2020, 0, 1) + Math.floor(((i * 7919) % N) / 10) * 60_000);
  const stamp = `${at.toISOString().slice(0, 19)}Z`;
  const id = `ck-${2020 + (i % 6)}-${((i * 2654435761) % 2 ** 32).toString(36).padStart(7, '0')}${i.toString(36)}`;
  return {
    id,
    kind: KINDS[(i * 3) % KINDS.length]!,
    version: `v${1 + (i % 4)}`,
    created: stamp,
    updated: stamp,
    access,
    metadata: {
      title: `青花瓷器 ${i}`,
      description: TEXT.repeat(3),
      identifier: `JDZ-${i}`,
      subject: ['青花', '御窑'],
    },
    files:
      i % 3 === 0
        ? [
            {
              name: 'scan.tif',
              role: 'original',
              size: 123456,
              digests: { sha512: randomBytes(64).toString('hex') },
              media_type: 'image/tiff',
              added_in: 'v1',
            },
          ]
        : [],
  };
}

async function buildDataset(dataDir: string): Promise<void> {
  const marker = path.join(dataDir, 'bench-list.json');
  if (fs.existsSync(marker)) {
    const built = JSON.parse(fs.readFileSync(marker, 'utf8')) as { items: number; embargoed?: number };
    if (built.items === N && (built.embargoed ?? 0) === EMBARGOED) return;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  const index = createSqliteIndex({ dir: path.join(dataDir, 'search') });
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    await index.putItem(view(i));
    if (i % 20_000 === 0) process.stderr.write(`catalogue: ${i}/${N}\n`);
  }
  await index.close();
  const s = (performance.now() - started) / 1000;
  process.stderr.write(`catalogue: ${N} rows through putItem in ${s.toFixed(1)} s\n`);
  fs.writeFileSync(marker, JSON.stringify({ items: N, embargoed: EMBARGOED, builtSeconds: s }));
}

interface ListCase {
  name: string;
  as: 'anonymous' | 'admin';
  kind?: ItemKind;
  sort: ListSort;
}
const CASES: ListCase[] = [
  { name: 'anonymous', as: 'anonymous', sort: 'id' },
  { name: 'anonymous kind', as: 'anonymous', kind: 'collection_object', sort: 'id' },
  { name: 'anonymous -updated', as: 'anonymous', sort: '-updated' },
  { name: 'admin', as: 'admin', sort: 'id' },
  { name: 'admin kind', as: 'admin', kind: 'collection_object', sort: 'id' },
  { name: 'admin -updated', as: 'admin', sort: '-updated' },
];
const NOW = new Date();
const principal = (c: ListCase): Principal => ({ role: c.as });

/** Pages one list through to its end; answers each page's ms and how many items were listed. */
type Side = (c: ListCase) => Promise<{ ms: number[]; listed: number }>;

function bareSide(catalogueFile: string): Side & { close(): void } {
  const db = new Database(catalogueFile, { readonly: true });
  const side = (c: ListCase) => {
    const scope = readScope(principal(c), NOW);
    const where: string[] = ['deleted = 0'];
    const params: unknown[] = [];
    if (!scope.all) {
      where.push(
        `(acc_level IN (${scope.levels.map(() => '?').join(', ')}) AND (acc_embargo IS NULL OR acc_embargo <= ?))`,
      );
      params.push(...scope.levels, scope.today);
    }
    if (c.kind) {
      where.push('kind = ?');
      params.push(c.kind);
    }
    const desc = c.sort === '-updated';
    const order = c.sort === 'id' ? 'id' : desc ? 'updated DESC, id DESC' : 'updated, id';
    const first = db.prepare(
      `SELECT id, updated, view FROM items WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ?`,
    );
    const keyset = c.sort === 'id' ? 'id > ?' : `(updated, id) ${desc ? '<' : '>'} (?, ?)`;
    const next = db.prepare(
      `SELECT id, updated, view FROM items WHERE ${where.join(' AND ')} AND ${keyset} ORDER BY ${order} LIMIT ?`,
    );
    const ms: number[] = [];
    let listed = 0;
    let after: { id: string; updated: number } | undefined;
    for (;;) {
      const t0 = performance.now();
      const keyParams = after === undefined ? [] : c.sort === 'id' ? [after.id] : [after.updated, after.id];
      const rows = (after === undefined ? first : next).all(...params, ...keyParams, LIMIT + 1) as {
        id: string;
        updated: number;
        view: string;
      }[];
      const page = rows.slice(0, LIMIT).map((r) => JSON.parse(r.view) as ItemView);
      JSON.stringify({ items: page });
      ms.push(performance.now() - t0);
      listed += page.length;
      if (rows.length <= LIMIT) break;
      const last = rows[LIMIT - 1]!;
      after = { id: last.id, updated: last.updated };
    }
    return Promise.resolve({ ms, listed });
  };
  return Object.assign(side, { close: () => db.close() });
}

function engineSide(index: SearchIndex): Side {
  return async (c) => {
    const ms: number[] = [];
    let listed = 0;
    let after: ListAfter | undefined;
    for (;;) {
      const t0 = performance.now();
      const req: ListRequest = {
        scope: readScope(principal(c), NOW),
        sort: c.sort,
        limit: LIMIT,
        ...(c.kind ? { kind: c.kind } : {}),
        ...(after ? { after } : {}),
      };
      const page = await index.listItems(req);
      JSON.stringify({ items: page.items, next: page.next && encodeCursor(c.sort, page.next) });
      ms.push(performance.now() - t0);
      listed += page.items.length;
      if (!page.next) break;
      after = page.next;
    }
    return { ms, listed };
  };
}

/** A GET on the shared keep-alive agent, with a bearer key or as anonymous. */
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
  return async (c) => {
    const ms: number[] = [];
    let listed = 0;
    let cursor: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ limit: String(LIMIT), sort: c.sort });
      if (c.kind) q.set('kind', c.kind);
      if (cursor) q.set('cursor', cursor);
      const t0 = performance.now();
      const res = await get(`${url}/v1/items?${q.toString()}`, c.as === 'admin' ? ADMIN : undefined);
      ms.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${res.status} ${res.text.slice(0, 200)}`);
      const page = JSON.parse(res.text) as { items: unknown[]; next?: string };
      listed += page.items.length;
      if (!page.next) break;
      cursor = page.next;
    }
    return { ms, listed };
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
  const current = fs.readFileSync(path.join(dataDir, 'search', 'CURRENT'), 'utf8').trim();
  const catalogueFile = path.join(dataDir, 'search', current.replace(/^index-/, 'catalogue-'));
  const server = await startServer({
    dataDir,
    adminKey: ADMIN,
    env: { CIKU_QUEUE_PREFIX: `bench-list-${process.pid}`, CIKU_ANON_RATE_LIMIT: '1000000' },
  });
  const index = createSqliteIndex({ dir: path.join(dataDir, 'search') });
  const bare = bareSide(catalogueFile);
  const sides: Record<string, Side> = { bare, engine: engineSide(index), api: apiSide(server.url) };
  const order = ['bare', 'engine', 'api'];
  // Per case and side: p50 and p95 of each round.
  const runs = new Map<string, { p50: number[]; p95: number[]; pages: number; listed: number }>();
  try {
    for (const c of CASES) await sides.api!(c); // warm-up: JIT, page cache, keep-alive sockets
    for (let round = 0; round < ROUNDS; round++) {
      const sequence = round % 2 === 0 ? order : [...order].reverse();
      for (const c of CASES) {
        for (const s of sequence) {
          const { ms, listed } = await sides[s]!(c);
          const key = `${c.name}\t${s}`;
          const r = runs.get(key) ?? { p50: [], p95: [], pages: ms.length, listed };
          r.p50.push(pct(ms, 50));
          r.p95.push(pct(ms, 95));
          runs.set(key, r);
        }
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await server.stop();
    await index.close();
    bare.close();
    keepAlive.destroy();
  }

  const results = CASES.map((c) => {
    const side = (s: string) => runs.get(`${c.name}\t${s}`)!;
    const b = side('bare');
    const e = side('engine');
    const a = side('api');
    if (a.listed !== b.listed || e.listed !== b.listed)
      throw new Error(`${c.name}: sides listed ${b.listed} / ${e.listed} / ${a.listed} items`);
    return {
      list: c.name,
      items: b.listed,
      pages: b.pages,
      'bare p50': Math.min(...b.p50),
      'bare p95': Math.min(...b.p95),
      'engine p50': Math.min(...e.p50),
      'engine p95': Math.min(...e.p95),
      'api p50': Math.min(...a.p50),
      'api p95': Math.min(...a.p95),
      'api p95 median': median(a.p95),
      'engine/bare p95': Math.min(...e.p95) / Math.min(...b.p95),
      'api/bare p95': Math.min(...a.p95) / Math.min(...b.p95),
      'api/bare p95 median': median(a.p95) / median(b.p95),
    };
  });
  const fmt = (v: unknown) =>
    typeof v !== 'number' ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  const cols = Object.keys(results[0]!);
  const share = EMBARGOED > 0 ? `; ${Math.round(EMBARGOED * 100)} % of the items embargoed until 2999` : '';
  process.stdout.write(
    `${N} items${share}; ms per page of ${LIMIT}; best of ${ROUNDS} rounds (median beside)\n`,
  );
  process.stdout.write(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`);
  for (const r of results)
    process.stdout.write(`| ${cols.map((k) => fmt((r as Record<string, unknown>)[k])).join(' | ')} |\n`);
  const goal = results.every((r) => r['api p95'] <= 50);
  process.stdout.write(`goal api p95 ≤ 50 ms: ${goal ? 'met' : 'NOT met'}\n`);
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ when: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, args, results }, null, 2)}\n`,
  );
  process.stdout.write(`written ${args.out}\n`);
}

await main();
