import { Option, type Command } from 'commander';
import type { Role } from '../../../services/archive/access.ts';
import { createStatsService, statsCsv } from '../../../services/stats/stats.ts';
import { withContext, type CliDeps } from '../context.ts';
import { printJson } from '../output.ts';

const roles = ['admin', 'archivist', 'researcher', 'anonymous'] as const;

interface StatsOptions {
  format: 'json' | 'csv';
  year?: string;
  as: Role;
}

export function registerStats(program: Command, deps: CliDeps): void {
  program
    .command('stats')
    .description('the statistics of GET /v1/stats (counts, coverage, growth) from the search engine')
    .addOption(new Option('--format <format>', 'output').choices(['json', 'csv']).default('json'))
    .option('--year <year>', 'counts as they stood at the end of this year (default: this year)')
    .addOption(
      new Option('--as <role>', 'count what this role may read (the terminal defaults to archivist)')
        .choices([...roles])
        .default('archivist'),
    )
    .action((opts: StatsOptions) =>
      withContext(deps, async (ctx) => {
        const stats = createStatsService({
          search: await ctx.searchIndex(),
          blobs: await ctx.blobStore(),
          clock: () => new Date(),
        });
        const answer = await stats.compute(
          { role: opts.as },
          opts.year === undefined ? {} : { year: opts.year },
        );
        if (opts.format === 'csv') process.stdout.write(statsCsv(answer));
        else printJson(answer);
      }),
    );
}
