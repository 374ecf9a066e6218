import type { Command } from 'commander';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HealthT } from '../../../schemas/api.ts';
import { createLogger, type Logger } from '../../../services/adapters/logger.ts';
import { startServer } from '../../../services/api/server.ts';
import { isCikuError } from '../../../services/errors.ts';
import { reindexRecovered } from '../../../services/app/follow-ups.ts';
import { localOperator } from '../../../services/batch/batches.ts';
import { closeOnSignals } from '../../../services/lifecycle.ts';
import type { Archive } from '../../../services/runtime.ts';
import { loadDemoData } from '../../demo/demo-data.ts';
import type { CliContext, CliDeps } from '../context.ts';
import { ensureRedis } from '../ensure-redis.ts';
import { waitUntil } from '../wait.ts';
import { queueRederive } from './rederive.ts';
import { reindexArchive } from './reindex.ts';

interface StartOptions {
  demo: boolean;
  serve: boolean;
  work: boolean;
}

/** What preparing the archive works with; `health.now` is what /healthz answers meanwhile. */
interface Preparation {
  ctx: CliContext;
  deps: CliDeps;
  archive: Archive;
  log: Logger;
  health: { now: HealthT | undefined };
}

type Server = Awaited<ReturnType<typeof startServer>>;

export function registerStart(program: Command, deps: CliDeps): void {
  program
    .command('start')
    .description(
      'the embedded archive in one command: a local Redis if none answers, recovery, demo data, the API',
    )
    .option('--no-demo', 'do not load the demo items on first start')
    .option('--no-serve', 'prepare the archive and exit instead of serving the API')
    .option('--no-work', 'do not run the job workers in this process')
    .action((opts: StartOptions) => start(deps, opts));
}

async function start(deps: CliDeps, opts: StartOptions): Promise<void> {
  const ctx = deps.openContext();
  const { config } = ctx;
  const log = createLogger(config.logLevel);
  await fs.mkdir(config.dataDir, { recursive: true });
  await ensureRedis(config, log);
  // The API listens first and answers /healthz with the stage and its progress while the archive is prepared
  // (the demo load and the first index build take tens of seconds); every other route answers 503 meanwhile.
  const health: Preparation['health'] = { now: { status: 'starting', stage: 'recovery' } };
  const server = opts.serve
    ? await startServer(config, { handleSignals: false, starting: () => health.now })
    : undefined;
  if (server)
    process.stdout.write(
      `ciku API listening on http://${config.http.host}:${config.http.port} (starting: /healthz tells the progress)\n`,
    );
  const prep: Preparation = { ctx, deps, archive: await ctx.archive(), log, health };
  try {
    await prepare(prep, opts.demo);
  } catch (err) {
    await server?.close();
    throw err;
  } finally {
    await ctx.close();
  }
  await run(prep, server, opts.work);
}

async function prepare(prep: Preparation, demo: boolean): Promise<void> {
  const { ctx, archive, log } = prep;
  await recover(prep);
  if (demo) await loadDemo(prep);
  let count = 0;
  for await (const _ of archive.items.list()) count += 1;
  await indexIfEmpty(prep, count);
  const { config } = ctx;
  log.info({ dataDir: config.dataDir, storage: config.storage.kind, items: count }, 'archive ready');
  process.stdout.write(
    `ciku archive ready: ${count} item(s) in ${config.storage.kind === 'fs' ? config.storage.root : config.storage.bucket}\n` +
      `validate it with: npx ciku validate ${config.storage.kind === 'fs' ? path.join(config.storage.root, 'ocfl') : '<item-id>'}\n`,
  );
}

async function recover({ ctx, archive, log }: Preparation): Promise<void> {
  const recovered = await archive.ocfl.recoverAll();
  for (const r of recovered)
    log.warn({ id: r.id, outcome: r.outcome }, 'recovered an interrupted version write');
  if (recovered.length > 0)
    await reindexRecovered({ items: archive.items, queue: await ctx.queue() }, recovered);
}

