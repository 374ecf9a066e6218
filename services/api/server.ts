import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sniffMagic } from '../adapters/file-type.ts';
import { createLogger } from '../adapters/logger.ts';
import { createJobQueue } from '../adapters/queue.ts';
import { createIngest } from '../archive/ingest.ts';
import { createApiKeys } from '../auth/api-keys.ts';
import type { Config } from '../config.ts';
import { openArchive, openSearchIndex } from '../runtime.ts';
import { createBatchState } from '../adapters/batch-state.ts';
import { createBatches } from '../batch/batches.ts';
import { buildApp } from './build-app.ts';
import { closeOnSignals } from '../lifecycle.ts';
import { reindexRecovered } from '../app/follow-ups.ts';
import type { HealthT } from '../../schemas/api.ts';
import { createRedisTusLocker } from '../adapters/tus.ts';

const INSTANCE_TTL_S = 30;

/**
 * Listens, and closes gracefully on SIGTERM/SIGINT (in-flight requests finish, then the store and Redis close).
 * At start it finishes or rolls back interrupted version writes and removes staging left by dead processes.
 */
export async function startServer(
  config: Config,
  options: { handleSignals?: boolean; starting?: () => HealthT | undefined } = {},
): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const logger = createLogger(config.logLevel, { name: 'ciku-api' });
  const archive = await openArchive(config);
  const instance = randomUUID();
  const instanceKey = (id: string): string => `${config.redis.queuePrefix}:instance:${id}`;
  await archive.redis.set(instanceKey(instance), String(process.pid), 'EX', INSTANCE_TTL_S);
  const heartbeat = setInterval(
    () => {
      archive.redis
        .set(instanceKey(instance), String(process.pid), 'EX', INSTANCE_TTL_S)
        .catch(() => undefined);
    },
    (INSTANCE_TTL_S * 1000) / 3,
  );
  heartbeat.unref();

  const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
  const keys = createApiKeys({ blobs: archive.blobs, adminKey: config.adminKey });
  const ingest = createIngest({
    blobs: archive.blobs,
    items: archive.items,
    sniff: sniffMagic,
    instance,
    maxBytes: config.api.maxUploadBytes,
  });

  const recovered = await archive.ocfl.recoverAll();
  for (const r of recovered) logger.warn(r, 'recovered an interrupted version write');
  await reindexRecovered({ items: archive.items, queue }, recovered);
  const orphans = await ingest.cleanOrphans(
    async (id) => (await archive.redis.exists(instanceKey(id))) === 1,
  );
  if (orphans > 0) logger.info({ removed: orphans }, 'removed staging left by stopped processes');

  const search = await openSearchIndex(config, { locks: archive.locks });
  const batches = createBatches({
    blobs: archive.blobs,
    state: createBatchState(archive.redis, config.redis.queuePrefix),
    queue,
  });
  // Several API processes on one Redis serialise each tus upload's requests through it.
  const tusLocker = createRedisTusLocker(archive.redis, { prefix: `${config.redis.queuePrefix}:` });
  const app = await buildApp({
    tusLocker,
    batches,
    dropDir: config.batch.dropDir,
    blobs: archive.blobs,
    ocfl: archive.ocfl,
    items: archive.items,
    ingest,
    keys,
    queue,
    search,
    clock: () => new Date(),
    logger,
    ...(options.starting === undefined ? {} : { starting: options.starting }),
    options: {
      anonymousRateLimit: config.api.anonymousRateLimit,
      anonymousMediaRateLimit: config.api.anonymousMediaRateLimit,
      jsonBodyLimit: config.api.jsonBodyLimit,
      maxUploadBytes: config.api.maxUploadBytes,
      tusExpiryHours: config.api.tusExpiryHours,
      ...(config.api.oaiAdminEmail === undefined ? {} : { oaiAdminEmail: config.api.oaiAdminEmail }),
      publicUrl: config.publicUrl,
      trustProxy: config.trustProxy,
    },
  });
  await app.listen({ host: config.http.host, port: config.http.port });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(heartbeat);
      await app.close();
      await tusLocker.close();
      await queue.close();
      await search.close();
      await archive.redis.del(instanceKey(instance)).catch(() => undefined);
      await archive.close();
    })();
    return closing;
  };
  if (options.handleSignals !== false) closeOnSignals(logger, close);
  return { app, close };
}
