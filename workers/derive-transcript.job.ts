import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DerivativeEntryT, TranscriptSegmentT, TranscriptTechnicalT } from '../schemas/technical.ts';
import { parseTranscript, PROBLEMS_KEPT } from '../services/adapters/captions.ts';
import { CikuError } from '../services/errors.ts';
import { contentKey, failed, finishDerivation, kindsToMake, verdictOf, type JobDeps } from './job-deps.ts';
import type { Handler } from './registry.ts';

/** Segments serialised per chunk of segments.json (one `JSON.stringify` of 140,000 segments held the loop). */
const SEGMENTS_PER_CHUNK = 1000;

/** `{"version":1,"segments":[…]}`, byte for byte what one `JSON.stringify` writes, a chunk per turn. */
async function* segmentsJson(segments: TranscriptSegmentT[]): AsyncGenerator<Buffer> {
  yield Buffer.from('{"version":1,"segments":[');
  for (let i = 0; i < segments.length; i += SEGMENTS_PER_CHUNK) {
    const part = segments.slice(i, i + SEGMENTS_PER_CHUNK).map((s) => JSON.stringify(s));
    yield Buffer.from(`${i === 0 ? '' : ','}${part.join(',')}`);
    await nextTurn();
  }
  yield Buffer.from(']}');
}

/**
 * WebVTT / SRT → time-coded segments `{ start, end, speaker?, text }` (the `segments` derivative the index job
 * reads), parsed while the blob streams in, in batches that hand the event loop back (the workers may share the
 * API's process), within config.worker.transcript. A malformed cue is reported as a warning and skipped; a file
 * without a single valid cue, or past a bound, is `failed` with the reason — never left `pending`.
 */
export function deriveTranscript(deps: JobDeps): Handler<'derive-transcript'> {
  return async (p, ctx) => {
    const { missing, record } = await deps.derivatives.missingKinds(p.sha512, p.mediaType);
    if (!p.force && record !== undefined && missing.length === 0) {
      return { status: 'skipped', detail: 'segments already made' };
    }
    if (kindsToMake(['segments'] as const, p, record, missing).length === 0) {
      return { status: 'skipped', detail: 'segments not asked for' };
    }
    const key = await contentKey(deps, p);
    ctx.progress('parse', 10);
    let entry: DerivativeEntryT;
    let technical: TranscriptTechnicalT | undefined;
    const warnings: string[] = [];
    const errors: unknown[] = [];
    try {
      const parsed = await parseTranscript(await deps.blobs.get(key), p.mediaType, deps.limits.transcript);
      warnings.push(...parsed.problems.slice(0, PROBLEMS_KEPT - 1));
      const more = parsed.problemCount - (PROBLEMS_KEPT - 1);
      if (more > 0) warnings.push(`… and ${more} more problem${more === 1 ? '' : 's'}`);
      if (parsed.segments.length === 0) {
        throw new CikuError(
          'CIKU_ERR_MEDIA_UNREADABLE',
          `no valid cue in the transcript (${parsed.problemCount} problems)`,
        );
      }
      technical = {
        type: 'transcript',
        format: parsed.format,
        segments: parsed.segments.length,
        ...(parsed.duration === undefined ? {} : { duration: parsed.duration }),
        ...(parsed.speakers.length > 0 ? { speakers: parsed.speakers } : {}),
      };
      ctx.progress('record', 80);
      const body = Readable.from(segmentsJson(parsed.segments), { objectMode: false });
      const put = await deps.derivatives.putFile(p.sha512, 'segments.json', body, 'application/json');
      entry = {
        status: 'ready',
        path: 'segments.json',
        media_type: 'application/json',
        size: put.size,
      };
    } catch (err) {
      // Media verdicts (a bound, an unreadable file) and faults the same bytes always produce are recorded;
      // storage and network faults are retried.
      const verdict = verdictOf(err);
      if (!verdict) throw err;
      errors.push(verdict);
      entry = failed(verdict);
    }
    await finishDerivation(
      deps,
      p,
      {
        ...(technical ? { technical } : {}),
        warnings,
        derivatives: { segments: entry },
        previous: record,
      },
      errors,
    );
    return { status: 'done' };
  };
}
