import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AvTechnicalT, DerivativeEntryT } from '../schemas/technical.ts';
import { makePoster, makeProxy, probeAv, waveformPeaks, type RunBounds } from '../services/adapters/av.ts';
import { imageSize } from '../services/adapters/image.ts';
import { expectedKinds } from '../services/archive/derivatives.ts';
import { CikuError } from '../services/errors.ts';
import type { JobPayload } from '../schemas/jobs.ts';
import { avWorkBounds, checkAvLimits, type AvWorkBounds } from './av-limits.ts';
import { failed, finishDerivation, kindsToMake, sourceFile, verdictOf, type JobDeps } from './job-deps.ts';
import { planProxy, proxyMediaType } from './proxy-plan.ts';
import type { Handler, JobContext } from './registry.ts';

/** A proxy shorter than its source by more than this is a damaged or cut-off source, not a proxy. */
const DURATION_TOLERANCE_S = 0.5;

/**
 * ffprobe first (technical metadata + the plan), then the bounds (config.worker.av: a file past one is refused
 * before anything is decoded, every kind `failed` with the same `media-limits-exceeded: …` reason), then the proxy
 * (stream copy when web-ready, else H.264/AAC or AAC), the poster frame and the waveform peaks, each ffmpeg run
 * under a wall-clock budget and the proxy under a size cap derived from the duration. Every derivative is made in
 * the job's scratch folder and published whole, so a worker killed mid-transcode leaves nothing visible: the
 * retried job starts over.
 */
export function deriveAv(deps: JobDeps): Handler<'derive-av'> {
  return async (p, ctx) => {
    const { missing, record } = await deps.derivatives.missingKinds(p.sha512, p.mediaType);
    if (!p.force && record !== undefined && missing.length === 0 && p.kinds === undefined) {
      return { status: 'skipped', detail: 'every derivative is already made' };
    }
    const dir = await ctx.scratch();
    const src = await sourceFile(deps, p, () => ctx.scratch());
    ctx.progress('probe', 2);
    let technical: AvTechnicalT;
    try {
      technical = await probeAv(src);
    } catch (err) {
      const verdict = verdictOf(err);
      if (!verdict) throw err;
      const derivatives: Record<string, DerivativeEntryT> = {};
      for (const kind of kindsToMake(expectedKinds(p.mediaType), p, record, missing))
        derivatives[kind] = failed(verdict);
      await finishDerivation(deps, p, { warnings: [], derivatives }, [verdict]);
      return { status: 'done' };
    }
    const warnings: string[] = [];
    const derivatives: Record<string, DerivativeEntryT> = {};
    const errors: unknown[] = [];
    const kinds = kindsToMake(expectedKinds(p.mediaType, technical), p, record, missing);
    const refused = checkAvLimits(technical, (await fs.stat(src)).size, deps.limits.av);
    if (refused) {
      for (const kind of kinds) derivatives[kind] = failed(refused);
      // The technical metadata is kept: it is what shows why (and a bomb's probe is all it cost).
      await finishDerivation(deps, p, { technical, warnings, derivatives, previous: record }, [refused]);
      return { status: 'done' };
    }
    const bounds = avWorkBounds(technical, deps.limits.av);
    const work: AvWork = {
      deps,
      p,
      ctx,
      src,
      dir,
      technical,
      duration: technical.duration ?? 0,
      bounds,
      run: { signal: ctx.signal, budget: { ms: bounds.budgetMs, why: bounds.budgetWhy } },
    };
    // Each kind is made on its own: one that fails for the media's sake is recorded failed, the others still made.
    const attempt = async (kind: string, make: (w: AvWork) => Promise<DerivativeEntryT>): Promise<void> => {
      try {
        derivatives[kind] = await make(work);
      } catch (err) {
        const verdict = verdictOf(err);
        if (!verdict) throw err;
        errors.push(verdict);
        derivatives[kind] = failed(verdict);
      }
    };
    if (kinds.includes('proxy')) await attempt('proxy', proxyOf);
    if (kinds.includes('poster')) {
      ctx.progress('poster', 85);
      await attempt('poster', posterOf);
    }
    if (kinds.includes('waveform')) {
      ctx.progress('waveform', 90);
      await attempt('waveform', waveformOf);
    }
    if (technical.rotation)
      warnings.push(`displayed rotated by ${technical.rotation}°: the proxy is upright`);
    ctx.progress('record', 98);
    await finishDerivation(deps, p, { technical, warnings, derivatives, previous: record }, errors);
    return { status: 'done' };
  };
}

