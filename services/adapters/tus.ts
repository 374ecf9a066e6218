import { DataStore, ERRORS, MemoryLocker, Server, Upload, type ServerOptions } from '@tus/server';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { readAll, type BlobStore, type DigestAlgorithm } from '../archive/blob-store.ts';
import { isCikuError } from '../errors.ts';

/**
 * The one module that imports the tus libraries. `BlobTusStore` keeps a tus upload in the blob store's staging
 * area (`staging/tus/<id>/`): every PATCH becomes one immutable part blob, hashed as it arrives (sha512, plus the
 * algorithm of its `Upload-Checksum`), and `info.json` records size, offset, metadata and the parts. A PATCH cut
 * off mid-way keeps the bytes received (the client resumes from there) unless it carried a checksum, which those
 * bytes then fail. Implements creation, creation-defer-length, termination, expiration and checksum (sha256,
 * sha512; 460 on mismatch, the part discarded).
 */
export interface TusPart {
  key: string;
  offset: number;
  size: number;
  sha512: string;
}

export interface TusInfo {
  id: string;
  size?: number;
  offset: number;
  metadata: Record<string, string | null>;
  creation_date: string;
  parts: TusPart[];
}

export const TUS_PREFIX = 'staging/tus/';

/** What the tus server answers for a thrown error: it reads `status_code` and `body`. */
export class TusHttpError extends Error {
  constructor(
    readonly status_code: number,
    readonly body: string,
  ) {
    super(body.trim());
    this.name = 'TusHttpError';
  }

  static of(e: { status_code: number; body: string }): TusHttpError {
    return new TusHttpError(e.status_code, e.body);
  }
}

/** Refuses the bytes of a PATCH past the upload's declared length (the store's put hashes and counts them). */
class LengthLimit extends Transform {
  private size = 0;
  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      done(
        Object.assign(new Error('upload larger than its declared length'), {
          tusError: ERRORS.ERR_SIZE_EXCEEDED,
        }),
      );
      return;
    }
    done(null, chunk);
  }
}

