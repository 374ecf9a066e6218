import type { AvTechnicalT } from '../schemas/technical.ts';
import type { AvLimits } from '../services/config.ts';
import { CikuError } from '../services/errors.ts';

/**
 * Bounds on audio/video work, decided from the probe before anything is decoded, so a bomb costs one ffprobe: a
 * few KB can declare hours of audio at 1 Hz (resampled to 48 kHz for the proxy) or minutes of 4K frames. What
 * passes still runs under a wall-clock budget and an output cap derived from its duration (`avWorkBounds`), which
 * bound what a probe cannot see (a file that lies about its duration).
 */

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
/** Seconds as people read them: 0.001, 12.5, 1,320. */
const secs = (v: number): string =>
  Number(v.toFixed(3)).toLocaleString('en-US', { maximumFractionDigits: 3 });

/** The longest duration the file declares (container or any stream): the conservative figure for every bound. */
export function declaredDuration(info: AvTechnicalT): number {
  let d = info.duration ?? 0;
  for (const s of info.streams) if (s.duration !== undefined && s.duration > d) d = s.duration;
  return Number.isFinite(d) && d > 0 ? d : 0;
}

/**
 * What in the probe is past a bound, in words (empty when the file may be worked on). Every audio and video
 * stream is checked, not only the first: ffmpeg's automatic stream selection (the poster) may pick another.
 */
export function avLimitProblems(info: AvTechnicalT, storedBytes: number, limits: AvLimits): string[] {
  const problems: string[] = [];
  const duration = declaredDuration(info);
  if (duration > limits.maxDurationS) {
    problems.push(`duration ${n(duration)} s is above ${n(limits.maxDurationS)} s (CIKU_AV_MAX_DURATION_S)`);
  }
  let pixelFrames = 0;
  for (const s of info.streams) {
    if (s.type === 'video') {
      const pixels = (s.width ?? 0) * (s.height ?? 0);
      if (pixels > limits.maxFramePixels) {
        problems.push(
          `stream ${s.index}: ${s.width}×${s.height} frames are above ${n(limits.maxFramePixels)} pixels (CIKU_AV_MAX_FRAME_PIXELS)`,
        );
      }
      // A cover picture is one frame, whatever the duration.
      if (!s.attached_picture && s.frame_rate !== undefined) {
        pixelFrames += pixels * s.frame_rate * (s.duration ?? duration);
      }
    } else if (s.type === 'audio') {
      const rate = s.sample_rate;
      if (rate !== undefined && (rate < limits.minSampleRate || rate > limits.maxSampleRate)) {
        problems.push(
          `stream ${s.index}: sample rate ${n(rate)} Hz is outside ${n(limits.minSampleRate)}–${n(limits.maxSampleRate)} Hz (CIKU_AV_MIN_SAMPLE_RATE, CIKU_AV_MAX_SAMPLE_RATE)`,
        );
      }
      if (s.channels !== undefined && s.channels > limits.maxChannels) {
        problems.push(
          `stream ${s.index}: ${n(s.channels)} channels are above ${n(limits.maxChannels)} (CIKU_AV_MAX_CHANNELS)`,
        );
      }
    }
  }
  if (pixelFrames > limits.maxPixelFrames) {
    problems.push(
      `${n(pixelFrames)} decoded pixels (width × height × frames) are above ${n(limits.maxPixelFrames)} (CIKU_AV_MAX_PIXEL_FRAMES)`,
    );
  }
  if (pixelFrames > 0 && storedBytes > 0 && pixelFrames / storedBytes > limits.maxPixelsPerByte) {
    problems.push(
      `${n(pixelFrames / storedBytes)} decoded pixels per stored byte (${n(pixelFrames)} pixels from ${n(storedBytes)} bytes) are above ${n(limits.maxPixelsPerByte)} (CIKU_AV_MAX_PIXELS_PER_BYTE)`,
    );
  }
  return problems;
}

/**
 * The probe's verdict as the error every derivative of the file records, or undefined when within bounds. (Its
 * code, CIKU_ERR_MEDIA_TOO_LARGE, is recorded as `media-limits-exceeded: …`: see `failureReason`.)
 */
export function checkAvLimits(
  info: AvTechnicalT,
  storedBytes: number,
  limits: AvLimits,
): CikuError | undefined {
  const problems = avLimitProblems(info, storedBytes, limits);
  return problems.length === 0 ? undefined : new CikuError('CIKU_ERR_MEDIA_TOO_LARGE', problems.join('; '));
}

export interface AvWorkBounds {
  /** Wall-clock budget of each ffmpeg run (proxy, poster, waveform), in milliseconds. */
  budgetMs: number;
  /** Largest proxy file, in bytes. */
  maxProxyBytes: number;
  /** How the figures were derived, for a failure reason. */
  budgetWhy: string;
  proxyWhy: string;
}

/** The budget and output cap of a file's ffmpeg work, derived from the duration it declares. */
export function avWorkBounds(info: AvTechnicalT, limits: AvLimits): AvWorkBounds {
  const duration = declaredDuration(info);
  const budgetS = limits.budgetBaseS + limits.budgetPerMediaS * duration;
  const maxProxyBytes = Math.ceil(limits.proxyBaseBytes + limits.proxyBytesPerS * duration);
  return {
    budgetMs: Math.ceil(budgetS * 1000),
    maxProxyBytes,
    budgetWhy: `its budget of ${secs(budgetS)} s (CIKU_AV_BUDGET_BASE_S ${limits.budgetBaseS} + CIKU_AV_BUDGET_PER_MEDIA_S ${limits.budgetPerMediaS} × ${duration.toFixed(1)} s)`,
    proxyWhy: `${n(maxProxyBytes)} bytes (CIKU_AV_PROXY_BASE_BYTES ${limits.proxyBaseBytes} + CIKU_AV_PROXY_BYTES_PER_S ${limits.proxyBytesPerS} × ${duration.toFixed(1)} s)`,
  };
}
