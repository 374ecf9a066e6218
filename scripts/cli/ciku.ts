import { Command, Option } from 'commander';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createLogger } from '../../services/adapters/logger.ts';
import { ocflIdFor } from '../../services/archive/items.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import {
  detectOcfl,
  validateObject,
  validateStorageRoot,
  type ValidationReport,
} from '../../services/archive/ocfl/validator.ts';
import { loadConfig } from '../../services/config.ts';
import { CikuError, isCikuError } from '../../services/errors.ts';
import { openArchive, openBlobStore } from '../../services/runtime.ts';
import { startServer } from '../../services/api/server.ts';
import { createApiKeys } from '../../services/auth/api-keys.ts';
import { ensureRedis } from './ensure-redis.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { closeOnSignals } from '../../services/lifecycle.ts';
import { enqueueFollowUps, reindexRecovered } from '../../services/app/follow-ups.ts';
import { typeOfLocalFile } from '../../services/batch/ingest-row.ts';
import { rederive } from '../../workers/rederive.ts';
import { loadDemoData } from '../demo/demo-data.ts';
import cliProgress from 'cli-progress';
import type { startWorkers as StartWorkers } from '../../workers/main.ts';
import type { generateDemoSource as GenerateDemoSource } from '../demo/generate-demo.ts';
import { openSearchIndex } from '../../services/runtime.ts';
import { createIndexer, type ReindexProgress } from '../../services/search/indexer.ts';
import { readScope, type Role } from '../../services/archive/access.ts';
import { facetFields, sortOrders, type SortOrder } from '../../schemas/search.ts';
import { facetList } from '../../services/search/search-index.ts';
import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createBatches, localOperator } from '../../services/batch/batches.ts';
import { auditFixity } from '../../services/archive/fixity.ts';
import type { HealthT } from '../../schemas/api.ts';

/**
 * The workers (sharp/libvips, ffmpeg, exifr) and the demo generator (sharp) are loaded only by the commands that
 * run them: `ciku serve` then carries none of them (~30 MiB less RSS, and a smaller heap for every GC to mark).
 */
const startWorkers: typeof StartWorkers = async (...args) =>
  (await import('../../workers/main.ts')).startWorkers(...args);
const generateDemoSource: typeof GenerateDemoSource = async (...args) =>
  (await import('../demo/generate-demo.ts')).generateDemoSource(...args);

const program = new Command('ciku')
  .description('瓷库 ciku — the Jingdezhen ceramic heritage archive')
  .showHelpAfterError();
const cliAgent = {
  name: `cli:${process.env.USER ?? 'operator'}`,
  address: `urn:ciku:agent:cli:${process.env.USER ?? 'operator'}`,
};

function printReport(report: ValidationReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const f of report.findings) process.stdout.write(`${f.code} ${f.message}\n`);
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.length - errors;
  process.stderr.write(
    `${report.valid ? 'valid' : 'INVALID'}: ${report.objects} object(s), ${errors} error(s), ${warnings} warning(s)\n`,
  );
}

program
  .command('validate')
  .description(
    'validate an OCFL object or storage root (a folder path), or an item / object id in the archive',
  )
  .argument('<target>', 'a path to an OCFL object or storage root, or an item id')
  .option('--no-digests', 'skip re-reading content to check digests')
  .option('--json', 'print the report as JSON')
  .action(async (target: string, opts: { digests: boolean; json?: boolean }) => {
    const checkDigests = opts.digests;
    const onDisk = await fs.stat(target).then(
      (s) => s.isDirectory(),
      () => false,
    );
    let report: ValidationReport;
    if (onDisk) {
      const tree = await createFsBlobStore(target, { readOnly: true });
      const kind = await detectOcfl(tree, '');
      report =
        kind === 'storage-root'
          ? await validateStorageRoot(tree, '', { checkDigests })
          : await validateObject(tree, '', { checkDigests });
    } else {
      const config = loadConfig();
      const archive = await openArchive(config);
      try {
        const oid = target.includes(':') ? target : ocflIdFor(target);
        const prefix = `${archive.ocfl.rootPrefix}/${objectPathFor(oid)}/`;
        if (!(await archive.ocfl.exists(oid)))
          throw new CikuError('CIKU_ERR_OBJECT_NOT_FOUND', `no folder or object ${target}`);
        report = await validateObject(archive.blobs, prefix, { checkDigests, expectedId: oid });
      } finally {
        await archive.close();
      }
    }
    printReport(report, opts.json === true);
    process.exitCode = report.valid ? 0 : 1;
  });

