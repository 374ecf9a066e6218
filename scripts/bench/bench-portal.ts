/**
 * `npm run bench:portal`: what the portal costs over the API it is built on, and what a browser loads.
 *
 * 1. Server time, over loopback HTTP with keep-alive, in one `ciku start` with the demo archive: the search page vs
 *    `/v1/search` JSON for the same queries (the same facets and page size), and each item page vs
 *    `GET /v1/items/:id`, in ABBA order (page, API, API, page, …). Goal: page p95 ≤ 1.5× API p95.
 * 2. In Chromium, each page from a cold cache (a fresh browser profile): the JavaScript transferred (compressed
 *    bytes on the wire; goal ≤ 100 KB on search and item pages, the zoom viewer only where an image is shown) and
 *    Largest Contentful Paint (goal ≤ 1 s for home, search, item and player pages).
 * Prints a table and writes JSON (--out).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { freePort } from '../serve-process.ts';
import { projectFile } from '../../services/project-file.ts';

const { values: args } = parseArgs({
  options: {
    queries: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: path.join(os.tmpdir(), `ciku-bench-portal-${process.pid}`) },
    out: { type: 'string', default: 'bench-results/portal.json' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const QUERIES = Number(args.queries);
const ROUNDS = Number(args.rounds);
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http
      .get(url, { agent, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      })
      .on('error', reject);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** The queries readers type: words, traditional characters, pinyin, two words, with and without a facet. */
function queries(n: number): string[] {
  const words = [
    '青花',
    '景德镇',
    '粉彩',
    '窑址',
    '拉坯',
    '利坯',
    '釉色',
    '梅瓶',
    '御窑',
    '瓷片',
    '传承人',
    '非遗',
    '口述',
    '影青',
    '霁蓝',
    '玲珑',
    '满窑',
    '烧成',
    '档案',
    '遗址',
  ];
  const extra = [
    '景德鎮',
    '青花瓷',
    'jingdezhen',
    'qinghua',
    'lapi',
    '御窯',
    '手工制瓷',
    '青花 梅瓶',
    '窑 遗址',
    '明永乐',
  ];
  const facet = ['', '&kind=collection_object', '&kind=oral_history', '&region=珠山区', '&level=国家级'];
  const all = [...words, ...extra];
  return Array.from(
    { length: n },
    (_, i) =>
      `q=${encodeURIComponent(all[i % all.length]!)}${facet[Math.floor(i / all.length) % facet.length]!.replace(/=(.+)$/, (_m, v: string) => `=${encodeURIComponent(v)}`)}`,
  );
}

const API_FACETS = ['kind', 'category', 'region', 'level', 'museum', 'period', 'series']
  .map((f) => `facets=${f}`)
  .join('&');

