import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createItems, type Items } from '../../services/archive/items.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { createBatches, type Batches } from '../../services/batch/batches.ts';
import type { Planner } from '../../services/batch/plan-thread.ts';
import type { BatchView } from '../../schemas/batch.ts';
import { buildBatchWorkers } from '../../workers/build-workers.ts';
import type { TestApi } from './api.ts';
import { REDIS_URL, tempDir, testRedis } from './env.ts';

/** An archive on a fresh fs store, its queues and batch store on real Redis, and in-process batch workers. */
export async function batchEnv(
  t: { teardown(fn: () => unknown): void },
  options: { workers?: boolean; planner?: Planner } = {},
) {
  const root = tempDir(t, 'ciku-batch-');
  const blobs = await createFsBlobStore(root);
  const { redis, prefix } = testRedis(t);
  const ocfl = createOcflStore({ blobs, locks: createRedisLocks(redis, { prefix }) });
  await ocfl.init();
  const items = createItems({ ocfl });
  const queuePrefix = `${prefix}bull`;
  const queue = createJobQueue(redis, { prefix: queuePrefix });
  const state = createBatchState(redis, queuePrefix);
  const batches: Batches = createBatches({
    blobs,
    state,
    queue,
    ...(options.planner ? { planner: options.planner } : {}),
  });
  const running: ReturnType<typeof buildBatchWorkers>[] = [];
  /** Starts in-process batch workers (at once unless `workers: false`: then when the test says). */
  const startWorkers = async () => {
    const w = buildBatchWorkers({
      items,
      blobs,
      ocfl,
      batches,
      queue,
      redisUrl: REDIS_URL,
      prefix: queuePrefix,
      tmpDir: tempDir(t, 'ciku-batch-tmp-'),
    });
    running.push(w);
    await w.ready();
  };
  if (options.workers !== false) await startWorkers();
  t.teardown(async () => {
    for (const w of running) await w.close(1_000);
    await queue.close();
  });
  /** Waits until the batch has finished (the flow parent wrote its report). */
  const finished = async (id: string): Promise<BatchView> => {
    for (;;) {
      const v = await batches.view(id);
      if (v.status !== 'running') return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { root, blobs, redis, ocfl, items, queue, queuePrefix, batches, finished, startWorkers };
}

/** The agent tests write items as (directly through the core, outside any batch). */
export const testAgent = { name: 'test:setup', address: 'urn:ciku:agent:test:setup' };

/** A minimal valid BagIt 1.0 bag: payload files, a sha256 manifest, bag-info lines (Payload-Oxum when given). */
export function writeBag(dir: string, files: Record<string, string>, info: string[] = []): string {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bagit.txt'), 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
  const lines: string[] = [];
  for (const [name, body] of Object.entries(files)) {
    const abs = path.join(dir, 'data', name);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, body);
    lines.push(`${createHash('sha256').update(body).digest('hex')}  data/${name}`);
  }
  fs.writeFileSync(path.join(dir, 'manifest-sha256.txt'), `${lines.join('\n')}\n`);
  if (info.length > 0) fs.writeFileSync(path.join(dir, 'bag-info.txt'), `${info.join('\n')}\n`);
  return dir;
}

/** `Payload-Oxum: octets.count` of payload files as writeBag writes them. */
export function oxumOf(files: Record<string, string>): string {
  const octets = Object.values(files).reduce((a, b) => a + Buffer.byteLength(b), 0);
  return `${octets}.${Object.keys(files).length}`;
}

/** Batches through the test API: start one as a caller, wait for it, read its report's rows. */
export function apiBatches(api: TestApi) {
  const post = (auth: Record<string, string>, body: Record<string, unknown>) =>
    api.app.inject({ method: 'POST', url: '/v1/batches', headers: auth, payload: body });
  const finished = async (auth: Record<string, string>, id: string): Promise<BatchView> => {
    for (;;) {
      const v = (await api.app.inject({ url: `/v1/batches/${id}`, headers: auth })).json<BatchView>();
      if (v.status !== 'running') return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const report = async (id: string): Promise<Record<string, string>[]> => {
    const csv = (await api.app.inject({ url: `/v1/batches/${id}/report`, headers: api.auth.admin })).body;
    return parseCsv<Record<string, string>>(csv.replace(/^\uFEFF/, ''), { columns: true });
  };
  /** Starts a batch, waits for it, answers its view and report rows (throws unless it was accepted). */
  const run = async (auth: Record<string, string>, body: Record<string, unknown>) => {
    const res = await post(auth, body);
    if (res.statusCode !== 202 && res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
    const view = await finished(auth, res.json<BatchView>().id);
    return { view, rows: await report(view.id) };
  };
  /** An organisation's folder in the drop folder (made if absent). */
  const orgFolder = (organisation: string): string => {
    const dir = path.join(api.dropDir!, 'organisations', organisation);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  return { post, finished, report, run, orgFolder };
}

/** What tests compare to tell that an item did not change: its head version, access, metadata and files. */
export async function headOf(items: Items, id: string) {
  const v = await items.get(id);
  return {
    version: v.version,
    access: v.access,
    metadata: v.metadata,
    files: v.files,
    tombstone: v.tombstone,
  };
}
