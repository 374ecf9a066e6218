import { randomUUID } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertKey,
  defaultAlgorithms,
  digestBuffer,
  HashingStream,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type PutResult,
} from '../archive/blob-store.ts';
import { CikuError, errnoCode } from '../errors.ts';

/** Temp files live in one folder inside the root, so a rename into place never crosses a filesystem. */
const TMP_DIR = '.ciku-tmp';
const WRITE_HWM = 1024 * 1024;
/**
 * Reads of a whole blob use Node's default chunk: most are small (tiles, thumbnails, records), and a 1 MiB buffer
 * for each of them is an mmap, a munmap and GC pressure per request (GC fell from 6 % to 3 % of a tile server's
 * CPU profile). A ranged read knows its length and takes a chunk up to that, at most WRITE_HWM.
 */
const READ_HWM = 64 * 1024;
/** Bodies up to this size are written in one synchronous call instead of a stream. */
const SMALL_PUT = 1024 * 1024;
/**
 * Blobs up to this size are read in one synchronous call (records, inventories: a few microseconds from the page
 * cache); larger ones in the thread pool, so the event loop works on the next request meanwhile — tiles and
 * thumbnails (30–100 KiB): bench:iiif tiles went from 0.64–0.75× a bare static server (read synchronously) to
 * 0.81–0.87× (best of rounds) on two cores.
 */
const SYNC_READ = 16 * 1024;

/** fsync through the callback API: one thread-pool hop, no FileHandle or promise plumbing around it. */
const fsyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fsSync.fsync(fd, (err) => (err ? reject(err) : resolve())));

/** A write's error as callers see it: a name the filesystem cannot hold is the key's fault (coded), else as is. */
function keyError(err: unknown, key: string): unknown {
  return errnoCode(err) === 'ENAMETOOLONG'
    ? new CikuError(
        'CIKU_ERR_PATH_INVALID',
        `storage key ${JSON.stringify(key)} is too long for the filesystem`,
      )
    : err;
}

/** An open-for-reading error as callers see it: no such file (or a folder in its place) is a missing blob. */
function openError(err: unknown, key: string): unknown {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR'
    ? new CikuError('CIKU_ERR_BLOB_NOT_FOUND', `no blob ${key}`)
    : err;
}

/**
 * Writes to an open file descriptor and fsyncs it in `final`, so the pipeline resolves only once the bytes are
 * durable. Callback fs calls on a plain descriptor: per chunk batch one thread-pool hop and no promise or
 * FileHandle objects (fewer allocations, so less GC on a long upload). (A WriteStream with `autoClose: false`
 * never emits `close`, which `pipeline` would wait for.)
 */
class FileSink extends Writable {
  constructor(
    private readonly fd: number,
    private readonly durable = true,
  ) {
    super({ highWaterMark: WRITE_HWM });
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  private writeAll(buffers: Buffer[], done: (err?: Error | null) => void): void {
    fsSync.writev(this.fd, buffers, (err, written) => {
      if (err) return done(err);
      // A short write (rare on local disks): continue with what is left.
      let left = written;
      let i = 0;
      while (i < buffers.length && left >= buffers[i]!.length) left -= buffers[i++]!.length;
      if (i === buffers.length) return done();
      const rest = [buffers[i]!.subarray(left), ...buffers.slice(i + 1)];
      this.writeAll(rest, done);
    });
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.durable) return done();
    fsSync.fsync(this.fd, (err) => done(err));
  }
}

