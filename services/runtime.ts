import path from 'node:path';
import { createFsBlobStore } from './adapters/blob-fs.ts';
import { createRedis, type Redis } from './adapters/redis.ts';
import { createRedisLocks } from './adapters/redis-lock.ts';
import type { BlobStore } from './archive/blob-store.ts';
import { createItems, type ItemView, type Items } from './archive/items.ts';
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
  close(): Promise<void>;
}

/**
 * The item catalogue's writer for `openArchive`: every commit's row is written before the write returns (read your
 * writes for `GET /v1/items`, whichever process wrote). The engine is opened on the first commit, so processes
 * that never write (or tools that only read the store) open none.
 */
function catalogueWriter(config: Config, locks: LockManager) {
  let opening: Promise<SearchIndex> | undefined;
  return {
    async put(item: ItemView): Promise<void> {
      // A failed open (Meilisearch unreachable) fails this commit's call and is tried again on the next one.
      opening ??= openSearchIndex(config, { locks }).catch((err: unknown) => {
        opening = undefined;
        throw err;
      });
      await (await opening).putItem(item);
    },
    async close(): Promise<void> {
      const open = opening;
      opening = undefined;
      if (open) await (await open.catch(() => undefined))?.close();
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
export async function openArchive(config: Config): Promise<Archive> {
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
  const catalogue = catalogueWriter(config, locks);
  const items = createItems({ ocfl, onCommit: (item) => catalogue.put(item) });
  return {
    blobs,
    redis,
    ocfl,
    items,
    locks,
    async close() {
      await catalogue.close();
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
