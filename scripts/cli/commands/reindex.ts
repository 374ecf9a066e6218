import type { Command } from 'commander';
import { createIndexer, type ReindexProgress } from '../../../services/search/indexer.ts';
import { withContext, type CliContext, type CliDeps } from '../context.ts';
import { progressBar } from '../progress.ts';

export function registerReindex(program: Command, deps: CliDeps): void {
  program
    .command('reindex')
    .description(
      'rebuild the search index from the archive alone, into a new index that replaces the old one atomically',
    )
    .action(() =>
      withContext(deps, async (ctx) => {
        const { config } = ctx;
        const started = Date.now();
        const result = await reindexArchive(ctx);
        for (const f of result.failed) process.stdout.write(`failed ${f.id}: ${f.reason}\n`);
        process.stderr.write(
          `reindexed ${result.done - result.failed.length} of ${result.total} item(s) in ${((Date.now() - started) / 1000).toFixed(1)} s` +
            ` (${config.search.kind}); the new index is live\n`,
        );
        if (result.failed.length > 0) process.exitCode = 1;
      }),
    );
}

/**
 * Rebuilds the index from the archive (a progress bar on a terminal unless `quiet`), swapping it in when
 * complete; `ciku start` uses it too.
 */
export async function reindexArchive(
  ctx: CliContext,
  options: { quiet?: boolean; onProgress?: (p: ReindexProgress) => void } = {},
): Promise<ReindexProgress> {
  const archive = await ctx.archive();
  // The archive's engine, opened with its locks (which serialise Meilisearch catalogue writes across processes).
  const index = await archive.search();
  const indexer = createIndexer({ items: archive.items, derivatives: await ctx.derivatives(), index });
  const bar = options.quiet
    ? undefined
    : progressBar('reindex [{bar}] {value}/{total} items · {eta_formatted} left');
  let started = false;
  try {
    return await indexer.reindexAll((p) => {
      options.onProgress?.(p);
      if (!bar) return;
      if (!started) {
        bar.start(p.total, 0);
        started = true;
      }
      bar.update(p.done);
    });
  } finally {
    bar?.stop();
  }
}
