/**
 * npm run bench:store — OCFL write throughput against the raw limit measured in the same run on the same bytes.
 *
 * Raw baseline ("plain node stream"): sha512 while streaming into a file on the same disk, then fsync — the
 * same durability our store gives. Ours: the same bytes written as OCFL versions through the fs BlobStore (temp
 * file, fsync, rename, directory fsync, inventories and sidecars, write intent, Redis lock).
 * Each workload runs `--repeat` times per side in ABBA order (raw, ours, ours, raw, …) and the best time of each
 * side counts, so neither side gets the warm (or the cold) page cache for free.
 * Options: --large-mib N (1024) --small-count N (10000) --small-kib N (64) --s3 (also run on s3rver)
 *          --s3-large-mib N (256) --s3-small-count N (1000) --out FILE (bench-results/store.json)
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createS3BlobStore } from '../../services/adapters/blob-s3.ts';
import { createRedis, deleteKeysWithPrefix } from '../../services/adapters/redis.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import type { BlobStore } from '../../services/archive/blob-store.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';

const { values: args } = parseArgs({
  options: {
    'large-mib': { type: 'string', default: '1024' },
    'small-count': { type: 'string', default: '10000' },
    'small-kib': { type: 'string', default: '64' },
    s3: { type: 'boolean', default: false },
    's3-large-mib': { type: 'string', default: '256' },
    's3-small-count': { type: 'string', default: '1000' },
    out: { type: 'string', default: 'bench-results/store.json' },
    dir: { type: 'string' },
    repeat: { type: 'string', default: '2' },
  },
});

const MiB = 1024 * 1024;
const pattern = randomBytes(4 * MiB);
const user = { name: 'bench', address: 'urn:ciku:agent:bench' };

/** `total` bytes of incompressible data in 1 MiB chunks, the same sequence every call. */
function source(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(MiB, total - sent);
      const off = sent % (pattern.length - MiB);
      this.push(pattern.subarray(off, off + n));
      sent += n;
    },
  });
}

function smallFile(i: number, size: number): Buffer {
  const off = (i * 4099) % (pattern.length - size);
  return pattern.subarray(off, off + size);
}

class PeakRss {
  peak = process.memoryUsage().rss;
  private timer = setInterval(() => {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }, 20);
  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, process.memoryUsage().rss);
  }
}

async function rawWrite(file: string, body: Readable): Promise<void> {
  const hash = createHash('sha512');
  const hasher = new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(body, hasher, fs.createWriteStream(file, { highWaterMark: MiB }));
  // fsync through a second descriptor: Linux flushes the file's dirty pages whichever descriptor asks.
  const handle = await fs.promises.open(file, 'r+');
  await handle.sync();
  await handle.close();
  hash.digest('hex');
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; rss: number }> {
  global.gc?.();
  const rss = new PeakRss();
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, rss: rss.stop() };
}

interface Row {
  adapter: string;
  workload: string;
  bytes: number;
  files: number;
  ours: { seconds: number; mbps: number; filesPerSec: number; peakRssMb: number };
  raw?: { seconds: number; mbps: number; filesPerSec: number };
  ratio?: number;
  goal?: number;
}

