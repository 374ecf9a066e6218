import path from 'node:path';
import { createFsBlobStore } from './adapters/blob-fs.ts';
import { createLogger, type Logger } from './adapters/logger.ts';
import { createRedis, type Redis } from './adapters/redis.ts';
import { createRedisLocks } from './adapters/redis-lock.ts';
import type { BlobStore } from './archive/blob-store.ts';
import { createItems, type ItemView, type Items, type ItemsDeps } from './archive/items.ts';
import type { LockManager } from './archive/locks.ts';
import { createOcflStore, type OcflStore } from './archive/ocfl/store.ts';
import type { Config } from './config.ts';
import type { SearchIndex } from './search/search-index.ts';

export interface Archive {
  blobs: BlobStore;
  redis: Redis;
  ocfl: OcflStore;
  items: Items;
  /** The item locks on Redis (also what `openSearchIndex` takes to serialise Meilisearch catalogue writes). */
  locks: LockManager;
  /**
   * The process's search engine: the one commits write their catalogue rows through, opened (with `locks`) on
   * first use, or the one given to `openArchive`. A process that searches or indexes uses this one instead of
   * opening a second (each SQLite engine starts a writer thread of its own; each Meilisearch engine its own
   * per-item write chains). Closed by `close()` unless it was given.
   */
  search(): Promise<SearchIndex>;
  close(): Promise<void>;
}

export interface OpenArchiveOptions {
  /** An engine the caller opened and closes: commits write their catalogue rows through it. */
  search?: SearchIndex;
  /** Where a failed catalogue write is reported (default: a pino logger at the configured level). */
  logger?: Logger;
}

/**
 * The process's engine for `openArchive`: every commit's row is written through it before the write returns (read
 * your writes for `GET /v1/items`, whichever process wrote). Opened on first use, so processes that never write or
 * search (tools that only read the store) open none.
 */
function sharedEngine(config: Config, locks: LockManager, given: SearchIndex | undefined) {
  let opening: Promise<SearchIndex> | undefined = given && Promise.resolve(given);
  const get = (): Promise<SearchIndex> =>
    // A failed open (Meilisearch unreachable) fails this call and is tried again on the next one.
    (opening ??= openSearchIndex(config, { locks }).catch((err: unknown) => {
      opening = undefined;
      throw err;
    }));
  return {
    get,
    async put(item: ItemView): Promise<void> {
      await (await get()).putItem(item);
    },
    async close(): Promise<void> {
      const open = opening;
      opening = undefined;
      if (open && !given) await (await open.catch(() => undefined))?.close();
    },
  };
}

export async function openBlobStore(config: Config): Promise<BlobStore> {
  const s = config.storage;
  return s.kind === 'fs'
    ? createFsBlobStore(s.root)
    : // Loaded only when chosen: the S3 client is a large module an fs deployment never needs.
      (await import('./adapters/blob-s3.ts')).createS3BlobStore({
        endpoint: s.endpoint,
        bucket: s.bucket,
        accessKey: s.accessKey,
        secretKey: s.secretKey,
        region: s.region,
      });
}

/** The composition root for processes (CLI, API, workers): wires adapters into the archive core. */
export async function openArchive(config: Config, options: OpenArchiveOptions = {}): Promise<Archive> {
  const blobs = await openBlobStore(config);
  const redis = createRedis(config.redis.url);
  // Under the archive's own Redis prefix (CIKU_QUEUE_PREFIX): two archives sharing a Redis never wait on each
  // other's item locks.
  const locks = createRedisLocks(redis, {
    prefix: `${config.redis.queuePrefix}:lock:`,
    ttlMs: config.lock.ttlMs,
    waitMs: config.lock.waitMs,
  });
  const ocfl = createOcflStore({ blobs, locks, lockWaitMs: config.lock.waitMs });
  await ocfl.init();
  const engine = sharedEngine(config, locks, options.search);
  // Made when first needed: most processes never log through it.
  let logger = options.logger;
  // The version is committed whatever its catalogue write does (items.ts); a failure is logged and the item's
  // index job, which every write queues, writes the row again.
  const itemsDeps: ItemsDeps = {
    ocfl,
    onCommit: (item) => engine.put(item),
    onCommitError: (err, item) =>
      (logger ??= createLogger(config.logLevel, { name: 'ciku-archive' })).error(
        { err, item: item.id, version: item.version },
        'the item catalogue write failed after a commit: the index job writes it again',
      ),
  };
  const items = createItems(itemsDeps);
  return {
    blobs,
    redis,
    ocfl,
    items,
    locks,
    search: engine.get,
    async close() {
      await engine.close();
      await blobs.close();
      await locks.close();
      redis.disconnect();
    },
  };
}

/**
 * The configured search engine: the embedded SQLite index under `<dataDir>/search`, or Meilisearch. `locks`
 * (the archive's, on Redis) serialise Meilisearch catalogue writes across processes; SQLite compares versions
 * inside its own write transaction and needs none.
 */
export async function openSearchIndex(
  config: Config,
  options: { locks?: LockManager } = {},
): Promise<SearchIndex> {
  if (config.search.kind === 'meilisearch') {
    // Loaded only when chosen, like the S3 client.
    return (await import('./search/meili-index.ts')).createMeiliIndex({
      url: config.search.url,
      ...(config.search.key === undefined ? {} : { key: config.search.key }),
      indexPrefix: config.search.indexPrefix,
      ...(options.locks === undefined ? {} : { locks: options.locks }),
    });
  }
  return (await import('./search/sqlite-index.ts')).createSqliteIndex({
    dir: path.join(config.dataDir, 'search'),
  });
}
