/**
 * `npm run bench:iiif`: what IIIF costs over what it is built on (issue 16, performance).
 *
 * Dataset: --items (10,000) public collection objects created through the HTTP API of one `ciku start` (server and
 * workers), each with one real image: every 50th shares canon-dslr.jpg (5184×3456), every 100th iptc-mess.jpg
 * (4256×2832) — both tiled (≥ 3000 px) — and the rest share three small real photographs (preview only). The
 * derivatives are keyed by content digest, so five images' worth are made however many items hold them. Kept
 * between runs in --dir (rebuilt when --items changes).
 *
 * 1. The builder alone: `buildManifest` over every item's IiifItem (built from its `/v1/items` JSON), ms per
 *    manifest, with and without JSON.stringify; best of --rounds.
 * 2. Over loopback HTTP, one keep-alive socket, anonymous: p95 of `GET /iiif/{id}/manifest` vs `GET /v1/items/{id}`
 *    over the same --requests ids, in ABBA order per request and rounds. Goal: manifest p95 ≤ 1.5× item p95.
 * 3. Tiles: every tile file of the two tiled images (as the Image API serves them, versioned URLs), fetched by
 *    --concurrency keep-alive clients until --tiles tiles, vs the same files served by a bare `node:http` server
 *    (its own process, stat + read stream from the derivative store's directory). Sides in ABBA order over the
 *    rounds; tiles/s and MB/s, best of rounds with the median beside. Goal: archive ≥ 0.8× bare.
 * Prints a table and writes JSON (--out). Timings on a shared 2-core VM are noisy: read the ratios.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Access, FileRole, ItemKind } from '../../schemas/item.ts';
import type { DerivativeEntryT, TechnicalT } from '../../schemas/technical.ts';
import { buildManifest, type IiifItem } from '../../services/iiif/manifest.ts';
import { imageServiceId } from '../../services/iiif/ids.ts';
import { projectFile } from '../../services/project-file.ts';
import { freePort } from '../serve-process.ts';
import { pool } from './http.ts';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '4' },
    tiles: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '8' },
    dir: { type: 'string', default: path.join(os.tmpdir(), 'ciku-bench-iiif') },
    out: { type: 'string', default: 'bench-results/iiif.json' },
    shared: {
      type: 'string',
      default:
        process.env.CIKU_SHARED_DIR ??
        path.resolve(path.dirname(projectFile(import.meta.url, 'package.json')), '..', 'shared'),
    },
  },
});
const N = Number(args.items);
const REQUESTS = Math.min(N, Number(args.requests));
const ROUNDS = Number(args.rounds);
const TILES = Number(args.tiles);
const CONCURRENCY = Number(args.concurrency);
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const MB = 1e6;

const IMAGES = {
  large: 'canon-dslr.jpg',
  large2: 'iptc-mess.jpg',
  small: ['Bush-dog.jpg', 'BonTonARTSTORplusIPTC.jpg', 'iptc-agency-photographer-example.jpg'],
};
const imageOf = (i: number): string =>
  i % 50 === 0 ? IMAGES.large : i % 100 === 1 ? IMAGES.large2 : IMAGES.small[i % 3]!;
const idOf = (i: number) => `CO-BENCH-${String(i).padStart(5, '0')}`;

const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(16, CONCURRENCY) });

interface Answer {
  status: number;
  body: Buffer;
  ms: number;
}

function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer; agent?: http.Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: options.agent ?? agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const admin = { authorization: `Bearer ${ADMIN}` };

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    // `ciku start` answers /healthz while it recovers; "ok" once it serves.
    const ok = await send(`${url}/healthz`).then(
      (r) => r.status === 200 && r.body.toString().includes('ok'),
      () => false,
    );
    if (ok) return;
    if (i > 1200) throw new Error(`${url} did not start in 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/** `ciku start` (server and workers) on `dataDir`, its public URL its loopback origin. */
