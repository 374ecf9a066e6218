import { Value } from '@sinclair/typebox/value';
import type { Readable } from 'node:stream';
import { deriveJobFor, officeTypes, plainTextTypes, type DeriveJobName } from '../../schemas/jobs.ts';
import {
  DerivativeRecord,
  type DerivativeEntryT,
  type DerivativeKind,
  type DerivativeRecordT,
  type TechnicalT,
} from '../../schemas/technical.ts';
import { CikuError } from '../errors.ts';
import { readAll, type BlobStore, type ByteRange, type PutResult } from './blob-store.ts';

/**
 * Derivatives live outside the OCFL objects, keyed by the source's sha512: same bytes, same derivatives, whichever
 * item holds them, rebuilt on demand from the archive. Per digest: one folder with the derivative files and a
 * `record.json` (technical metadata, warnings, one entry per kind). Each blob is published atomically by the
 * BlobStore, and the record is written last, so a reader that sees `ready` finds the files in place, and a job
 * killed half-way leaves no derivative that anything points to.
 */
export const DERIVATIVES_PREFIX = 'derivatives/';
const RECORD = 'record.json';
/** What the record cache holds at most, in UTF-16 code units of JSON text. */
const RECORD_CACHE_SIZE = 16 * 1024 * 1024;

export function derivativeFolder(sha512: string): string {
  if (!/^[0-9a-f]{128}$/.test(sha512)) throw new CikuError('CIKU_ERR_PATH_INVALID', 'not a sha512 digest');
  return `${DERIVATIVES_PREFIX}${sha512.slice(0, 2)}/${sha512.slice(2, 4)}/${sha512}/`;
}

/**
 * The derivative kinds a file gets, from its media type, (once read) its technical metadata and (for an image) what
 * its record already holds: OCR of a scan is decided by the kind of the item holding it, not by the bytes, so an
 * image's `text` and `hocr` are expected once derive-document has made (or failed to make) them.
 */
export function expectedKinds(
  mediaType: string,
  technical?: TechnicalT,
  made?: Readonly<Record<string, unknown>>,
): DerivativeKind[] {
  const family = deriveJobFor(mediaType);
  if (family === undefined) return [];
  const kinds = kindsOfJob(family, mediaType, technical);
  if (family === 'derive-image' && made?.text !== undefined) kinds.push(...SCAN_OCR_KINDS);
  return kinds;
}

/** What OCR of a scan (derive-document on an image) adds to the image's record: its text and its words' boxes. */
export const SCAN_OCR_KINDS = ['text', 'hocr'] as const satisfies readonly DerivativeKind[];

/**
 * The kinds one job family makes for a file: derive-document on an image makes only the OCR kinds, and leaves the
 * image's own (thumbnail, preview, iiif) to derive-image.
 */
export function kindsOfJob(job: DeriveJobName, mediaType: string, technical?: TechnicalT): DerivativeKind[] {
  switch (job) {
    case 'derive-image': {
      const kinds: DerivativeKind[] = ['thumbnail', 'preview'];
      if (
        technical?.type === 'image' &&
        Math.max(technical.width ?? 0, technical.height ?? 0) >= IIIF_MIN_SIDE
      )
        kinds.push('iiif');
      return kinds;
    }
    case 'derive-av': {
      if (technical?.type === 'audio') {
        return ['proxy', 'waveform'];
      }
      if (technical?.type === 'video') {
        const hasAudio = technical.streams.some((s) => s.type === 'audio');
        return hasAudio ? ['proxy', 'poster', 'waveform'] : ['proxy', 'poster'];
      }
      // Not probed yet: what a video would get; the job narrows it once it knows.
      return mediaType.startsWith('audio/') ? ['proxy', 'waveform'] : ['proxy', 'poster', 'waveform'];
    }
    case 'derive-transcript':
      return ['segments'];
    case 'derive-document':
      return documentKinds(mediaType, technical);
  }
}

/**
 * A document's kinds: a PDF's text and page renders (the document's thumbnail and preview are its first page's),
 * `hocr` once a page was OCR'd; an office file's also the PDF LibreOffice made; plain text its text alone; a ZIP
 * nothing (its listing is technical metadata). An image handed over for OCR: its text and hOCR.
 */
function documentKinds(mediaType: string, technical?: TechnicalT): DerivativeKind[] {
  if (deriveJobFor(mediaType) === 'derive-image') return [...SCAN_OCR_KINDS];
  if (plainTextTypes.has(mediaType)) return ['text'];
  if (mediaType === 'application/zip') return [];
  const ocr = technical?.type === 'document' && (technical.ocr_pages ?? 0) > 0;
  const kinds: DerivativeKind[] = ['text', 'pages', 'thumbnail', 'preview'];
  if (officeTypes.has(mediaType)) kinds.push('pdf');
  if (ocr) kinds.push('hocr');
  return kinds;
}

