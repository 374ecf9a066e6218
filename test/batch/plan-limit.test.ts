import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { BatchView } from '../../schemas/batch.ts';
import { scanDropZone } from '../../services/batch/drop-zone.ts';
import { createPlanner } from '../../services/batch/plan-thread.ts';
import type { PlannedRow } from '../../services/batch/sources.ts';
import Fastify from 'fastify';
import type { Principal } from '../../services/archive/access.ts';
import type { AppDeps } from '../../services/api/deps.ts';
import { createBatchService } from '../../services/app/batches.ts';
import { registerErrorHandling } from '../../services/api/plugins/errors.ts';
import { batchRoutes } from '../../services/api/routes/batches.ts';
import { ORG_A } from '../helpers/api.ts';
import { batchEnv, writeBag } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

/** A CSV of `n` metadata-only rows. */
function csv(dir: string, name: string, n: number): string {
  const lines = ['id,kind,title'];
  for (let i = 1; i <= n; i += 1) lines.push(`${name}-${i},archive_document,档案 ${i}`);
  const file = path.join(dir, `${name}.csv`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

t.test(
  'a process plans two sources at once; the others wait their turn, in order, and every one is planned',
  async (t) => {
    const planner = createPlanner({ concurrency: 2, maxWaiting: 100 });
    t.teardown(() => planner.close());
    const env = await batchEnv(t, { workers: false, planner });
    const dir = tempDir(t);
    const sources = Array.from({ length: 8 }, (_, i) => csv(dir, `p${i}`, 2_000));
    const views = await Promise.all(
      sources.map((s) => env.batches.start(s, { by: 'test', dryRun: true }).then((r) => r.view)),
    );
    for (const v of views) t.match(v, { status: 'dry-run', counts: { total: 2_000, failed: 0 } });
    const stats = planner.stats();
    t.equal(stats.peakRunning, 2, 'never more than two plans at once');
    t.ok(stats.threadsStarted <= 2, `threads started: ${stats.threadsStarted} for ${sources.length} plans`);
    t.match(stats, { running: 0, waiting: 0, refused: 0 });
  },
);

t.test(
  'beyond the waiting room a plan is refused at once (CIKU_ERR_UNAVAILABLE), and a drop-zone never loses an entry to it',
  async (t) => {
    const planner = createPlanner({ concurrency: 1, maxWaiting: 1 });
    t.teardown(() => planner.close());
    const dir = tempDir(t);
    const source = csv(dir, 'held', 1_500);
    // The first plan is held at its first chunk of rows (its thread waits for credit); the second waits its turn.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = planner.plan(source, {}, () => gate);
    await new Promise<void>((resolve) => {
      const poll = () => (planner.stats().running === 1 ? resolve() : setTimeout(poll, 10));
      poll();
    });
    const second = planner.plan(source, {}, () => undefined);
    await t.rejects(
      planner.plan(source, {}, () => undefined),
      {
        code: 'CIKU_ERR_UNAVAILABLE',
        details: { retryAfter: 5 },
      },
    );
    t.match(planner.stats(), { running: 1, waiting: 1, refused: 1 });
    // The nightly scan meanwhile: its entry is left unclaimed for the next scan, not marked as picked up.
    const env = await batchEnv(t, { workers: false, planner });
    const drop = tempDir(t);
    csv(drop, 'records', 2);
    const busy = await scanDropZone({ batches: env.batches, blobs: env.blobs }, drop, { settleMs: 0 });
    t.same(busy, {
      started: [],
      skipped: [{ entry: 'records.csv', reason: 'the planner was busy; next scan' }],
    });
    open();
    const plans = await Promise.all([first, second]);
    t.same(
      plans.map((p) => p.source.type),
      ['csv', 'csv'],
      'the held and the waiting plan finished',
    );
    const next = await scanDropZone({ batches: env.batches, blobs: env.blobs }, drop, { settleMs: 0 });
    t.same(
      next.started.map((s) => s.entry),
      ['records.csv'],
      'the next scan starts it',
    );
  },
);

t.test(
  'POST /v1/batches while the planner is full answers 503 with Retry-After, and plans again once it has room',
  async (t) => {
    const planner = createPlanner({ concurrency: 1, maxWaiting: 0 });
    t.teardown(() => planner.close());
    const env = await batchEnv(t, { workers: false, planner });
    const drop = tempDir(t);
    const own = path.join(drop, 'organisations', ORG_A);
    fs.mkdirSync(own, { recursive: true });
    csv(own, 'records', 1_200);
    // The batch routes as the API mounts them, with the one error handler, for a contributor of A.
    const app = Fastify({ logger: false });
    t.teardown(() => app.close());
    registerErrorHandling(app);
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', async (request) => {
      request.principal = { role: 'contributor', organisation: ORG_A };
    });
    await app.register(
      batchRoutes({
        app: { batches: createBatchService({ batches: env.batches, dropDir: drop }) },
      } as unknown as AppDeps),
    );
    const post = () =>
      app.inject({ method: 'POST', url: '/v1/batches', payload: { source: 'records.csv', dry_run: true } });

    // The planner's one slot is taken by a plan held at its first chunk of rows.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const held = planner.plan(path.join(own, 'records.csv'), {}, () => gate);
    await new Promise<void>((resolve) => {
      const poll = () => (planner.stats().running === 1 ? resolve() : setTimeout(poll, 10));
      poll();
    });
    const busy = await post();
    t.equal(busy.statusCode, 503);
    t.equal(busy.json<{ code: string }>().code, 'CIKU_ERR_UNAVAILABLE');
    t.equal(busy.headers['retry-after'], '5', 'told when to ask again');
    open();
    await held;
    const again = await post();
    t.equal(again.statusCode, 200, 'planned once the planner has room');
    t.match(again.json<BatchView>(), { status: 'dry-run', counts: { total: 1_200 } });
    t.notOk('retry-after' in again.headers);
  },
);

