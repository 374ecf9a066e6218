import path from 'node:path';
import { createFsBlobStore } from './adapters/blob-fs.ts';
import { createRedis, type Redis } from './adapters/redis.ts';
import { createRedisLocks } from './adapters/redis-lock.ts';
import type { BlobStore } from './archive/blob-store.ts';
import { createItems, type Items } from './archive/items.ts';
import { createOcflStore, type OcflStore } from './archive/ocfl/store.ts';
import type { Config } from './config.ts';
import type { SearchIndex } from './search/search-index.ts';

export interface Archive {
  blobs: BlobStore;
  redis: Redis;
  ocfl: OcflStore;
  items: Items;
  close(): Promise<void>;
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
  const items = createItems({ ocfl });
  return {
    blobs,
    redis,
    ocfl,
    items,
    async close() {
      await blobs.close();
      await locks.close();
      redis.disconnect();
    },
  };
}

/** The configured search engine: the embedded SQLite index under `<dataDir>/search`, or Meilisearch. */
export async function openSearchIndex(config: Config): Promise<SearchIndex> {
  if (config.search.kind === 'meilisearch') {
    // Loaded only when chosen, like the S3 client.
    return (await import('./search/meili-index.ts')).createMeiliIndex({
      url: config.search.url,
      ...(config.search.key === undefined ? {} : { key: config.search.key }),
      indexPrefix: config.search.indexPrefix,
    });
  }
  return (await import('./search/sqlite-index.ts')).createSqliteIndex({
    dir: path.join(config.dataDir, 'search'),
  });
}
