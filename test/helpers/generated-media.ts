import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { wavFile } from './media-bombs.ts';

/**
 * Ordinary media made at test time (ffmpeg's test sources, bytes written in code), for tests that must run
 * without ../shared: a JPEG of any size, one with an EXIF orientation, an AVI, an MP3, a WAV and a Matroska file
 * whose EBML header is broken. Files go into the caller's temp folder; the same arguments give the same kind of
 * file every run (ffmpeg's encoders are deterministic for these sources).
 */

const run = promisify(execFile);

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-nostdin', ...args]);
}

/** A baseline JPEG of `width`×`height`; `noise` makes it hard to compress (a large file for a small picture). */
export async function jpegFile(
  dir: string,
  name: string,
  size: { width: number; height: number; noise?: boolean },
): Promise<string> {
  const out = path.join(dir, name);
  const filter = size.noise ? ['-vf', 'noise=alls=80:allf=u'] : [];
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size.width}x${size.height}:rate=1`,
    ...filter,
    '-frames:v',
    '1',
    '-q:v',
    '2',
    out,
  ]);
  return out;
}

/**
 * The EXIF APP1 segment of a JPEG holding one tag: Orientation (0x0112) = `orientation`, big-endian TIFF, one IFD.
 */
function exifOrientation(orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10);
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt32BE(0, 22); // no next IFD
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** A JPEG whose EXIF says it must be turned (`orientation` 1–8), like a phone picture taken sideways. */
export async function orientedJpegFile(
  dir: string,
  name: string,
  orientation: number,
  size = { width: 320, height: 240 },
): Promise<string> {
  const plain = await fs.readFile(await jpegFile(dir, `${name}.plain.jpg`, size));
  // Right after SOI: ffmpeg writes a JFIF APP0, which may stay; EXIF readers look for the APP1 anywhere before SOF.
  const out = path.join(dir, name);
  await fs.writeFile(
    out,
    Buffer.concat([plain.subarray(0, 2), exifOrientation(orientation), plain.subarray(2)]),
  );
  return out;
}

/** A small AVI (MPEG-4 part 2 video, PCM audio): a container browsers do not play, so a proxy is encoded. */
export async function aviFile(dir: string, name: string, seconds = 2): Promise<string> {
  const out = path.join(dir, name);
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=320x240:rate=25:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    '-c:v',
    'mpeg4',
    '-c:a',
    'pcm_s16le',
    '-shortest',
    out,
  ]);
  return out;
}

/** A short MP3 (a sine tone). */
export async function mp3File(dir: string, name: string, seconds = 1): Promise<string> {
  const out = path.join(dir, name);
  await ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:a', 'libmp3lame', out]);
  return out;
}

/** A PCM WAV of noise, 8 kHz mono. */
export async function wavNoiseFile(dir: string, name: string, seconds = 1): Promise<string> {
  const out = path.join(dir, name);
  await fs.writeFile(out, wavFile({ sampleRate: 8000, channels: 1, dataBytes: 8000 * 2 * seconds }));
  return out;
}

/**
 * A Matroska file with a corrupt EBML header (the first child's ID zeroed): still recognised as Matroska by its
 * magic number, refused by ffprobe ("EBML header parsing failed").
 */
export async function corruptMkvFile(dir: string, name: string): Promise<string> {
  const good = path.join(dir, `${name}.good.mkv`);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=1', '-c:v', 'ffv1', good]);
  const bytes = await fs.readFile(good);
  const at = bytes.indexOf(Buffer.from([0x42, 0x86])); // EBMLVersion, the header's first child
  if (at < 0 || at > 16) throw new Error('unexpected Matroska header from ffmpeg');
  bytes[at] = 0;
  const out = path.join(dir, name);
  await fs.writeFile(out, bytes);
  return out;
}
