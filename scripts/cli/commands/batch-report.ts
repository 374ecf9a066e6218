import type { Command } from 'commander';
import { withContext, type CliDeps } from '../context.ts';

export function registerBatchReport(program: Command, deps: CliDeps): void {
  program
    .command('batch-report')
    .description('print the per-row report of a batch (CSV: row, item, status, version, reason)')
    .argument('<id>', 'batch id (b-…)')
    .action((id: string) =>
      withContext(deps, async (ctx) => {
        process.stdout.write(await (await ctx.batches()).reportCsv(id));
      }),
    );
}
