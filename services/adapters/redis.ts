import { Redis } from 'ioredis';

/** The one place that constructs ioredis clients. */
export function createRedis(url: string, options: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(url, {
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
  });
}

export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Deletes every key that starts with `prefix` (a test's, a bench's or a removed archive's keyspace). SCAN and
 * UNLINK, not KEYS and DEL: a large keyspace does not block the server.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  const scan = redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>;
  for await (const keys of scan) if (keys.length > 0) await redis.unlink(...keys);
}

export type { Redis };
