import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createRedisLocks } from '../../services/adapters/redis-lock.ts';
import { createItems } from '../../services/archive/items.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { validateStorageRoot } from '../../services/archive/ocfl/validator.ts';
import { createBatches } from '../../services/batch/batches.ts';
import { createRedis, deleteKeysWithPrefix } from '../../services/adapters/redis.ts';
import { projectRoot, REDIS_URL, tempDir } from '../helpers/env.ts';

const ROWS = 2000;

t.test(
  `a ${ROWS}-row batch with files survives three SIGKILLs of its worker: every row exactly once`,
  async (t) => {
    const dataDir = tempDir(t, 'ciku-kill-');
    const prefix = `ciku-test-kill-${process.pid}-${Date.now()}`;
    const redis = createRedis(REDIS_URL);
    t.teardown(async () => {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    });
    const src = path.join(dataDir, 'source');
    fs.mkdirSync(src);
    const lines = ['id,kind,title,files'];
    for (let i = 1; i <= ROWS; i += 1) {
      fs.writeFileSync(path.join(src, `f${i}.txt`), `第${i}件 ${'瓷'.repeat(i % 97)}\n`);
      lines.push(`k-${i},archive_document,档案 ${i},f${i}.txt`);
    }
    fs.writeFileSync(path.join(src, 'manifest.csv'), `${lines.join('\n')}\n`);

    const blobs = await createFsBlobStore(path.join(dataDir, 'store'));
    const ocfl = createOcflStore({ blobs, locks: createRedisLocks(redis, { ttlMs: 2_000 }) });
    await ocfl.init();
    const queue = createJobQueue(redis, { prefix });
    t.teardown(() => queue.close());
    const batches = createBatches({ blobs, state: createBatchState(redis, prefix), queue });

    const env = {
      ...process.env,
      CIKU_DATA_DIR: dataDir,
      REDIS_URL,
      CIKU_QUEUE_PREFIX: prefix,
      CIKU_WORKER_LOCK_MS: '2000',
      CIKU_LOCK_TTL_MS: '2000',
      CIKU_BATCH_CONCURRENCY: '4',
      CIKU_DROP_CRON: 'off',
      CIKU_FIXITY_CRON: 'off',
      LOG_LEVEL: 'silent',
    };
    let worker: ChildProcess | undefined;
    const startWorker = () => {
      worker = spawn(process.execPath, [path.join(projectRoot, 'bin/ciku.js'), 'work'], {
        env,
        stdio: 'ignore',
      });
    };
    t.teardown(() => {
      worker?.kill('SIGKILL');
    });
    startWorker();
    const { view } = await batches.start(src, { by: 'test' });
    const kills: number[] = [];
    for (const at of [300, 900, 1500]) {
      for (;;) {
        const c = await batches.view(view.id);
        if (c.counts.done >= at) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const exited = new Promise((r) => worker!.once('exit', r));
      worker!.kill('SIGKILL');
      await exited;
      kills.push((await batches.view(view.id)).counts.done);
      startWorker();
    }
    t.comment(`killed the worker at ${kills.join(', ')} rows done`);
    let final;
    for (;;) {
      final = await batches.view(view.id);
      if (final.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    t.same(
      { ...final.counts, bytes: 0 },
      { total: ROWS, done: ROWS, ingested: ROWS, updated: 0, skipped: 0, failed: 0, bytes: 0 },
      'counts exact: every row ingested once',
    );
    const items = createItems({ ocfl });
    let n = 0;
    let extraVersions = 0;
    for await (const id of items.list()) {
      n += 1;
      if ((await items.versions(id)).length !== 1) extraVersions += 1;
    }
    t.equal(n, ROWS, 'one item per row');
    t.equal(extraVersions, 0, 'no item has a second version');
    const report = await validateStorageRoot(blobs, 'ocfl/', { checkDigests: true });
    t.ok(report.valid, 'every object valid OCFL', { findings: report.findings.slice(0, 5) });
    const csv = await batches.reportCsv(view.id);
    t.equal(
      csv.split('\r\n').filter((l) => /^\d+,k-\d+,ingested,v1,$/.test(l)).length,
      ROWS,
      'report: each row once',
    );
  },
);
