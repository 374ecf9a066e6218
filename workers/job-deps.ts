import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DerivePayload } from '../schemas/jobs.ts';
import type { DerivativeEntryT, DerivativeRecordT, TechnicalT } from '../schemas/technical.ts';
import type { Logger } from '../services/adapters/logger.ts';
import type { JobQueue } from '../services/adapters/queue.ts';
import type { BlobStore } from '../services/archive/blob-store.ts';
import type { DerivativeStore } from '../services/archive/derivatives.ts';
import type { Items } from '../services/archive/items.ts';
import type { OcflStore } from '../services/archive/ocfl/store.ts';
import type { AvLimits, Config, DocumentLimits } from '../services/config.ts';
import type { Batches } from '../services/batch/batches.ts';
import type { StatsService } from '../services/stats/stats.ts';
import { kindsOfJob } from '../services/archive/derivatives.ts';
import { CikuError, errnoCode, isCikuError } from '../services/errors.ts';
import type { DocumentTools } from './document-ports.ts';
import { isPermanent, type Handler } from './registry.ts';
import { deriveJobFor, type DeriveJobName } from '../schemas/jobs.ts';

/** A search engine's write side, as the index job needs it (services/search/indexer.ts). */
export interface SearchSink {
  /** Indexes the item's head (or removes it when tombstoned); answers the version now indexed, if any. */
  upsertItem(itemId: string): Promise<string | undefined>;
}

/** What job handlers use: only these (explicit dependencies, no module singletons). */
export interface JobDeps {
  items: Items;
  blobs: BlobStore;
  derivatives: DerivativeStore;
  queue: Pick<JobQueue, 'enqueue'>;
  /** Batch bookkeeping (batch jobs only). */
  batches?: Batches;
  /** The OCFL store and the batch settings (fixity audit, drop-zone scan). */
  ocfl?: OcflStore;
  batchConfig?: Config['batch'];
  limits: JobLimits;
  search?: SearchSink;
  /** The statistics (the yearly snapshot job): staff's whole answer for a year. */
  stats?: { compute: StatsService['compute'] };
  /** poppler, Tesseract, LibreOffice/officeparser and the ZIP lister (derive-document only). */
  documents?: DocumentTools;
  logger: Logger;
}

/**
 * The bounds derivative jobs work within (config.worker: CIKU_IMAGE_MAX_PIXELS, CIKU_AV_*, CIKU_TRANSCRIPT_*,
 * CIKU_DOCUMENT_*).
 */
export interface JobLimits {
  maxImagePixels: number;
  av: AvLimits;
  transcript: Config['worker']['transcript'];
  document: DocumentLimits;
}

export function jobLimits(worker: Config['worker']): JobLimits {
  return {
    maxImagePixels: worker.maxImagePixels,
    av: worker.av,
    transcript: worker.transcript,
    document: worker.document,
  };
}

export function needBatches(deps: JobDeps): Batches {
  if (!deps.batches) throw new CikuError('CIKU_ERR_INTERNAL', 'batch jobs need the batch store wired in');
  return deps.batches;
}

/**
 * A local path holding the job's source bytes: the stored file itself on a filesystem store (read in place, no
 * copy), else a download into the job's scratch folder.
 */
export async function sourceFile(
  deps: JobDeps,
  p: DerivePayload,
  scratch: () => Promise<string>,
): Promise<string> {
  const key = await contentKey(deps, p);
  const local = deps.blobs.localPath?.(key);
  if (local !== undefined) return local;
  const target = path.join(await scratch(), 'source');
  await pipeline(await deps.blobs.get(key), createWriteStream(target));
  return target;
}

/**
 * The blob holding the job's bytes, found by digest in the item's manifest: content is immutable and
 * content-addressed there, so whichever version or name the job was queued under, the digest decides.
 */
export async function contentKey(deps: JobDeps, p: DerivePayload): Promise<string> {
  const key = await deps.items.locateContent(p.itemId, p.sha512);
  if (key === undefined) {
    throw new CikuError(
      'CIKU_ERR_FILE_NOT_FOUND',
      `item ${p.itemId} holds no content with the queued digest`,
    );
  }
  return key;
}

/** Kinds to make: the asked-for ones (or all the family expects), less those already ready unless forced. */
export function kindsToMake<K extends string>(
  expected: readonly K[],
  p: DerivePayload,
  record: DerivativeRecordT | undefined,
  missing: readonly string[],
): K[] {
  const asked = p.kinds === undefined ? expected : expected.filter((k) => (p.kinds as string[]).includes(k));
  if (p.force || record === undefined) return [...asked];
  return asked.filter((k) => missing.includes(k));
}

/** How every refusal by a bound reads, whatever the media (the hostile-input suite and operators look for it). */
export const LIMITS_PREFIX = 'media-limits-exceeded: ';

