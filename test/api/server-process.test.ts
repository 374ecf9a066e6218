import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { validateStorageRoot } from '../../services/archive/ocfl/validator.ts';
import { tempDir, testRedis } from '../helpers/env.ts';
import { startServerProcess } from '../helpers/server-process.ts';
import { wavHeader } from '../../scripts/bench/wav-header.ts';

const ADMIN = 'test-admin-key-for-server-process';
const auth = { authorization: `Bearer ${ADMIN}` };
const MiB = 1024 * 1024;

/** A WAV header for `size` bytes of samples, then the samples drawn from a fixed random block (cheap, incompressible). */
function wavStream(
  size: number,
  hash: ReturnType<typeof createHash>,
  onBytes?: (sent: number) => void,
): AsyncGenerator<Buffer> {
  const block = randomBytes(4 * MiB);
  return (async function* () {
    const header = wavHeader(size);
    hash.update(header);
    yield header;
    let sent = 0;
    while (sent < size) {
      const n = Math.min(MiB, size - sent);
      const off = (sent * 7) % (block.length - MiB);
      const chunk = block.subarray(off, off + n);
      hash.update(chunk);
      sent += n;
      onBytes?.(sent);
      yield chunk;
    }
  })();
}

function put(
  url: string,
  length: number,
  body: AsyncIterable<Buffer>,
): { done: Promise<{ status: number; body: string }>; req: http.ClientRequest } {
  const req = http.request(url, {
    method: 'PUT',
    headers: { ...auth, 'content-length': length },
    agent: false,
  });
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  void (async () => {
    for await (const chunk of body) {
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      if (req.destroyed) return;
    }
    req.end();
  })().catch(() => undefined);
  return { done, req };
}

async function createItem(url: string, id: string): Promise<void> {
  const res = await fetch(`${url}/v1/items`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ id, kind: 'oral_history', metadata: { title: `${id} 访谈` } }),
  });
  if (res.status !== 201) throw new Error(await res.text());
}

const SIZE = Number(process.env.CIKU_BIG_UPLOAD_BYTES ?? 2 * 1024 * MiB);

t.test(
  `a ${SIZE / MiB} MiB upload through a listening server keeps its RSS under 200 MB and stores the exact bytes`,
  async (t) => {
    const dataDir = tempDir(t, 'ciku-big-');
    const server = await startServerProcess(t, { CIKU_DATA_DIR: dataDir, CIKU_ADMIN_KEY: ADMIN });
    await createItem(server.url, 'OH-BIG');
    const hash = createHash('sha512');
    const { done } = put(`${server.url}/v1/items/OH-BIG/files/master.wav`, SIZE + 44, wavStream(SIZE, hash));
    const res = await done;
    t.equal(res.status, 201, res.body.slice(0, 300));
    const source = hash.digest('hex');
    const file = (JSON.parse(res.body) as { files: { size: number; digests: { sha512: string } }[] })
      .files[0]!;
    t.equal(file.size, SIZE + 44);
    t.equal(file.digests.sha512, source, 'the digest the server computed is the source’s');
    t.comment(`peak server RSS after the upload: ${(server.peakRss() / MiB).toFixed(0)} MiB`);
    // Re-read the stored bytes through the API and hash them again.
    const stored = createHash('sha512');
    const dl = await fetch(`${server.url}/v1/items/OH-BIG/files/master.wav`, { headers: auth });
    for await (const chunk of dl.body as unknown as AsyncIterable<Uint8Array>) stored.update(chunk);
    t.equal(stored.digest('hex'), source, 'the stored bytes’ sha512 equals the source’s');
    const peak = server.peakRss();
    t.comment(`peak server RSS ${(peak / MiB).toFixed(0)} MB for ${(SIZE / MiB).toFixed(0)} MiB`);
    t.ok(
      peak > 0 && peak < 200 * 1000 * 1000,
      `server RSS stayed under 200 MB (peak ${(peak / MiB).toFixed(0)} MiB)`,
    );
    await server.stop();
  },
);

