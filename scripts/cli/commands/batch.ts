import { Option, type Command } from 'commander';
import fs from 'node:fs/promises';
import type { BatchView } from '../../../schemas/batch.ts';
import type { JobQueue } from '../../../services/adapters/queue.ts';
import { localOperator, type Batches } from '../../../services/batch/batches.ts';
import type { BatchPlan } from '../../../services/batch/sources.ts';
import { isCikuError } from '../../../services/errors.ts';
import { withContext, type CliContext, type CliDeps } from '../context.ts';
import { mb, printJson } from '../output.ts';
import { progressBar } from '../progress.ts';
import { waitUntil } from '../wait.ts';

interface BatchOptions {
  dryRun?: boolean;
  mapping?: string;
  kind?: string;
  access?: 'public' | 'restricted' | 'private';
  organisation?: string;
  report?: string;
  wait: boolean;
  json?: boolean;
}

/** One `ciku batch` run: what each of its batches is started, followed and reported with. */
interface BatchRun {
  ctx: CliContext;
  deps: CliDeps;
  batches: Batches;
  queue: JobQueue;
  opts: BatchOptions;
  /** The workers this process started for the rows when none was running, closed when the run ends. */
  local: { workers?: Awaited<ReturnType<CliDeps['startWorkers']>> };
}

export function registerBatch(program: Command, deps: CliDeps): void {
  program
    .command('batch')
    .description(
      'ingest a folder with a manifest, a CSV / JSON-lines file or a BagIt bag as one batch (idempotent: rows already in the archive are skipped)',
    )
    .argument(
      '<paths...>',
      'bags, folders with manifest.csv / manifest.jsonl, or .csv / .jsonl files (one batch each)',
    )
    .option('--dry-run', 'validate only: the verdict on the bag and every row, nothing ingested')
    .option(
      '--mapping <file>',
      'column mapping (JSON); default: mapping.json beside the manifest, else columns by name',
    )
    .option('--kind <kind>', 'kind for rows that name none')
    .addOption(
      new Option('--access <level>', 'access for rows that name none').choices([
        'public',
        'restricted',
        'private',
      ]),
    )
    .option('--organisation <org>', 'the organisation every row belongs to')
    .option('--report <file>', 'also write the per-row report (CSV) to this file')
    .option('--no-wait', 'queue the batch and exit (follow it with GET /v1/batches/:id)')
    .option('--json', 'print the final batch state as JSON')
    .action((sources: string[], opts: BatchOptions) =>
      withContext(deps, async (ctx) => {
        const run: BatchRun = {
          ctx,
          deps,
          batches: await ctx.batches(),
          queue: await ctx.queue(),
          opts,
          local: {},
        };
        try {
          let failures = 0;
          for (const source of sources) if (!(await runBatch(run, source))) failures += 1;
          process.exitCode = failures > 0 ? 1 : 0;
        } finally {
          await run.local.workers?.close();
        }
      }),
    );
}

/** Starts, follows and reports one batch; false when it was refused, a row failed or it did not finish. */
async function runBatch(run: BatchRun, source: string): Promise<boolean> {
  const started = await startBatch(run, source);
  if (!started) return false;
  const { view, plan } = started;
  printPlan(view, plan);
  const final = view.status === 'running' && run.opts.wait ? await followBatch(run, view) : view;
  await printOutcome(run, final);
  const complete = final.status !== 'running';
  return !(final.refused || final.counts.failed > 0 || (!complete && run.opts.wait));
}

/** A source refused before it became a batch (unreadable, not a batch at all) is reported and skipped. */
async function startBatch(run: BatchRun, source: string) {
  const { opts } = run;
  try {
    // The operator at the terminal acts as staff (it holds the store's files anyway).
    return await run.batches.start(source, {
      by: run.ctx.agent.name,
      principal: localOperator,
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.mapping === undefined ? {} : { mapping: opts.mapping }),
      ...(opts.kind === undefined ? {} : { kind: opts.kind }),
      ...(opts.access === undefined ? {} : { access: { level: opts.access } }),
      ...(opts.organisation === undefined ? {} : { organisation: opts.organisation }),
    });
  } catch (e) {
    if (!isCikuError(e)) throw e;
    process.stderr.write(`${source}: ${e.code} ${e.message}\n`);
    return undefined;
  }
}