async function startArchive(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [projectFile(import.meta.url, 'bin/ciku.js'), 'start', '--no-demo'], {
    env: {
      ...process.env,
      CIKU_DATA_DIR: dataDir,
      CIKU_PUBLIC_URL: url,
      PORT: String(port),
      CIKU_ADMIN_KEY: ADMIN,
      CIKU_QUEUE_PREFIX: `bench-iiif-${process.pid}`,
      CIKU_ANON_RATE_LIMIT: '1000000',
      CIKU_ANON_MEDIA_RATE_LIMIT: '10000000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(url, child);
  return { url, stop: stopper(child) };
}

interface FileJson {
  name: string;
  role: FileRole;
  media_type?: string;
  technical?: TechnicalT;
  digests: { sha512: string };
  derivatives?: Record<string, DerivativeEntryT>;
}
interface ItemJson {
  id: string;
  kind: ItemKind;
  version: string;
  metadata: Record<string, unknown>;
  access: Access;
  files: FileJson[];
}

/** Creates the items not yet there (the marker records how many were), then waits for every digest's derivatives. */
async function buildDataset(url: string, dataDir: string): Promise<void> {
  const marker = path.join(dataDir, 'bench-iiif.json');
  const built = fs.existsSync(marker)
    ? (JSON.parse(fs.readFileSync(marker, 'utf8')) as { items: number })
    : undefined;
  const bytes = new Map<string, Buffer>();
  for (const name of [IMAGES.large, IMAGES.large2, ...IMAGES.small])
    bytes.set(name, fs.readFileSync(path.join(args.shared, 'fixtures', 'images', name)));
  if (built?.items !== N) {
    const started = performance.now();
    let done = 0;
    await pool(
      CONCURRENCY,
      Array.from({ length: N }, (_, i) => async () => {
        const id = idOf(i);
        const created = await send(`${url}/v1/items`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body: Buffer.from(
            JSON.stringify({
              id,
              kind: 'collection_object',
              metadata: {
                title: `青花缠枝莲纹梅瓶 ${i}`,
                object_name: '梅瓶',
                museum: i % 2 === 0 ? '景德镇中国陶瓷博物馆' : '景德镇御窑博物馆',
                period: '明',
                glaze: '青花',
                description: '景德镇御窑厂遗址出土，釉色莹润，纹饰为缠枝莲纹。',
              },
              access: { level: 'public' },
            }),
          ),
        });
        if (created.status !== 201)
          throw new Error(`creating ${id}: ${created.status} ${created.body.toString()}`);
        const name = imageOf(i);
        const put = await send(`${url}/v1/items/${id}/files/${encodeURIComponent(name)}`, {
          method: 'PUT',
          headers: { ...admin, 'content-type': 'application/octet-stream' },
          body: bytes.get(name)!,
        });
        if (put.status !== 201) throw new Error(`uploading to ${id}: ${put.status} ${put.body.toString()}`);
        if (++done % 1000 === 0) process.stderr.write(`items: ${done}/${N}\n`);
      }),
    );
    const s = (performance.now() - started) / 1000;
    process.stderr.write(`items: ${N} created through the API in ${s.toFixed(0)} s\n`);
    fs.writeFileSync(marker, JSON.stringify({ items: N, builtSeconds: s }));
  }
  // One item per image: its derivatives stand for every item sharing the bytes.
  const representatives = [0, 1, 2, 3, 4].map((i) => idOf(i));
  for (let tries = 0; ; tries++) {
    const views = await Promise.all(
      representatives.map(
        async (id) =>
          JSON.parse((await send(`${url}/v1/items/${id}`, { headers: admin })).body.toString()) as ItemJson,
      ),
    );
    const states = views.flatMap((v) =>
      v.files.flatMap((f) => Object.values(f.derivatives ?? {}).map((d) => d.status)),
    );
    if (states.includes('failed')) throw new Error(`a derivative failed: ${JSON.stringify(views)}`);
    if (states.length > 0 && states.every((s) => s === 'ready')) return;
    if (tries > 1200) throw new Error('the derivatives were not made in 10 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const median = (xs: number[]) => pct(xs, 50);

/** The builder's input from an item's JSON: its files with their ready derivatives. */
function iiifItem(v: ItemJson): IiifItem {
  return {
    id: v.id,
    kind: v.kind,
    version: v.version,
    metadata: v.metadata,
    access: v.access,
    files: v.files.map((f) => ({
      name: f.name,
      role: f.role,
      ...(f.media_type === undefined ? {} : { media_type: f.media_type }),
      ...(f.technical === undefined ? {} : { technical: f.technical }),
      derivatives: Object.fromEntries(
        Object.entries(f.derivatives ?? {}).filter(([, d]) => d.status === 'ready'),
      ),
    })),
  };
}

function builderAlone(url: string, items: IiifItem[]) {
  const build = (stringify: boolean) => {
    const started = performance.now();
    let size = 0;
    for (const item of items) {
      const m = buildManifest({ publicUrl: url, item, head: true, transcripts: [] });
      if (!m) throw new Error(`${item.id}: no manifest`);
      if (stringify) size += JSON.stringify(m).length;
    }
    return { ms: (performance.now() - started) / items.length, size };
  };
  build(true); // warm-up
  const plain: number[] = [];
  const json: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(build(false).ms);
    json.push(build(true).ms);
  }
  return {
    'builder ms/manifest': Math.min(...plain),
    'builder + JSON.stringify ms/manifest': Math.min(...json),
    'builder ms/manifest median': median(plain),
  };
}

async function manifestVsItem(url: string, ids: string[]) {
  const one = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sides = {
    manifest: (id: string) => `${url}/iiif/${id}/manifest`,
    item: (id: string) => `${url}/v1/items/${id}`,
  };
  for (const id of ids.slice(0, 500)) {
    await send(sides.manifest(id), { agent: one });
    await send(sides.item(id), { agent: one });
  }
  const p95: Record<'manifest' | 'item', number[]> = { manifest: [], item: [] };
  const p50: Record<'manifest' | 'item', number[]> = { manifest: [], item: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const ms: Record<'manifest' | 'item', number[]> = { manifest: [], item: [] };
    for (const [i, id] of ids.entries()) {
      // ABBA within the round, flipped each round.
      const order = (i + r) % 2 === 0 ? (['manifest', 'item'] as const) : (['item', 'manifest'] as const);
      for (const side of order) {
        const res = await send(sides[side](id), { agent: one });
        if (res.status !== 200) throw new Error(`${sides[side](id)}: ${res.status}`);
        ms[side].push(res.ms);
      }
    }
    for (const side of ['manifest', 'item'] as const) {
      p95[side].push(pct(ms[side], 95));
      p50[side].push(pct(ms[side], 50));
    }
    process.stderr.write(`manifest vs item: round ${r + 1}/${ROUNDS}\n`);
  }
  one.destroy();
  return {
    requests: ids.length,
    'manifest p50 ms': Math.min(...p50.manifest),
    'manifest p95 ms': Math.min(...p95.manifest),
    'item p50 ms': Math.min(...p50.item),
    'item p95 ms': Math.min(...p95.item),
    'manifest/item p95': Math.min(...p95.manifest) / Math.min(...p95.item),
    'manifest/item p95 median': median(p95.manifest) / median(p95.item),
  };
}

/** The tiled images' tile files on disk: each derivative directory holding an info.json, its JPEGs below it. */
function tileFiles(dataDir: string): { dir: string; files: string[] }[] {
  const found: { dir: string; files: string[] }[] = [];
  const walk = (dir: string, into?: { dir: string; files: string[] }) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    let here = into;
    if (!here && entries.some((e) => e.isFile() && e.name === 'info.json')) {
      here = { dir, files: [] };
      found.push(here);
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, here);
      else if (here && e.name.endsWith('.jpg')) here.files.push(path.relative(here.dir, full));
    }
  };
  walk(path.join(dataDir, 'store'));
  return found;
}

/** The bare baseline: node:http serving files under `root` (stat, then a read stream), in its own process. */
async function startStatic(root: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const code = `
    const fs = require('node:fs'); const http = require('node:http'); const path = require('node:path');
    const root = ${JSON.stringify(root)};
    http.createServer((req, res) => {
      if (req.url === '/healthz') return res.end('ok');
      const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
      fs.stat(file, (err, st) => {
        if (err || !st.isFile()) { res.writeHead(404); return res.end(); }
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': st.size });
        fs.createReadStream(file).pipe(res);
      });
    }).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url, child);
  return { url, stop: stopper(child) };
}

async function throughput(urls: string[]): Promise<{ tilesPerSecond: number; mbPerSecond: number }> {
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TILES) {
        const u = urls[next++ % urls.length]!;
        const res = await send(u);
        if (res.status !== 200) throw new Error(`${u}: ${res.status}`);
        bytes += res.body.length;
      }
    }),
  );
  const s = (performance.now() - started) / 1000;
  return { tilesPerSecond: TILES / s, mbPerSecond: bytes / MB / s };
}

async function tiles(url: string, dataDir: string, views: Map<string, ItemJson>) {
  const dirs = tileFiles(dataDir);
  if (dirs.length === 0) throw new Error('no tiled image in the store');
  const archiveUrls: string[] = [];
  const bareUrls: string[] = [];
  const root = path.join(dataDir, 'store');
  // The item that holds each tiled image: its versioned image service, as a manifest names it.
  for (const d of dirs) {
    const holder = [...views.values()].find((v) =>
      v.files.some((f) => f.derivatives?.iiif?.status === 'ready' && d.dir.includes(f.digests.sha512)),
    );
    const file = holder?.files.find((f) => f.derivatives?.iiif !== undefined);
    if (!holder || !file) continue;
    const service = imageServiceId(url, holder.id, holder.version, file.name);
    for (const rel of d.files) {
      archiveUrls.push(`${service}/${rel.split(path.sep).map(encodeURIComponent).join('/')}`);
      bareUrls.push(
        `/${path.relative(root, path.join(d.dir, rel)).split(path.sep).map(encodeURIComponent).join('/')}`,
      );
    }
  }
  if (archiveUrls.length === 0)
    throw new Error(`no item found for the tile directories ${dirs.map((d) => d.dir).join(', ')}`);
  const bare = await startStatic(root);
  try {
    const sides = {
      archive: archiveUrls,
      bare: bareUrls.map((u) => `${bare.url}${u}`),
    };
    for (const u of [...sides.archive, ...sides.bare]) {
      const res = await send(u);
      if (res.status !== 200) throw new Error(`${u}: ${res.status}`);
    }
    const runs: Record<'archive' | 'bare', { tilesPerSecond: number; mbPerSecond: number }[]> = {
      archive: [],
      bare: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['archive', 'bare'] as const) : (['bare', 'archive'] as const);
      for (const side of order) runs[side].push(await throughput(sides[side]));
      process.stderr.write(`tiles: round ${r + 1}/${ROUNDS}\n`);
    }
    const best = (side: 'archive' | 'bare', k: 'tilesPerSecond' | 'mbPerSecond') =>
      Math.max(...runs[side].map((x) => x[k]));
    const mid = (side: 'archive' | 'bare', k: 'tilesPerSecond' | 'mbPerSecond') =>
      median(runs[side].map((x) => x[k]));
    return {
      'tile files': archiveUrls.length,
      'tiles per round': TILES,
      concurrency: CONCURRENCY,
      'archive tiles/s': best('archive', 'tilesPerSecond'),
      'archive MB/s': best('archive', 'mbPerSecond'),
      'bare tiles/s': best('bare', 'tilesPerSecond'),
      'bare MB/s': best('bare', 'mbPerSecond'),
      'archive/bare tiles/s': best('archive', 'tilesPerSecond') / best('bare', 'tilesPerSecond'),
      'archive/bare tiles/s median': mid('archive', 'tilesPerSecond') / mid('bare', 'tilesPerSecond'),
    };
  } finally {
    await bare.stop();
  }
}

async function main(): Promise<void> {
  const dataDir = path.join(args.dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const archive = await startArchive(dataDir);
  let builder, http1, tile;
  try {
    await buildDataset(archive.url, dataDir);
    // Every item's JSON (as anonymous reads it), for the builder's input and the tiled images' holders.
    const views = new Map<string, ItemJson>();
    await pool(
      CONCURRENCY,
      Array.from({ length: N }, (_, i) => async () => {
        const res = await send(`${archive.url}/v1/items/${idOf(i)}`);
        if (res.status !== 200) throw new Error(`${idOf(i)}: ${res.status}`);
        views.set(idOf(i), JSON.parse(res.body.toString()) as ItemJson);
      }),
    );
    builder = builderAlone(archive.url, [...views.values()].map(iiifItem));
    // The same ids for both sides, spread over the archive (every tiled image's holders among them).
    const step = N / REQUESTS;
    const ids = Array.from({ length: REQUESTS }, (_, k) => idOf(Math.floor(k * step)));
    http1 = await manifestVsItem(archive.url, ids);
    tile = await tiles(archive.url, dataDir, views);
  } finally {
    await archive.stop();
    agent.destroy();
  }
  const fmt = (v: unknown) =>
    typeof v !== 'number' ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1);
  const table = (title: string, r: Record<string, unknown>) => {
    process.stdout.write(
      `\n${title}\n| ${Object.keys(r).join(' | ')} |\n|${Object.keys(r)
        .map(() => '---')
        .join('|')}|\n`,
    );
    process.stdout.write(`| ${Object.values(r).map(fmt).join(' | ')} |\n`);
  };
  process.stdout.write(`${N} items; best of ${ROUNDS} rounds (median beside)\n`);
  table('Manifest builder alone', builder);
  table('GET /iiif/{id}/manifest vs GET /v1/items/{id} (loopback, keep-alive, anonymous)', http1);
  table('Tiles: Image API vs a bare node:http static server over the same files', tile);
  const goals = {
    'manifest p95 ≤ 1.5× item p95': http1['manifest/item p95'] <= 1.5,
    'tiles ≥ 0.8× static': tile['archive/bare tiles/s'] >= 0.8,
  };
  for (const [goal, met] of Object.entries(goals))
    process.stdout.write(`goal ${goal}: ${met ? 'met' : 'NOT met'}\n`);
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ when: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, args, builder, http: http1, tiles: tile, goals }, null, 2)}\n`,
  );
  process.stdout.write(`written ${args.out}\n`);
}

await main();
