import type { DerivativeEntryT, TranscriptTechnicalT } from '../schemas/technical.ts';
import { parseTranscript } from '../services/adapters/captions.ts';
import { readAll } from '../services/archive/blob-store.ts';
import { CikuError } from '../services/errors.ts';
import { contentKey, failed, finishDerivation, kindsToMake, type JobDeps } from './job-deps.ts';
import type { Handler } from './registry.ts';

/** Transcripts are read whole (parsing is synchronous): bounded so one file cannot stall the worker. */
const MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024;

/**
 * WebVTT / SRT → time-coded segments `{ start, end, speaker?, text }` (the `segments` derivative the index job
 * reads). A malformed cue is reported as a warning and skipped; a file without a single valid cue fails.
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
      const bytes = await readAll(await deps.blobs.get(key), MAX_TRANSCRIPT_BYTES).catch((err: unknown) => {
        throw new CikuError('CIKU_ERR_MEDIA_TOO_LARGE', `transcript over ${MAX_TRANSCRIPT_BYTES} bytes`, {
          cause: err,
        });
      });
      const parsed = parseTranscript(bytes.toString('utf8'), p.mediaType);
      warnings.push(...parsed.problems);
      if (parsed.segments.length === 0) {
        throw new CikuError(
          'CIKU_ERR_MEDIA_UNREADABLE',
          `no valid cue in the transcript (${parsed.problems.length} problems)`,
        );
      }
      const speakers = [...new Set(parsed.segments.flatMap((s) => (s.speaker ? [s.speaker] : [])))];
      technical = {
        type: 'transcript',
        format: parsed.format,
        segments: parsed.segments.length,
        duration: Math.max(...parsed.segments.map((s) => s.end)),
        ...(speakers.length > 0 ? { speakers: speakers.slice(0, 100) } : {}),
      };
      const body = JSON.stringify({ version: 1, segments: parsed.segments });
      await deps.derivatives.putFile(p.sha512, 'segments.json', body, 'application/json');
      entry = {
        status: 'ready',
        path: 'segments.json',
        media_type: 'application/json',
        size: Buffer.byteLength(body),
      };
    } catch (err) {
      if (!(err instanceof CikuError) || !err.code.startsWith('CIKU_ERR_MEDIA_')) throw err;
      errors.push(err);
      entry = failed(err);
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