async function startArchive(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  fs.rmSync(dir, { recursive: true, force: true });
  const port = await freePort();
  const child = spawn(process.execPath, [projectFile(import.meta.url, 'bin/ciku.js'), 'start'], {
    env: {
      ...process.env,
      CIKU_DATA_DIR: dir,
      PORT: String(port),
      CIKU_ADMIN_KEY: ADMIN,
      CIKU_QUEUE_PREFIX: `bench-portal-${process.pid}`,
      CIKU_ANON_RATE_LIMIT: '1000000',
      CIKU_ANON_MEDIA_RATE_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  for (let i = 0; ; i++) {
    const ok = await get(`${url}/healthz`).then(
      (r) => r.body.includes('"ok"'),
      () => false,
    );
    if (ok) break;
    if (i > 1200) throw new Error('the archive did not start in 10 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
  return { url, stop };
}

/** Waits until the demo's derivatives are made (the item and player pages show them). */
async function waitForDerivatives(url: string): Promise<{ image: string; player: string }> {
  const auth = { authorization: `Bearer ${ADMIN}` };
  for (let i = 0; i < 1200; i++) {
    const image = JSON.parse((await get(`${url}/v1/items/demo-co-0001`, auth)).body) as {
      files?: { derivatives?: Record<string, { status: string }> }[];
    };
    const oh = JSON.parse((await get(`${url}/v1/items/demo-oh-1001`, auth)).body) as typeof image;
    const ready = (v: typeof image, k: string) =>
      v.files?.some((f) => f.derivatives?.[k]?.status === 'ready') ?? false;
    if (ready(image, 'preview') && ready(oh, 'proxy') && ready(oh, 'segments'))
      return { image: '/items/demo-co-0001', player: '/items/demo-oh-1001' };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the demo derivatives were not made in 10 minutes');
}

async function serverTimes(url: string, ids: string[]) {
  const qs = queries(QUERIES);
  const pairs: { name: string; page: (i: number) => string; api: (i: number) => string; n: number }[] = [
    {
      name: 'search',
      n: qs.length,
      page: (i) => `${url}/search?${qs[i]}`,
      api: (i) => `${url}/v1/search?${qs[i]}&${API_FACETS}&limit=20`,
    },
    {
      name: 'item',
      n: ids.length,
      page: (i) => `${url}/items/${ids[i]}`,
      api: (i) => `${url}/v1/items/${ids[i]}`,
    },
  ];
  const out: Record<
    string,
    {
      page: { p50: number; p95: number };
      api: { p50: number; p95: number };
      ratioP95: number;
      ratioP95Median: number;
      n: number;
    }
  > = {};
  for (const pair of pairs) {
    // Warm-up: JIT, page cache, the keep-alive socket.
    for (let i = 0; i < pair.n; i++) {
      await get(pair.page(i));
      await get(pair.api(i));
    }
    const rounds: { page: number[]; api: number[] }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const page: number[] = [];
      const api: number[] = [];
      for (let i = 0; i < pair.n; i++) {
        const order = (i + r) % 2 === 0 ? ['page', 'api'] : ['api', 'page'];
        for (const side of order) {
          const res = await get(side === 'page' ? pair.page(i) : pair.api(i));
          if (res.status !== 200) throw new Error(`${side} ${pair.name} ${i} answered ${res.status}`);
          (side === 'page' ? page : api).push(res.ms);
        }
      }
      rounds.push({ page, api });
    }
    const ratios = rounds.map((r) => pct(r.page, 95) / pct(r.api, 95)).sort((a, b) => a - b);
    const best = rounds.reduce((a, b) =>
      pct(a.page, 95) / pct(a.api, 95) <= pct(b.page, 95) / pct(b.api, 95) ? a : b,
    );
    out[pair.name] = {
      n: pair.n,
      page: { p50: pct(best.page, 50), p95: pct(best.page, 95) },
      api: { p50: pct(best.api, 50), p95: pct(best.api, 95) },
      ratioP95: ratios[0]!,
      ratioP95Median: ratios[Math.floor(ratios.length / 2)]!,
    };
  }
  return out;
}

async function browserCosts(url: string, pages: Record<string, string>) {
  const out: Record<
    string,
    { jsBytes: number; cssBytes: number; htmlBytes: number; lcpMs: number; zoomLoaded: boolean }
  > = {};
  for (const [name, pathname] of Object.entries(pages)) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-bench-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: args.chromium,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = await context.newPage();
      const sizes: { url: string; type: string; bytes: Promise<number> }[] = [];
      page.on('requestfinished', (request) => {
        sizes.push({
          url: request.url(),
          type: request.resourceType(),
          bytes: request.sizes().then((s) => s.responseBodySize),
        });
      });
      await page.goto(`${url}${pathname}`, { waitUntil: 'networkidle' });
      const lcpMs = await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            new PerformanceObserver((list) => {
              const entries = list.getEntries();
              resolve(entries[entries.length - 1]!.startTime);
            }).observe({ type: 'largest-contentful-paint', buffered: true });
            setTimeout(() => resolve(NaN), 3000);
          }),
      );
      const sum = async (type: string) =>
        (await Promise.all(sizes.filter((s) => s.type === type).map((s) => s.bytes))).reduce(
          (a, b) => a + b,
          0,
        );
      out[name] = {
        jsBytes: await sum('script'),
        cssBytes: await sum('stylesheet'),
        htmlBytes: await sum('document'),
        lcpMs,
        zoomLoaded: sizes.some((s) => /\/assets\/zoom-/.test(s.url)),
      };
    } finally {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }
  return out;
}

async function main() {
  const archive = await startArchive(args.dir);
  try {
    const { image, player } = await waitForDerivatives(archive.url);
    const list = JSON.parse((await get(`${archive.url}/v1/items?limit=200`)).body) as {
      items: { id: string }[];
    };
    const ids = list.items.map((i) => encodeURIComponent(i.id));
    const server = await serverTimes(archive.url, ids);
    const browser = fs.existsSync(args.chromium)
      ? await browserCosts(archive.url, {
          home: '/',
          search: `/search?q=${encodeURIComponent('青花')}`,
          item: image,
          player,
        })
      : undefined;
    const rows = [
      ['server time', 'page p50', 'page p95', 'API p50', 'API p95', 'p95 ratio best (goal ≤ 1.5)', 'median'],
      ...Object.entries(server).map(([k, v]) => [
        `${k} (${v.n})`,
        v.page.p50.toFixed(2),
        v.page.p95.toFixed(2),
        v.api.p50.toFixed(2),
        v.api.p95.toFixed(2),
        v.ratioP95.toFixed(2),
        v.ratioP95Median.toFixed(2),
      ]),
    ];
    for (const r of rows) console.log(r.join('\t'));
    if (browser) {
      console.log(
        [
          '\npage',
          'JS KB (goal ≤ 100)',
          'CSS KB',
          'HTML KB',
          'LCP ms (goal ≤ 1000)',
          'zoom viewer loaded',
        ].join('\t'),
      );
      for (const [k, v] of Object.entries(browser))
        console.log(
          [
            k,
            (v.jsBytes / 1000).toFixed(1),
            (v.cssBytes / 1000).toFixed(1),
            (v.htmlBytes / 1000).toFixed(1),
            v.lcpMs.toFixed(0),
            String(v.zoomLoaded),
          ].join('\t'),
        );
    } else console.log(`\nChromium not found at ${args.chromium}: browser figures skipped`);
    fs.mkdirSync(path.dirname(args.out), { recursive: true });
    fs.writeFileSync(
      args.out,
      JSON.stringify({ at: new Date().toISOString(), rounds: ROUNDS, server, browser }, null, 2),
    );
    console.log(`\nwrote ${args.out}`);
  } finally {
    await archive.stop();
    agent.destroy();
    fs.rmSync(args.dir, { recursive: true, force: true });
  }
}

await main();
