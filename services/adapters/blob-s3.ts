import { Client } from 'minio';
import { Readable } from 'node:stream';
import {
  assertKey,
  defaultAlgorithms,
  HashingStream,
  readAll,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type PutResult,
} from '../archive/blob-store.ts';
import { CikuError } from '../errors.ts';

export interface S3Options {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region?: string;
  /** First multipart part size; grows so that a blob of any size stays under S3's 10,000-part limit. */
  partSize?: number;
  /**
   * Whether the server's delimiter listing (common prefixes) is trustworthy. Some S3-compatible test servers
   * (s3rver) omit a common prefix that holds only deeper prefixes; with `false`, `listChildren` walks the keys
   * with V1 markers instead, one request per child.
   */
  delimiterListing?: boolean;
  /**
   * Blobs larger than this are moved by a multipart copy (UploadPartCopy, parts of this size, done by the server:
   * no byte passes through us), smaller ones by one CopyObject. S3's own limit for one copy is 5 GiB (the
   * default); tests set a few MiB to prove the multipart path on a real server.
   */
  copyPartSize?: number;
}

const MIN_PART = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** S3's largest CopyObject (and UploadPartCopy part). */
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;

/**
 * The S3 BlobStore (MinIO, AWS S3, any S3) through the `minio` client. A put drives multipart upload itself:
 * bytes are hashed as they pass, each part is uploaded as soon as it is full (so memory holds one part), and the
 * object appears under its key only at CompleteMultipartUpload — S3's own atomic publish, so no reader ever sees a
 * partial object. Small blobs go up in one PUT, equally atomic.
 */
