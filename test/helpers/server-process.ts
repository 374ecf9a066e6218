import { sampleRss, spawnServe, type ServeProcess } from '../../scripts/serve-process.ts';
import { REDIS_URL } from './env.ts';

export interface ServerProcess extends ServeProcess {
  /** Peak resident set size seen so far (bytes), sampled from /proc every 50 ms. */
  peakRss(): number;
}

/** `ciku serve` as its own process (the README's way), on a free port, with the given env; killed at teardown. */
export async function startServerProcess(
  t: { teardown(fn: () => unknown): void },
  env: Record<string, string>,
): Promise<ServerProcess> {
  const server = await spawnServe({ env: { REDIS_URL, ...env }, stdout: 'pipe' });
  let peak = 0;
  const stopSampling = sampleRss(server.child.pid!, (bytes) => (peak = Math.max(peak, bytes)));
  const stop = async (signal?: NodeJS.Signals): Promise<void> => {
    stopSampling();
    await server.stop(signal);
  };
  t.teardown(() => stop('SIGKILL'));
  return { ...server, peakRss: () => peak, stop };
}
