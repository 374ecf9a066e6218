import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * Generators of hostile media, small on disk and costly to work on: the repros of issue 13 (finding 3: media work
 * has no bound; finding 6: large transcripts never finish), shared by the worker tests and the hostile-input suite.
 * Everything is made at test time (nothing hostile is committed); files go into the caller's temp folder.
 */

const run = promisify(execFile);

export interface WavShape {
  sampleRate: number;
  channels: number;
  bitsPerSample?: number;
  /** Bytes of samples after the 44-byte header. */
  dataBytes: number;
  /** Noise (default) costs an encoder what real sound does; silence compresses to nothing. */
  fill?: 'noise' | 'silence';
}

/** A PCM WAV exactly as declared: a 44-byte header (WAVE_FORMAT_PCM) and `dataBytes` of noise or silence. */
export function wavFile(shape: WavShape): Buffer {
  const bits = shape.bitsPerSample ?? 16;
  const blockAlign = (shape.channels * bits) / 8;
  const h = Buffer.alloc(44 + shape.dataBytes);
  h.write('RIFF', 0);
  h.writeUInt32LE((36 + shape.dataBytes) >>> 0, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(shape.channels, 22);
  h.writeUInt32LE(shape.sampleRate, 24);
  h.writeUInt32LE((shape.sampleRate * blockAlign) >>> 0, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36);
  h.writeUInt32LE(shape.dataBytes >>> 0, 40);
  if ((shape.fill ?? 'noise') === 'noise') {
    // A fixed xorshift sequence: the same bytes (the same digest) every run.
    let x = 0x9e3779b9;
    for (let i = 44; i < h.length; i += 1) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      h[i] = x & 0xff;
    }
  }
  return h;
}

/**
 * The repro: 8,044 bytes of 16-bit stereo WAV declaring a 1 Hz sample rate — 2,000 s of "audio", which
 * an AAC proxy resamples to 48 kHz (122 s of worker time, a 33 MB proxy before the bounds).
 */
export function lowSampleRateWav(): Buffer {
  return wavFile({ sampleRate: 1, channels: 2, dataBytes: 8000 });
}

/** A WAV with `channels` channels (default 64, past the default bound of 32): every one is decoded and mixed. */
export function manyChannelsWav(channels = 64, seconds = 1): Buffer {
  return wavFile({ sampleRate: 8000, channels, dataBytes: 8000 * channels * 2 * seconds });
}

/** Annex B NAL units (start codes 00 00 01 / 00 00 00 01), without their start codes or trailing zero bytes. */
function nalUnits(stream: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < stream.length; i += 1) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : stream.length;
    while (end > s && stream[end - 1] === 0) end -= 1;
    return stream.subarray(s, end);
  });
}

/**
 * The other repro: a few hundred KB of H.264 High 4:2:2 declaring `seconds` (default 300) of 3840×2160
 * black at 30 fps — 9,000 frames to decode, scale and encode for a proxy (93 s before the bounds), while each
 * figure alone (duration, frame size, pixels × frames) is within the defaults: only decoded pixels per stored byte
 * tells it from a real master.
 *
 * Encoding 9,000 4K frames takes minutes, so x264 encodes 48 frames and the clip repeats its P-frames: x264 writes
 * a 4-bit frame_num for an infinite GOP, so after the first frames every P-frame of a static picture is one of a
 * short cycle of identical slices, and repeating that cycle is exactly what the encoder would have written. The
 * cycle is found in the bytes (and the helper fails, saying so, if an x264 build writes otherwise).
 */