/**
 * The embedded BlobStore: one file per key under `root`. Publishing is temp file → fsync → rename (→ fsync of the
 * parent directory), so a crash leaves either the old file or the complete new one.
 */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function createFsBlobStore(
  root: string,
  options: { readOnly?: boolean } = {},
): Promise<BlobStore> {
  const absRoot = path.resolve(root);
  // One temp folder per process: an API server and a worker share the store, and neither may clear the other's
  // files in flight. Folders of processes that are gone are never referenced again: cleared at open.
  const tmpBase = path.join(absRoot, TMP_DIR);
  const tmpRoot = path.join(tmpBase, `${process.pid}-${randomUUID().slice(0, 8)}`);
  if (!options.readOnly) {
    await fs.mkdir(tmpBase, { recursive: true });
    for (const name of await fs.readdir(tmpBase)) {
      const pid = /^(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && processAlive(Number(pid))) continue;
      await fs.rm(path.join(tmpBase, name), { force: true, recursive: true });
    }
    await fs.mkdir(tmpRoot, { recursive: true });
  }

  const fileOf = (key: string): string => {
    assertKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) {
      throw new CikuError('CIKU_ERR_PATH_INVALID', `storage key ${JSON.stringify(key)} is reserved`);
    }
    return path.join(absRoot, key);
  };

  const fsyncDir = async (dir: string): Promise<void> => {
    const fd = fsSync.openSync(dir, 'r');
    try {
      await fsyncFd(fd);
    } finally {
      fsSync.closeSync(fd);
    }
  };

  /**
   * Moves a finished temp file into place. Another key's delete may prune the (empty) parent folder during our
   * mkdir or before our rename, so an ENOENT is retried with a fresh mkdir.
   */
  async function publish(tmp: string, target: string, key: string, ifAbsent: boolean): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        // Metadata calls on the local disk, made synchronously: a few microseconds each, against ~100 µs of CPU
        // for the thread-pool round trip of their promise forms (measured; they dominate small writes).
        fsSync.mkdirSync(path.dirname(target), { recursive: true });
        if (ifAbsent) {
          fsSync.linkSync(tmp, target);
          fsSync.rmSync(tmp, { force: true });
        } else {
          fsSync.renameSync(tmp, target);
        }
        return;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EEXIST' && ifAbsent)
          throw new CikuError('CIKU_ERR_BLOB_EXISTS', `blob ${key} already exists`);
        if (code !== 'ENOENT' || attempt >= 4) throw err;
      }
    }
  }

  async function put(
    key: string,
    body: Readable | Buffer | string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const target = fileOf(key);
    const tmp = path.join(tmpRoot, randomUUID());
    if ((typeof body === 'string' || Buffer.isBuffer(body)) && Buffer.byteLength(body) <= SMALL_PUT) {
      return putSmall(key, target, tmp, Buffer.from(body), options);
    }
    const hasher = new HashingStream(options.algorithms ?? defaultAlgorithms);
    const source =
      typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
    try {
      const fd = fsSync.openSync(tmp, 'wx');
      try {
        await pipeline(source, hasher, new FileSink(fd, options.durable !== false));
      } finally {
        fsSync.closeSync(fd);
      }
      await publish(tmp, target, key, options.ifAbsent === true);
      if (options.syncName !== false && options.durable !== false) await fsyncDir(path.dirname(target));
      return { key, size: hasher.size, digests: hasher.digests() };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      if (!source.destroyed) source.destroy();
      throw keyError(err, key);
    }
  }

  /**
   * A small in-memory body (records, inventories, intents): written and closed synchronously, only the fsyncs go
   * to the thread pool. Same publication order and guarantees as the streaming path.
   */
  async function putSmall(
    key: string,
    target: string,
    tmp: string,
    bytes: Buffer,
    options: PutOptions,
  ): Promise<PutResult> {
    const durable = options.durable !== false;
    try {
      const fd = fsSync.openSync(tmp, 'wx');
      try {
        for (let off = 0; off < bytes.length;) off += fsSync.writeSync(fd, bytes, off, bytes.length - off);
        if (durable) await fsyncFd(fd);
      } finally {
        fsSync.closeSync(fd);
      }
      await publish(tmp, target, key, options.ifAbsent === true);
      if (options.syncName !== false && durable) await fsyncDir(path.dirname(target));
      return {
        key,
        size: bytes.length,
        digests: digestBuffer(bytes, options.algorithms ?? defaultAlgorithms),
      };
    } catch (err) {
      fsSync.rmSync(tmp, { force: true });
      throw keyError(err, key);
    }
  }

  async function read(key: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
    const file = fileOf(key);
    let fd: number;
    try {
      fd = fsSync.openSync(file, 'r');
    } catch (err) {
      throw openError(err, key);
    }
    let small: Buffer | undefined;
    try {
      const { size } = fsSync.fstatSync(fd);
      if (size > maxBytes)
        throw new CikuError(
          'CIKU_ERR_BLOB_RANGE',
          `blob ${key} is larger than the ${maxBytes}-byte limit for in-memory reads`,
        );
      // Small metadata from the page cache: read synchronously (microseconds), larger blobs in the thread pool.
      if (size <= SYNC_READ) {
        const buf = Buffer.allocUnsafe(size);
        let off = 0;
        while (off < size) {
          const n = fsSync.readSync(fd, buf, off, size - off, off);
          if (n === 0) break;
          off += n;
        }
        small = off === size ? buf : buf.subarray(0, off);
      }
    } catch (err) {
      fsSync.closeSync(fd);
      throw err;
    }
    if (small) {
      fsSync.closeSync(fd);
      return small;
    }
    // The descriptor already open (at offset 0), read whole in the thread pool: no second open of the file.
    return new Promise((resolve, reject) =>
      fsSync.readFile(fd, (err, buf) => {
        fsSync.closeSync(fd);
        if (err) reject(err);
        else resolve(buf);
      }),
    );
  }

  async function get(key: string, range?: ByteRange): Promise<Readable> {
    const file = fileOf(key);
    if (!range) {
      // A whole read by path (callback fs underneath): about half the CPU of a FileHandle stream per blob, which
      // is what a tile or a thumbnail costs to serve. Opened before it is handed out, so a missing blob is an
      // error here, not a broken response later.
      const stream = fsSync.createReadStream(file, { highWaterMark: READ_HWM });
      try {
        await once(stream, 'ready');
      } catch (err) {
        stream.destroy();
        throw openError(err, key);
      }
      return stream;
    }
    let handle;
    try {
      handle = await fs.open(file, 'r');
    } catch (err) {
      throw openError(err, key);
    }
    const { size } = await handle.stat();
    const end = range.end ?? size - 1;
    if (range.start < 0 || range.start > end || (size > 0 && range.start >= size) || end >= size) {
      await handle.close();
      throw new CikuError(
        'CIKU_ERR_BLOB_RANGE',
        `range ${range.start}-${range.end ?? ''} outside blob of ${size} bytes`,
      );
    }
    const highWaterMark = Math.max(READ_HWM, Math.min(WRITE_HWM, end - range.start + 1));
    return handle.createReadStream({ start: range.start, end, highWaterMark });
  }

  async function stat(key: string): Promise<BlobStat | undefined> {
    try {
      const s = fsSync.statSync(fileOf(key), { bigint: true });
      return s.isFile()
        ? {
            key,
            size: Number(s.size),
            modified: new Date(Number(s.mtimeMs)),
            etag: `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`,
          }
        : undefined;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  /** Walks only the folders that can hold keys under `prefix`, one directory handle at a time. */
  async function* list(prefix: string): AsyncIterable<BlobStat> {
    assertKey(prefix, { allowPrefix: true });
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash === -1 ? '' : prefix.slice(0, slash + 1);
    yield* walk(baseKey, prefix);
  }

  async function* walk(dirKey: string, prefix: string): AsyncGenerator<BlobStat> {
    let dir;
    try {
      dir = await fs.opendir(path.join(absRoot, dirKey));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for await (const entry of dir) {
      const key = `${dirKey}${entry.name}`;
      if (dirKey === '' && entry.name === TMP_DIR) continue;
      if (entry.isDirectory()) {
        const asDir = `${key}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) yield* walk(asDir, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const s = await fs.stat(path.join(absRoot, key)).catch(() => undefined);
        if (s) yield { key, size: s.size, modified: s.mtime };
      }
    }
  }

  async function* listChildren(prefix: string): AsyncIterable<{ name: string; isPrefix: boolean }> {
    if (prefix !== '' && !prefix.endsWith('/')) {
      throw new CikuError(
        'CIKU_ERR_PATH_INVALID',
        `listChildren prefix ${JSON.stringify(prefix)} must end in "/"`,
      );
    }
    assertKey(prefix, { allowPrefix: true });
    let dir;
    try {
      dir = await fs.opendir(path.join(absRoot, prefix));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for await (const entry of dir) {
      if (prefix === '' && entry.name === TMP_DIR) continue;
      if (entry.isDirectory()) yield { name: entry.name, isPrefix: true };
      else if (entry.isFile()) yield { name: entry.name, isPrefix: false };
    }
  }

  async function remove(key: string): Promise<void> {
    const file = fileOf(key);
    await fs.rm(file, { force: true });
    await pruneEmptyDirs(path.dirname(file));
  }

  /** S3 has no folders; neither should the fs store once the last key under one is gone. */
  async function pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    // Top-level folders (ocfl/, staging/, ciku-intents/…) are shared by every writer: never removed.
    while (current.startsWith(absRoot + path.sep) && path.dirname(current) !== absRoot) {
      try {
        await fs.rmdir(current);
      } catch {
        return;
      }
      current = path.dirname(current);
    }
  }

  async function deletePrefix(prefix: string): Promise<number> {
    let count = 0;
    const keys: string[] = [];
    for await (const blob of list(prefix)) keys.push(blob.key);
    for (const key of keys) {
      await remove(key);
      count += 1;
    }
    return count;
  }

  async function move(from: string, to: string, options: { syncName?: boolean } = {}): Promise<void> {
    const source = fileOf(from);
    const target = fileOf(to);
    try {
      await publish(source, target, to, false);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new CikuError('CIKU_ERR_BLOB_NOT_FOUND', `no blob ${from}`);
      throw err;
    }
    await pruneEmptyDirs(path.dirname(source));
    if (options.syncName !== false) await fsyncDir(path.dirname(target));
  }

  async function syncKeys(keys: Iterable<string>): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) dirs.add(path.dirname(fileOf(key)));
    for (const dir of dirs) await fsyncDir(dir);
  }

  return {
    kind: 'fs',
    localPath: fileOf,
    put,
    get,
    read,
    stat,
    list,
    listChildren,
    syncKeys,
    move,
    delete: remove,
    deletePrefix,
    close: async () => {
      if (!options.readOnly) await fs.rm(tmpRoot, { recursive: true, force: true });
    },
  };
}
