import {
  DataStore,
  ERRORS,
  MemoryLocker,
  Server,
  Upload,
  type Lock,
  type Locker,
  type RequestRelease,
  type ServerOptions,
} from '@tus/server';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
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
export type TusLocker = Locker;

/**
 * The tus server over our store. `locker` serialises the requests on one upload: the in-process default is enough
 * for one API process; several behind a balancer share the Redis one (createRedisTusLocker), or a resumed PATCH on
 * one process could write while the first one's is still arriving on another.
 */
export function createTusServer(store: BlobTusStore, options: TusServerOptions, locker?: TusLocker): Server {
  return new Server({ ...options, datastore: store, locker: locker ?? new MemoryLocker() });
}

const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * tus upload locks shared by every API process on one Redis, with the semantics of @tus/server's MemoryLocker: a
 * request for a locked upload asks the holder to let go (its `requestRelease`, which ends the holder's request, as a
 * client that reconnected elsewhere means the old connection is dead) and waits for the lock up to
 * `acquireTimeoutMs` (then ERR_LOCK_TIMEOUT, 500 with tus's message). The lock is a Redis lease (SET NX PX, renewed
 * at a third of its life, released by compare-and-delete), so a process that dies holding one frees it within
 * `ttlMs`; the ask to let go travels by pub/sub (one subscriber connection per locker).
 */
export function createRedisTusLocker(
  redis: Redis,
  options: { prefix: string; ttlMs?: number; acquireTimeoutMs?: number },
): TusLocker & { close(): Promise<void> } {
  const ttlMs = options.ttlMs ?? 30_000;
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
  const key = (id: string) => `${options.prefix}tus-lock:${id}`;
  const channel = (id: string) => `${options.prefix}tus-release:${id}`;
  let subscriber: Redis | undefined;
  const holders = new Map<string, RequestRelease>();
  const listen = async (id: string, release: RequestRelease) => {
    if (!subscriber) {
      subscriber = redis.duplicate();
      subscriber.on('message', (ch: string) => {
        const held = holders.get(ch);
        if (held) void Promise.resolve(held()).catch(() => undefined);
      });
    }
    holders.set(channel(id), release);
    await subscriber.subscribe(channel(id));
  };
  const unlisten = async (id: string) => {
    holders.delete(channel(id));
    await subscriber?.unsubscribe(channel(id));
  };

  return {
    newLock(id: string): Lock {
      const token = randomUUID();
      let renew: NodeJS.Timeout | undefined;
      return {
        async lock(stop: AbortSignal, requestRelease: RequestRelease): Promise<void> {
          const deadline = Date.now() + acquireTimeoutMs;
          let delay = 10;
          for (;;) {
            if ((await redis.set(key(id), token, 'PX', ttlMs, 'NX')) === 'OK') break;
            // Held elsewhere: ask the holder to let go, then try again.
            await redis.publish(channel(id), token);
            // tus answers an error carrying status_code and body with them (as MemoryLocker's timeout does).
            if (stop.aborted || Date.now() >= deadline)
              throw Object.assign(new Error(ERRORS.ERR_LOCK_TIMEOUT.body), ERRORS.ERR_LOCK_TIMEOUT);
            await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
            delay = Math.min(delay * 2, 200);
          }
          renew = setInterval(
            () => void redis.eval(RENEW_SCRIPT, 1, key(id), token, String(ttlMs)).catch(() => undefined),
            Math.max(100, Math.floor(ttlMs / 3)),
          );
          renew.unref();
          await listen(id, requestRelease);
        },
        async unlock(): Promise<void> {
          if (renew) clearInterval(renew);
          renew = undefined;
          await unlisten(id);
          await redis.eval(RELEASE_SCRIPT, 1, key(id), token);
        },
      };
    },
    async close() {
      holders.clear();
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}

export { ERRORS as tusErrors };