export async function tinyLong4kH264(
  dir: string,
  options: { seconds?: number; fps?: number; name?: string } = {},
): Promise<string> {
  const { seconds = 300, fps = 30, name = 'tiny-long-4k.mp4' } = options;
  const raw = path.join(dir, `${name}.seed.h264`);
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `color=black:s=3840x2160:r=${fps}`, '-frames:v', '48'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv422p', '-crf', '51'],
    ...['-x264-params', 'keyint=infinite:bframes=0', '-f', 'h264', raw],
  ]);
  const nals = nalUnits(await fs.readFile(raw));
  const firstSlice = nals.findIndex((n) => (n[0]! & 0x1f) === 5);
  const slices = nals.slice(firstSlice);
  if (firstSlice < 0 || slices.length !== 48 || slices.slice(1).some((n) => (n[0]! & 0x1f) !== 1)) {
    throw new Error('tinyLong4kH264: x264 did not write one IDR slice followed by P slices');
  }
  const from = 3;
  const period = [...Array(22).keys()]
    .map((k) => k + 1)
    .find((p) => slices.slice(from, slices.length - p).every((s, i) => s.equals(slices[from + i + p]!)));
  if (period === undefined) throw new Error('tinyLong4kH264: the P-frames of this x264 build do not repeat');
  const frames = Math.round(seconds * fps);
  const startCode = Buffer.from([0, 0, 0, 1]);
  const parts: Buffer[] = [];
  for (const n of nals.slice(0, firstSlice + from)) parts.push(startCode, n);
  for (let i = from; i < frames; i += 1) parts.push(startCode, slices[from + ((i - from) % period)]!);
  const long = path.join(dir, `${name}.h264`);
  await fs.writeFile(long, Buffer.concat(parts));
  const out = path.join(dir, name);
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'h264', '-framerate', String(fps), '-i', long],
    ...['-c', 'copy', '-movflags', '+faststart', out],
  ]);
  await fs.rm(raw, { force: true });
  await fs.rm(long, { force: true });
  return out;
}

/** A short clip that must be transcoded (MPEG-4 Part 2 + PCM in AVI): for budgets and output caps. */
export async function clipToTranscode(
  dir: string,
  options: { seconds?: number; size?: string; name?: string } = {},
): Promise<string> {
  const { seconds = 5, size = '640x360', name = 'clip.avi' } = options;
  const out = path.join(dir, name);
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=300:duration=${seconds}`],
    ...['-c:v', 'mpeg4', '-q:v', '5', '-c:a', 'pcm_s16le', '-shortest', out],
  ]);
  return out;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * An image decompression bomb: a valid 1-bit greyscale PNG of `width` × `height` white pixels (default
 * 30,000 × 30,000 = 900 megapixels, above the default decoding bound of 200), ~110 KB on disk. Deflated row by
 * row, so making it never holds the decoded image.
 */
export async function pngDecompressionBomb(width = 30_000, height = 30_000): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(1, 8); // bit depth
  ihdr.writeUInt8(0, 9); // greyscale
  const row = Buffer.alloc(1 + Math.ceil(width / 8), 0xff);
  row[0] = 0; // filter: none
  const deflate = zlib.createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  for (let y = 0; y < height; y += 1) {
    if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(out)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const vttTime = (ms: number): string => {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
};

/**
 * A transcript of `cues` cues (default 140,000: the issue's ~9 MB WebVTT that overflowed the stack), 0.8 s each
 * every second, alternating a WebVTT voice and a "name：" speaker, in Chinese. `format: 'srt'` writes SubRip.
 */
export function manyCueTranscript(cues = 140_000, format: 'vtt' | 'srt' = 'vtt'): Buffer {
  const parts: string[] = [format === 'vtt' ? 'WEBVTT\n\n' : ''];
  for (let i = 0; i < cues; i += 1) {
    const start = i * 1000;
    let timing = `${vttTime(start)} --> ${vttTime(start + 800)}`;
    if (format === 'srt') timing = timing.replace(/\./g, ',');
    const text = i % 2 === 0 ? `<v 涂金水>拉坯要稳，第${i}句` : `访谈人：后来呢？第${i}句`;
    parts.push(format === 'srt' ? `${i + 1}\n${timing}\n${text}\n\n` : `${timing}\n${text}\n\n`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}