t.test(
  'a planning thread is reused by the next plan, and each plan comes out as it does on a fresh thread',
  async (t) => {
    const dir = tempDir(t);
    const folder = path.join(dir, 'folder');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'a.txt'), '甲\n');
    fs.writeFileSync(
      path.join(folder, 'manifest.csv'),
      'id,kind,title,files\nf-1,archive_document,甲,a.txt\n',
    );
    const sources = [
      csv(dir, 'r1', 3),
      writeBag(path.join(dir, 'bag'), { 'a.txt': '包\n' }, ['External-Identifier: bag-1']),
      folder,
      path.join(dir, 'not-here'),
      csv(dir, 'r2', 2),
      path.join(dir, 'bag'),
    ];
    const planAll = async (planner: ReturnType<typeof createPlanner>) => {
      const out: unknown[] = [];
      const started = performance.now();
      for (const s of sources) {
        const rows: PlannedRow[] = [];
        out.push(
          await planner
            .plan(s, {}, (chunk) => void rows.push(...chunk))
            .then(
              (p) => ({ ...p, bag: p.bag ? { ...p.bag, path: '' } : undefined, rows }),
              (err: { code?: string; message: string }) => ({ code: err.code, message: err.message }),
            ),
        );
      }
      return { out, ms: performance.now() - started };
    };
    const reused = createPlanner();
    const fresh = createPlanner({ maxPlansPerThread: 1 });
    t.teardown(() => Promise.all([reused.close(), fresh.close()]));
    const a = await planAll(reused);
    const b = await planAll(fresh);
    t.same(a.out, b.out, 'the same plans (and the same refusal) either way');
    t.equal(reused.stats().threadsStarted, 1, 'one thread for every plan, the refused one included');
    t.equal(fresh.stats().threadsStarted, sources.length, 'a thread per plan otherwise');
    t.comment(
      `${sources.length} plans in a row: ${a.ms.toFixed(0)} ms on one reused thread, ${b.ms.toFixed(0)} ms on a thread each (${(b.ms / sources.length).toFixed(0)} ms a plan)`,
    );
  },
);

t.test(
  'a thread is not reused after a plan whose consumer failed mid-plan, nor when its heap is left above the limit',
  async (t) => {
    const dir = tempDir(t);
    const source = csv(dir, 'big', 1_200); // three chunks
    const planner = createPlanner();
    t.teardown(() => planner.close());
    await t.rejects(
      planner.plan(source, {}, () => {
        throw new Error('the consumer failed');
      }),
      { message: 'the consumer failed' },
    );
    t.equal(planner.stats().threads, 0, 'the thread that was still planning was ended');
    await planner.plan(source, {}, () => undefined);
    t.equal(planner.stats().threadsStarted, 2, 'the next plan had a new thread');

    const tight = createPlanner({ retireHeapBytes: 0 });
    t.teardown(() => tight.close());
    await tight.plan(source, {}, () => undefined);
    await tight.plan(source, {}, () => undefined);
    t.match(tight.stats(), { threads: 0, threadsStarted: 2 }, 'a thread left large is ended after its plan');
  },
);
