/**
 * `ciku serve` as its own process, the README's way (bin/ciku.js with the project's V8 flags and
 * MALLOC_ARENA_MAX=2, as its shebang runs it), on a free loopback port; and a sampler of a process's RSS. Shared by
 * the tests that need a real listening server (test/helpers/server-process.ts) and the HTTP benches
 * (scripts/bench/http.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { createRedis, deleteKeysWithPrefix } from '../services/adapters/redis.ts';
import { serverNodeFlags } from '../services/node-flags.ts';
import { projectFile } from '../services/project-file.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** The V8 flags it runs with. */
  flags: readonly string[];
  /** Sends `signal` (SIGTERM: a graceful shutdown) and waits for the exit; nothing when it has already exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `ciku serve` with `env` over this process's environment (PORT and LOG_LEVEL=warn set unless `env` says
 * otherwise) and waits until /healthz answers; `nodeFlags` replaces the project's flags (to compare GC settings).
 * Unless `env` names one, the server gets job queues of its own (CIKU_QUEUE_PREFIX), deleted from Redis by `stop`:
 * a test's or a bench's follow-up jobs must not wait in the default queues for the next real worker to run them
 * against a store that does not have their items.
 */
export async function spawnServe(options: {
  env: Record<string, string>;
  nodeFlags?: readonly string[];
  stdout?: 'ignore' | 'pipe';
}): Promise<ServeProcess> {
  const port = await freePort();
  const flags = options.nodeFlags ?? serverNodeFlags;
  const ownQueues =
    options.env.CIKU_QUEUE_PREFIX === undefined ? `ciku-serve-${process.pid}-${port}` : undefined;
  const child = spawn(process.execPath, [...flags, projectFile(import.meta.url, 'bin/ciku.js'), 'serve'], {
    // As bin/ciku.js's shebang runs it in production: one malloc arena per thread kind, not one per core × 8.
    env: {
      ...process.env,
      MALLOC_ARENA_MAX: '2',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...(ownQueues === undefined ? {} : { CIKU_QUEUE_PREFIX: ownQueues }),
      ...options.env,
    },
    stdio: ['ignore', options.stdout ?? 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      if (ownQueues !== undefined)
        await deleteQueues(options.env.REDIS_URL ?? process.env.REDIS_URL, `${ownQueues}:`);
    })());
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null)
      throw new Error(`ciku serve exited with ${child.exitCode} before it answered`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child, flags, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop('SIGKILL');
  throw new Error('ciku serve did not answer /healthz within 30 s');
}

async function deleteQueues(redisUrl: string | undefined, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl ?? 'redis://127.0.0.1:6379');
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Calls `onSample` with the RSS of process `pid` (bytes, from /proc) every `everyMs`; returns the stop function. */
export function sampleRss(pid: number, onSample: (bytes: number) => void, everyMs = 50): () => void {
  const timer = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      onSample(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // the process has exited
    }
  }, everyMs);
  return () => clearInterval(timer);
}