function printPlan(view: BatchView, plan: BatchPlan): void {
  const err = process.stderr;
  const encoding =
    plan.source.encoding && plan.source.encoding.toLowerCase() !== 'utf-8' ? `, ${plan.source.encoding}` : '';
  err.write(
    `batch ${view.id}: ${plan.source.type} ${plan.source.path} (${plan.rows.length} row(s), ${mb(plan.bytes)} MB${encoding})\n`,
  );
  if (plan.bag)
    err.write(
      `bag: ${plan.bag.valid ? 'valid' : 'INVALID'} (BagIt ${plan.bag.version ?? '?'}, ${plan.bag.payload.length} payload file(s))\n`,
    );
  for (const e of plan.bag?.errors ?? []) err.write(`  error: ${e}\n`);
  for (const w of view.warnings) err.write(`  warning: ${w}\n`);
}

/** Follows a running batch to its end: a bar on a terminal, otherwise a line every 10 s. */
async function followBatch(run: BatchRun, view: BatchView): Promise<BatchView> {
  const err = process.stderr;
  if ((await run.queue.workerCount('batch-row')) === 0) {
    err.write('no workers are running: this process runs the batch rows itself\n');
    run.local.workers = await run.deps.startWorkers(run.ctx.config, {
      handleSignals: false,
      only: ['batch-row', 'batch-finish'],
    });
  }
  const bar = progressBar(
    'batch [{bar}] {value}/{total} rows · {failed} failed · {skipped} skipped · {rate} MB/s · {eta_formatted} left',
  );
  bar?.start(view.counts.total, 0, { failed: 0, skipped: 0, rate: '0.0' });
  const started = Date.now();
  let lastLog = 0;
  const read = async () => {
    const latest = await run.batches.view(view.id);
    const c = latest.counts;
    const rate = mb(c.bytes / Math.max(0.001, (Date.now() - started) / 1000));
    bar?.update(c.done, { failed: c.failed, skipped: c.skipped, rate });
    if (!bar && Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      err.write(`  ${c.done}/${c.total} rows, ${c.failed} failed, ${c.skipped} skipped, ${rate} MB/s\n`);
    }
    return latest;
  };
  const final = await waitUntil({ read, done: (v) => v.status !== 'running', everyMs: 300 });
  bar?.stop();
  return final;
}

async function printOutcome(run: BatchRun, final: BatchView): Promise<void> {
  const rows = await run.batches.reportCsv(final.id);
  if (run.opts.report) await fs.writeFile(run.opts.report, rows);
  if (run.opts.json) printJson(final);
  else printSummary(final, rows);
}

/** The failed rows (the first 50), the counts, and where the whole report is. */
function printSummary(final: BatchView, rows: string): void {
  const out = process.stdout;
  const c = final.counts;
  const failedLines = rows
    .split('\r\n')
    .slice(1)
    .filter((l) => /^\d+,[^,]*,failed,/.test(l));
  for (const l of failedLines.slice(0, 50)) out.write(`failed row ${l}\n`);
  if (failedLines.length > 50) out.write(`… and ${failedLines.length - 50} more (see the report)\n`);
  out.write(
    `${final.status === 'dry-run' ? 'dry run' : `batch ${final.status}`}: ${c.total} row(s) · ` +
      (final.status === 'dry-run'
        ? `${c.total - c.failed} valid · ${c.failed} invalid\n`
        : `${c.ingested} ingested · ${c.updated} updated · ${c.skipped} skipped · ${c.failed} failed · ${mb(c.bytes)} MB\n`),
  );
  if (final.refused) out.write(`refused: ${final.refused}\n`);
  out.write(`report: ciku batch-report ${final.id}  (or GET ${final.report})\n`);
}