/** The job family that makes `kind` of a file (an image's OCR kinds are derive-document's). */
export function jobForKind(mediaType: string, kind: DerivativeKind): DeriveJobName | undefined {
  const family = deriveJobFor(mediaType);
  if (family === 'derive-image' && (SCAN_OCR_KINDS as readonly string[]).includes(kind))
    return 'derive-document';
  return family;
}

/** Images whose long side reaches this get IIIF level-0 tiles (smaller ones are served whole by the preview). */
export const IIIF_MIN_SIDE = 3000;

/**
 * The IIIF folder's layout: 1 was libvips' tiles alone; 2 adds `full/max` and an info.json listing `sizes` (Image
 * API level 0 requires `full/max`). A ready entry of an earlier layout is missing, and is made again.
 */
export const IIIF_LAYOUT = 2;

/**
 * Kinds stored as a folder (entry.path names it) and the size check that does not apply to them. A folder is
 * present when the file that must be in it is: `info.json` of IIIF tiles (written last), the first page's
 * thumbnail of `pages` (a document whose first page cannot be rendered has no `pages`; a later page that fails is
 * a warning, and its absence is not "missing" for ever); hOCR exists for OCR'd pages only, so an `hocr` folder is
 * present when it holds any file.
 */
const folderKinds: ReadonlySet<DerivativeKind> = new Set(['iiif', 'pages', 'hocr']);

function folderProbe(kind: DerivativeKind, entry: DerivativeEntryT): string | undefined {
  const folder = entry.path ?? kind;
  if (kind === 'iiif') return `${folder}/info.json`;
  if (kind === 'pages') return `${folder}/1/thumbnail.jpg`;
  return undefined;
}

export interface FileDerivativesView {
  technical?: TechnicalT;
  warnings?: string[];
  derivatives?: Record<string, { status: DerivativeEntryT['status']; reason?: string }>;
}

