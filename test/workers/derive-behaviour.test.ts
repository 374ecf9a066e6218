import { createIndexer } from '../../services/search/indexer.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { AvTechnicalT } from '../../schemas/technical.ts';
import { probeAv } from '../../services/adapters/av.ts';
import { readAll } from '../../services/archive/blob-store.ts';
import { planProxy } from '../../workers/proxy-plan.ts';
import { planRederive } from '../../workers/rederive.ts';
import { isPermanent } from '../../workers/registry.ts';
import { sharedPath, skipUnlessShared, tempDir } from '../helpers/env.ts';
import {
  aviFile,
  corruptMkvFile,
  jpegFile,
  orientedJpegFile,
  wavNoiseFile,
} from '../helpers/generated-media.ts';
import { workerHarness, type Harness } from '../helpers/workers.ts';

const run = promisify(execFile);
const images = sharedPath('fixtures/images');

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

async function allKeys(h: Harness): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const b of h.blobs.list('derivatives/')) out.set(b.key, b.modified.getTime());
  return out;
}

t.test('running every job twice yields the same derivative keys and no extra objects', async (t) => {
  const h = await workerHarness(t);
  // Made here, so the test never skips: a DSLR-sized JPEG (many IIIF tiles), a sideways phone picture, an AVI,
  // a WAV and a Matroska file with a broken header (the permanent failure).
  const dir = tempDir(t);
  const files = [
    await jpegFile(dir, 'dslr.jpg', { width: 5184, height: 3456 }),
    await orientedJpegFile(dir, 'f6.jpg', 6),
    await aviFile(dir, 'video.avi'),
    await wavNoiseFile(dir, 'noise.wav'),
    await corruptMkvFile(dir, 'corrupt.mkv'),
  ];
  const jobs: Awaited<ReturnType<Harness['addFile']>>[] = [];
  for (const [i, f] of files.entries()) jobs.push(await h.addFile(`TWICE-${i}`, f));
  const runAll = async (force: boolean) => {
    const outcomes: string[] = [];
    for (const { job, payload } of jobs) {
      try {
        outcomes.push((await h.run(job!, { ...payload, ...(force ? { force } : {}) })).status);
      } catch (err) {
        outcomes.push(isPermanent(err) ? 'failed' : 'error');
      }
    }
    return outcomes;
  };
  t.same(await runAll(false), ['done', 'done', 'done', 'done', 'failed']);
  const first = await allKeys(h);
  const tiles = [...first.keys()].filter((k) => k.includes('/iiif/')).length;
  t.ok(tiles > 100, `${tiles} IIIF blobs for the DSLR image`);
  t.same(
    await runAll(false),
    ['skipped', 'skipped', 'skipped', 'skipped', 'skipped'],
    'a second run finds everything made (or recorded as failed)',
  );
  t.same(await allKeys(h), first, 'nothing written the second time');
  t.same(await runAll(true), ['done', 'done', 'done', 'done', 'failed'], 'forced: made again');
  t.same(
    [...(await allKeys(h)).keys()].sort(),
    [...first.keys()].sort(),
    'forced re-run: identical keys, no extra objects',
  );
});

t.test('an odd-dimension video (1919×817) yields a playable proxy with even dimensions', async (t) => {
  const h = await workerHarness(t);
  const dir = tempDir(t);
  const src = path.join(dir, 'odd.mkv');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=1919x817:rate=25:duration=3',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=3',
    '-c:v',
    'ffv1',
    '-c:a',
    'flac',
    '-shortest',
    src,
  ]);
  const { job, payload } = await h.addFile('ODD', src);
  t.equal(job, 'derive-av');
  t.same(await h.run('derive-av', payload), { status: 'done' });
  const rec = (await h.derivatives.readRecord(payload.sha512))!;
  t.match(rec.technical, { width: 1919, height: 817 });
  t.match(rec.derivatives.proxy, { status: 'ready', stream_copy: false, width: 1280, height: 544 });
  const proxy = path.join(dir, 'proxy.mp4');
  await fs.writeFile(
    proxy,
    await readAll(await h.derivatives.open(payload.sha512, 'proxy.mp4'), 64 * 1024 * 1024),
  );
  const back = await probeAv(proxy);
  t.match(back.streams, [
    { type: 'video', codec: 'h264', width: 1280, height: 544, pixel_format: 'yuv420p' },
    { type: 'audio', codec: 'aac' },
  ]);
  t.ok(Math.abs(back.duration! - 3) <= 0.1, `proxy lasts ${back.duration} s`);
  // Playable = every frame decodes without an error.
  const decoded = await run('ffmpeg', ['-v', 'error', '-i', proxy, '-f', 'null', '-']);
  t.equal(decoded.stderr.trim(), '', 'the proxy decodes cleanly end to end');
  const head = (await fs.readFile(proxy)).subarray(0, 64).toString('latin1');
  t.ok(
    head.indexOf('moov') === -1 || head.indexOf('moov') < head.indexOf('mdat') || !head.includes('mdat'),
    'faststart',
  );
  const atoms = (await fs.readFile(proxy)).toString('latin1');
  t.ok(atoms.indexOf('moov') < atoms.indexOf('mdat'), 'moov before mdat (faststart)');
});