program
  .command('ingest')
  .description('create an item from local files (one OCFL version)')
  .requiredOption(
    '--kind <kind>',
    'item kind (oral_history, archive_document, collection_object, inheritor, ich_project, heritage_site, media)',
  )
  .requiredOption('--title <title>', 'metadata title')
  .option('--id <id>', 'accession-style id (default: generated)')
  .option('--metadata <json>', 'more metadata fields as a JSON object')
  .addOption(
    new Option('--access <level>', 'access level')
      .choices(['public', 'restricted', 'private'])
      .default('private'),
  )
  .argument('[files...]', 'files to ingest')
  .action(
    async (
      files: string[],
      opts: { kind: string; title: string; id?: string; metadata?: string; access: string },
    ) => {
      const config = loadConfig();
      const archive = await openArchive(config);
      try {
        const extra = opts.metadata ? (JSON.parse(opts.metadata) as Record<string, unknown>) : {};
        const typed = await Promise.all(
          files.map(async (f) => {
            // The type comes from the bytes, as for uploads and batches: the first 256 KiB, never the name.
            const { mediaType } = await typeOfLocalFile(f);
            return { name: path.basename(f), body: createReadStream(f), mediaType };
          }),
        );
        const item = await archive.items.create(
          {
            ...(opts.id === undefined ? {} : { id: opts.id }),
            kind: opts.kind,
            metadata: { ...extra, title: opts.title },
            access: { level: opts.access },
            files: typed,
          },
          cliAgent,
        );
        // The same follow-up jobs an upload gets; the workers (ciku work / ciku start) make the derivatives.
        const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
        try {
          await enqueueFollowUps(queue, item, item.files);
        } finally {
          await queue.close();
        }
        process.stdout.write(`${JSON.stringify(item, null, 2)}\n`);
      } finally {
        await archive.close();
      }
    },
  );

program
  .command('serve')
  .description('run the HTTP API (REST under /v1, tus at /v1/uploads, OpenAPI at /docs)')
  .action(async () => {
    const config = loadConfig();
    await startServer(config);
    process.stdout.write(
      `ciku API listening on http://${config.http.host}:${config.http.port} (docs at /docs)\n`,
    );
  });

program
  .command('work')
  .description(
    'run the job workers (metadata, derivatives, indexing) against the configured archive and Redis',
  )
  .action(async () => {
    const config = loadConfig();
    await startWorkers(config);
    process.stdout.write('ciku workers running (SIGTERM to stop)\n');
  });

program
  .command('rederive')
  .description('queue derivative jobs again: for one item (made anew) or only what is missing archive-wide')
  .addOption(new Option('--item <id>', 'every derivative of this item, made again').conflicts('missing'))
  .option('--missing', 'only derivatives whose record or blob is missing, across the archive')
  .option('--wait', 'wait until the queued jobs have finished and report how they ended')
  .action(async (opts: { item?: string; missing?: boolean; wait?: boolean }) => {
    if (opts.item === undefined && !opts.missing) {
      throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'say what to rederive: --item ID or --missing');
    }
    const config = loadConfig();
    const archive = await openArchive(config);
    const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
    try {
      const queued = await rederive(
        { items: archive.items, derivatives: createDerivativeStore({ blobs: archive.blobs }), queue },
        opts.item === undefined ? { missing: true } : { item: opts.item },
      );
      for (const q of queued) process.stdout.write(`queued ${q.jobId}\n`);
      process.stderr.write(`${queued.length} job(s) queued\n`);
      if (opts.wait) {
        const pending = new Map(queued.map((q) => [q.jobId, q.name]));
        const ended: Record<string, number> = {};
        while (pending.size > 0) {
          for (const [jobId, name] of pending) {
            const st = await queue.state(name, jobId);
            if (st.state === 'completed' || st.state === 'failed' || st.state === 'missing') {
              pending.delete(jobId);
              ended[st.state] = (ended[st.state] ?? 0) + 1;
              if (st.state === 'failed') process.stdout.write(`failed ${jobId}: ${st.reason ?? ''}\n`);
            }
          }
          if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
        }
        process.stderr.write(`finished: ${JSON.stringify(ended)}\n`);
        if ((ended.failed ?? 0) > 0) process.exitCode = 1;
      }
    } finally {
      await queue.close();
      await archive.close();
    }
  });

