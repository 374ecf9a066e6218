import ffmpeg from 'fluent-ffmpeg';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import type { AvStreamT, AvTechnicalT, WaveformPeaksT } from '../../schemas/technical.ts';
import { dropUndefined as defined } from '../drop-undefined.ts';
import { CikuError } from '../errors.ts';

/**
 * The one module that runs ffmpeg/ffprobe. It speaks our words: `probeAv(path) → AvTechnical`,
 * `makeProxy(input, output, plan)`, `makePoster`, `waveformPeaks`. ffmpeg runs as a child process, so hour-long
 * transcodes never block the worker's event loop; each run takes `RunBounds` (a wall-clock budget, the shutdown
 * signal), and the proxy a size cap.
 */

/** What the proxy step must do, decided from the probe (see `planProxy` in workers/proxy-plan.ts). */
export interface ProxyPlan {
  /** `copy`: the source is already web-playable, re-muxed with faststart; `encode`: transcode. */
  mode: 'copy' | 'encode';
  container: 'mp4' | 'm4a' | 'mp3' | 'ogg';
  video: boolean;
  audio: boolean;
  /** Long-side bound for encoded video (even dimensions are always enforced). */
  maxLongSide: number;
}

export interface ProgressReport {
  /** Seconds of the source processed so far. */
  seconds: number;
}

const PROBE_TIMEOUT_MS = 60_000;

interface RawStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  channels?: number;
  channel_layout?: string;
  sample_rate?: string;
  bits_per_raw_sample?: string;
  bits_per_sample?: number;
  bit_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  side_data_list?: { rotation?: number }[];
  tags?: Record<string, string>;
}
interface RawProbe {
  format?: { format_name?: string; duration?: string; bit_rate?: string; tags?: Record<string, string> };
  streams?: RawStream[];
  chapters?: { start_time?: string; end_time?: string; tags?: { title?: string } }[];
}

const num = (v: string | number | undefined): number | undefined => {
  const n = typeof v === 'number' ? v : v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
};
const int = (v: string | number | undefined): number | undefined => {
  const n = num(v);
  return n === undefined ? undefined : Math.round(n);
};
const rate = (v: string | undefined): number | undefined => {
  const m = v === undefined ? null : /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[2]) === 0 || Number(m[1]) === 0) return undefined;
  return Math.round((Number(m[1]) / Number(m[2])) * 1000) / 1000;
};

/** ISO 6709 `+40.7248-073.9883+044.000/` (QuickTime location) → coordinates. */
function iso6709(s: string | undefined): AvTechnicalT['gps'] {
  const m = s === undefined ? null : /^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?/.exec(s);
  if (!m) return undefined;
  const latitude = Number(m[1]);
  const longitude = Number(m[2]);
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  return defined({ latitude, longitude, altitude: m[3] === undefined ? undefined : Number(m[3]) });
}

function normaliseRotation(deg: number | undefined): number | undefined {
  if (deg === undefined) return undefined;
  // ffprobe's display-matrix rotation is counter-clockwise; we report the clockwise turn a player applies.
  const cw = (((-Math.round(deg / 90) * 90) % 360) + 360) % 360;
  return cw;
}

function streamOf(s: RawStream): AvStreamT {
  const type = (['video', 'audio', 'subtitle', 'data', 'attachment'] as const).find(
    (t) => t === s.codec_type,
  );
  const rotation =
    s.codec_type === 'video'
      ? normaliseRotation(
          num(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? s.tags?.rotate),
        )
      : undefined;
  return defined({
    index: s.index,
    type: type ?? 'data',
    codec: s.codec_name,
    profile: s.profile,
    attached_picture: s.disposition?.attached_pic === 1 ? true : undefined,
    width: s.width,
    height: s.height,
    pixel_format: s.pix_fmt,
    frame_rate: s.codec_type === 'video' ? (rate(s.avg_frame_rate) ?? rate(s.r_frame_rate)) : undefined,
    rotation,
    channels: s.channels,
    channel_layout: s.channel_layout,
    sample_rate: int(s.sample_rate),
    bits_per_sample: int(s.bits_per_raw_sample) ?? (s.bits_per_sample ? s.bits_per_sample : undefined),
    bit_rate: int(s.bit_rate),
    duration: num(s.duration),
    language: s.tags?.language && s.tags.language !== 'und' ? s.tags.language : undefined,
  });
}

