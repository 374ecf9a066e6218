import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serverNodeFlags } from '../../services/node-flags.ts';
import { projectRoot, REDIS_URL } from './env.ts';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Peak resident set size seen so far (bytes), sampled from /proc every 50 ms. */
  peakRss(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** `ciku serve` as its own process (the README's way), on a free port, with the given data dir. */
export async function startServerProcess(
  t: { teardown(fn: () => unknown): void },
  env: Record<string, string>,
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...serverNodeFlags, path.join(projectRoot, 'bin/ciku.js'), 'serve'],
    {
      // As bin/ciku.js's shebang runs it in production: one malloc arena per thread kind, not one per core × 8.
      env: {
        ...process.env,
        MALLOC_ARENA_MAX: '2',
        REDIS_URL,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // the process has exited
    }
  }, 50);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    clearInterval(sampler);
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  t.teardown(() => stop('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null) throw new Error(`ciku serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child, peakRss: () => peak, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('ciku serve did not become healthy');
}
