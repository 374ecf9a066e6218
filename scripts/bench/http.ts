/**
 * What the HTTP benches share: a `ciku serve` process on a free loopback port, a keep-alive client that sends a
 * Buffer, a file from disk or a sequence of chunks, and a fixed-size pool of concurrent clients.
 */
import fs from 'node:fs';
import http from 'node:http';
import { spawnServe, type ServeProcess } from '../serve-process.ts';

const MiB = 1024 * 1024;

/**
 * Starts `ciku serve` on a fresh data dir with an admin key, as an operator would (the project's V8 flags and
 * MALLOC_ARENA_MAX=2 unless `nodeFlags` replaces the flags), and waits until /healthz answers.
 */
export async function startServer(options: {
  dataDir: string;
  adminKey: string;
  env?: Record<string, string>;
  nodeFlags?: readonly string[];
}): Promise<ServeProcess> {
  return spawnServe({
    env: { CIKU_DATA_DIR: options.dataDir, CIKU_ADMIN_KEY: options.adminKey, ...options.env },
    ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
  });
}

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One request with a Bearer token. `body`: a Buffer (sent as JSON when `json`), `{ file }` (streamed from disk
 * like a client would), or chunks written straight to the socket with backpressure (no stream wrapper between the
 * data and the request; give `length`).
 */
export function request(
  url: string,
  method: string,
  options: {
    token: string;
    body?: Buffer | { file: string } | Iterable<Buffer>;
    json?: boolean;
    length?: number;
  },
): Promise<{ status: number; text: string }> {
  const { body } = options;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${options.token}` };
    if (options.json) headers['content-type'] = 'application/json';
    if (options.length !== undefined) headers['content-length'] = options.length;
    if (body !== undefined && !Buffer.isBuffer(body) && 'file' in body)
      headers['content-length'] = fs.statSync(body.file).size;
    const req = http.request(url, { method, headers, agent: keepAlive }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else if ('file' in body) fs.createReadStream(body.file, { highWaterMark: MiB }).pipe(req);
    else {
      const chunks = body[Symbol.iterator]();
      const pump = (): void => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) {
          if (!req.write(next.value)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    }
  });
}

/** Runs `jobs` with `n` at a time, in order; answers their results by index. */
export async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}