export class BlobTusStore extends DataStore {
  /** Upload-Checksum headers of PATCH requests in flight, by upload id (set by the server's request hook). */
  readonly checksums = new Map<string, { algorithm: 'sha256' | 'sha512'; digest: string }>();
  /**
   * Uploads committed and removed by this process, as they ended (at most the last 1,000): the tus server reads an
   * upload back after its finish hook when answering a creation-with-upload (it then answered 404 to an upload it
   * had just committed).
   */
  private readonly finished = new Map<string, Upload>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly expirationMs: number,
  ) {
    super();
    this.extensions = [
      'creation',
      'creation-with-upload',
      'creation-defer-length',
      'termination',
      'expiration',
      'checksum',
    ];
  }

  private infoKey(id: string): string {
    return `${TUS_PREFIX}${id}/info.json`;
  }

  async readInfo(id: string): Promise<TusInfo> {
    if (!/^[a-f0-9]{32}$/.test(id)) throw TusHttpError.of(ERRORS.FILE_NOT_FOUND);
    try {
      return JSON.parse((await readAll(await this.blobs.get(this.infoKey(id)))).toString('utf8')) as TusInfo;
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND')) throw TusHttpError.of(ERRORS.FILE_NOT_FOUND);
      throw err;
    }
  }

  private async writeInfo(info: TusInfo): Promise<void> {
    await this.blobs.put(this.infoKey(info.id), JSON.stringify(info));
  }

  override async create(upload: Upload): Promise<Upload> {
    const info: TusInfo = {
      id: upload.id,
      offset: 0,
      metadata: upload.metadata ?? {},
      creation_date: new Date().toISOString(),
      parts: [],
      ...(upload.size === undefined ? {} : { size: upload.size }),
    };
    await this.writeInfo(info);
    upload.creation_date = info.creation_date;
    return upload;
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const info = await this.readInfo(id);
    if (offset !== info.offset) throw TusHttpError.of(ERRORS.INVALID_OFFSET);
    const checksum = this.checksums.get(id);
    this.checksums.delete(id);
    // The part is hashed where every stored byte is, in the put: sha512 and the checksum's algorithm at once.
    const algorithms: DigestAlgorithm[] = ['sha512'];
    if (checksum && checksum.algorithm !== 'sha512') algorithms.push(checksum.algorithm);
    const remaining = info.size === undefined ? Number.MAX_SAFE_INTEGER : info.size - offset;
    const limit = new LengthLimit(remaining);
    // A PATCH cut off mid-way ends the proxy stream cleanly (the tus handler does that), keeping what arrived.
    stream.on('error', (err) => limit.destroy(err));
    limit.on('error', () => undefined); // surfaces through the store's pipeline (see stageUpload)
    const key = `${TUS_PREFIX}${id}/part-${String(offset).padStart(16, '0')}`;
    const { size, digests } = await this.blobs.put(key, stream.pipe(limit), { algorithms });
    if (checksum && digests[checksum.algorithm] !== checksum.digest) {
      await this.blobs.delete(key);
      throw new TusHttpError(
        460,
        'Checksum Mismatch: the bytes of this PATCH do not match Upload-Checksum; they were discarded\n',
      );
    }
    if (size === 0) {
      await this.blobs.delete(key);
      return offset;
    }
    info.parts.push({ key, offset, size, sha512: digests.sha512! });
    info.offset = offset + size;
    await this.writeInfo(info);
    return info.offset;
  }

  /** A completed upload's staging is removed; the upload is remembered as finished for a while. */
  async finish(id: string): Promise<void> {
    const info = await this.readInfo(id).catch(() => undefined);
    if (info) {
      this.finished.set(
        id,
        new Upload({
          id,
          offset: info.offset,
          size: info.offset,
          metadata: info.metadata,
          creation_date: info.creation_date,
        }),
      );
      while (this.finished.size > 1000) this.finished.delete(this.finished.keys().next().value!);
    }
    await this.blobs.deletePrefix(`${TUS_PREFIX}${id}/`);
  }

  override async getUpload(id: string): Promise<Upload> {
    const done = this.finished.get(id);
    if (done) return done;
    const info = await this.readInfo(id);
    return new Upload({
      id,
      offset: info.offset,
      metadata: info.metadata,
      creation_date: info.creation_date,
      ...(info.size === undefined ? {} : { size: info.size }),
    });
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    const info = await this.readInfo(id);
    info.size = length;
    await this.writeInfo(info);
  }

  override async remove(id: string): Promise<void> {
    await this.readInfo(id);
    await this.blobs.deletePrefix(`${TUS_PREFIX}${id}/`);
  }

  override getExpiration(): number {
    return this.expirationMs;
  }

  /** Unfinished uploads older than the expiration are deleted (finished ones are committed and removed at once). */
  override async deleteExpired(): Promise<number> {
    let removed = 0;
    const cutoff = Date.now() - this.expirationMs;
    const ids: string[] = [];
    for await (const child of this.blobs.listChildren(TUS_PREFIX)) if (child.isPrefix) ids.push(child.name);
    for (const id of ids) {
      const info = await this.readInfo(id).catch(() => undefined);
      if (!info || new Date(info.creation_date).getTime() < cutoff) {
        await this.blobs.deletePrefix(`${TUS_PREFIX}${id}/`);
        removed += 1;
      }
    }
    return removed;
  }
}

export type TusServerOptions = Omit<ServerOptions, 'locker'>;

export function createTusServer(store: BlobTusStore, options: TusServerOptions): Server {
  // One process serialises requests per upload; several API processes need a shared locker (not yet: see README).
  return new Server({ ...options, datastore: store, locker: new MemoryLocker() });
}

export { ERRORS as tusErrors };
