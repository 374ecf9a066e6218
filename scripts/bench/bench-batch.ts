import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createRedis, deleteKeysWithPrefix } from '../../services/adapters/redis.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createItems } from '../../services/archive/items.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { createBatches } from '../../services/batch/batches.ts';
import { buildBatchWorkers } from '../../workers/build-workers.ts';
import { keepAlive, pool, request, startServer } from './http.ts';

/**
 * `npm run bench:batch`: a batch of small files and a batch of large files, beside the ingest API's own rate for
 * the same files measured in the same run (a `ciku serve` process; 4 HTTP clients each creating an item and
 * PUTting its file). The batch runs in this process with 4 row workers (CIKU_BATCH_CONCURRENCY's role), reading
 * the same files from the same disk. Reports rows/s, MB/s and batch / API; writes bench-batch.json.
 * Options: --small-count (10000) --small-kib (64) --large-count (500) --large-mib (20) --clients (4).
 */
const { values: args } = parseArgs({
  options: {
    'small-count': { type: 'string', default: '10000' },
    'small-kib': { type: 'string', default: '64' },
    'large-count': { type: 'string', default: '500' },
    'large-mib': { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
    out: { type: 'string', default: 'bench-batch.json' },
  },
});
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-bench-batch-'));
  const clients = Number(args.clients);
  const sets = [
    { name: 'small', count: Number(args['small-count']), bytes: Number(args['small-kib']) * 1024 },
    { name: 'large', count: Number(args['large-count']), bytes: Number(args['large-mib']) * MiB },
  ];

  const server = await startServer({
    dataDir: path.join(base, 'api'),
    adminKey: ADMIN,
    env: { CIKU_QUEUE_PREFIX: `bench-batch-api-${process.pid}` },
  });
  const { url } = server;

  const redis = createRedis(REDIS_URL);
  const prefix = `bench-batch-${process.pid}`;
  const blobs = await createFsBlobStore(path.join(base, 'batch-store'));
  const ocfl = createOcflStore({ blobs, locks: createRedisLocks(redis, { prefix: `${prefix}:` }) });
  await ocfl.init();
  const items = createItems({ ocfl });
  const queue = createJobQueue(redis, { prefix });
  const batches = createBatches({ blobs, state: createBatchState(redis, prefix), queue });
  const workers = buildBatchWorkers({
    items,
    blobs,
    ocfl,
    batches,
    queue,
    redisUrl: REDIS_URL,
    prefix,
    concurrency: clients,
    lockMs: 30_000,
    tmpDir: path.join(base, 'tmp'),
  });
  await workers.ready();

  const results = [];
  for (const set of sets) {
    // The same files for both sides: text files (a type every kind takes), random bytes in hex.
    const dir = path.join(base, `src-${set.name}`);
    fs.mkdirSync(dir);
    const lines = ['id,kind,title,files'];
    for (let i = 0; i < set.count; i += 1) {
      const f = path.join(dir, `f${i}.txt`);
      const fd = fs.openSync(f, 'w');
      for (let left = set.bytes; left > 0; left -= MiB)
        fs.writeSync(fd, randomBytes(Math.min(MiB, left) / 2).toString('hex'));
      fs.closeSync(fd);
      lines.push(`${set.name}-${i},archive_document,档案 ${i},f${i}.txt`);
    }
    fs.writeFileSync(path.join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
    const mb = (set.count * set.bytes) / MiB;

    const apiStart = process.hrtime.bigint();
    await pool(
      clients,
      Array.from({ length: set.count }, (_, i) => async () => {
        const id = `${set.name}-${i}`;
        const created = await request(`${url}/v1/items`, 'POST', {
          token: ADMIN,
          json: true,
          body: Buffer.from(
            JSON.stringify({
              id,
              kind: 'archive_document',
              metadata: { title: `档案 ${i}` },
              access: { level: 'private' },
            }),
          ),
        });
        if (created.status !== 201) throw new Error(`create ${id}: ${created.status} ${created.text}`);
        const put = await request(`${url}/v1/items/${id}/files/f${i}.txt`, 'PUT', {
          token: ADMIN,
          body: { file: path.join(dir, `f${i}.txt`) },
        });
        if (put.status !== 201) throw new Error(`put ${id}: ${put.status} ${put.text}`);
      }),
    );
    const apiS = Number(process.hrtime.bigint() - apiStart) / 1e9;

    const batchStart = process.hrtime.bigint();
    const { view } = await batches.start(dir, { by: 'bench' });
    let v = view;
    while (v.status === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      v = await batches.view(view.id);
    }
    const batchS = Number(process.hrtime.bigint() - batchStart) / 1e9;
    if (v.counts.ingested !== set.count)
      throw new Error(`batch ingested ${v.counts.ingested} of ${set.count}`);
    results.push({
      workload: `${set.count} rows × ${set.bytes >= MiB ? `${set.bytes / MiB} MiB` : `${set.bytes / 1024} KiB`}`,
      'API rows/s': set.count / apiS,
      'batch rows/s': set.count / batchS,
      'API MB/s': mb / apiS,
      'batch MB/s': mb / batchS,
      'batch / API': apiS / batchS,
      goal: 0.9,
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await workers.close(1_000);
  await queue.close();
  await server.stop();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  keepAlive.destroy();
  fs.rmSync(base, { recursive: true, force: true });

  const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(v < 10 ? 2 : 1) : String(v));
  const cols = Object.keys(results[0]!);
  process.stdout.write(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`);
  for (const r of results)
    process.stdout.write(`| ${cols.map((c) => fmt((r as Record<string, unknown>)[c])).join(' | ')} |\n`);
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ when: new Date().toISOString(), args, results }, null, 2)}\n`,
  );
  process.stdout.write(`written ${args.out}\n`);
}

await main();
