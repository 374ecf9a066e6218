/**
 * npm run bench:derive — derivative throughput through the queue and worker, beside the bare tool doing the same
 * work in the same run.
 *
 * Images: the fixture JPEGs that libvips decodes, repeated to `--jobs` distinct files (a counter appended after the
 * EOI marker, so every copy has its own digest and its own job). Ours: enqueue every `derive-image` job (thumbnail
 * + preview) on BullMQ, a worker with the same concurrency consumes them (exifr, sharp, atomic writes, records),
 * timed from the first enqueue to the last completion. Bare: the same sharp calls on the same stored files in a
 * loop with the same concurrency, writing to a temp folder. Video: a generated `--video-seconds` MPEG-4/PCM clip
 * (so it must be encoded), transcoded by a `derive-av` job (proxy only) and by bare ffmpeg with the same output
 * arguments; speed is × real time. Each side runs twice in ABBA order; the best counts. Peak RSS of this process
 * (worker + harness) is reported.
 * Run with the worker process's environment (UV_THREADPOOL_SIZE=16, MALLOC_ARENA_MAX=2: see bin/ciku.js), both sides alike.
 * Options: --jobs N (500) --concurrency N (2) --video-seconds N (60) --out FILE (bench-results/derive.json)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deriveJobFor, type DerivePayload } from '../../schemas/jobs.ts';
import { proxyOutputOptions, probeAv } from '../../services/adapters/av.ts';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { configureImageEngine, makePreviewAndThumbnail } from '../../services/adapters/image.ts';
import { createLogger } from '../../services/adapters/logger.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createRedis, deleteKeysWithPrefix } from '../../services/adapters/redis.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createItems } from '../../services/archive/items.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { loadConfig } from '../../services/config.ts';
import { buildWorkers } from '../../workers/build-workers.ts';
import { jobLimits } from '../../workers/job-deps.ts';
import { PREVIEW_SIDE, THUMBNAIL_SIDE } from '../../workers/derive-image.job.ts';
import { planProxy } from '../../workers/proxy-plan.ts';
import { makeTestClip } from './test-clip.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '2' },
    'video-seconds': { type: 'string', default: '60' },
    out: { type: 'string', default: 'bench-results/derive.json' },
    fixtures: { type: 'string', default: path.resolve(import.meta.dirname, '../../../shared/fixtures') },
  },
});
const JOBS = Number(args.jobs);
const CONCURRENCY = Number(args.concurrency);
const VIDEO_S = Number(args['video-seconds']);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const imagesDir = path.join(args.fixtures, 'images');
if (!fs.existsSync(imagesDir)) {
  console.error(
    `bench:derive skipped: ${imagesDir} is missing (the shared fixtures are read from ../shared)`,
  );
  process.exit(0);
}

/** Peak RSS while our worker runs and while bare sharp/ffmpeg runs (same process, sampled every 50 ms). */
const peak = { ours: 0, bare: 0 };
let phase: keyof typeof peak | undefined;
const sampler = setInterval(() => {
  if (phase) peak[phase] = Math.max(peak[phase], process.memoryUsage().rss);
}, 50);
const during = async <T>(p: keyof typeof peak, fn: () => Promise<T>): Promise<T> => {
  phase = p;
  try {
    return await fn();
  } finally {
    phase = undefined;
  }
};

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-bench-derive-'));
const logger = createLogger('warn');
try {
  configureImageEngine({});
  const blobs = await createFsBlobStore(path.join(work, 'store'));
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  const items = createItems({ ocfl });
  const derivatives = createDerivativeStore({ blobs });
  const redis = createRedis(REDIS_URL);
  const prefix = `ciku-bench-${process.pid}`;
  const queue = createJobQueue(redis, { prefix });
  const agent = { name: 'bench', address: 'urn:ciku:agent:bench' };

  // --- images: distinct copies of the decodable fixture JPEGs, stored as items -------------------------------
  const skip = /truncated|broken/;
  const jpegs = fs
    .readdirSync(imagesDir)
    .filter((f) => /\.jpe?g$/i.test(f) && !skip.test(f))
    .map((f) => fs.readFileSync(path.join(imagesDir, f)));
  const payloads: DerivePayload[] = [];
  const localFiles: string[] = [];
  for (let i = 0; i < JOBS; i += 1) {
    const tail = Buffer.alloc(8);
    tail.writeUInt32BE(i, 4);
    const body = Buffer.concat([jpegs[i % jpegs.length]!, tail]);
    const item = await items.create(
      {
        id: `BENCH-${i}`,
        kind: 'media',
        metadata: { title: `bench ${i}` },
        access: { level: 'public' },
        files: [{ name: 'scan.jpg', body, mediaType: 'image/jpeg' }],
      },
      agent,
    );
    const f = item.files[0]!;
    payloads.push({
      itemId: item.id,
      version: item.version,
      file: f.name,
      sha512: f.digests.sha512,
      mediaType: 'image/jpeg',
      kinds: ['thumbnail', 'preview'],
    });
    localFiles.push(blobs.localPath!((await items.locateContent(item.id, f.digests.sha512))!));
  }
  const megapixels = jpegs.length;
  console.error(`images: ${JOBS} jobs from ${megapixels} fixture JPEGs, concurrency ${CONCURRENCY}`);

  // The documented defaults (bounds included): the bench measures what an unconfigured worker does.
  const defaults = loadConfig({}).worker;
  const workers = buildWorkers({
    items,
    blobs,
    derivatives,
    queue,
    limits: jobLimits(defaults),
    logger,
    redisUrl: REDIS_URL,
    prefix,
    config: {
      ...defaults,
      concurrency: { image: CONCURRENCY, av: 1, transcript: 1, index: 1, document: 1 },
      lockMs: 60_000,
      graceMs: 5_000,
      maxImagePixels: 200_000_000,
      tmpDir: path.join(work, 'tmp'),
    },
  });
  await workers.ready();
  const completions: (() => void)[] = [];
  let completed = 0;
  for (const w of workers.workers) {
    // Only the derivative jobs count (each also chains an index-item job, which is not the work measured here).
    if (w.name !== 'derive-image' && w.name !== 'derive-av') continue;
    w.on('completed', () => {
      completed += 1;
      for (const c of completions.splice(0)) c();
    });
    w.on('failed', ({ reason }) => console.error(`job failed: ${reason}`));
  }
  const waitFor = async (n: number): Promise<void> => {
    while (completed < n) await new Promise<void>((r) => completions.push(r));
  };

  const bareImages = async (): Promise<number> => {
    const out = fs.mkdtempSync(path.join(work, 'bare-'));
    const t0 = performance.now();
    let i = 0;
    await pool(localFiles, CONCURRENCY, async (file) => {
      const n = i++;
      const made = await makePreviewAndThumbnail(
        file,
        { preview: true, thumbnail: true },
        { maxPixels: 200_000_000, previewSide: PREVIEW_SIDE, thumbnailSide: THUMBNAIL_SIDE },
      );
      await fs.promises.writeFile(path.join(out, `${n}-p.webp`), made.preview!.data);
      await fs.promises.writeFile(path.join(out, `${n}-t.webp`), made.thumbnail!.data);
    });
    const s = (performance.now() - t0) / 1000;
    fs.rmSync(out, { recursive: true, force: true });
    return JOBS / s;
  };
  let round = 0;
  const oursImages = async (): Promise<number> => {
    const target = completed + JOBS;
    const t0 = performance.now();
    // Enqueued as a batch (as an import would), and a re-run replaces the finished jobs of the first.
    await Promise.all(
      payloads.map((p) =>
        // A finished job with the same id is replaced by the queue itself: each round runs again.
        queue.enqueue(deriveJobFor(p.mediaType)!, { ...p, ...(round > 0 ? { force: true } : {}) }),
      ),
    );
    await waitFor(target);
    round += 1;
    return JOBS / ((performance.now() - t0) / 1000);
  };
  const img = { bare: [] as number[], ours: [] as number[] };
  img.bare.push(await during('bare', bareImages));
  img.ours.push(await during('ours', oursImages));
  img.ours.push(await during('ours', oursImages));
  img.bare.push(await during('bare', bareImages));
  const imgBare = Math.max(...img.bare);
  const imgOurs = Math.max(...img.ours);

  // --- video: one clip that must be encoded -------------------------------------------------------------------
  const clip = path.join(work, 'clip.avi');
  await makeTestClip(clip, { seconds: VIDEO_S });
  const vItem = await items.create(
    {
      id: 'BENCH-VIDEO',
      kind: 'media',
      metadata: { title: 'bench video' },
      access: { level: 'public' },
      files: [{ name: 'clip.avi', body: fs.createReadStream(clip), mediaType: 'video/x-msvideo' }],
    },
    agent,
  );
  const vFile = vItem.files[0]!;
  const vPayload: DerivePayload = {
    itemId: vItem.id,
    version: vItem.version,
    file: vFile.name,
    sha512: vFile.digests.sha512,
    mediaType: 'video/x-msvideo',
    kinds: ['proxy'],
    force: true,
  };
  const vLocal = blobs.localPath!((await items.locateContent(vItem.id, vFile.digests.sha512))!);
  const finish = async (): Promise<void> => {
    await workers.close(5_000);
    await queue.close();
    await deleteKeysWithPrefix(redis, `${prefix}:`);
    redis.disconnect();
    clearInterval(sampler);
  };
  const report = (
    imgBare: number,
    imgOurs: number,
    video: { bare: number[]; ours: number[]; plan: string } | undefined,
  ): void => {
    const vidBare = video ? Math.max(...video.bare) : NaN;
    const vidOurs = video ? Math.max(...video.ours) : NaN;
    const rows = [
      {
        workload: `images: ${JOBS} × thumbnail+preview (c=${CONCURRENCY})`,
        'bare tool': `sharp ${imgBare.toFixed(1)} jobs/s`,
        'ciku queue+worker': `${imgOurs.toFixed(1)} jobs/s`,
        ratio: (imgOurs / imgBare).toFixed(2),
        goal: '≥ 0.85',
      },
      ...(video
        ? [
            {
              workload: `video: ${VIDEO_S} s 720p MPEG-4 → H.264 proxy`,
              'bare tool': `ffmpeg ${vidBare.toFixed(2)}× real time`,
              'ciku queue+worker': `${vidOurs.toFixed(2)}× real time`,
              ratio: (vidOurs / vidBare).toFixed(2),
              goal: '≥ 0.95',
            },
          ]
        : []),
    ];
    console.table(rows);
    const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
    console.log(
      `peak RSS of the process while the worker ran: ${mib(peak.ours)}; while bare sharp ran: ${mib(peak.bare)}`,
    );
    fs.mkdirSync(path.dirname(args.out), { recursive: true });
    fs.writeFileSync(
      args.out,
      `${JSON.stringify(
        {
          when: new Date().toISOString(),
          machine: { cpus: os.cpus().length, node: process.version },
          images: {
            jobs: JOBS,
            concurrency: CONCURRENCY,
            fixtures: jpegs.length,
            bare: img.bare,
            ours: img.ours,
            ratio: imgOurs / imgBare,
            goal: 0.85,
          },
          video: video
            ? {
                seconds: VIDEO_S,
                plan: video.plan,
                bareSpeed: video.bare,
                oursSpeed: video.ours,
                ratio: vidOurs / vidBare,
                goal: 0.95,
              }
            : null,
          peakRssBytes: peak,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`written ${args.out}`);
  };
  if (VIDEO_S <= 0) {
    await finish();
    report(imgBare, imgOurs, undefined);
    process.exit(0);
  }
  const plan = planProxy(await probeAv(vLocal));
  const bareVideo = async (): Promise<number> => {
    const out = path.join(work, 'bare-proxy.mp4');
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn('ffmpeg', ['-y', '-nostdin', '-i', vLocal, ...proxyOutputOptions(plan), out], {
        stdio: 'ignore',
      });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
    });
    return VIDEO_S / ((performance.now() - t0) / 1000);
  };
  const oursVideo = async (): Promise<number> => {
    const target = completed + 1;
    const t0 = performance.now();
    await queue.enqueue('derive-av', vPayload);
    await waitFor(target);
    return VIDEO_S / ((performance.now() - t0) / 1000);
  };
  const vid = { bare: [] as number[], ours: [] as number[] };
  vid.bare.push(await during('bare', bareVideo));
  vid.ours.push(await during('ours', oursVideo));
  vid.ours.push(await during('ours', oursVideo));
  vid.bare.push(await during('bare', bareVideo));
  await finish();
  report(imgBare, imgOurs, { bare: vid.bare, ours: vid.ours, plan: plan.mode });
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(0);