/** On a first start only (the demo items are not there yet): the demo items, the demo batch, their jobs. */
async function loadDemo(prep: Preparation): Promise<void> {
  const { ctx, deps, archive, log, health } = prep;
  health.now = { status: 'starting', stage: 'demo' };
  const loaded = await loadDemoData(archive.items, ctx.config.dataDir);
  if (loaded === 0) return;
  log.info({ items: loaded }, 'demo data loaded');
  // The generated demo archive (a few hundred items, scans, audio, video, transcripts), as a batch.
  const source = path.join(ctx.config.dataDir, 'demo-source');
  health.now = { status: 'starting', stage: 'demo-generate' };
  const made = await deps.generateDemoSource(source);
  log.info(made, 'demo source generated');
  await ingestDemoBatch(prep, source);
  // Their derivative jobs (a fresh archive: --missing is everything the demo needs).
  const queued = await queueRederive(ctx, { missing: true });
  log.info({ jobs: queued.length }, 'demo derivative jobs queued');
}

/** Runs the demo batch's rows in this process, telling /healthz how many rows are done. */
async function ingestDemoBatch({ ctx, deps, log, health }: Preparation, source: string): Promise<void> {
  const batches = await ctx.batches();
  const local = await deps.startWorkers(ctx.config, {
    handleSignals: false,
    only: ['batch-row', 'batch-finish'],
  });
  try {
    const { view } = await batches.start(source, { by: 'system:demo', principal: localOperator });
    const ended = await waitUntil({
      first: view,
      read: () => batches.view(view.id),
      done: (v) => v.status !== 'running',
      onPending: (v) => {
        health.now = {
          status: 'starting',
          stage: 'demo-batch',
          progress: { done: v.counts.done, total: v.counts.total },
        };
      },
      everyMs: 200,
    });
    log.info({ batch: ended.id, counts: ended.counts }, 'demo batch ingested');
  } finally {
    await local.close();
  }
}

/**
 * A first start (or a lost index file), or an index an earlier build wrote in another format: build the search
 * index from the archive before serving (it is derived data: the archive alone rebuilds it).
 */
async function indexIfEmpty({ ctx, archive, log, health }: Preparation, count: number): Promise<void> {
  let indexed: number;
  try {
    indexed = await (await archive.search()).count();
  } catch (err) {
    if (!isCikuError(err, 'CIKU_ERR_UNAVAILABLE') || !/has format \d+/.test(err.message)) throw err;
    log.warn(
      { reason: err.message },
      'the search index is of an earlier format: rebuilding it from the archive',
    );
    indexed = 0;
  }
  if (indexed > 0 || count === 0) return;
  health.now = { status: 'starting', stage: 'index', progress: { done: 0, total: count } };
  const result = await reindexArchive(ctx, {
    quiet: true,
    onProgress: (p) => {
      health.now = { status: 'starting', stage: 'index', progress: { done: p.done, total: p.total } };
    },
  });
  log.info({ items: result.done, failed: result.failed.length }, 'search index built from the archive');
}

/** The prepared archive, served: workers (unless --no-work), then the API marked ready. */
async function run(
  { ctx, deps, log, health }: Preparation,
  server: Server | undefined,
  work: boolean,
): Promise<void> {
  const { config } = ctx;
  const closers: (() => Promise<void>)[] = [];
  if (work && server) {
    closers.push((await deps.startWorkers(config, { handleSignals: false })).close);
    process.stdout.write('ciku workers running\n');
  }
  if (server) {
    closers.push(server.close);
    health.now = undefined;
    process.stdout.write(
      `ciku API ready on http://${config.http.host}:${config.http.port} (docs at /docs)\n`,
    );
  }
  // API first (no new uploads), then the workers (finish or release their jobs).
  if (closers.length > 0)
    closeOnSignals(log, async () => {
      for (const close of closers.reverse()) await close();
    });
}
