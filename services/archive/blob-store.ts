import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { CikuError } from '../errors.ts';
import { noteStreamed } from '../memory.ts';
import { ThreadHash, type DigestAlgorithm, type Digests } from './hash-thread.ts';

export { digestBuffer } from './hash-thread.ts';
export type { DigestAlgorithm, Digests } from './hash-thread.ts';

/**
 * The BlobStore port: a flat key space of immutable-once-published byte blobs. Keys are `/`-separated relative
 * paths (see `assertKey`). Adapters: `blob-fs` (embedded default) and `blob-s3` (MinIO / any S3).
 */

export interface PutOptions {
  /** Digests to compute while the bytes stream through (default: sha512). */
  algorithms?: readonly DigestAlgorithm[];
  /** Refuse (CIKU_ERR_BLOB_EXISTS) rather than replace an existing blob under this key. */
  ifAbsent?: boolean;
  /** Content-Type recorded with the blob where the backend keeps one. */
  contentType?: string;
  /**
   * `false` leaves the new name's directory entry to a later `syncKeys` call, so a writer publishing many blobs
   * pays one directory sync per folder instead of one per blob (group commit). The bytes are synced either way.
   */
  syncName?: boolean;
  /**
   * `false` skips the fsyncs (file and folder) for data that can be rebuilt (derivatives): still published
   * atomically by rename, but a power cut may lose it or leave it short, so readers check its size. Default true.
   */
  durable?: boolean;
}

export interface PutResult {
  key: string;
  size: number;
  digests: Digests;
}

export interface BlobStat {
  key: string;
  size: number;
  modified: Date;
  /**
   * Changes whenever the blob's bytes may have changed (fs: inode + size + mtime, and every publish is a rename of a
   * new file, so a new inode; s3: the ETag, a digest of the bytes): what a cache of parsed blobs is keyed by.
   */
  etag?: string;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`; `end` omitted = to the end of the blob. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /**
   * Where a local filesystem backend keeps the blob, for tools that need a file path (ffmpeg, libvips) to read it
   * in place instead of copying it out first. Read-only use; absent on remote backends.
   */
  localPath?(key: string): string;
  /**
   * Streams `body` into the blob at `key`, hashing in the same pass. The blob appears under `key` only once every
   * byte is durably written: readers see the old blob or the complete new one, never a partial one.
   */
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult>;
  /** Streams the blob (or a byte range of it). Throws CIKU_ERR_BLOB_NOT_FOUND / CIKU_ERR_BLOB_RANGE. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * The whole blob as bytes, for small metadata (inventories, records, intents): no stream machinery. Throws
   * CIKU_ERR_BLOB_NOT_FOUND, and CIKU_ERR_BLOB_RANGE past `maxBytes` (default 64 MiB).
   */
  read(key: string, maxBytes?: number): Promise<Buffer>;
  stat(key: string): Promise<BlobStat | undefined>;
  /** Every blob whose key starts with `prefix`, streamed page by page; order is unspecified. */
  list(prefix: string): AsyncIterable<BlobStat>;
  /** The next path segment of every key under `prefix` (which must end in `/` or be empty): S3 common prefixes. */
  listChildren(prefix: string): AsyncIterable<{ name: string; isPrefix: boolean }>;
  /**
   * Moves a published blob to another key (fs: rename; s3: server-side copy then delete): how a staged upload is
   * committed without its bytes passing through us again. Replaces `to` if it exists.
   */
  move(from: string, to: string, options?: { syncName?: boolean }): Promise<void>;
  /** Makes the names of blobs put with `syncName: false` durable (fs: one fsync per distinct folder). */
  syncKeys(keys: Iterable<string>): Promise<void>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every blob under `prefix`; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  close(): Promise<void>;
}

const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * Keys are relative, `/`-separated, NFC, without empty, `.` or `..` segments, control characters or backslashes:
 * whatever a caller passes, a key can never name a place outside the store.
 */
export function assertKey(key: string, { allowPrefix = false } = {}): void {
  const bad = (why: string): never => {
    throw new CikuError('CIKU_ERR_PATH_INVALID', `invalid storage key ${JSON.stringify(key)}: ${why}`);
  };
  if (allowPrefix && key === '') return;
  const body = allowPrefix && key.endsWith('/') ? key.slice(0, -1) : key;
  if (body.length === 0) bad('empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) bad(`longer than ${MAX_KEY_BYTES} bytes`);
  if (key.normalize('NFC') !== key) bad('not in Unicode NFC');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) bad('contains a control character or a backslash');
  if (body.startsWith('/')) bad('absolute');
  for (const segment of body.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') bad('empty, "." or ".." segment');
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
      bad(`a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

/**
 * A pass-through that hashes and counts every byte on its way, for the single-pass put. The hashing runs on a
 * worker thread once a stream passes 1 MiB (hash-thread.ts), so the event loop keeps receiving meanwhile; the
 * digests are ready once the stream has ended (`digests()` after the pipeline resolves).
 */
export class HashingStream extends Transform {
  private readonly hash: ThreadHash;
  private result: Digests | undefined;
  size = 0;

  constructor(algorithms: readonly DigestAlgorithm[]) {
    super();
    this.hash = new ThreadHash([...new Set(algorithms)]);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    noteStreamed(chunk.length);
    const wait = this.hash.update(chunk);
    if (wait) wait.then(() => done(null, chunk), done);
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.hash.digests().then((d) => {
      this.result = d;
      done();
    }, done);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.hash.close(); // nothing to do once the digests are in
    done(err);
  }

  digests(): Digests {
    if (this.result === undefined) throw new Error('HashingStream.digests() before the stream ended');
    return this.result;
  }
}

export const defaultAlgorithms: readonly DigestAlgorithm[] = ['sha512'];

export async function readAll(stream: Readable, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      stream.destroy();
      throw new CikuError(
        'CIKU_ERR_BLOB_RANGE',
        `blob larger than the ${limit}-byte limit for in-memory reads`,
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