t.test('transcripts: WebVTT voices, SRT speakers, a malformed cue reported and skipped', async (t) => {
  const h = await workerHarness(t);
  const dir = tempDir(t);
  const vtt = path.join(dir, 'interview.vtt');
  await fs.writeFile(
    vtt,
    'WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v 涂金水>拉坯要稳\n\nbad line\n00:00:04 --> 00:00:05.000\nno decimals\n\n00:00:09.000 --> 00:00:08.000\nbackwards\n\n00:00:10.000 --> 00:00:12.250\n<v 访谈人>后来呢？\n',
  );
  const srt = path.join(dir, 'interview.srt');
  await fs.writeFile(
    srt,
    '1\n00:00:01,000 --> 00:00:02,500\n涂金水：我十四岁学徒\n\n2\n00:00:03,000 --> 00:00:04,000\n没有说话人的一句\n',
  );
  for (const [file, want] of [
    [
      vtt,
      {
        format: 'webvtt',
        segments: [
          { start: 1, end: 3, speaker: '涂金水', text: '拉坯要稳' },
          { start: 10, end: 12.25, speaker: '访谈人', text: '后来呢？' },
        ],
        problems: 2,
      },
    ],
    [
      srt,
      {
        format: 'srt',
        segments: [
          { start: 1, end: 2.5, speaker: '涂金水', text: '我十四岁学徒' },
          { start: 3, end: 4, text: '没有说话人的一句' },
        ],
        problems: 0,
      },
    ],
  ] as const) {
    const { job, payload } = await h.addFile(`TR-${path.extname(file).slice(1)}`, file);
    t.equal(job, 'derive-transcript');
    t.same(
      await h.run('derive-transcript', payload),
      { status: 'done' },
      `${want.format}: a bad cue is not fatal`,
    );
    const rec = (await h.derivatives.readRecord(payload.sha512))!;
    const segs = JSON.parse(
      (await readAll(await h.derivatives.open(payload.sha512, 'segments.json'))).toString(),
    ) as { segments: unknown[] };
    t.same(segs.segments, want.segments, `${want.format}: segments`);
    t.match(rec.technical, {
      type: 'transcript',
      format: want.format,
      segments: want.segments.length,
    });
    t.equal(
      rec.warnings.length,
      want.problems,
      `${want.format}: ${want.problems} problem(s) reported: ${rec.warnings.join('; ')}`,
    );
  }
  const empty = path.join(dir, 'empty.vtt');
  await fs.writeFile(empty, 'WEBVTT\n\nnothing here\n');
  const { payload } = await h.addFile('TR-EMPTY', empty);
  await t.rejects(
    h.run('derive-transcript', payload),
    { code: 'CIKU_ERR_MEDIA_UNREADABLE' },
    'no valid cue at all: failed for good',
  );
});

t.test(
  'decoding is bounded: an image over the pixel limit fails cleanly',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const h = await workerHarness(t);
    h.deps.limits.maxImagePixels = 10_000_000;
    const { payload } = await h.addFile('BOMB', path.join(images!, 'canon-dslr.jpg'));
    await t.rejects(h.run('derive-image', payload), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
    const rec = (await h.derivatives.readRecord(payload.sha512))!;
    t.match(rec.derivatives.preview, { status: 'failed', reason: /pixel/ });
    t.match(rec.technical, { model: 'Canon EOS 1300D' }, 'metadata is still recorded');
  },
);