export async function createS3BlobStore(options: S3Options): Promise<BlobStore> {
  const url = new URL(options.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    region: options.region ?? 'us-east-1',
    pathStyle: true,
  });
  const bucket = options.bucket;
  if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket, options.region ?? 'us-east-1');
  const firstPartSize = Math.max(MIN_PART, options.partSize ?? 8 * 1024 * 1024);

  const isNotFound = (err: unknown): boolean => {
    const code = (err as { code?: unknown }).code;
    return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
  };

  async function stat(key: string): Promise<BlobStat | undefined> {
    assertKey(key);
    try {
      const s = await client.statObject(bucket, key);
      return { key, size: s.size, modified: s.lastModified, ...(s.etag ? { etag: s.etag } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function put(
    key: string,
    body: Readable | Buffer | string,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    assertKey(key);
    // Servers that honour If-None-Match refuse atomically; the stat first gives the same answer on those that don't.
    if (opts.ifAbsent && (await stat(key)))
      throw new CikuError('CIKU_ERR_BLOB_EXISTS', `blob ${key} already exists`);
    const headers: Record<string, string> = {};
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
    if (opts.ifAbsent) headers['If-None-Match'] = '*';
    const hasher = new HashingStream(opts.algorithms ?? defaultAlgorithms);
    const source =
      typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
    const hashed = source.pipe(hasher);
    source.on('error', (err) => hashed.destroy(err));

    let partSize = firstPartSize;
    let pending: Buffer[] = [];
    let pendingSize = 0;
    let uploadId: string | undefined;
    const etags: { part: number; etag: string }[] = [];

    const flushPart = async (): Promise<void> => {
      const payload = Buffer.concat(pending, pendingSize);
      pending = [];
      pendingSize = 0;
      uploadId ??= await client.initiateNewMultipartUpload(bucket, key, headers);
      const part = etags.length + 1;
      const { etag } = await client.uploadPart(
        { bucketName: bucket, objectName: key, uploadID: uploadId, partNumber: part, headers: {} },
        payload,
      );
      etags.push({ part, etag });
      // Double the part size every 1,000 parts: 10,000 parts then reach far beyond S3's 5 TiB object limit.
      if (etags.length % 1000 === 0) partSize *= 2;
    };

    try {
      for await (const chunk of hashed) {
        const buf = chunk as Buffer;
        pending.push(buf);
        pendingSize += buf.length;
        if (pendingSize >= partSize) {
          if (etags.length + 1 >= MAX_PARTS) throw new Error('blob exceeds the S3 multipart part limit');
          await flushPart();
        }
      }
      if (uploadId === undefined) {
        await client.putObject(bucket, key, Buffer.concat(pending, pendingSize), pendingSize, headers);
      } else {
        if (pendingSize > 0) await flushPart();
        await client.completeMultipartUpload(bucket, key, uploadId, etags);
      }
      return { key, size: hasher.size, digests: hasher.digests() };
    } catch (err) {
      if (!source.destroyed) source.destroy();
      if (uploadId !== undefined)
        await client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
      const code = (err as { code?: unknown }).code;
      if (code === 'PreconditionFailed')
        throw new CikuError('CIKU_ERR_BLOB_EXISTS', `blob ${key} already exists`);
      throw err;
    }
  }

  async function read(key: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
    return readAll(await get(key), maxBytes);
  }

  async function get(key: string, range?: ByteRange): Promise<Readable> {
    assertKey(key);
    try {
      if (!range) return await client.getObject(bucket, key);
      const s = await stat(key);
      if (!s) throw new CikuError('CIKU_ERR_BLOB_NOT_FOUND', `no blob ${key}`);
      const end = range.end ?? s.size - 1;
      if (range.start < 0 || range.start > end || end >= s.size) {
        throw new CikuError(
          'CIKU_ERR_BLOB_RANGE',
          `range ${range.start}-${range.end ?? ''} outside blob of ${s.size} bytes`,
        );
      }
      return await client.getPartialObject(bucket, key, range.start, end - range.start + 1);
    } catch (err) {
      if (isNotFound(err)) throw new CikuError('CIKU_ERR_BLOB_NOT_FOUND', `no blob ${key}`);
      throw err;
    }
  }

  /** V1 listing: pages of 1,000 keys fetched as the consumer reads (V2 past 1,000 keys is not universal). */
  async function* list(prefix: string): AsyncIterable<BlobStat> {
    assertKey(prefix, { allowPrefix: true });
    for await (const item of client.listObjects(bucket, prefix, true)) {
      const info = item as { name?: string; size?: number; lastModified?: Date };
      if (info.name !== undefined) {
        yield { key: info.name, size: info.size ?? 0, modified: info.lastModified ?? new Date(0) };
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
    if (options.delimiterListing === false) {
      yield* listChildrenByMarker(prefix);
      return;
    }
    for await (const item of client.listObjects(bucket, prefix, false)) {
      const info = item as { name?: string; prefix?: string };
      if (info.prefix !== undefined) yield { name: info.prefix.slice(prefix.length, -1), isPrefix: true };
      else if (info.name !== undefined) yield { name: info.name.slice(prefix.length), isPrefix: false };
    }
  }

  /** Finds each child with one 1-key query, then skips past everything under it (U+10FFFF sorts last in UTF-8). */
  async function* listChildrenByMarker(prefix: string): AsyncIterable<{ name: string; isPrefix: boolean }> {
    let marker = '';
    for (;;) {
      const page = await client.listObjectsQuery(bucket, prefix, marker, { Delimiter: '', MaxKeys: 1 });
      const key = page.objects[0]?.name;
      if (key === undefined) return;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) {
        yield { name: rest, isPrefix: false };
        marker = key;
      } else {
        const name = rest.slice(0, slash);
        yield { name, isPrefix: true };
        marker = `${prefix}${name}/\u{10FFFF}`;
      }
    }
  }

  const copyPartSize = Math.max(MIN_PART, options.copyPartSize ?? MAX_SINGLE_COPY);

  async function move(from: string, to: string): Promise<void> {
    assertKey(from);
    assertKey(to);
    const s = await stat(from);
    if (!s) throw new CikuError('CIKU_ERR_BLOB_NOT_FOUND', `no blob ${from}`);
    if (s.size > copyPartSize) {
      await multipartCopy(from, to, s);
    } else {
      await client.copyObject(bucket, to, `/${bucket}/${from}`);
    }
    await client.removeObject(bucket, from);
  }

  /**
   * A server-side copy in parts: CreateMultipartUpload, one UploadPartCopy per range (no byte passes through us),
   * CompleteMultipartUpload — the target appears whole or not at all, as with a put. Each part copy is pinned to the
   * source's etag, so a source replaced meanwhile fails the copy instead of mixing two objects. (minio's
   * `composeObject` cannot do this: it restarts every ranged source at byte 0, so ranges of one object compose into
   * copies of its first part; uploadPart with copy headers is the plain UploadPartCopy.)
   */
  async function multipartCopy(from: string, to: string, source: BlobStat): Promise<void> {
    const copySource = `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    const uploadId = await client.initiateNewMultipartUpload(bucket, to, {});
    try {
      const parts: { part: number; etag: string }[] = [];
      for (let start = 0, part = 1; start < source.size; start += copyPartSize, part++) {
        const end = Math.min(source.size, start + copyPartSize) - 1;
        const headers: Record<string, string> = {
          'x-amz-copy-source': copySource,
          'x-amz-copy-source-range': `bytes=${start}-${end}`,
        };
        if (source.etag) headers['x-amz-copy-source-if-match'] = source.etag;
        const { etag } = await client.uploadPart({
          bucketName: bucket,
          objectName: to,
          uploadID: uploadId,
          partNumber: part,
          headers,
        });
        parts.push({ part, etag });
      }
      await client.completeMultipartUpload(bucket, to, uploadId, parts);
    } catch (err) {
      await client.abortMultipartUpload(bucket, to, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async function remove(key: string): Promise<void> {
    assertKey(key);
    await client.removeObject(bucket, key);
  }

  async function deletePrefix(prefix: string): Promise<number> {
    let batch: string[] = [];
    let count = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await client.removeObjects(bucket, batch);
      count += batch.length;
      batch = [];
    };
    for await (const blob of list(prefix)) {
      batch.push(blob.key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    return count;
  }

  return {
    kind: 's3',
    put,
    get,
    read,
    stat,
    list,
    listChildren,
    // An S3 PUT or CompleteMultipartUpload is durable once it answers: nothing is left to sync.
    syncKeys: async () => {},
    move,
    delete: remove,
    deletePrefix,
    close: async () => {},
  };
}