/**
 * ffprobe as JSON under a kill timer. (fluent-ffmpeg's own ffprobe wrapper has no timeout and parses the INI
 * output; hostile files — a corrupt Matroska once made parsers loop — need both.)
 */
export async function probeAv(file: string): Promise<AvTechnicalT> {
  const raw = await new Promise<RawProbe>((resolve, reject) => {
    execFile(
      process.env.FFPROBE_PATH ?? 'ffprobe',
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-show_chapters', file],
      { timeout: PROBE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) {
          const why = (stderr || err.message).trim().split('\n').slice(-2).join(' ').replace(file, 'input');
          reject(new CikuError('CIKU_ERR_MEDIA_UNREADABLE', `ffprobe could not read the file: ${why}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as RawProbe);
        } catch {
          reject(new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'ffprobe gave no readable answer'));
        }
      },
    );
  });
  const streams = (raw.streams ?? []).map(streamOf);
  const video = streams.find((s) => s.type === 'video' && !s.attached_picture);
  const audio = streams.find((s) => s.type === 'audio');
  if (!video && !audio) {
    throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'the file holds no audio or video stream');
  }
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.format?.tags ?? {})) {
    if (typeof v === 'string' && !k.endsWith('-eng')) tags[k.toLowerCase()] = v.slice(0, 20_000);
  }
  const rotation = video?.rotation;
  const turned = rotation === 90 || rotation === 270;
  const created =
    tags['com.apple.quicktime.creationdate'] ?? tags.date ?? tags.creation_time ?? tags.date_recorded;
  return defined({
    type: video ? ('video' as const) : ('audio' as const),
    container: raw.format?.format_name,
    duration: num(raw.format?.duration) ?? video?.duration ?? audio?.duration,
    bit_rate: int(raw.format?.bit_rate),
    width: video?.width,
    height: video?.height,
    display_width: video ? (turned ? video.height : video.width) : undefined,
    display_height: video ? (turned ? video.width : video.height) : undefined,
    rotation,
    created,
    gps: iso6709(tags['com.apple.quicktime.location.iso6709'] ?? tags.location),
    make: tags['com.apple.quicktime.make'] ?? tags.make,
    model: tags['com.apple.quicktime.model'] ?? tags.model,
    tags: Object.keys(tags).length > 0 ? tags : undefined,
    chapters:
      raw.chapters && raw.chapters.length > 0
        ? raw.chapters.map((c) =>
            defined({ start: num(c.start_time) ?? 0, end: num(c.end_time) ?? 0, title: c.tags?.title }),
          )
        : undefined,
    streams,
  });
}

/** The ffmpeg output options for a plan: one place, so the benchmark's bare ffmpeg runs exactly these. */
export function proxyOutputOptions(plan: ProxyPlan): string[] {
  const opts: string[] = [];
  if (plan.video) opts.push('-map', '0:v:0');
  if (plan.audio) opts.push('-map', '0:a:0');
  if (!plan.video) opts.push('-vn');
  if (!plan.audio) opts.push('-an');
  opts.push('-sn', '-dn', '-map_metadata', '-1', '-map_chapters', '-1');
  if (plan.mode === 'copy') {
    opts.push('-c', 'copy');
  } else {
    if (plan.video) {
      const L = plan.maxLongSide;
      // Even dimensions: H.264 4:2:0 needs them (odd sizes are where peers emit 0-byte proxies). Rotation is
      // applied by ffmpeg's autorotate before this filter, so iw/ih are the displayed sizes.
      const scale = `min(1\\,${L}/max(iw\\,ih))`;
      opts.push(
        '-vf',
        `scale=trunc(iw*${scale}/2)*2:trunc(ih*${scale}/2)*2:flags=bicubic,format=yuv420p`,
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '23',
        '-profile:v',
        'high',
      );
    }
    if (plan.audio) {
      if (plan.container === 'ogg') opts.push('-c:a', 'libopus', '-b:a', '96k');
      else opts.push('-c:a', 'aac', '-b:a', '128k', '-ac', '2');
    }
  }
  // faststart: the moov atom up front, so a browser plays while downloading instead of fetching the end first.
  if (plan.container === 'mp4' || plan.container === 'm4a') opts.push('-movflags', '+faststart');
  opts.push('-f', plan.container === 'm4a' ? 'ipod' : plan.container);
  return opts;
}

/**
 * ffmpeg stopped by a signal (the worker's shutdown reaching its process group, an operator, the OOM killer) says
 * nothing about the media: a transient fault, retried — never recorded as a verdict on the file.
 */
function stoppedBySignal(err: Error, stderrTail: string): CikuError | undefined {
  const m = /killed with signal (\w+)|received signal (\d+)/.exec(`${err.message} ${stderrTail}`);
  if (!m) return undefined;
  return new CikuError('CIKU_ERR_UNAVAILABLE', `ffmpeg was stopped by signal ${m[1] ?? m[2]}`);
}

/** How long one ffmpeg run may take, and why (the words end up in the failure reason). */
export interface Budget {
  ms: number;
  why: string;
}

/** What bounds one ffmpeg run: a wall-clock budget, and the worker's shutdown signal. */
export interface RunBounds {
  /** Past it ffmpeg is stopped and the run fails for good (CIKU_ERR_MEDIA_TOO_LARGE). */
  budget?: Budget;
  /** Aborted when the worker shuts down: ffmpeg is stopped and the run fails as transient (retried elsewhere). */
  signal?: AbortSignal;
}

/**
 * Stops a command when its budget runs out or the worker shuts down, and remembers which: both reach ffmpeg as
 * the same SIGKILL, but only the budget is a verdict on the file. A stop asked before ffmpeg is spawned
 * (fluent-ffmpeg first checks its capabilities) is carried out as it starts.
 */
function supervise(command: ffmpeg.FfmpegCommand, what: string, bounds: RunBounds) {
  let stoppedFor: 'budget' | 'shutdown' | undefined;
  let started = false;
  const stop = (why: 'budget' | 'shutdown'): void => {
    if (stoppedFor !== undefined) return;
    stoppedFor = why;
    if (started) command.kill('SIGKILL');
  };
  command.on('start', () => {
    started = true;
    if (stoppedFor !== undefined) command.kill('SIGKILL');
  });
  const { budget, signal } = bounds;
  const timer = budget === undefined ? undefined : setTimeout(() => stop('budget'), budget.ms);
  const onAbort = (): void => stop('shutdown');
  if (signal?.aborted) stop('shutdown');
  else signal?.addEventListener('abort', onAbort, { once: true });
  const ourStop = (): CikuError | undefined => {
    if (stoppedFor === 'shutdown') {
      return new CikuError('CIKU_ERR_UNAVAILABLE', 'ffmpeg was stopped: the worker is shutting down');
    }
    if (stoppedFor === 'budget') {
      return new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        `${what} was stopped after ${budget!.why}`.slice(0, 1500),
      );
    }
    return undefined;
  };
  return {
    /** Why we stopped ffmpeg, if we did. */
    ourStop,
    /** The error for a failed run: our stop first, then a foreign signal, then ffmpeg's own words. */
    failure(err: Error, stderr: string | null, lines: number, describe: (why: string) => string): CikuError {
      const ours = ourStop();
      if (ours) return ours;
      const tail = (stderr ?? '').trim().split('\n').slice(-lines).join(' ');
      return (
        stoppedBySignal(err, tail) ??
        new CikuError('CIKU_ERR_MEDIA_UNREADABLE', describe(tail || err.message).slice(0, 1500))
      );
    },
    done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

function run(
  command: ffmpeg.FfmpegCommand,
  output: string,
  what: string,
  bounds: RunBounds,
  onProgress?: (p: ProgressReport) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const guard = supervise(command, what, bounds);
    command
      .on('progress', (p: { timemark?: string }) => {
        const m = p.timemark === undefined ? null : /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(p.timemark);
        if (m && onProgress) onProgress({ seconds: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) });
      })
      .on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        guard.done();
        reject(guard.failure(err, stderr, 3, (why) => `ffmpeg failed: ${why}`));
      })
      .on('end', () => {
        guard.done();
        resolve();
      })
      .save(output);
  });
}

/**
 * The proxy, within `bounds` and at most `maxBytes` long: ffmpeg's `-fs` stops writing once the file reaches the
 * cap (ending "successfully", a little past it), so a proxy that ends past the cap was cut there and fails for
 * good rather than being published short.
 */
export async function makeProxy(
  input: string,
  output: string,
  plan: ProxyPlan,
  options: RunBounds & {
    onProgress?: (p: ProgressReport) => void;
    maxBytes?: { bytes: number; why: string };
  } = {},
): Promise<void> {
  const cap = options.maxBytes === undefined ? [] : ['-fs', String(options.maxBytes.bytes)];
  const command = ffmpeg(input).outputOptions(['-y', '-nostdin', ...cap, ...proxyOutputOptions(plan)]);
  await run(command, output, 'the proxy transcode', options, options.onProgress);
  if (options.maxBytes !== undefined) {
    const { size } = await fs.stat(output);
    if (size >= options.maxBytes.bytes) {
      throw new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        `the proxy reached its size cap of ${options.maxBytes.why} and was cut there`,
      );
    }
  }
}

/** One frame at `atSeconds`, turned upright, long side ≤ 1280, as JPEG. */
export async function makePoster(
  input: string,
  output: string,
  atSeconds: number,
  bounds: RunBounds = {},
): Promise<void> {
  const command = ffmpeg(input)
    .inputOptions(['-ss', atSeconds.toFixed(3)])
    .outputOptions([
      '-y',
      '-nostdin',
      '-frames:v',
      '1',
      '-vf',
      'scale=trunc(iw*min(1\\,1280/max(iw\\,ih))/2)*2:trunc(ih*min(1\\,1280/max(iw\\,ih))/2)*2',
      '-q:v',
      '3',
      '-f',
      'image2',
    ]);
  await run(command, output, 'the poster frame', bounds);
}

/**
 * Min/max peaks of the first audio stream, `points` pairs over the whole duration, computed while ffmpeg streams
 * mono 16-bit PCM at a low rate to us: memory stays flat whatever the length.
 */
export async function waveformPeaks(
  input: string,
  duration: number,
  points = 1000,
  bounds: RunBounds = {},
): Promise<WaveformPeaksT> {
  const sampleRate = 8000;
  const total = Math.max(1, Math.ceil(duration * sampleRate));
  const perPoint = Math.max(1, Math.ceil(total / points));
  const data: number[] = [];
  let min = 1;
  let max = -1;
  let inBucket = 0;
  let carry: Buffer | undefined;
  const command = ffmpeg(input)
    .noVideo()
    .audioChannels(1)
    .audioFrequency(sampleRate)
    .outputOptions(['-nostdin', '-map', '0:a:0'])
    .format('s16le');
  const round = (v: number): number => Math.round(v * 10_000) / 10_000;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const guard = supervise(command, 'the waveform decode', bounds);
    command.on('error', (err: Error, _o: string | null, stderr: string | null) => {
      failed = true;
      guard.done();
      reject(guard.failure(err, stderr, 2, (why) => `ffmpeg could not decode the audio: ${why}`));
    });
    const pcm = command.pipe() as Readable;
    pcm.on('data', (chunk: Buffer) => {
      let buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      const usable = buf.length - (buf.length % 2);
      carry = usable < buf.length ? buf.subarray(usable) : undefined;
      buf = buf.subarray(0, usable);
      for (let i = 0; i < buf.length; i += 2) {
        const v = buf.readInt16LE(i) / 32768;
        if (v < min) min = v;
        if (v > max) max = v;
        inBucket += 1;
        if (inBucket === perPoint) {
          // Decoded audio can outlast the container's duration a little (codec priming): the last pair absorbs it.
          if (data.length >= points * 2) {
            data[data.length - 2] = Math.min(data[data.length - 2]!, round(min));
            data[data.length - 1] = Math.max(data[data.length - 1]!, round(max));
          } else data.push(round(min), round(max));
          min = 1;
          max = -1;
          inBucket = 0;
        }
      }
    });
    pcm.on('end', () => {
      guard.done();
      if (failed) return;
      // Our SIGKILL ends the pipe before ffmpeg's error is reported: what came through is not the whole audio.
      const stopped = guard.ourStop();
      if (stopped) {
        failed = true;
        reject(stopped);
        return;
      }
      if (inBucket > 0 && data.length < points * 2) data.push(round(min), round(max));
      else if (inBucket > 0) {
        data[data.length - 2] = Math.min(data[data.length - 2]!, round(min));
        data[data.length - 1] = Math.max(data[data.length - 1]!, round(max));
      }
      resolve();
    });
    pcm.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
  return {
    version: 1,
    duration,
    sample_rate: sampleRate,
    samples_per_pixel: perPoint,
    length: data.length / 2,
    data,
  };
}
