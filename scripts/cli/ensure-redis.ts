import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../services/adapters/logger.ts';
import { pingRedis } from '../../services/adapters/redis.ts';
import type { Config } from '../../services/config.ts';

/** Starts a local redis-server (data under the data dir, AOF on) when nothing answers at REDIS_URL. */
export async function ensureRedis(config: Config, log: Logger): Promise<void> {
  if (await pingRedis(config.redis.url)) return;
  const url = new URL(config.redis.url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname)) {
    throw new Error(`no Redis answers at ${config.redis.url}, and it is not local, so ciku cannot start one`);
  }
  const dir = path.join(config.dataDir, 'redis');
  await fs.mkdir(dir, { recursive: true });
  const port = url.port === '' ? '6379' : url.port;
  const child = spawn(
    'redis-server',
    [
      '--port',
      port,
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--daemonize',
      'yes',
      '--logfile',
      path.join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  await new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(
        new Error(
          `no Redis at ${config.redis.url} and redis-server could not be started (${err.message}); install it with: apt-get install redis-server`,
        ),
      ),
    );
    child.on('exit', () => resolve());
  });
  for (let i = 0; i < 50; i += 1) {
    if (await pingRedis(config.redis.url)) {
      log.info({ port, dir }, 'started a local redis-server');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`started redis-server on port ${port} but it does not answer`);
}