async function run(): Promise<void> {
  const base = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-bench-store-'));
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `ciku-bench:${process.pid}:`;
  const rows: Row[] = [];
  const largeBytes = Number(args['large-mib']) * MiB;
  const smallCount = Number(args['small-count']);
  const smallBytes = Number(args['small-kib']) * 1024;

  const bench = async (adapter: string, blobs: BlobStore, large: number, count: number, withRaw: boolean) => {
    const ocfl = createOcflStore({
      blobs,
      locks: createRedisLocks(redis, { prefix: `${prefix}${adapter}:` }),
    });
    await ocfl.init();
    const rawDir = path.join(base, `raw-${adapter}`);
    fs.mkdirSync(rawDir, { recursive: true });

    const repeat = Math.max(1, Number(args.repeat));
    let serial = 0;
    /** Runs raw and ours alternately (ABBA), keeps each side's best time and the worst peak RSS of ours. */
    const compare = async (rawFn: (() => Promise<void>) | undefined, oursFn: () => Promise<void>) => {
      let raw: { seconds: number; rss: number } | undefined;
      let ours: { seconds: number; rss: number } | undefined;
      const best = (a: typeof raw, b: { seconds: number; rss: number }) =>
        a === undefined ? b : { seconds: Math.min(a.seconds, b.seconds), rss: Math.max(a.rss, b.rss) };
      for (let i = 0; i < repeat; i += 1) {
        const order = i % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
        for (const side of order) {
          if (side === 'raw' && rawFn) raw = best(raw, await timed(rawFn));
          if (side === 'ours') ours = best(ours, await timed(oursFn));
        }
      }
      return { raw, ours: ours! };
    };

    const large1 = await compare(
      withRaw
        ? async () => {
            await rawWrite(path.join(rawDir, 'large.bin'), source(large));
            fs.rmSync(path.join(rawDir, 'large.bin'));
          }
        : undefined,
      async () => {
        serial += 1;
        await ocfl.writeVersion(
          `urn:bench:${adapter}:large-${serial}`,
          { put: [{ path: 'large.bin', body: source(large) }] },
          { message: 'large', user },
        );
        await blobs.deletePrefix(`ocfl/${ocfl.objectPathFor(`urn:bench:${adapter}:large-${serial}`)}/`);
      },
    );
    rows.push(
      row(
        adapter,
        `1 file of ${large / MiB} MiB`,
        large,
        1,
        large1.ours,
        large1.raw,
        withRaw ? 0.8 : undefined,
      ),
    );

    // Small files: 100 per version (one object each), sequential like the raw loop.
    const perVersion = 100;
    const small = await compare(
      withRaw
        ? async () => {
            serial += 1;
            const dir = path.join(rawDir, `small-${serial}`);
            fs.mkdirSync(dir);
            for (let i = 0; i < count; i += 1)
              await rawWrite(path.join(dir, `s${i}.bin`), Readable.from([smallFile(i, smallBytes)]));
          }
        : undefined,
      async () => {
        serial += 1;
        for (let v = 0; v * perVersion < count; v += 1) {
          const put = [];
          for (let i = v * perVersion; i < Math.min(count, (v + 1) * perVersion); i += 1) {
            put.push({ path: `files/s${i}.bin`, body: smallFile(i, smallBytes) });
          }
          await ocfl.writeVersion(
            `urn:bench:${adapter}:small-${serial}-${v}`,
            { put },
            { message: 'small', user },
          );
        }
      },
    );
    rows.push(
      row(
        adapter,
        `${count} files of ${smallBytes / 1024} KiB`,
        count * smallBytes,
        count,
        small.ours,
        small.raw,
        withRaw ? 0.5 : undefined,
      ),
    );
  };

  await bench('fs', await createFsBlobStore(path.join(base, 'store')), largeBytes, smallCount, true);

  if (args.s3) {
    const { default: S3rver } = await import('s3rver');
    const dir = path.join(base, 's3rver');
    fs.mkdirSync(dir, { recursive: true });
    const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true });
    const { port } = await server.run();
    const blobs = await createS3BlobStore({
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'ciku-bench',
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      delimiterListing: false,
    });
    await bench(
      's3 (s3rver)',
      blobs,
      Number(args['s3-large-mib']) * MiB,
      Number(args['s3-small-count']),
      false,
    );
    await server.close();
  }

  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  if (!args.dir) fs.rmSync(base, { recursive: true, force: true });

  console.log('\nbench:store — ours vs raw (sha512 + write + fsync, same bytes, same disk, same run)\n');
  console.table(
    rows.map((r) => ({
      adapter: r.adapter,
      workload: r.workload,
      'ours MB/s': r.ours.mbps.toFixed(1),
      'ours files/s': r.ours.filesPerSec.toFixed(0),
      'raw MB/s': r.raw ? r.raw.mbps.toFixed(1) : '—',
      'raw files/s': r.raw ? r.raw.filesPerSec.toFixed(0) : '—',
      'ours/raw': r.ratio === undefined ? '—' : r.ratio.toFixed(2),
      goal: r.goal === undefined ? '—' : `≥ ${r.goal}`,
      'peak RSS MB': r.ours.peakRssMb.toFixed(0),
    })),
  );
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ bench: 'store', date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
  );
  console.log(`written ${args.out}`);
}

function row(
  adapter: string,
  workload: string,
  bytes: number,
  files: number,
  ours: { seconds: number; rss: number },
  raw: { seconds: number; rss: number } | undefined,
  goal: number | undefined,
): Row {
  const r: Row = {
    adapter,
    workload,
    bytes,
    files,
    ours: {
      seconds: ours.seconds,
      mbps: bytes / MiB / ours.seconds,
      filesPerSec: files / ours.seconds,
      peakRssMb: ours.rss / MiB,
    },
  };
  if (raw) {
    r.raw = { seconds: raw.seconds, mbps: bytes / MiB / raw.seconds, filesPerSec: files / raw.seconds };
    r.ratio = raw.seconds / ours.seconds;
  }
  if (goal !== undefined) r.goal = goal;
  return r;
}

await run();