t.test(
  'rederive --missing touches exactly what is missing',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const h = await workerHarness(t);
    const added = [];
    for (const [i, f] of ['noexif.jpg', 'Bush-dog.jpg', 'cookiezen.jpg', 'broken1.jpg'].entries()) {
      const a = await h.addFile(`RD-${i}`, path.join(images!, f));
      await h.run('derive-image', a.payload);
      added.push(a.payload);
    }
    const broken = await h.addFile(
      'RD-BAD',
      path.join(images!, 'truncated-scan-IMG_20180725_163423-tiny.jpg'),
    );
    await h.run('derive-image', broken.payload).catch(() => undefined);
    const plan = async () => {
      const out = [];
      for await (const e of planRederive(h, { missing: true }))
        out.push({ sha: e.payload.sha512, kinds: e.payload.kinds });
      return out;
    };
    t.same(await plan(), [], 'a complete archive (recorded failures included) plans nothing');
    await h.blobs.delete(h.derivatives.keyOf(added[0]!.sha512, 'thumbnail.webp'));
    await h.blobs.delete(h.derivatives.keyOf(added[1]!.sha512, 'record.json'));
    const before = await allKeys(h);
    const planned = await plan();
    t.same(
      planned.sort((a, b) => a.sha.localeCompare(b.sha)),
      [
        { sha: added[0]!.sha512, kinds: ['thumbnail'] },
        { sha: added[1]!.sha512, kinds: ['thumbnail', 'preview'] },
      ].sort((a, b) => a.sha.localeCompare(b.sha)),
      'only the lost thumbnail and the file without a record',
    );
    for await (const e of planRederive(h, { missing: true })) await h.run(e.name, e.payload);
    const after = await allKeys(h);
    const changed = [...after]
      .filter(([k, m]) => before.get(k) !== m)
      .map(([k]) => k.split('/').slice(-2).join('/'));
    t.same(
      changed.sort(),
      [
        `${added[0]!.sha512}/record.json`,
        `${added[0]!.sha512}/thumbnail.webp`,
        `${added[1]!.sha512}/preview.webp`,
        `${added[1]!.sha512}/record.json`,
        `${added[1]!.sha512}/thumbnail.webp`,
      ].sort(),
      'nothing else was written',
    );
    t.same(await plan(), [], 'and now nothing is missing');
  },
);

t.test('the proxy plan copies what browsers play and encodes the rest', async (t) => {
  const video = (
    v: Partial<AvTechnicalT['streams'][number]>,
    a?: string,
    extra: Partial<AvTechnicalT> = {},
  ): AvTechnicalT => ({
    type: 'video',
    streams: [
      { index: 0, type: 'video', ...v },
      ...(a ? [{ index: 1, type: 'audio' as const, codec: a }] : []),
    ],
    ...extra,
  });
  const hd = { codec: 'h264', pixel_format: 'yuv420p', profile: 'High', width: 1920, height: 1080 };
  t.equal(planProxy(video(hd, 'aac')).mode, 'copy', 'H.264 1080p + AAC: copy');
  t.equal(planProxy(video(hd)).mode, 'copy', 'H.264 without audio: copy');
  t.equal(planProxy(video(hd, 'pcm_s16le')).mode, 'encode', 'PCM audio is not web audio');
  t.equal(
    planProxy(video({ ...hd, profile: 'High 10', pixel_format: 'yuv420p10le' }, 'aac')).mode,
    'encode',
    '10-bit',
  );
  t.equal(
    planProxy(video({ ...hd, width: 3840, height: 2160 }, 'aac')).mode,
    'encode',
    'a 4K master is brought down',
  );
  t.equal(
    planProxy(video(hd, 'aac', { bit_rate: 50_000_000 })).mode,
    'encode',
    'a heavy bit rate is brought down',
  );
  t.equal(planProxy(video({ codec: 'prores', width: 1920, height: 1080 }, 'pcm_s24le')).mode, 'encode');
  const audio = (codec: string): AvTechnicalT => ({
    type: 'audio',
    streams: [{ index: 0, type: 'audio', codec }],
  });
  t.match(planProxy(audio('opus')), { mode: 'copy', container: 'ogg' });
  t.match(planProxy(audio('mp3')), { mode: 'copy', container: 'mp3' });
  t.match(planProxy(audio('flac')), { mode: 'encode', container: 'm4a' });
});

