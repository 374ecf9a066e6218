import { Type, type Static } from '@sinclair/typebox';
import { BatchId, BatchRow } from './batch.ts';
import { derivativeKinds } from './technical.ts';

/**
 * Job names → payloads. Payloads carry ids only; a handler re-reads the state it needs (what comes out of Redis
 * is input, validated again by the worker). Job ids are deterministic so that enqueueing twice is harmless.
 *
 * Each media family has its own queue (and so its own concurrency): one sharp job per core, one ffmpeg job at a
 * time (ffmpeg is multi-threaded itself), transcripts and indexing are cheap. Technical metadata is read by the
 * same job that makes the derivatives, so one job owns a digest's derivative record and nothing races to write it.
 */
const Digest = Type.String({ pattern: '^[0-9a-f]{128}$' });
const ItemId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });
const Version = Type.String({ pattern: '^v[1-9][0-9]{0,8}$' });
const Kind = Type.Union(derivativeKinds.map((k) => Type.Literal(k)));

const deriveFile = Type.Object(
  {
    itemId: ItemId,
    version: Version,
    file: Type.String({ minLength: 1, maxLength: 4096 }),
    sha512: Digest,
    mediaType: Type.String({ maxLength: 200 }),
    /** Only these derivative kinds (rederive --missing); all the family's kinds when absent. */
    kinds: Type.Optional(Type.Array(Kind, { minItems: 1, maxItems: derivativeKinds.length })),
    /** Make them again even when a ready derivative exists (rederive --item). */
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const jobSchemas = {
  'derive-image': deriveFile,
  'derive-av': deriveFile,
  'derive-transcript': deriveFile,
  /**
   * PDFs, office files, plain/CSV text and ZIPs (text, page renders, OCR, listings), and the OCR of scans: an image
   * of an item whose kind OCRs its scans is handed over by derive-image once its own derivatives are recorded.
   */
  'derive-document': deriveFile,
  'index-item': Type.Object(
    {
      itemId: ItemId,
      version: Version,
      /** Set when a derivative job asks for a re-index after it finished (technical metadata, segments). */
      after: Type.Optional(Type.String({ pattern: '^[0-9a-z-]{1,80}$' })),
    },
    { additionalProperties: false },
  ),
  /** One row of a batch (a child in the batch's flow): the planned item, ingested idempotently. */
  'batch-row': Type.Object({ batchId: BatchId, row: BatchRow }, { additionalProperties: false }),
  /** The batch's flow parent: runs once every row job has ended, writes the report. */
  'batch-finish': Type.Object({ batchId: BatchId }, { additionalProperties: false }),
  /** The fixity audit (nightly by scheduler, or `ciku fixity`); one report per run. */
  'fixity-audit': Type.Object(
    { runId: Type.Optional(Type.String({ pattern: '^[0-9a-z-]{1,80}$' })) },
    { additionalProperties: false },
  ),
  /** The yearly statistics snapshot (1 January by scheduler): the year just ended, kept once. */
  'stats-snapshot': Type.Object(
    {
      runId: Type.Optional(Type.String({ pattern: '^[0-9a-z-]{1,80}$' })),
      /** The year to keep; the year before the job runs when absent. */
      year: Type.Optional(Type.Integer({ minimum: 1900, maximum: 9999 })),
    },
    { additionalProperties: false },
  ),
  /** The drop-zone scan (nightly by scheduler): new bags and manifests become batches, each once. */
  'drop-scan': Type.Object(
    { runId: Type.Optional(Type.String({ pattern: '^[0-9a-z-]{1,80}$' })) },
    { additionalProperties: false },
  ),
} as const;

export type JobName = keyof typeof jobSchemas;
export type JobPayload<N extends JobName> = Static<(typeof jobSchemas)[N]>;
export type DeriveJobName = 'derive-image' | 'derive-av' | 'derive-transcript' | 'derive-document';
export type DerivePayload = JobPayload<DeriveJobName>;

export const jobNames = Object.keys(jobSchemas) as JobName[];

/**
 * Deterministic ids (BullMQ refuses ':' in custom ids). Derivative work is keyed by content digest (same bytes,
 * same work, whichever item holds them); indexing by item version.
 */
export function jobIdFor<N extends JobName>(name: N, payload: JobPayload<N>): string {
  if (name === 'index-item') {
    const p = payload as JobPayload<'index-item'>;
    return `index-item-${p.itemId}-${p.version}${p.after === undefined ? '' : `-${p.after}`}`;
  }
  if (name === 'batch-row') {
    const p = payload as JobPayload<'batch-row'>;
    return `batch-row-${p.batchId}-${p.row.row}`;
  }
  if (name === 'batch-finish') return `batch-finish-${(payload as JobPayload<'batch-finish'>).batchId}`;
  if (name === 'fixity-audit' || name === 'drop-scan' || name === 'stats-snapshot') {
    const p = payload as JobPayload<'fixity-audit'>;
    return `${name}-${
      p.runId ??
      new Date()
        .toISOString()
        .replace(/[^0-9]/g, '')
        .slice(0, 14)
    }`;
  }
  return `${name}-${(payload as DerivePayload).sha512}`;
}

const imageTypes = /^image\/(jpeg|png|tiff|webp|gif|heic|heif|avif|jp2|bmp)$/;
const transcriptTypes = new Set(['text/vtt', 'application/x-subrip']);

/** Office files: their text is extracted and LibreOffice makes the PDF their pages are rendered from. */
export const officeTypes: ReadonlySet<string> = new Set([
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'application/rtf',
  'application/msword',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
]);

/**
 * Text files: their text alone. `text/plain` never was a transcript (derive-transcript reads WebVTT and SRT only,
 * whatever the item's kind or the file's role), so a plain-text file, transcript or not, gets its text.json here.
 */
export const plainTextTypes: ReadonlySet<string> = new Set(['text/plain', 'text/csv']);

/** Which derivative job a detected media type gets, if any. */
export function deriveJobFor(mediaType: string): DeriveJobName | undefined {
  if (imageTypes.test(mediaType)) return 'derive-image';
  if (mediaType.startsWith('audio/') || mediaType.startsWith('video/')) return 'derive-av';
  if (transcriptTypes.has(mediaType)) return 'derive-transcript';
  if (
    mediaType === 'application/pdf' ||
    mediaType === 'application/zip' ||
    officeTypes.has(mediaType) ||
    plainTextTypes.has(mediaType)
  )
    return 'derive-document';
  return undefined;
}

/** Interactive work (fresh uploads) runs before backfills (rederive, reindex) on the same queues. */
export const priorities = { interactive: 1, backfill: 10 } as const;
