/**
 * `npm run bench:oai`: records per second of a full OAI-PMH ListRecords harvest (oai_dc, pages of 100, following
 * resumption tokens) of a 100,000-item archive, beside reading the same records through `GET /v1/items` pages
 * (anonymous, sort=updated, limit=100, following cursors) in the same run, with the server's RSS sampled
 * throughout (flat: both sides stream pages from the catalogue and keep nothing per harvest).
 *
 * Dataset: as bench:list, the item catalogue alone (both sides read only it for public items), written through
 * `SearchIndex.putItem` into `<dir>/data/search` and kept between runs; every item public, so both sides return
 * every item. A `ciku serve` is started on that data dir (rate limits lifted).
 * Rounds in ABBA order (items, oai, oai, items, …); per side the best of --rounds with the median beside it.
 * Goal: oai records/s ≥ 1 × items records/s. Writes the table and --out (JSON).
 * Options: --items (100000) --rounds (3) --dir (os tmp/ciku-bench-oai) --out (bench-results/oai.json)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ItemView } from '../../services/archive/items.ts';
import type { ItemKind } from '../../schemas/item.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { keepAlive, startServer } from './http.ts';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: path.join(os.tmpdir(), 'ciku-bench-oai') },
    out: { type: 'string', default: 'bench-results/oai.json' },
  },
});
const N = Number(args.items);
const ROUNDS = Number(args.rounds);
const KINDS: ItemKind[] = [
  'collection_object',
  'archive_document',
  'oral_history',
  'inheritor',
  'ich_project',
  'media',
];
const REGIONS = ['珠山区', '昌江区', '浮梁县', '乐平市', '昌南新区'];
const TEXT = '景德镇御窑厂遗址出土青花瓷片，釉色莹润，纹饰为缠枝莲纹，器型为梅瓶，胎质细腻洁白。';
const T0 = Date.parse('2025-01-01T00:00:00Z');

function view(i: number): ItemView {
  const kind = KINDS[i % KINDS.length]!;
  const at = new Date(T0 + Math.floor(i / 3) * 1000).toISOString();
  return {
    id: `bench-${String(i).padStart(6, '0')}`,
    kind,
    version: 'v1',
    created: at,
    updated: at,
    access: { level: 'public' },
    metadata: {
      title: `青花梅瓶 ${i}`,
      description: TEXT,
      creator: ['景德镇御窑博物馆'],
      subject: ['青花', '御窑'],
      date: String(1400 + (i % 500)),
      identifier: `JDZ-${i}`,
      ...(kind === 'inheritor' || kind === 'ich_project' ? { region: REGIONS[i % REGIONS.length] } : {}),
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
  const marker = path.join(dataDir, 'bench-oai.json');
  if (fs.existsSync(marker) && (JSON.parse(fs.readFileSync(marker, 'utf8')) as { items: number }).items === N)
    return;
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  const index = createSqliteIndex({ dir: path.join(dataDir, 'search') });
  for (let i = 0; i < N; i++) {
    await index.putItem(view(i));
    if (i % 20_000 === 0) process.stderr.write(`catalogue: ${i}/${N}\n`);
  }
  await index.close();
  fs.writeFileSync(marker, JSON.stringify({ items: N }));
}

function get(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: keepAlive }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

type Side = (url: string) => Promise<number>;

const oaiSide: Side = async (url) => {
  let n = 0;
  let q = 'verb=ListRecords&metadataPrefix=oai_dc';
  for (;;) {
    const res = await get(`${url}/oai?${q}`);
    if (res.status !== 200 || res.text.includes('<error ')) throw new Error(res.text.slice(0, 300));
    n += res.text.split('<record>').length - 1;
    const token = /<resumptionToken[^>]*>([^<]+)<\/resumptionToken>/.exec(res.text)?.[1];
    if (token === undefined) return n;
    q = `verb=ListRecords&resumptionToken=${encodeURIComponent(token)}`;
  }
};

const itemsSide: Side = async (url) => {
  let n = 0;
  let cursor: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ limit: '100', sort: 'updated' });
    if (cursor) q.set('cursor', cursor);
    const res = await get(`${url}/v1/items?${q.toString()}`);
    if (res.status !== 200) throw new Error(res.text.slice(0, 300));
    const page = JSON.parse(res.text) as { items: unknown[]; next?: string };
    n += page.items.length;
    if (!page.next) return n;
    cursor = page.next;
  }
};

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const dataDir = path.join(args.dir, 'data');
  await buildDataset(dataDir);
  const server = await startServer({
    dataDir,
    adminKey: `bench-${randomBytes(8).toString('hex')}`,
    env: {
      CIKU_QUEUE_PREFIX: `bench-oai-${process.pid}`,
      CIKU_ANON_RATE_LIMIT: '1000000',
      CIKU_ANON_MEDIA_RATE_LIMIT: '10000000',
    },
  });
  const pid = server.child.pid!;
  const sides: Record<string, Side> = { items: itemsSide, oai: oaiSide };
  const rate: Record<string, number[]> = { items: [], oai: [] };
  const rss: Record<string, number[]> = { items: [], oai: [] };
  try {
    // Warm-up: JIT, page cache, sockets.
    await itemsSide(server.url);
    await oaiSide(server.url);
    const startRss = rssOf(pid);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['items', 'oai'] : ['oai', 'items'];
      for (const s of order) {
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
        const t0 = performance.now();
        const n = await sides[s]!(server.url);
        const seconds = (performance.now() - t0) / 1000;
        clearInterval(sampler);
        if (n !== N) throw new Error(`${s} returned ${n} of ${N} records`);
        rate[s]!.push(n / seconds);
        rss[s]!.push(peak);
        process.stderr.write(
          `round ${round + 1} ${s}: ${(n / seconds).toFixed(0)} records/s, peak RSS ${(peak / MiB).toFixed(0)} MiB\n`,
        );
      }
    }
    const best = (s: string) => Math.max(...rate[s]!);
    const results = {
      items: N,
      'items records/s': Math.round(best('items')),
      'items records/s median': Math.round(median(rate.items!)),
      'oai records/s': Math.round(best('oai')),
      'oai records/s median': Math.round(median(rate.oai!)),
      'oai/items': +(best('oai') / best('items')).toFixed(2),
      'oai/items median': +(median(rate.oai!) / median(rate.items!)).toFixed(2),
      'server RSS after warm-up MiB': Math.round(startRss / MiB),
      'server peak RSS during oai MiB': Math.round(Math.max(...rss.oai!) / MiB),
      'server peak RSS during items MiB': Math.round(Math.max(...rss.items!) / MiB),
    };
    const cols = Object.keys(results);
    process.stdout.write(
      `${N} public items; full harvest vs GET /v1/items pages of 100; best of ${ROUNDS} (median beside)\n`,
    );
    process.stdout.write(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`);
    process.stdout.write(
      `| ${cols.map((k) => String((results as Record<string, number>)[k])).join(' | ')} |\n`,
    );
    process.stdout.write(`goal oai ≥ 1 × items: ${results['oai/items'] >= 1 ? 'met' : 'NOT met'}\n`);
    fs.mkdirSync(path.dirname(args.out), { recursive: true });
    fs.writeFileSync(
      args.out,
      `${JSON.stringify({ when: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, args, results }, null, 2)}\n`,
    );
    process.stdout.write(`written ${args.out}\n`);
  } finally {
    await server.stop();
    keepAlive.destroy();
  }
}

await main();