t.test('CMYK and multi-page TIFFs: sRGB derivatives, the first page, the page count', async (t) => {
  const h = await workerHarness(t);
  const dir = tempDir(t);
  const sharp = (await import('sharp')).default;
  const page = (colour: string) =>
    sharp({ create: { width: 300, height: 200, channels: 3, background: colour } })
      .png()
      .toBuffer();
  const multi = path.join(dir, 'pages.tif');
  await sharp([await page('#ff0000'), await page('#0000ff')], { join: { animated: true } })
    .tiff()
    .toFile(multi);
  const cmyk = path.join(dir, 'cmyk.tif');
  // A CMYK scan as a prepress workflow leaves it: CMYK pixels with the CMYK profile embedded.
  await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 0, g: 160, b: 60 } } })
    .toColourspace('cmyk')
    .withIccProfile('cmyk')
    .tiff()
    .toFile(cmyk);
  for (const [file, want] of [
    [multi, { pages: 2, colour: [255, 0, 0] }],
    [cmyk, { pages: 1, colour: [0, 160, 60] }],
  ] as const) {
    const { payload } = await h.addFile(`TIF-${path.basename(file)}`, file);
    t.same(await h.run('derive-image', payload), { status: 'done' });
    const rec = (await h.derivatives.readRecord(payload.sha512))!;
    t.match(rec.technical, { format: 'tiff', width: 300, height: 200 });
    if (want.pages > 1) {
      t.match(rec.technical, { pages: 2 }, 'page count recorded');
      t.match(rec.warnings, [/2 pages/], 'and said');
    }
    const thumb = await readAll(await h.derivatives.open(payload.sha512, 'thumbnail.webp'));
    const meta = await sharp(thumb).metadata();
    t.same(
      [meta.space, meta.width, meta.height],
      ['srgb', 256, 171],
      `${path.basename(file)}: sRGB thumbnail of one page`,
    );
    const { data } = await sharp(thumb).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const mid = (85 * 256 + 128) * 3;
    const px = [data[mid]!, data[mid + 1]!, data[mid + 2]!];
    t.ok(
      px.every((v, i) => Math.abs(v - want.colour[i]!) < 40),
      `${path.basename(file)}: colour kept (${px.join(',')})`,
    );
  }
});

t.test(
  'the index is told after derivatives are made, and only when a search engine is configured',
  async (t) => {
    const h = await workerHarness(t);
    const dir = tempDir(t);
    const vtt = path.join(dir, 'a.vtt');
    await fs.writeFile(vtt, 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n青花\n');
    const { payload } = await h.addFile('IDX-1', vtt);
    await h.run('derive-transcript', payload);
    t.same(h.enqueued, [], 'no engine: no index job queued');
    t.same(await h.run('index-item', { itemId: 'IDX-1', version: 'v1' }), {
      status: 'skipped',
      detail: 'no search engine is configured for these workers',
    });
    const index = createSqliteIndex({ dir: tempDir(t) });
    t.teardown(() => index.close());
    h.deps.search = createIndexer({ items: h.items, derivatives: h.deps.derivatives, index });
    await h.run('derive-transcript', { ...payload, force: true });
    t.same(
      h.enqueued.map((e) => e.payload),
      [{ itemId: 'IDX-1', version: 'v1', after: payload.sha512.slice(0, 16) }],
      'one index job, after the record',
    );
    t.same(await h.run('index-item', { itemId: 'IDX-1', version: 'v1' }), {
      status: 'done',
      detail: 'indexed v1',
    });
    const seg = await index.searchSegments({ q: '青花', page: 1, limit: 10, scope: { all: true } });
    t.same(
      seg.items.map((i) => [i.id, i.segments.map((x) => [x.start, x.end, x.text])]),
      [['IDX-1', [[1, 2, '<mark>青花</mark>']]]],
      'the transcript segment is searchable with its timecodes',
    );
    await h.items.delete(
      'IDX-1',
      { name: 'archivist:test', address: 'urn:ciku:agent:archivist:test' },
      'test',
    );
    t.same(await h.run('index-item', { itemId: 'IDX-1', version: 'v2' }), {
      status: 'done',
      detail: 'removed from the index',
    });
    t.equal((await index.stats()).documents, 0, 'the tombstoned item left the index');
    t.equal(await index.indexedVersion('IDX-1'), undefined);
  },
);

t.test(
  'on S3 the source is downloaded once into the job scratch and serves every derivative, tiles included',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const h = await workerHarness(t, 's3');
    t.notOk('localPath' in h.blobs, 'no local path on S3: the job must download');
    const { payload } = await h.addFile('S3-IMG', path.join(images!, 'canon-dslr.jpg'));
    t.same(await h.run('derive-image', payload), { status: 'done' });
    const rec = (await h.derivatives.readRecord(payload.sha512))!;
    t.match(rec.derivatives, {
      thumbnail: { status: 'ready' },
      preview: { status: 'ready' },
      iiif: { status: 'ready' },
    });
  },
);