/** Rebuilds the index from the archive (progress bar on a terminal), swapping it in when complete. */
async function reindex(
  config: ReturnType<typeof loadConfig>,
  quiet = false,
  onProgress?: (p: ReindexProgress) => void,
): Promise<ReindexProgress> {
  const archive = await openArchive(config);
  const index = await openSearchIndex(config, { locks: archive.locks });
  const bar =
    !quiet && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: 'reindex [{bar}] {value}/{total} items · {eta_formatted} left' },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  try {
    const indexer = createIndexer({
      items: archive.items,
      derivatives: createDerivativeStore({ blobs: archive.blobs }),
      index,
    });
    let started = false;
    const result = await indexer.reindexAll((p) => {
      onProgress?.(p);
      if (!bar) return;
      if (!started) {
        bar.start(p.total, 0);
        started = true;
      }
      bar.update(p.done);
    });
    bar?.stop();
    return result;
  } finally {
    bar?.stop();
    await index.close();
    await archive.close();
  }
}

program
  .command('reindex')
  .description(
    'rebuild the search index from the archive alone, into a new index that replaces the old one atomically',
  )
  .action(async () => {
    const config = loadConfig();
    const started = Date.now();
    const result = await reindex(config);
    for (const f of result.failed) process.stdout.write(`failed ${f.id}: ${f.reason}\n`);
    process.stderr.write(
      `reindexed ${result.done - result.failed.length} of ${result.total} item(s) in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        ` (${config.search.kind}); the new index is live\n`,
    );
    if (result.failed.length > 0) process.exitCode = 1;
  });

const roles = ['admin', 'archivist', 'researcher', 'anonymous'] as const;

program
  .command('search')
  .description('search the archive from the terminal (the same engine and access rules as GET /v1/search)')
  .argument('<query...>', 'words to search for (Chinese, traditional or simplified, pinyin, codes)')
  .option('--kind <kind...>', 'only these kinds')
  .option('--facets <fields>', `count by these fields (comma-separated: ${facetFields.join(', ')})`)
  .addOption(new Option('--sort <order>', 'order of hits').choices([...sortOrders]).default('relevance'))
  .option('--limit <n>', 'hits to show', (v) => Number.parseInt(v, 10), 10)
  .addOption(
    new Option('--as <role>', 'see what this role sees (the terminal defaults to archivist)')
      .choices([...roles])
      .default('archivist'),
  )
  .option('--segments', 'search transcript segments (moments in interviews) instead of items')
  .option('--json', 'print the answer as JSON')
  .action(
    async (
      words: string[],
      opts: {
        kind?: string[];
        facets?: string;
        sort: SortOrder;
        limit: number;
        as: Role;
        segments?: boolean;
        json?: boolean;
      },
    ) => {
      const config = loadConfig();
      const index = await openSearchIndex(config);
      const q = words.join(' ');
      const scope = readScope({ role: opts.as }, new Date());
      const limit = Math.min(Math.max(1, opts.limit || 10), 100);
      const mark = (html: string) =>
        html
          .replace(/<mark>/g, process.stdout.isTTY ? '\u001b[1;33m' : '【')
          .replace(/<\/mark>/g, process.stdout.isTTY ? '\u001b[0m' : '】')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&amp;/g, '&');
      /** Seconds as hh:mm:ss. */
      const clock = (seconds: number) => new Date(seconds * 1000).toISOString().slice(11, 19);
      try {
        if (opts.segments) {
          const answer = await index.searchSegments({ q, page: 1, limit, scope });
          if (opts.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
          else {
            for (const item of answer.items) {
              process.stdout.write(`${item.id}  ${item.title}\n`);
              for (const s of item.segments) {
                process.stdout.write(
                  `  ${clock(s.start)}  ${s.speaker ? `${s.speaker}：` : ''}${mark(s.text)}\n`,
                );
              }
            }
            process.stderr.write(`${answer.total} moment(s)\n`);
          }
          return;
        }
        const answer = await index.search({
          q,
          filters: opts.kind ? { kind: opts.kind } : {},
          facets: facetList(opts.facets === undefined ? [] : [opts.facets]),
          sort: opts.sort,
          page: 1,
          limit,
          scope,
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
          return;
        }
        for (const h of answer.hits) {
          process.stdout.write(`${h.id}  [${h.kind}]  ${mark(h.highlights.title)}\n`);
          if (h.highlights.text) process.stdout.write(`    ${mark(h.highlights.text).replace(/\n/g, ' ')}\n`);
          for (const m of h.moments ?? []) {
            process.stdout.write(`    ▶ ${clock(m.start)}  ${mark(m.text)}\n`);
          }
        }
        for (const [field, counts] of Object.entries(answer.facets).filter(
          ([, c]) => Object.keys(c).length > 0,
        )) {
          const shown = Object.entries(counts)
            .map(([v, n]) => `${v} ${n}`)
            .join(' · ');
          process.stdout.write(`${field}: ${shown}\n`);
        }
        process.stderr.write(`${answer.total} hit(s)\n`);
      } finally {
        await index.close();
      }
    },
  );

/** Opens what batch commands need: the archive, the queues, the batch store. */
async function openBatches(config: ReturnType<typeof loadConfig>) {
  const archive = await openArchive(config);
  const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
  const state = createBatchState(archive.redis, config.redis.queuePrefix);
  const batches = createBatches({ blobs: archive.blobs, state, queue });
  return {
    archive,
    queue,
    batches,
    async close() {
      await queue.close();
      await archive.close();
    },
  };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

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
  .action(
    async (
      sources: string[],
      opts: {
        dryRun?: boolean;
        mapping?: string;
        kind?: string;
        access?: 'public' | 'restricted' | 'private';
        organisation?: string;
        report?: string;
        wait: boolean;
        json?: boolean;
      },
    ) => {
      const config = loadConfig();
      const ctx = await openBatches(config);
      let local: Awaited<ReturnType<typeof startWorkers>> | undefined;
      let failures = 0;
      try {
        for (const source of sources) {
          let started;
          try {
            // The operator at the terminal acts as staff (it holds the store's files anyway).
            started = await ctx.batches.start(source, {
              by: cliAgent.name,
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
            failures += 1;
            continue;
          }
          const { view, plan } = started;
          const err = process.stderr;
          err.write(
            `batch ${view.id}: ${plan.source.type} ${plan.source.path} (${plan.rows.length} row(s), ${mb(plan.bytes)} MB${plan.source.encoding && plan.source.encoding.toLowerCase() !== 'utf-8' ? `, ${plan.source.encoding}` : ''})\n`,
          );
          if (plan.bag)
            err.write(
              `bag: ${plan.bag.valid ? 'valid' : 'INVALID'} (BagIt ${plan.bag.version ?? '?'}, ${plan.bag.payload.length} payload file(s))\n`,
            );
          for (const e of plan.bag?.errors ?? []) err.write(`  error: ${e}\n`);
          for (const w of view.warnings) err.write(`  warning: ${w}\n`);
          let final = view;
          if (view.status === 'running' && opts.wait) {
            if ((await ctx.queue.workerCount('batch-row')) === 0) {
              err.write('no workers are running: this process runs the batch rows itself\n');
              local = await startWorkers(config, {
                handleSignals: false,
                only: ['batch-row', 'batch-finish'],
              });
            }
            const bar = err.isTTY
              ? new cliProgress.SingleBar(
                  {
                    stream: err,
                    format:
                      'batch [{bar}] {value}/{total} rows · {failed} failed · {skipped} skipped · {rate} MB/s · {eta_formatted} left',
                  },
                  cliProgress.Presets.shades_classic,
                )
              : undefined;
            bar?.start(view.counts.total, 0, { failed: 0, skipped: 0, rate: '0.0' });
            const started = Date.now();
            let lastLog = 0;
            for (;;) {
              final = await ctx.batches.view(view.id);
              const c = final.counts;
              const rate = mb(c.bytes / Math.max(0.001, (Date.now() - started) / 1000));
              bar?.update(c.done, { failed: c.failed, skipped: c.skipped, rate });
              if (!bar && Date.now() - lastLog > 10_000) {
                lastLog = Date.now();
                err.write(
                  `  ${c.done}/${c.total} rows, ${c.failed} failed, ${c.skipped} skipped, ${rate} MB/s\n`,
                );
              }
              if (final.status !== 'running') break;
              await new Promise((r) => setTimeout(r, 300));
            }
            bar?.stop();
          }
          const c = final.counts;
          const rows = await ctx.batches.reportCsv(view.id);
          if (opts.report) await fs.writeFile(opts.report, rows);
          if (opts.json) process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
          else {
            const failedLines = rows
              .split('\r\n')
              .slice(1)
              .filter((l) => /^\d+,[^,]*,failed,/.test(l));
            for (const l of failedLines.slice(0, 50)) process.stdout.write(`failed row ${l}\n`);
            if (failedLines.length > 50)
              process.stdout.write(`… and ${failedLines.length - 50} more (see the report)\n`);
            process.stdout.write(
              `${final.status === 'dry-run' ? 'dry run' : `batch ${final.status}`}: ${c.total} row(s) · ` +
                (final.status === 'dry-run'
                  ? `${c.total - c.failed} valid · ${c.failed} invalid\n`
                  : `${c.ingested} ingested · ${c.updated} updated · ${c.skipped} skipped · ${c.failed} failed · ${mb(c.bytes)} MB\n`),
            );
            if (final.refused) process.stdout.write(`refused: ${final.refused}\n`);
            process.stdout.write(`report: ciku batch-report ${final.id}  (or GET ${final.report})\n`);
          }
          const complete = final.status !== 'running';
          if (final.refused || c.failed > 0 || (!complete && opts.wait)) failures += 1;
        }
        process.exitCode = failures > 0 ? 1 : 0;
      } finally {
        await local?.close();
        await ctx.close();
      }
    },
  );

program
  .command('batch-report')
  .description('print the per-row report of a batch (CSV: row, item, status, version, reason)')
  .argument('<id>', 'batch id (b-…)')
  .action(async (id: string) => {
    const ctx = await openBatches(loadConfig());
    try {
      process.stdout.write(await ctx.batches.reportCsv(id));
    } finally {
      await ctx.close();
    }
  });

program
  .command('fixity')
  .description('re-read stored content and check it against the inventories: the nightly audit, by hand')
  .option('--item <id...>', 'only these items')
  .option('--rate <MBps>', 'read at most this many MB/s (default: CIKU_FIXITY_RATE_MB)', (v) => Number(v))
  .option('--json', 'print the report as JSON')
  .action(async (opts: { item?: string[]; rate?: number; json?: boolean }) => {
    const config = loadConfig();
    const archive = await openArchive(config);
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'fixity {value} file(s) · {objects} object(s) · {mb} MB · {findings} finding(s)',
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    try {
      bar?.start(0, 0, { objects: 0, mb: '0.0', findings: 0 });
      const report = await auditFixity(
        { ocfl: archive.ocfl, blobs: archive.blobs },
        {
          rateBytesPerSec: opts.rate === undefined ? config.batch.fixityRateBytes : opts.rate * 1024 * 1024,
          ...(opts.item ? { items: opts.item } : {}),
          agent: cliAgent.name,
          onProgress: (p) =>
            bar?.update(p.files, { objects: p.objects, mb: mb(p.bytes), findings: p.findings }),
        },
      );
      bar?.stop();
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        for (const f of report.findings)
          process.stdout.write(
            `${f.status} ${f.item} ${f.files.join(', ') || f.content} (${f.version}) expected sha512:${f.expected}${f.actual ? ` actual sha512:${f.actual}` : ''}\n`,
          );
        process.stderr.write(
          `fixity run ${report.run}: ${report.objects} object(s), ${report.files} file(s), ${mb(report.bytes)} MB, ${report.ok} ok, ${report.findings.length} finding(s)\n`,
        );
      }
      process.exitCode = report.findings.length > 0 ? 1 : 0;
    } finally {
      bar?.stop();
      await archive.close();
    }
  });

const keysCommand = program
  .command('keys')
  .description('manage API keys (stored hashed; the secret is shown once)');
keysCommand
  .command('create')
  .description('create a key and print its secret')
  .requiredOption('--name <name>', 'who or what the key is for')
  .addOption(
    new Option('--role <role>', 'role')
      .choices(['admin', 'archivist', 'contributor', 'researcher'])
      .makeOptionMandatory(),
  )
  .option('--organisation <org>', 'the organisation a contributor acts for')
  .action(
    async (opts: {
      name: string;
      role: 'admin' | 'archivist' | 'contributor' | 'researcher';
      organisation?: string;
    }) => {
      const blobs = await openBlobStore(loadConfig());
      const { token, record } = await createApiKeys({ blobs }).create({
        name: opts.name,
        role: opts.role,
        ...(opts.organisation === undefined ? {} : { organisation: opts.organisation }),
      });
      process.stdout.write(`${token}\n`);
      process.stderr.write(
        `created key ${record.id} (${record.role}${record.organisation ? `, ${record.organisation}` : ''}); the secret above is not stored and cannot be shown again\n`,
      );
    },
  );
keysCommand
  .command('list')
  .description('list keys (never their secrets)')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const keys = await createApiKeys({ blobs: await openBlobStore(loadConfig()) }).list();
    if (opts.json) process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    else
      for (const k of keys)
        process.stdout.write(
          `${k.id}\t${k.role}\t${k.organisation ?? '-'}\t${k.revoked ? `revoked ${k.revoked}` : 'active'}\t${k.name}\n`,
        );
  });
keysCommand
  .command('revoke')
  .description('revoke a key (servers notice within 30 s)')
  .argument('<id>', 'key id (the part after ck_)')
  .action(async (id: string) => {
    const rec = await createApiKeys({ blobs: await openBlobStore(loadConfig()) }).revoke(id);
    process.stdout.write(`revoked ${rec.id} at ${rec.revoked}\n`);
  });

program
  .command('start')
  .description(
    'the embedded archive in one command: a local Redis if none answers, recovery, demo data, the API',
  )
  .option('--no-demo', 'do not load the demo items on first start')
  .option('--no-serve', 'prepare the archive and exit instead of serving the API')
  .option('--no-work', 'do not run the job workers in this process')
  .action(async (opts: { demo: boolean; serve: boolean; work: boolean }) => {
    const config = loadConfig();
    const log = createLogger(config.logLevel);
    await fs.mkdir(config.dataDir, { recursive: true });
    await ensureRedis(config, log);
    // The API listens first and answers /healthz with the stage and its progress while the archive is prepared
    // (the demo load and the first index build take tens of seconds); every other route answers 503 meanwhile.
    let starting: HealthT | undefined = { status: 'starting', stage: 'recovery' };
    const server = opts.serve
      ? await startServer(config, { handleSignals: false, starting: () => starting })
      : undefined;
    if (server)
      process.stdout.write(
        `ciku API listening on http://${config.http.host}:${config.http.port} (starting: /healthz tells the progress)\n`,
      );
    const archive = await openArchive(config);
    try {
      const recovered = await archive.ocfl.recoverAll();
      for (const r of recovered)
        log.warn({ id: r.id, outcome: r.outcome }, 'recovered an interrupted version write');
      if (recovered.length > 0) {
        const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
        await reindexRecovered({ items: archive.items, queue }, recovered).finally(() => queue.close());
      }
      if (opts.demo) {
        starting = { status: 'starting', stage: 'demo' };
        const loaded = await loadDemoData(archive.items, config.dataDir);
        if (loaded > 0) {
          log.info({ items: loaded }, 'demo data loaded');
          // The generated demo archive (a few hundred items, scans, audio, video, transcripts), as a batch.
          const source = path.join(config.dataDir, 'demo-source');
          starting = { status: 'starting', stage: 'demo-generate' };
          const made = await generateDemoSource(source);
          log.info(made, 'demo source generated');
          const ctx = await openBatches(config);
          const local = await startWorkers(config, {
            handleSignals: false,
            only: ['batch-row', 'batch-finish'],
          });
          try {
            const { view } = await ctx.batches.start(source, {
              by: 'system:demo',
              principal: localOperator,
            });
            let v = view;
            while (v.status === 'running') {
              starting = {
                status: 'starting',
                stage: 'demo-batch',
                progress: { done: v.counts.done, total: v.counts.total },
              };
              await new Promise((r) => setTimeout(r, 200));
              v = await ctx.batches.view(view.id);
            }
            log.info({ batch: v.id, counts: v.counts }, 'demo batch ingested');
          } finally {
            await local.close();
            await ctx.close();
          }
          // Their derivative jobs (a fresh archive: --missing is everything the demo needs).
          const queue = createJobQueue(archive.redis, { prefix: config.redis.queuePrefix });
          try {
            const queued = await rederive(
              { items: archive.items, derivatives: createDerivativeStore({ blobs: archive.blobs }), queue },
              { missing: true },
            );
            log.info({ jobs: queued.length }, 'demo derivative jobs queued');
          } finally {
            await queue.close();
          }
        }
      }
      let count = 0;
      for await (const id of archive.items.list()) {
        void id;
        count += 1;
      }
      // A first start (or a lost index file): build the search index from the archive before serving.
      const index = await openSearchIndex(config);
      const indexed = await index.count();
      await index.close();
      if (indexed === 0 && count > 0) {
        starting = { status: 'starting', stage: 'index', progress: { done: 0, total: count } };
        const result = await reindex(config, true, (p) => {
          starting = { status: 'starting', stage: 'index', progress: { done: p.done, total: p.total } };
        });
        log.info({ items: result.done, failed: result.failed.length }, 'search index built from the archive');
      }
      log.info({ dataDir: config.dataDir, storage: config.storage.kind, items: count }, 'archive ready');
      process.stdout.write(
        `ciku archive ready: ${count} item(s) in ${config.storage.kind === 'fs' ? config.storage.root : config.storage.bucket}\n` +
          `validate it with: npx ciku validate ${config.storage.kind === 'fs' ? path.join(config.storage.root, 'ocfl') : '<item-id>'}\n`,
      );
    } catch (err) {
      await server?.close();
      throw err;
    } finally {
      await archive.close();
    }
    const closers: (() => Promise<void>)[] = [];
    if (opts.work && opts.serve) {
      closers.push((await startWorkers(config, { handleSignals: false })).close);
      process.stdout.write('ciku workers running\n');
    }
    if (server) {
      closers.push(server.close);
      starting = undefined;
      process.stdout.write(
        `ciku API ready on http://${config.http.host}:${config.http.port} (docs at /docs)\n`,
      );
    }
    // API first (no new uploads), then the workers (finish or release their jobs).
    if (closers.length > 0)
      closeOnSignals(log, async () => {
        for (const close of closers.reverse()) await close();
      });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isCikuError(err)) {
    process.stderr.write(`${err.code} ${err.message}\n`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
