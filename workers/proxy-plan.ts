import type { ProxyPlan } from '../services/adapters/av.ts';
import type { AvTechnicalT } from '../schemas/technical.ts';

/** Proxies are bounded to this long side when encoded; sources up to 1080p that are web-ready are copied as is. */
export const PROXY_MAX_LONG_SIDE = 1280;
const COPY_MAX_LONG_SIDE = 1920;
const COPY_MAX_BIT_RATE = 12_000_000;
const webPixelFormats = new Set(['yuv420p', 'yuvj420p']);
const nonWebProfiles = /high 10|high 4:2:2|high 4:4:4|high10|422|444/i;

/**
 * Probe first, then decide: a source a browser already plays (H.264 8-bit 4:2:0 + AAC, or AAC/MP3/Opus audio) is
 * stream-copied with faststart — re-encoding it would only lose quality and time (a peer's known waste). Large or
 * heavy H.264 masters are still encoded down: the proxy is for the web, not a second master.
 */
export function planProxy(info: AvTechnicalT): ProxyPlan & { why: string } {
  const video = info.streams.find((s) => s.type === 'video' && !s.attached_picture);
  const audio = info.streams.find((s) => s.type === 'audio');
  if (video) {
    const longSide = Math.max(video.width ?? 0, video.height ?? 0);
    const webVideo =
      video.codec === 'h264' &&
      webPixelFormats.has(video.pixel_format ?? '') &&
      !nonWebProfiles.test(video.profile ?? '') &&
      longSide > 0 &&
      longSide <= COPY_MAX_LONG_SIDE &&
      (info.bit_rate === undefined || info.bit_rate <= COPY_MAX_BIT_RATE);
    const webAudio = !audio || audio.codec === 'aac';
    const base = {
      container: 'mp4' as const,
      video: true,
      audio: audio !== undefined,
      maxLongSide: PROXY_MAX_LONG_SIDE,
    };
    return webVideo && webAudio
      ? { ...base, mode: 'copy', why: 'H.264/AAC already web-playable: stream copy with faststart' }
      : {
          ...base,
          mode: 'encode',
          why: `${video.codec ?? 'unknown'} ${video.width}×${video.height}${audio ? ` + ${audio.codec}` : ''} → H.264/AAC MP4`,
        };
  }
  const codec = audio?.codec;
  const base = { video: false, audio: true, maxLongSide: PROXY_MAX_LONG_SIDE };
  if (codec === 'aac') return { ...base, mode: 'copy', container: 'm4a', why: 'AAC: stream copy' };
  if (codec === 'mp3') return { ...base, mode: 'copy', container: 'mp3', why: 'MP3: stream copy' };
  if (codec === 'opus') return { ...base, mode: 'copy', container: 'ogg', why: 'Opus: stream copy' };
  return { ...base, mode: 'encode', container: 'm4a', why: `${codec ?? 'unknown'} audio → AAC` };
}

export const proxyMediaType: Record<ProxyPlan['container'], string> = {
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
};