/**
 * Text from a tool, cleaned for the record: ffmpeg/libav name their contexts by address (`[h264 @ 0x55d0c…]`),
 * which differs run to run (a reason would never be the same verdict twice) and discloses the worker's memory
 * layout. Such pointers go; other hex (markers, tags of 8 digits or fewer) stays.
 */
export function withoutAddresses(text: string): string {
  return text.replace(/\s*@\s*0x[0-9a-f]+/gi, '').replace(/\b0x[0-9a-f]{9,16}\b/gi, '0x…');
}

/** The reason recorded for a failure (derivative entries, the failed job): no addresses, limits named as such. */
export function failureReason(err: unknown): string {
  const message = withoutAddresses(err instanceof Error ? err.message : String(err));
  const limit = isCikuError(err, 'CIKU_ERR_MEDIA_TOO_LARGE') && !message.startsWith(LIMITS_PREFIX);
  return `${limit ? LIMITS_PREFIX : ''}${message}`.slice(0, 2000);
}

export function failed(err: unknown): DerivativeEntryT {
  return { status: 'failed', reason: failureReason(err) };
}

const engineErrors = [RangeError, TypeError, SyntaxError, ReferenceError, URIError, EvalError];

/**
 * A fault that the same bytes will always produce, as the permanent error to record, or undefined for a transient
 * one (to retry). Permanent CikuErrors are themselves. JavaScript's own errors thrown while working on a file (a
 * stack overflow, an invalid array length, a parser's TypeError on input it did not expect) recur on every retry:
 * retried, they left the file `pending` for ever. System and network errors (an errno code such as ECONNRESET,
 * or a cause such as fetch's) are transient even when their class is TypeError.
 */
export function verdictOf(err: unknown): CikuError | undefined {
  if (isCikuError(err)) return isPermanent(err) ? err : undefined;
  if (!engineErrors.some((E) => err instanceof E)) return undefined;
  const e = err as Error;
  if (/^E[A-Z0-9]+$/.test(errnoCode(e) ?? '') || e.cause !== undefined) return undefined;
  return new CikuError(
    'CIKU_ERR_MEDIA_UNREADABLE',
    `the file could not be processed: ${e.name}: ${e.message}`,
    {
      cause: err,
    },
  );
}

/**
 * The safety net of every derivative job: a fault the same bytes will always produce, thrown where the handler did
 * not expect it, is recorded as `failed` for the kinds the job was making (the job then fails for good) instead
 * of being retried into a file that stays `pending` and that `rederive --missing` queues again for ever. `family`:
 * the job whose kinds these are (by default the one the media type gets; derive-document on an image makes only
 * its OCR kinds, and must not record the image's own as failed).
 */
export function recordingFaults<N extends DeriveJobName>(
  deps: JobDeps,
  handler: Handler<N>,
  family?: N,
): Handler<N> {
  return async (p, ctx) => {
    try {
      return await handler(p, ctx);
    } catch (err) {
      const verdict = isCikuError(err) ? undefined : verdictOf(err);
      if (verdict === undefined) throw err;
      const { missing, record } = await deps.derivatives.missingKinds(p.sha512, p.mediaType);
      const derivatives: Record<string, DerivativeEntryT> = {};
      const job = family ?? deriveJobFor(p.mediaType);
      const kinds = job === undefined ? [] : kindsOfJob(job, p.mediaType, record?.technical);
      for (const kind of kindsToMake(kinds, p, record, missing)) derivatives[kind] = failed(verdict);
      await finishDerivation(
        deps,
        p,
        {
          ...(record?.technical ? { technical: record.technical } : {}),
          warnings: record?.warnings ?? [],
          derivatives,
          previous: record,
        },
        [verdict],
      );
      throw verdict;
    }
  };
}

/**
 * The last step of every derivative job: write the record (after every derivative file is in place), chain a
 * re-index of the item version when a search engine is configured (before this job is marked done), then fail the
 * job permanently if a derivative could not be made from these bytes.
 */
export async function finishDerivation(
  deps: JobDeps,
  p: DerivePayload,
  result: {
    technical?: TechnicalT;
    warnings: string[];
    derivatives: Record<string, DerivativeEntryT>;
    /** The record this job found: entries it did not remake are kept. */
    previous?: DerivativeRecordT | undefined;
  },
  errors: unknown[],
): Promise<void> {
  await deps.derivatives.writeRecord({
    sha512: p.sha512,
    media_type: p.mediaType,
    ...(result.technical ? { technical: result.technical } : {}),
    warnings: result.warnings.slice(0, 100).map((w) => withoutAddresses(w).slice(0, 2000)),
    derivatives: { ...result.previous?.derivatives, ...result.derivatives },
  });
  // The index is told about the new technical metadata / segments — when there is an index to tell: queueing
  // jobs no engine will run is 1 job per file of pure queue traffic.
  if (deps.search) {
    await deps.queue.enqueue('index-item', {
      itemId: p.itemId,
      version: p.version,
      after: `${p.sha512.slice(0, 16)}`,
    });
  }
  if (errors.length > 0) throw errors[0];
}
