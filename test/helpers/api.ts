import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { sniffMagic } from '../../services/adapters/file-type.ts';
import { createJobQueue, type JobQueue } from '../../services/adapters/queue.ts';
import { createRedisTusLocker } from '../../services/adapters/tus.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { buildApp } from '../../services/api/build-app.ts';
import type { AppOptions } from '../../services/api/deps.ts';
import type { BlobStore } from '../../services/archive/blob-store.ts';
import { createIngest } from '../../services/archive/ingest.ts';
import { createItems, type Items } from '../../services/archive/items.ts';
import { createOcflStore, type OcflStore } from '../../services/archive/ocfl/store.ts';
import { createApiKeys } from '../../services/auth/api-keys.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createIndexer, type Indexer } from '../../services/search/indexer.ts';
import type { SearchIndex } from '../../services/search/search-index.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { REDIS_URL, tempDir, testRedis } from './env.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createBatches } from '../../services/batch/batches.ts';
import { buildBatchWorkers } from '../../workers/build-workers.ts';

export interface TestApi {
  app: FastifyInstance;
  blobs: BlobStore;
  ocfl: OcflStore;
  items: Items;
  queue: JobQueue;
  /**
   * The embedded search index the API reads (tests fill it through `indexer`, as the index job would). Its item
   * catalogue is written by every commit (`onCommit`), as in openArchive.
   */
  search: SearchIndex;
  indexer: Indexer;
  /** The BullMQ key prefix of this API's queues (workers under test consume from it). */
  queuePrefix: string;
  root: string;
  /** Bearer headers per role. */
  auth: Record<
    'admin' | 'archivist' | 'contributorA' | 'contributorB' | 'researcher' | 'anonymous',
    Record<string, string>
  >;
  url?: string;
  /** The drop folder batches are started from. */
  dropDir?: string;
  orgA: string;
}

export const ORG_A = '景德镇中国陶瓷博物馆';
export const ORG_B = '景德镇御窑博物馆';

/** A full API on a fresh fs store, real Redis (own key prefix), its own queue prefix, one key per role. */
export async function startTestApi(
  t: { teardown(fn: () => unknown): void },
  options: Partial<AppOptions> & {
    listen?: boolean;
    clock?: () => Date;
    batchWorkers?: boolean;
    /** Another test API's queue prefix: a second archive on the same Redis queues (as after a wiped data dir). */
    queuePrefix?: string;
  } = {},
): Promise<TestApi> {
  const root = tempDir(t, 'ciku-api-');
  const blobs = await createFsBlobStore(root);
  const { redis, prefix } = testRedis(t);
  const queuePrefix = options.queuePrefix ?? `${prefix}bull`;
  const ocfl = createOcflStore({
    blobs,
    locks: createRedisLocks(redis, { prefix }),
    // Versions are dated by the test's clock too (the list's `updated` order is theirs).
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await ocfl.init();
  // The engine the API searches and lists from; every commit writes its catalogue row (as openArchive wires it).
  const search = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  const items = createItems({
    ocfl,
    onCommit: (item) => search.putItem(item),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const queue = createJobQueue(redis, { prefix: queuePrefix });
  const keys = createApiKeys({ blobs });
  const ingest = createIngest({
    blobs,
    items,
    sniff: sniffMagic,
    instance: randomUUID(),
    maxBytes: options.maxUploadBytes ?? 8 * 1024 ** 3,
  });
  const indexer = createIndexer({ items, derivatives: createDerivativeStore({ blobs }), index: search });
  const dropDir = tempDir(t, 'ciku-drop-');
  const batches = createBatches({ blobs, state: createBatchState(redis, queuePrefix), queue });
  const batchWorkers = options.batchWorkers
    ? buildBatchWorkers({
        items,
        blobs,
        ocfl,
        batches,
        queue,
        redisUrl: REDIS_URL,
        prefix: queuePrefix,
        concurrency: 2,
        tmpDir: tempDir(t, 'ciku-batch-tmp-'),
      })
    : undefined;
  await batchWorkers?.ready();
  const tusLocker = createRedisTusLocker(redis, { prefix });
  t.teardown(() => tusLocker.close());
  const app = await buildApp({
    tusLocker,
    batches,
    dropDir,
    blobs,
    ocfl,
    items,
    ingest,
    keys,
    queue,
    search,
    clock: options.clock ?? (() => new Date()),
    logger: false,
    options: {
      anonymousRateLimit: options.anonymousRateLimit ?? 100_000,
      ...(options.anonymousMediaRateLimit === undefined
        ? {}
        : { anonymousMediaRateLimit: options.anonymousMediaRateLimit }),
      jsonBodyLimit: options.jsonBodyLimit ?? 1024 * 1024,
      maxUploadBytes: options.maxUploadBytes ?? 8 * 1024 ** 3,
      tusExpiryHours: options.tusExpiryHours ?? 72,
      publicUrl: options.publicUrl ?? 'http://ciku.test',
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      ...(options.oaiPageSize === undefined ? {} : { oaiPageSize: options.oaiPageSize }),
    },
  });
  t.teardown(async () => {
    await batchWorkers?.close(1_000);
    await app.close();
    await queue.close();
    await search.close();
  });
  const bearer = async (
    role: 'admin' | 'archivist' | 'contributor' | 'researcher',
    organisation?: string,
  ) => ({
    authorization: `Bearer ${(await keys.create({ name: `test ${role}`, role, ...(organisation ? { organisation } : {}) })).token}`,
  });
  const auth: TestApi['auth'] = {
    admin: await bearer('admin'),
    archivist: await bearer('archivist'),
    contributorA: await bearer('contributor', ORG_A),
    contributorB: await bearer('contributor', ORG_B),
    researcher: await bearer('researcher'),
    anonymous: {},
  };
  const api: TestApi = {
    app,
    blobs,
    ocfl,
    items,
    queue,
    search,
    indexer,
    queuePrefix,
    root,
    auth,
    dropDir,
    orgA: ORG_A,
  };
  if (options.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    if (typeof addr === 'object' && addr) api.url = `http://127.0.0.1:${addr.port}`;
  }
  return api;
}

/** Keys (relative) under staging/, other than tus uploads still in progress. */
export async function stagingLeft(blobs: BlobStore): Promise<string[]> {
  const left: string[] = [];
  for await (const b of blobs.list('staging/')) left.push(b.key);
  return left;
}

/** Creates an item through the API as the archivist (title = id); throws unless it answers 201. */
export async function newItem(
  api: TestApi,
  id: string,
  kind = 'collection_object',
  level = 'public',
): Promise<void> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.archivist,
    payload: { id, kind, metadata: { title: id }, access: { level } },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
}
