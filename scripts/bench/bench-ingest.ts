/**
 * npm run bench:ingest — uploads through the API (a `ciku serve` process, HTTP on loopback, 4 concurrent clients)
 * beside the archive core writing the same bytes as the same item versions, in the same run:
 *   - one 1 GiB file (a WAV, so an oral-history item accepts it): one PUT vs one items.update;
 *   - 2,000 files of 256 KiB: 2,000 PUTs over 20 items vs 2,000 items.update calls, 4 at a time both sides.
 * Each side runs `--repeat` times in ABBA order and its best time counts. Peak RSS is the server process's.
 * The large file is written once to a temp file that both sides read; the HTTP side sends it with curl when curl
 * is installed (a lean client: on a 2-core machine a Node client competes with the server for CPU), else with Node.
 * Options: --large-mib N (1024) --small-count N (2000) --small-kib N (256) --clients N (4) --repeat N (2)
 *          --out FILE (bench-results/ingest.json)
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createRedis } from '../../services/adapters/redis.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createItems } from '../../services/archive/items.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { serverNodeFlags } from '../../services/node-flags.ts';
import { wavHeader } from './wav-header.ts';

const { values: args } = parseArgs({
  options: {
    'large-mib': { type: 'string', default: '1024' },
    'small-count': { type: 'string', default: '2000' },
    'small-kib': { type: 'string', default: '256' },
    clients: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench-results/ingest.json' },
  },
});
const MiB = 1024 * 1024;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pattern = randomBytes(8 * MiB);
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const agent = { name: 'bench', address: 'urn:ciku:agent:bench' };

/** A WAV of `size` sample bytes, chunk by chunk; `seed` varies the bytes so each file is distinct. */
function* wavChunks(size: number, seed: number): Generator<Buffer> {
  yield wavHeader(size);
  for (let sent = 0; sent < size;) {
    const n = Math.min(MiB, size - sent);
    const off = (seed * 4099 + sent) % (pattern.length - MiB);
    yield pattern.subarray(off, off + n);
    sent += n;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

function request(
  url: string,
  method: string,
  body?: Iterable<Buffer> | Buffer,
  length?: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${ADMIN}` };
    if (length !== undefined) headers['content-length'] = length;
    if (Buffer.isBuffer(body)) headers['content-type'] = 'application/json';
    const req = http.request(url, { method, headers, agent: keepAlive }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      // Chunks go straight to the socket with backpressure: no stream wrapper between the data and the request.
      const chunks = body[Symbol.iterator]();
      const pump = (): void => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) {
          if (!req.write(next.value)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    }
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-bench-ingest-'));
  const largeBytes = Number(args['large-mib']) * MiB;
  const smallCount = Number(args['small-count']);
  const smallBytes = Number(args['small-kib']) * 1024 - 44;
  const clients = Number(args.clients);
  const repeat = Number(args.repeat);

  // The API: a real `ciku serve` process.
  const port = await freePort();
  const server = spawn(process.execPath, [...serverNodeFlags, path.join(root, 'bin/ciku.js'), 'serve'], {
    env: {
      ...process.env,
      CIKU_DATA_DIR: path.join(base, 'api'),
      PORT: String(port),
      CIKU_ADMIN_KEY: ADMIN,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      const kb = Number(
        /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0,
      );
      peakRss = Math.max(peakRss, kb * 1024);
      phasePeaks[phase] = Math.max(phasePeaks[phase] ?? 0, kb * 1024);
    } catch {
      // exited
    }
  }, 50);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 300) throw new Error('server did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // The core: the same archive code in this process, on its own data dir on the same disk.
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const blobs = await createFsBlobStore(path.join(base, 'core'));
  const ocfl = createOcflStore({
    blobs,
    locks: createRedisLocks(redis, { prefix: `ciku-bench-ingest:${process.pid}:` }),
  });
  await ocfl.init();
  const items = createItems({ ocfl });

  const useCurl = spawnSync('curl', ['--version']).status === 0;
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/ciku-bench-') : base;
  const largeFiles = new Map<number, string>();
  /** The large WAV for round r, written once to memory-backed storage when the machine has it. */
  const largeFile = (r: number): string => {
    let f = largeFiles.get(r);
    if (!f) {
      f = path.join(shm, `large-${r}.wav`);
      const fd = fs.openSync(f, 'w');
      for (const chunk of wavChunks(largeBytes, r)) fs.writeSync(fd, chunk);
      fs.closeSync(fd);
      largeFiles.set(r, f);
    }
    return f;
  };
  const curlPut = (target: string, file: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const c = spawn('curl', [
        '-s',
        '-X',
        'PUT',
        '-H',
        `Authorization: Bearer ${ADMIN}`,
        '-T',
        file,
        '-w',
        '\\n%{http_code}',
        target,
      ]);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('error', reject);
      c.on('close', () => {
        const i = out.lastIndexOf('\n');
        resolve({ status: Number(out.slice(i + 1)), text: out.slice(0, i) });
      });
    });

  let round = 0;
  const newItems = async (n: number): Promise<{ api: string[]; core: string[] }> => {
    round += 1;
    const ids = Array.from({ length: n }, (_, i) => `bench-${round}-${i}`);
    for (const id of ids) {
      const body = Buffer.from(JSON.stringify({ id, kind: 'oral_history', metadata: { title: id } }));
      const res = await request(`${url}/v1/items`, 'POST', body, body.length);
      if (res.status !== 201) throw new Error(res.text);
      await items.create({ id, kind: 'oral_history', metadata: { title: id } }, agent);
    }
    return { api: ids, core: ids };
  };

  const phasePeaks: Record<string, number> = {};
  let phase = 'start';
  const time = async (fn: () => Promise<void>): Promise<number> => {
    const start = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  const best = { large: { api: Infinity, core: Infinity }, small: { api: Infinity, core: Infinity } };
  for (let r = 0; r < repeat; r += 1) {
    const order = r % 2 === 0 ? (['core', 'api'] as const) : (['api', 'core'] as const);
    for (const side of order) {
      phase = `large ${side}`;
      const [id] = (await newItems(1))[side];
      const file = largeFile(r);
      const seconds = await time(async () => {
        if (side === 'api') {
          const res = useCurl
            ? await curlPut(`${url}/v1/items/${id}/files/large.wav`, file)
            : await request(
                `${url}/v1/items/${id}/files/large.wav`,
                'PUT',
                wavChunks(largeBytes, r),
                largeBytes + 44,
              );
          if (res.status !== 201) throw new Error(res.text.slice(0, 300));
        } else {
          await items.update(
            id!,
            { put: [{ name: 'large.wav', body: fs.createReadStream(file, { highWaterMark: MiB }) }] },
            agent,
          );
        }
      });
      best.large[side] = Math.min(best.large[side], seconds);
    }
    for (const side of order) {
      phase = `small ${side}`;
      const targets = (await newItems(20))[side];
      const seconds = await time(async () => {
        const jobs = Array.from({ length: smallCount }, (_, i) => async () => {
          const id = targets[i % targets.length]!;
          const name = `f${i}.wav`;
          if (side === 'api') {
            const res = await request(
              `${url}/v1/items/${id}/files/${name}`,
              'PUT',
              [...wavChunks(smallBytes, i + r * smallCount)],
              smallBytes + 44,
            );
            if (res.status !== 201) throw new Error(res.text.slice(0, 300));
          } else {
            await items.update(
              id,
              { put: [{ name, body: Buffer.concat([...wavChunks(smallBytes, i + r * smallCount)]) }] },
              agent,
            );
          }
        });
        await pool(clients, jobs);
      });
      best.small[side] = Math.min(best.small[side], seconds);
    }
  }
  clearInterval(sampler);
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  redis.disconnect();
  keepAlive.destroy();
  fs.rmSync(base, { recursive: true, force: true });
  fs.rmSync(shm, { recursive: true, force: true });

  const largeMb = (largeBytes + 44) / MiB;
  const smallMb = (smallCount * (smallBytes + 44)) / MiB;
  const rows = [
    {
      workload: `1 file of ${args['large-mib']} MiB (client: ${useCurl ? 'curl' : 'node'})`,
      'API MB/s': largeMb / best.large.api,
      'core MB/s': largeMb / best.large.core,
      'API files/s': 1 / best.large.api,
      'core files/s': 1 / best.large.core,
      ratio: best.large.core / best.large.api,
      goal: 0.85,
    },
    {
      workload: `${smallCount} files of ${args['small-kib']} KiB (${clients} clients)`,
      'API MB/s': smallMb / best.small.api,
      'core MB/s': smallMb / best.small.core,
      'API files/s': smallCount / best.small.api,
      'core files/s': smallCount / best.small.core,
      ratio: best.small.core / best.small.api,
      goal: 0.6,
    },
  ];
  console.log('\nbench:ingest — API (HTTP loopback, ciku serve) vs the archive core, same bytes, same run\n');
  console.table(
    rows.map((r) => ({
      workload: r.workload,
      'API MB/s': r['API MB/s'].toFixed(1),
      'core MB/s': r['core MB/s'].toFixed(1),
      'API files/s': r['API files/s'].toFixed(1),
      'core files/s': r['core files/s'].toFixed(1),
      'API/core': r.ratio.toFixed(2),
      goal: `≥ ${r.goal}`,
    })),
  );
  console.log(`peak server RSS: ${(peakRss / MiB).toFixed(0)} MiB (goal < 200 MB)`);
  console.log(
    `  by phase: ${Object.entries(phasePeaks)
      .map(([k, v]) => `${k} ${(v / MiB).toFixed(0)} MiB`)
      .join(', ')}`,
  );
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ bench: 'ingest', client: useCurl ? 'curl' : 'node', date: new Date().toISOString(), node: process.version, clients, repeat, rows, peakServerRssBytes: peakRss, peakServerRssByPhase: phasePeaks }, null, 2)}\n`,
  );
  console.log(`written ${args.out}`);
}

await main();