export function createDerivativeStore(deps: { blobs: BlobStore; clock?: () => Date }) {
  const { blobs } = deps;
  const clock = deps.clock ?? (() => new Date());

  const keyOf = (sha512: string, relPath: string): string => `${derivativeFolder(sha512)}${relPath}`;

  /**
   * Validated records' text by digest, with the blob's etag when read: a tile, a thumbnail or an item view reads
   * the record each time, and a stat that finds the same etag replaces the read, the parse of a large record and
   * its validation. Jobs rewrite records (new etag), so a changed record is always read again.
   */
  const recordCache = new Map<string, { etag: string; text: string }>();
  let recordCacheSize = 0;

  /** The record, or undefined when none was written (or what is there does not validate: treated as missing). */
  async function readRecord(sha512: string): Promise<DerivativeRecordT | undefined> {
    const key = keyOf(sha512, RECORD);
    const st = await blobs.stat(key);
    if (!st) return undefined;
    const hit = st.etag === undefined ? undefined : recordCache.get(sha512);
    if (hit && hit.etag === st.etag) return JSON.parse(hit.text) as DerivativeRecordT;
    let raw: Buffer;
    try {
      raw = await readAll(await blobs.get(key), 16 * 1024 * 1024);
    } catch (err) {
      if (err instanceof CikuError && err.code === 'CIKU_ERR_BLOB_NOT_FOUND') return undefined;
      throw err;
    }
    let rec: unknown;
    const text = raw.toString('utf8');
    try {
      rec = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!Value.Check(DerivativeRecord, rec) || rec.sha512 !== sha512) return undefined;
    // The etag seen before the read: a record replaced in between is cached under the older etag, which the next
    // stat no longer answers, so it is read again.
    if (st.etag !== undefined && text.length <= RECORD_CACHE_SIZE / 64) rememberRecord(sha512, st.etag, text);
    return rec;
  }

  function rememberRecord(sha512: string, etag: string, text: string): void {
    const old = recordCache.get(sha512);
    if (old) {
      recordCacheSize -= old.text.length;
      recordCache.delete(sha512);
    }
    recordCache.set(sha512, { etag, text });
    recordCacheSize += text.length;
    for (const [k, v] of recordCache) {
      if (recordCacheSize <= RECORD_CACHE_SIZE) break;
      recordCache.delete(k);
      recordCacheSize -= v.text.length;
    }
  }

  async function writeRecord(record: Omit<DerivativeRecordT, 'updated'>): Promise<DerivativeRecordT> {
    const full: DerivativeRecordT = { ...record, updated: clock().toISOString() };
    if (!Value.Check(DerivativeRecord, full)) {
      const first = [...Value.Errors(DerivativeRecord, full)][0];
      throw new CikuError(
        'CIKU_ERR_OBJECT_INVALID',
        `derivative record for ${record.sha512.slice(0, 12)} does not validate: ${first?.path} ${first?.message}`,
      );
    }
    // Not fsynced either: everything here can be rebuilt from the archive. A record a power cut loses reads as
    // missing (`rederive --missing` makes it again); one it leaves short fails to parse and reads as missing too.
    await blobs.put(keyOf(record.sha512, RECORD), `${JSON.stringify(full)}\n`, {
      contentType: 'application/json',
      durable: false,
    });
    return full;
  }

  /**
   * Derivative files are rebuildable, so they skip the fsyncs content needs (`durable: false`); the record,
   * written last, holds each file's size, which `missingKinds` checks: a file a power cut left short counts as
   * missing and is made again.
   */
  async function putFile(
    sha512: string,
    relPath: string,
    body: Readable | Buffer | string,
    contentType: string,
  ): Promise<PutResult> {
    // No digest either: nothing refers to a derivative by its hash (it is keyed by its source's).
    return blobs.put(keyOf(sha512, relPath), body, { contentType, durable: false, algorithms: [] });
  }

  async function open(sha512: string, relPath: string, range?: ByteRange): Promise<Readable> {
    return blobs.get(keyOf(sha512, relPath), range);
  }

  /** A small derivative file whole (tiles, thumbnails); CIKU_ERR_BLOB_RANGE when it is larger than `maxBytes`. */
  async function read(sha512: string, relPath: string, maxBytes: number): Promise<Buffer> {
    return blobs.read(keyOf(sha512, relPath), maxBytes);
  }

  async function stat(sha512: string, relPath: string) {
    return blobs.stat(keyOf(sha512, relPath));
  }

  /** Every blob key under a digest's folder (to prove re-runs add nothing). */
  async function keys(sha512: string): Promise<string[]> {
    const out: string[] = [];
    for await (const b of blobs.list(derivativeFolder(sha512))) out.push(b.key);
    return out.sort();
  }

  /** Whether a digest's folder holds any blob under `relPrefix`: its first blob, if so. */
  async function anyUnder(sha512: string, relPrefix: string) {
    for await (const b of blobs.list(keyOf(sha512, relPrefix))) return b;
    return undefined;
  }

  /** Removes blobs under `relPrefix` of one digest (stale tiles before a forced rebuild). */
  async function clear(sha512: string, relPrefix: string): Promise<void> {
    await blobs.deletePrefix(keyOf(sha512, relPrefix));
  }

  /**
   * Which of `kinds` are missing for this digest: no record, no entry, or a `ready` entry whose blob is gone.
   * A recorded failure is not missing (it is a verdict on the bytes, which do not change).
   */
  async function missingKinds(
    sha512: string,
    mediaType: string,
  ): Promise<{ missing: DerivativeKind[]; record?: DerivativeRecordT }> {
    const record = await readRecord(sha512);
    if (!record) return { missing: expectedKinds(mediaType) };
    const missing: DerivativeKind[] = [];
    for (const kind of expectedKinds(mediaType, record.technical, record.derivatives)) {
      const entry = record.derivatives[kind];
      if (!entry) missing.push(kind);
      else if (entry.status === 'ready') {
        const probe = folderKinds.has(kind) ? folderProbe(kind, entry) : entry.path;
        const found =
          kind === 'hocr'
            ? await anyUnder(sha512, `${entry.path ?? 'hocr'}/`)
            : probe && (await stat(sha512, probe));
        const stale = kind === 'iiif' && (entry.layout ?? 1) < IIIF_LAYOUT;
        if (
          !found ||
          stale ||
          (!folderKinds.has(kind) && entry.size !== undefined && found.size !== entry.size)
        )
          missing.push(kind);
      }
    }
    return { missing, record };
  }

  /** What an item view shows per file: technical metadata and each expected kind's status. */
  async function viewFor(sha512: string, mediaType: string | undefined): Promise<FileDerivativesView> {
    const record = await readRecord(sha512);
    const derivatives: NonNullable<FileDerivativesView['derivatives']> = {};
    const kinds =
      mediaType === undefined ? [] : expectedKinds(mediaType, record?.technical, record?.derivatives);
    for (const kind of kinds) {
      const e = record?.derivatives[kind];
      derivatives[kind] = e
        ? { status: e.status, ...(e.reason === undefined ? {} : { reason: e.reason }) }
        : { status: 'pending' };
    }
    return {
      ...(record?.technical ? { technical: record.technical } : {}),
      ...(record && record.warnings.length > 0 ? { warnings: record.warnings } : {}),
      ...(Object.keys(derivatives).length > 0 ? { derivatives } : {}),
    };
  }

  return { readRecord, writeRecord, putFile, open, read, stat, keys, clear, missingKinds, viewFor, keyOf };
}

export type DerivativeStore = ReturnType<typeof createDerivativeStore>;