t.test('SIGKILL mid-upload leaves no partial version and no staging after the next start', async (t) => {
  const dataDir = tempDir(t, 'ciku-kill-');
  const env = { CIKU_DATA_DIR: dataDir, CIKU_ADMIN_KEY: ADMIN };
  const first = await startServerProcess(t, env);
  await createItem(first.url, 'OH-KILL');
  let killed = false;
  const size = 512 * MiB;
  const { done, req } = put(
    `${first.url}/v1/items/OH-KILL/files/interview.wav`,
    size + 44,
    wavStream(size, createHash('sha512'), (sent) => {
      if (!killed && sent >= 64 * MiB) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    }),
  );
  await done.catch(() => undefined);
  req.destroy();
  await first.stop('SIGKILL');
  t.ok(killed, 'the server was killed while the body was streaming');

  const second = await startServerProcess(t, env);
  const item = (await (await fetch(`${second.url}/v1/items/OH-KILL`, { headers: auth })).json()) as {
    version: string;
    files: unknown[];
  };
  t.equal(item.version, 'v1', 'no partial version');
  t.same(item.files, []);
  const store = path.join(dataDir, 'store');
  const tmp = path.join(store, '.ciku-tmp');
  const tmpFiles = fs
    .readdirSync(tmp, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
  t.same(tmpFiles, [], "no temp files (the killed process's temp folder was cleared at restart)");
  const staged = fs.existsSync(path.join(store, 'staging'))
    ? fs.readdirSync(path.join(store, 'staging'), { recursive: true })
    : [];
  t.same(staged, [], 'no staging');
  const report = await validateStorageRoot(await createFsBlobStore(store, { readOnly: true }), 'ocfl/');
  t.same(report.findings, [], 'the storage root is valid');
  await second.stop();
});

t.test('50 parallel uploads to 10 items all commit, every version valid OCFL', async (t) => {
  const dataDir = tempDir(t, 'ciku-conc-');
  const { redis, prefix } = testRedis(t);
  const queuePrefix = `${prefix}archive`;
  const server = await startServerProcess(t, {
    CIKU_DATA_DIR: dataDir,
    CIKU_ADMIN_KEY: ADMIN,
    CIKU_QUEUE_PREFIX: queuePrefix,
  });
  for (let i = 0; i < 10; i += 1) await createItem(server.url, `OH-C${i}`);
  const results = await Promise.all(
    Array.from({ length: 50 }, async (_, n) => {
      const res = await fetch(`${server.url}/v1/items/OH-C${n % 10}/files/note-${n}.txt`, {
        method: 'PUT',
        headers: auth,
        body: `逐字稿 ${n}\n${randomBytes(2000).toString('hex')}\n`,
      });
      return res.status;
    }),
  );
  t.same(results, Array(50).fill(201), 'all 50 committed');
  for (let i = 0; i < 10; i += 1) {
    const item = (await (await fetch(`${server.url}/v1/items/OH-C${i}`, { headers: auth })).json()) as {
      version: string;
      files: unknown[];
    };
    t.equal(item.version, 'v6', `OH-C${i}: 5 uploads → 5 new versions`);
    t.equal(item.files.length, 5);
  }
  // Everything the archive keeps in Redis is under its prefix, so one Redis can serve several archives.
  t.ok(Number(await redis.get(`${queuePrefix}:lock:fence`)) >= 60, 'item locks are taken under the prefix');
  t.equal(
    (await redis.keys(`${queuePrefix}:instance:*`)).length,
    1,
    'the live instance is recorded under it',
  );
  t.ok((await redis.keys(`${queuePrefix}:index-item:*`)).length > 0, 'follow-up jobs are queued under it');
  await server.stop();
  const report = await validateStorageRoot(
    await createFsBlobStore(path.join(dataDir, 'store'), { readOnly: true }),
    'ocfl/',
  );
  t.equal(report.objects, 10);
  t.same(report.findings, [], 'every object (and so every version) is valid');
});
