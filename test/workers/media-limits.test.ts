import { promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { AvTechnicalT } from '../../schemas/technical.ts';
import { makeProxy, probeAv } from '../../services/adapters/av.ts';
import { loadConfig } from '../../services/config.ts';
import { CikuError } from '../../services/errors.ts';
import { avLimitProblems } from '../../workers/av-limits.ts';
import { failureReason, withoutAddresses } from '../../workers/job-deps.ts';
import { planProxy } from '../../workers/proxy-plan.ts';
import { planRederive } from '../../workers/rederive.ts';
import { isPermanent } from '../../workers/registry.ts';
import { tempDir } from '../helpers/env.ts';
import {
  clipToTranscode,
  lowSampleRateWav,
  manyChannelsWav,
  pngDecompressionBomb,
  tinyLong4kH264,
  wavFile,
} from '../helpers/media-bombs.ts';
import { workerHarness, type Harness } from '../helpers/workers.ts';

/**
 * Issue 13, finding 3: media work is bounded. Each repro is refused after one probe (nothing transcoded), every
 * derivative `failed` with the same `media-limits-exceeded: …` reason, and the job fails for good (no retry).
 */
const defaults = loadConfig({}).worker.av;
const LIMITS = /^media-limits-exceeded: /;

async function deriveFile(h: Harness, id: string, file: string) {
  const { job, payload } = await h.addFile(id, file);
  let error: unknown;
  try {
    await h.run(job!, payload);
  } catch (err) {
    error = err;
  }
  const record = (await h.derivatives.readRecord(payload.sha512))!;
  const keys = (await h.derivatives.keys(payload.sha512)).map((k) => k.split('/').pop());
  return { job, payload, record, error, keys };
}

function refusedAlike(t: Test, r: Awaited<ReturnType<typeof deriveFile>>, kinds: string[], why: RegExp) {
  t.ok(isPermanent(r.error), 'the job fails for good: not retried');
  t.match(r.error, { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
  t.same(Object.keys(r.record.derivatives).sort(), [...kinds].sort(), `${kinds.join(', ')} recorded`);
  const reasons = new Set(kinds.map((k) => r.record.derivatives[k]?.reason));
  t.equal(reasons.size, 1, 'every kind has the same reason');
  for (const k of kinds) t.equal(r.record.derivatives[k]?.status, 'failed', `${k} failed`);
  const [reason] = [...reasons];
  t.match(reason, LIMITS, `reason: ${reason}`);
  t.match(reason, why);
  t.same(r.keys, ['record.json'], 'nothing but the record was made: no proxy, poster or waveform');
}

t.test(
  'an 8,044-byte WAV declaring 1 Hz is refused after its probe, not transcoded for a minute',
  async (t) => {
    const h = await workerHarness(t);
    const file = path.join(tempDir(t), 'bomb-1hz.wav');
    await fs.writeFile(file, lowSampleRateWav());
    t.equal((await fs.stat(file)).size, 8044);
    const r = await deriveFile(h, 'BOMB-WAV', file);
    t.equal(r.job, 'derive-av');
    refusedAlike(
      t,
      r,
      ['proxy', 'waveform'],
      /sample rate 1 Hz is outside 4,000–768,000 Hz \(CIKU_AV_MIN_SAMPLE_RATE/,
    );
    t.match(
      r.record.technical,
      { type: 'audio', duration: 2000, streams: [{ sample_rate: 1 }] },
      'the probe is kept: it shows why',
    );
    const plan = [];
    for await (const e of planRederive(h, { missing: true })) plan.push(e);
    t.same(plan, [], 'a refusal is a verdict: rederive --missing queues nothing');
  },
);

t.test(
  'a few hundred KB of 5-minute 4K 4:2:2 H.264 is refused by decoded pixels per stored byte alone',
  async (t) => {
    const h = await workerHarness(t);
    const file = await tinyLong4kH264(tempDir(t));
    const info = await probeAv(file);
    const size = (await fs.stat(file)).size;
    t.ok(size < 400_000, `${size} bytes on disk`);
    t.match(info, { width: 3840, height: 2160, streams: [{ codec: 'h264', pixel_format: 'yuv422p' }] });
    t.ok(Math.abs(info.duration! - 300) < 0.1, `declares ${info.duration} s`);
    t.same(
      avLimitProblems(info, Number.MAX_SAFE_INTEGER, defaults),
      [],
      'duration, frame size and pixels × frames are each within the defaults',
    );
    const r = await deriveFile(h, 'BOMB-4K', file);
    refusedAlike(
      t,
      r,
      ['proxy', 'poster'],
      /decoded pixels per stored byte .* \(CIKU_AV_MAX_PIXELS_PER_BYTE\)/,
    );
  },
);

t.test('a WAV of 64 channels is refused by the channel bound', async (t) => {
  const h = await workerHarness(t);
  const file = path.join(tempDir(t), 'many.wav');
  await fs.writeFile(file, manyChannelsWav(64));
  const r = await deriveFile(h, 'BOMB-CH', file);
  refusedAlike(t, r, ['proxy', 'waveform'], /64 channels are above 32 \(CIKU_AV_MAX_CHANNELS\)/);
});

t.test('each bound names itself; a 3-hour 4K interview fits the defaults', async (t) => {
  const video = (over: Partial<AvTechnicalT['streams'][number]> = {}, duration = 3 * 3600): AvTechnicalT => ({
    type: 'video',
    duration,
    streams: [
      { index: 0, type: 'video', codec: 'h264', width: 3840, height: 2160, frame_rate: 30, ...over },
      { index: 1, type: 'audio', codec: 'aac', sample_rate: 48_000, channels: 2 },
    ],
  });
  // 3 h of 4K at 8 Mbit/s, a lean interview master: ~10.8 GB.
  const interview = 3 * 3600 * 1_000_000;
  t.same(avLimitProblems(video(), interview, defaults), [], '3-hour 4K30 interview with stereo 48 kHz audio');
  t.same(avLimitProblems(video({ frame_rate: 60 }, 4 * 3600), interview, defaults), [], '4 hours of 4K60');
  const one = (info: AvTechnicalT, size = interview) => avLimitProblems(info, size, defaults);
  t.match(one(video({}, 9 * 3600)), [/CIKU_AV_MAX_DURATION_S/]);
  t.match(one(video({ width: 15360, height: 8640 }, 60)), [/CIKU_AV_MAX_FRAME_PIXELS/]);
  t.match(one(video({ frame_rate: 240 }, 8 * 3600), 10 ** 15), [/CIKU_AV_MAX_PIXEL_FRAMES/]);
  t.match(one(video({}, 300), 170_000), [/CIKU_AV_MAX_PIXELS_PER_BYTE/]);
  const audio = (sample_rate: number, channels = 2): AvTechnicalT => ({
    type: 'audio',
    duration: 60,
    streams: [{ index: 0, type: 'audio', codec: 'pcm_s16le', sample_rate, channels }],
  });
  t.same(one(audio(8000, 1)), [], 'telephone audio');
  t.same(one(audio(192_000, 8)), [], '192 kHz 8-channel field recording');
  t.match(one(audio(1)), [/CIKU_AV_MIN_SAMPLE_RATE/]);
  t.match(one(audio(3_000_000)), [/CIKU_AV_MAX_SAMPLE_RATE/]);
  t.match(one(audio(48_000, 33)), [/CIKU_AV_MAX_CHANNELS/]);
  t.same(
    one({ ...video({ attached_picture: true, frame_rate: 90_000 }), type: 'audio' }, 10_000),
    [],
    'a cover picture is one frame, not frames × duration',
  );
});

t.test(
  'ffmpeg past its wall-clock budget is stopped: every kind failed for good, not a shutdown',
  async (t) => {
    const h = await workerHarness(t);
    const file = await clipToTranscode(tempDir(t), { seconds: 4 });
    // A budget of 1 ms: ffmpeg is stopped as it starts, whatever the machine's speed.
    h.deps.limits.av = { ...defaults, budgetBaseS: 0.001, budgetPerMediaS: 0 };
    const r = await deriveFile(h, 'BUDGET', file);
    t.ok(isPermanent(r.error), 'permanent (a shutdown would be CIKU_ERR_UNAVAILABLE and retried)');
    t.match(r.error, { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
    for (const [kind, what] of [
      ['proxy', 'the proxy transcode'],
      ['poster', 'the poster frame'],
      ['waveform', 'the waveform decode'],
    ] as const) {
      t.equal(r.record.derivatives[kind]?.status, 'failed', `${kind} failed`);
      t.match(
        r.record.derivatives[kind]?.reason,
        new RegExp(
          `^media-limits-exceeded: ${what} was stopped after its budget of 0.001 s \\(CIKU_AV_BUDGET_BASE_S 0.001 \\+ CIKU_AV_BUDGET_PER_MEDIA_S 0 ×`,
        ),
      );
    }
    t.same(r.keys, ['record.json'], 'nothing half-made is visible');
  },
);

t.test('the budget and the shutdown signal stop ffmpeg for different reasons', async (t) => {
  const dir = tempDir(t);
  const file = await clipToTranscode(dir, { seconds: 4 });
  const plan = planProxy(await probeAv(file));
  const aborted = new AbortController();
  aborted.abort();
  await t.rejects(
    makeProxy(file, path.join(dir, 'a.mp4'), plan, { signal: aborted.signal }),
    { code: 'CIKU_ERR_UNAVAILABLE' },
    'shutdown: transient, the job is released to run again',
  );
  await t.rejects(
    makeProxy(file, path.join(dir, 'b.mp4'), plan, {
      signal: new AbortController().signal,
      budget: { ms: 1, why: 'a test budget' },
    }),
    { code: 'CIKU_ERR_MEDIA_TOO_LARGE', message: 'the proxy transcode was stopped after a test budget' },
    'budget: a verdict on the file',
  );
  await makeProxy(file, path.join(dir, 'c.mp4'), plan, { budget: { ms: 600_000, why: 'ample' } });
  t.ok((await fs.stat(path.join(dir, 'c.mp4'))).size > 0, 'within its budget the proxy is made');
});

t.test(
  'a proxy that reaches its size cap fails with the cap; poster and waveform are still made',
  async (t) => {
    const h = await workerHarness(t);
    const file = await clipToTranscode(tempDir(t), { seconds: 4 });
    h.deps.limits.av = { ...defaults, proxyBaseBytes: 20_000, proxyBytesPerS: 1 };
    const r = await deriveFile(h, 'CAP', file);
    t.ok(isPermanent(r.error));
    t.equal(r.record.derivatives.proxy?.status, 'failed');
    t.match(
      r.record.derivatives.proxy?.reason,
      /^media-limits-exceeded: the proxy reached its size cap of 20,00\d bytes \(CIKU_AV_PROXY_BASE_BYTES 20000 \+ CIKU_AV_PROXY_BYTES_PER_S 1 × 4\.\d s\)/,
    );
    t.equal(r.record.derivatives.poster?.status, 'ready', 'each derivative stands or fails alone');
    t.equal(r.record.derivatives.waveform?.status, 'ready');
    t.notOk(r.keys.includes('proxy.mp4'), 'no cut-off proxy is published');
  },
);

t.test('recorded failure reasons carry no memory addresses', async (t) => {
  const h = await workerHarness(t);
  const file = path.join(tempDir(t), 'thousand.wav');
  // ffprobe refuses it, naming its decoder by address: "[pcm_s16le @ 0x5582f912a400] Too many channels: 1000".
  await fs.writeFile(file, wavFile({ sampleRate: 8000, channels: 1000, dataBytes: 16_000 }));
  const r = await deriveFile(h, 'ADDR', file);
  t.ok(isPermanent(r.error));
  for (const kind of ['proxy', 'waveform']) {
    const reason = r.record.derivatives[kind]?.reason ?? '';
    t.match(reason, /Too many channels: 1000/, `${kind}: ${reason}`);
    t.notMatch(reason, /0x[0-9a-f]{6,}/i, `${kind}: no address`);
    t.match(reason, /\[pcm_s16le\]/, `${kind}: the decoder is still named`);
  }
  t.equal(
    withoutAddresses(
      '[h264 @ 0x55d0c3a1e2c0] error while decoding MB 12 4, at 0x7ffd5c2b1a80; marker 0xFFD8FFE0',
    ),
    '[h264] error while decoding MB 12 4, at 0x…; marker 0xFFD8FFE0',
    'pointers go, short hex (markers, tags) stays',
  );
  t.equal(
    failureReason(
      new CikuError('CIKU_ERR_MEDIA_UNREADABLE', '[mov,mp4 @ 0x5581c0a3e2c0] moov atom not found'),
    ),
    '[mov,mp4] moov atom not found',
  );
});

t.test('an image decompression bomb is refused at its header as media-limits-exceeded', async (t) => {
  const h = await workerHarness(t);
  const file = path.join(tempDir(t), 'bomb.png');
  const png = await pngDecompressionBomb();
  t.ok(png.length < 500_000, `${png.length} bytes for 900 megapixels`);
  await fs.writeFile(file, png);
  const r = await deriveFile(h, 'BOMB-PNG', file);
  t.equal(r.job, 'derive-image');
  refusedAlike(t, r, ['thumbnail', 'preview'], /pixel limit/);
});