/** What making each derivative of one probed source, within its bounds, reads. */
interface AvWork {
  deps: JobDeps;
  p: JobPayload<'derive-av'>;
  ctx: JobContext;
  src: string;
  /** The job's scratch folder: every derivative is made here and published whole. */
  dir: string;
  technical: AvTechnicalT;
  duration: number;
  bounds: AvWorkBounds;
  run: RunBounds;
}

/** The proxy, read back before it is published: a cut-off source makes a short proxy, not a good one. */
async function proxyOf({
  deps,
  p,
  ctx,
  src,
  dir,
  technical,
  duration,
  bounds,
  run,
}: AvWork): Promise<DerivativeEntryT> {
  const plan = planProxy(technical);
  const name = `proxy.${plan.container}`;
  const out = path.join(dir, name);
  let last = -1;
  await makeProxy(src, out, plan, {
    ...run,
    maxBytes: { bytes: bounds.maxProxyBytes, why: bounds.proxyWhy },
    onProgress: ({ seconds }) => {
      const percent = duration > 0 ? Math.min(80, Math.round(5 + (75 * seconds) / duration)) : 40;
      if (percent !== last) ctx.progress('proxy', percent);
      last = percent;
    },
  });
  ctx.signal.throwIfAborted();
  const made = await probeAv(out);
  const got = made.duration ?? 0;
  if (duration > 0 && got < duration - DURATION_TOLERANCE_S) {
    throw new CikuError(
      'CIKU_ERR_MEDIA_UNREADABLE',
      `the source is damaged or cut off: only ${got.toFixed(2)} s of its ${duration.toFixed(2)} s could be read`,
    );
  }
  const v = made.streams.find((s) => s.type === 'video');
  const a = made.streams.find((s) => s.type === 'audio');
  const size = (await fs.stat(out)).size;
  await deps.derivatives.putFile(p.sha512, name, createReadStream(out), proxyMediaType[plan.container]);
  return {
    status: 'ready',
    path: name,
    media_type: proxyMediaType[plan.container],
    size,
    duration: got,
    stream_copy: plan.mode === 'copy',
    ...((v?.codec ?? a?.codec) ? { codec: (v?.codec ?? a?.codec)! } : {}),
    ...(made.display_width === undefined ? {} : { width: made.display_width }),
    ...(made.display_height === undefined ? {} : { height: made.display_height }),
  };
}

async function posterOf({ deps, p, src, dir, duration, run }: AvWork): Promise<DerivativeEntryT> {
  const out = path.join(dir, 'poster.jpg');
  // A second in (or a tenth of a short clip): past fade-ins and black first frames.
  await makePoster(src, out, Math.min(1, duration / 10), run);
  const info = await imageSize(out);
  if (info.width === 0) throw new CikuError('CIKU_ERR_MEDIA_UNREADABLE', 'no frame could be decoded');
  const size = (await fs.stat(out)).size;
  await deps.derivatives.putFile(p.sha512, 'poster.jpg', createReadStream(out), 'image/jpeg');
  return {
    status: 'ready',
    path: 'poster.jpg',
    media_type: 'image/jpeg',
    size,
    width: info.width,
    height: info.height,
  };
}

async function waveformOf({ deps, p, src, duration, run }: AvWork): Promise<DerivativeEntryT> {
  const peaks = await waveformPeaks(src, duration, 1000, run);
  const body = JSON.stringify(peaks);
  await deps.derivatives.putFile(p.sha512, 'waveform.json', body, 'application/json');
  return {
    status: 'ready',
    path: 'waveform.json',
    media_type: 'application/json',
    size: Buffer.byteLength(body),
  };
}
