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
import type { Config } from '../services/config.ts';
import type { Batches } from '../services/batch/batches.ts';
import { CikuError } from '../services/errors.ts';

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
  limits: { maxImagePixels: number };
  search?: SearchSink;
  logger: Logger;
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

export function failed(err: unknown): DerivativeEntryT {
  return { status: 'failed', reason: (err as Error).message.slice(0, 2000) };
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
    warnings: result.warnings.slice(0, 100).map((w) => w.slice(0, 2000)),
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
