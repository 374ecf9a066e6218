import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Role } from '../../../services/archive/access.ts';
import { projectFile } from '../../../services/project-file.ts';
import { writeSnapshot } from '../../../services/stats/snapshots.ts';
import { createStatsService, statsCsv, type StatsAnswer } from '../../../services/stats/stats.ts';
import { locales, translator, type Locale } from '../../../services/web/i18n.ts';
import { reportDocument } from '../../../services/web/pages/stats.tsx';
import { withContext, type CliDeps } from '../context.ts';
import { printJson } from '../output.ts';

const roles = ['admin', 'archivist', 'researcher', 'anonymous'] as const;

interface StatsOptions {
  format: 'json' | 'csv';
  year?: string;
  as: Role;
  pdf?: string;
  lang: Locale;
  snapshot?: boolean;
  force?: boolean;
}

/** The portal's stylesheet: the built one when the client is built, else its source (plain CSS). */
function portalCss(): string | undefined {
  try {
    const assets = projectFile(import.meta.url, 'dist/web/assets');
    const names = JSON.parse(readFileSync(path.join(assets, 'manifest.json'), 'utf8')) as Record<
      string,
      string
    >;
    const built = names['portal.css'];
    if (built !== undefined) {
      const file = path.join(assets, path.basename(built));
      if (existsSync(file)) return readFileSync(file, 'utf8');
    }
  } catch {
    // Not built: the source below.
  }
  try {
    return readFileSync(projectFile(import.meta.url, 'services/web/client/portal.css'), 'utf8');
  } catch {
    return undefined;
  }
}

/** The printable report (/stats/report) of `answer` as a PDF, rendered here and printed by headless Chromium. */
export async function writeStatsPdf(
  answer: StatsAnswer,
  options: { file: string; locale: Locale; role: Role; publicUrl: string },
): Promise<void> {
  const html = reportDocument(
    {
      locale: options.locale,
      t: translator(options.locale),
      principal: { role: options.role },
      url: `/stats/report?year=${answer.year}`,
      publicUrl: options.publicUrl,
      // Nothing to link: the stylesheet is given to the printer as text.
      asset: () => undefined,
      now: () => new Date(answer.generated_at),
    },
    answer,
  );
  const css = portalCss();
  // Loaded here: the browser driver (playwright-core) only for the command that prints.
  const { printPdf } = await import('../../../services/adapters/print-pdf.ts');
  await printPdf({ html, file: options.file, ...(css === undefined ? {} : { css }) });
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
    .option('--pdf <file>', 'write the printable annual report (as /stats/report) to this PDF instead')
    .addOption(new Option('--lang <locale>', 'language of the PDF').choices([...locales]).default('zh-CN'))
    .option(
      '--snapshot',
      'keep the staff statistics of --year (default: the year just ended) in the store, once a year',
    )
    .option('--force', 'with --snapshot: replace a snapshot already kept for that year')
    .action((opts: StatsOptions) =>
      withContext(deps, async (ctx) => {
        const stats = createStatsService({
          search: await ctx.searchIndex(),
          blobs: await ctx.blobStore(),
          clock: () => new Date(),
        });
        if (opts.snapshot) {
          const year = opts.year ?? String(new Date().getUTCFullYear() - 1);
          const answer = await stats.compute({ role: 'admin' }, { year });
          const r = await writeSnapshot(await ctx.blobStore(), answer, { force: opts.force === true });
          process.stdout.write(
            r.written
              ? `snapshot of ${answer.year} written to ${r.key}\n`
              : `a snapshot of ${answer.year} is kept already (${r.key}): --force replaces it\n`,
          );
          return;
        }
        const answer = await stats.compute(
          { role: opts.as },
          opts.year === undefined ? {} : { year: opts.year },
        );
        if (opts.pdf !== undefined) {
          await writeStatsPdf(answer, {
            file: opts.pdf,
            locale: opts.lang,
            role: opts.as,
            publicUrl: ctx.config.publicUrl,
          });
          process.stdout.write(`written ${opts.pdf} (${answer.year}, ${answer.tables.length} tables)\n`);
        } else if (opts.format === 'csv') process.stdout.write(statsCsv(answer));
        else printJson(answer);
      }),
    );
}
