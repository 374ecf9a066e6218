import { randomBytes } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { BatchContext, type BatchView, type RowStatus } from '../../schemas/batch.ts';
import type { BatchState, RowOutcome } from '../adapters/batch-state.ts';
import type { JobQueue } from '../adapters/queue.ts';
import type { Principal } from '../archive/access.ts';
import { readAll, type BlobStore } from '../archive/blob-store.ts';
import { CikuError, errnoCode, isCikuError } from '../errors.ts';
import { withoutServerPaths } from './drop-folder.ts';
import type { Planner } from './plan-thread.ts';
import type { BatchPlan, PlannedRow, PlanOptions } from './sources.ts';

/**
 * Batches: plan a source, record it (the plan summary in the blob store, live counts in Redis), run its rows as a
 * BullMQ flow (a child job per row under one `batch-finish` parent), and answer progress and the per-row report.
 * Rows that fail planning are recorded as failed at once; the valid ones run. The finished report is kept in the
 * blob store beside the plan (`batches/<id>/report.csv`), so it outlives Redis.
 *
 * A batch acts for a principal (role and organisation), recorded with it (`batches/<id>/context.json` and the live
 * meta) with the real path of its source folder: every row job decides under that principal, as the API would for
 * the same caller, and opens nothing outside that folder. Planning runs on a worker thread (plan-thread.ts), a few
 * at once per process. What a caller reads of a batch — a refusal, its warnings, each row's reason — names paths
 * relative to the caller's folder (`within`: the drop folder for staff, the organisation's for a contributor),
 * never by their server path.
 */
export interface StartOptions extends Omit<PlanOptions, 'withoutPlans'> {
  dryRun?: boolean;
  /** Who asked (an API key's name or `cli:<user>`), recorded with the batch. */
  by: string;
  /**
   * Whom the batch acts for: every row is decided under it. Default: the local operator (the CLI, the demo
   * loader), who holds the archive's data directory itself and so acts as an admin. A contributor's batch belongs
   * to its organisation: `organisation` is always its own.
   */
  principal?: Principal;
  /** Told the number of rows planned so far, as planning goes (a progress bar for a large source). */
  onPlanned?: (rows: number) => void;
}

/** The CLI's operator: whoever runs `ciku batch` on the server holds the store itself. */
export const localOperator: Principal = { role: 'admin' };

export type { BatchContext };

export interface Batches {
  start(source: string, options: StartOptions): Promise<{ view: BatchView; plan: BatchPlan }>;
  view(id: string): Promise<BatchView>;
  reportCsv(id: string): Promise<string>;
  /** The flow parent's work: rows whose job failed for good get their reason, the report is written. */
  finish(id: string): Promise<BatchView>;
  /** A row job's outcome. */
  record(id: string, outcome: RowOutcome): Promise<void>;
  by(id: string): Promise<string>;
  /** The principal the batch acts for and its source folder; undefined for a batch that recorded none. */
  context(id: string): Promise<BatchContext | undefined>;
}

/**
 * Who may start batches and see them — the one rule, for the API's routes as for `start`: admins and archivists,
 * and contributors acting for an organisation (their batches are that organisation's).
 */
export const mayBatch = (p: Principal): boolean =>
  p.role === 'admin' || p.role === 'archivist' || (p.role === 'contributor' && p.organisation !== undefined);

const ID = /^b-[0-9a-z-]{6,80}$/;

export function newBatchId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);
  return `b-${stamp}-${randomBytes(3).toString('hex')}`;
}

export function createBatches(deps: {
  blobs: BlobStore;
  state: BatchState;
  queue: JobQueue;
  /** Plans on bounded, reused threads (plan-thread.ts); default: one made on first use, with its defaults. */
  planner?: Planner;
}): Batches {
  const { blobs, state, queue } = deps;
  let planner = deps.planner;
  const key = (id: string, name: string) => `batches/${id}/${name}`;
  const check = (id: string) => {
    if (!ID.test(id)) throw new CikuError('CIKU_ERR_BATCH_NOT_FOUND', `no batch ${id}`);
  };

  const readJson = async <T>(k: string): Promise<T | undefined> => {
    try {
      return JSON.parse((await readAll(await blobs.get(k))).toString('utf8')) as T;
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND') || errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  };

  async function view(id: string): Promise<BatchView> {
    check(id);
    const saved = await readJson<BatchView>(key(id, 'batch.json'));
    const live = await state.counts(id);
    const meta = await state.meta(id);
    if (!saved && !meta) throw new CikuError('CIKU_ERR_BATCH_NOT_FOUND', `no batch ${id}`);
    const base = saved ?? (JSON.parse(meta!.view!) as BatchView);
    if (live) base.counts = live;
    if (meta?.status === 'finished' || meta?.status === 'dry-run') base.status = meta.status;
    if (meta?.finished) base.finished = meta.finished;
    return base;
  }

  async function writeReport(id: string): Promise<void> {
    const rows = await state.rows(id);
    await blobs.put(key(id, 'report.csv'), toCsv(rows), { contentType: 'text/csv; charset=utf-8' });
  }

  async function finish(id: string): Promise<BatchView> {
    const v = await view(id);
    const recorded = new Set((await state.rows(id)).map((r) => r.row));
    const planned = (await readJson<number[]>(key(id, 'rows.json'))) ?? [];
    const root = planned.length > 0 ? (await context(id))?.root : undefined;
    for (const row of planned) {
      if (recorded.has(row)) continue;
      const st = await queue.state('batch-row', `batch-row-${id}-${row}`);
      // A job's failure is whatever it threw: a system error names the server path it failed on.
      const reason = `row job ${st.state}${st.reason ? `: ${st.reason}` : ''}`;
      await state.setRow(id, { row, status: 'failed', reason: withoutServerPaths(reason, root) });
    }
    await writeReport(id);
    const finished = new Date().toISOString();
    await state.setMeta(id, { status: v.status === 'dry-run' ? 'dry-run' : 'finished', finished });
    const done = await view(id);
    await blobs.put(key(id, 'batch.json'), JSON.stringify(done, null, 2));
    return done;
  }

  async function context(id: string): Promise<BatchContext | undefined> {
    check(id);
    const meta = await state.meta(id);
    const raw: unknown = meta?.context
      ? JSON.parse(meta.context)
      : await readJson<unknown>(key(id, 'context.json'));
    // What comes back from Redis or the store is input: a context that is not one is no context.
    return Value.Check(BatchContext, raw) ? raw : undefined;
  }

  return {
    async start(source, options) {
      const principal = options.principal ?? localOperator;
      if (!mayBatch(principal)) throw new CikuError('CIKU_ERR_FORBIDDEN', 'this key may not start batches');
      const organisation = principal.role === 'contributor' ? principal.organisation : options.organisation;
      // Loaded on first use: an API server that never starts a batch does not carry the planner's code.
      planner ??= (await import('./plan-thread.ts')).createPlanner();
      // Everything the caller reads back (a refusal, warnings, row reasons) shows paths relative to its folder.
      const shown = (text: string) => withoutServerPaths(text, options.within);
      const rows: PlannedRow[] = [];
      let plan: BatchPlan;
      try {
        plan = await planner.plan(
          source,
          {
            ...(options.mapping === undefined ? {} : { mapping: options.mapping }),
            ...(options.kind === undefined ? {} : { kind: options.kind }),
            ...(options.access === undefined ? {} : { access: options.access }),
            ...(organisation === undefined ? {} : { organisation }),
            ...(options.within === undefined ? {} : { within: options.within }),
            ...(options.dryRun ? { withoutPlans: true } : {}),
          },
          (chunk) => {
            for (const r of chunk) rows.push(r.error === undefined ? r : { ...r, error: shown(r.error) });
            options.onPlanned?.(rows.length);
          },
        );
      } catch (err) {
        if (!isCikuError(err)) throw err;
        throw new CikuError(err.code, shown(err.message), { details: err.details });
      }
      plan.warnings = plan.warnings.map(shown);
      if (plan.refused !== undefined) plan.refused = shown(plan.refused);
      // A source refused whole ingests nothing, whatever rows were planned before the refusal.
      plan.rows = plan.refused ? [] : rows;
      const id = newBatchId();
      const valid = plan.rows.filter((r) => r.error === undefined);
      // An invalid bag plans no rows: its report holds one line that says why.
      const total = plan.refused && plan.rows.length === 0 ? 1 : plan.rows.length;
      const v: BatchView = {
        id,
        status: options.dryRun ? 'dry-run' : 'running',
        source: plan.source,
        created: new Date().toISOString(),
        by: options.by,
        counts: { total, done: 0, ingested: 0, updated: 0, skipped: 0, failed: 0, bytes: 0 },
        warnings: plan.warnings,
        ...(plan.refused ? { refused: plan.refused } : {}),
        report: `/v1/batches/${id}/report`,
      };
      const ctx: BatchContext = {
        principal: {
          role: principal.role,
          ...(principal.organisation === undefined ? {} : { organisation: principal.organisation }),
        },
        root: plan.root,
      };
      await blobs.put(key(id, 'context.json'), JSON.stringify(ctx, null, 2));
      await state.init(
        id,
        { view: JSON.stringify(v), status: v.status, by: options.by, context: JSON.stringify(ctx) },
        total,
      );
      await blobs.put(key(id, 'batch.json'), JSON.stringify(v, null, 2));
      await state.setRows(
        id,
        plan.rows
          .filter((r) => r.error !== undefined)
          .map((r) => ({
            row: r.row,
            status: 'failed' as const,
            ...(r.id ? { item: r.id } : {}),
            reason: r.error ?? '',
          })),
      );
      if (plan.refused && plan.rows.length === 0) {
        // An invalid bag: nothing planned; its one line in the report says why.
        await state.setRow(id, { row: 1, status: 'failed', reason: plan.refused });
      }
      if (options.dryRun || plan.refused || valid.length === 0) {
        return { view: await finish(id), plan };
      }
      await blobs.put(key(id, 'rows.json'), JSON.stringify(valid.map((r) => r.row)));
      await queue.enqueueFlow(
        { name: 'batch-finish', payload: { batchId: id } },
        'batch-row',
        valid.map((r) => ({ batchId: id, row: r.plan! })),
        { backfill: true },
      );
      return { view: await view(id), plan };
    },
    view,
    async reportCsv(id) {
      check(id);
      const saved = await blobs
        .get(key(id, 'report.csv'))
        .then(readAll)
        .catch((err: unknown) => {
          if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND') || errnoCode(err) === 'ENOENT') return undefined;
          throw err;
        });
      if (saved) return saved.toString('utf8');
      await view(id); // 404 for an unknown batch
      return toCsv(await state.rows(id));
    },
    finish,
    record: (id, outcome) => state.setRow(id, outcome),
    async by(id) {
      return (await state.meta(id))?.by ?? 'unknown';
    },
    context,
  };
}

const cell = (v: string | number | undefined): string => {
  const s = String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The per-row report: `row,item,status,version,reason`, UTF-8 with a BOM so spreadsheets read Chinese right. */
export function toCsv(rows: RowOutcome[]): string {
  const lines = ['row,item,status,version,reason'];
  for (const r of rows) lines.push([r.row, r.item, r.status, r.version, r.reason].map(cell).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export const finalStatuses: readonly RowStatus[] = ['ingested', 'updated', 'skipped', 'failed'];
