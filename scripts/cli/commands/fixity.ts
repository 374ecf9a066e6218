import type { Command } from 'commander';
import { auditFixity, type FixityReport } from '../../../services/archive/fixity.ts';
import { withContext, type CliContext, type CliDeps } from '../context.ts';
import { mb, printJson } from '../output.ts';
import { progressBar } from '../progress.ts';

interface FixityOptions {
  item?: string[];
  rate?: number;
  json?: boolean;
}

export function registerFixity(program: Command, deps: CliDeps): void {
  program
    .command('fixity')
    .description('re-read stored content and check it against the inventories: the nightly audit, by hand')
    .option('--item <id...>', 'only these items')
    .option('--rate <MBps>', 'read at most this many MB/s (default: CIKU_FIXITY_RATE_MB)', (v) => Number(v))
    .option('--json', 'print the report as JSON')
    .action((opts: FixityOptions) =>
      withContext(deps, async (ctx) => {
        const report = await audit(ctx, opts);
        if (opts.json) printJson(report);
        else printReport(report);
        process.exitCode = report.findings.length > 0 ? 1 : 0;
      }),
    );
}

async function audit(ctx: CliContext, opts: FixityOptions): Promise<FixityReport> {
  const { ocfl, blobs } = await ctx.archive();
  const bar = progressBar('fixity {value} file(s) · {objects} object(s) · {mb} MB · {findings} finding(s)');
  try {
    bar?.start(0, 0, { objects: 0, mb: '0.0', findings: 0 });
    return await auditFixity(
      { ocfl, blobs },
      {
        rateBytesPerSec: opts.rate === undefined ? ctx.config.batch.fixityRateBytes : opts.rate * 1024 * 1024,
        ...(opts.item ? { items: opts.item } : {}),
        agent: ctx.agent.name,
        onProgress: (p) =>
          bar?.update(p.files, { objects: p.objects, mb: mb(p.bytes), findings: p.findings }),
      },
    );
  } finally {
    bar?.stop();
  }
}

function printReport(report: FixityReport): void {
  for (const f of report.findings)
    process.stdout.write(
      `${f.status} ${f.item} ${f.files.join(', ') || f.content} (${f.version}) expected sha512:${f.expected}${f.actual ? ` actual sha512:${f.actual}` : ''}\n`,
    );
  process.stderr.write(
    `fixity run ${report.run}: ${report.objects} object(s), ${report.files} file(s), ${mb(report.bytes)} MB, ${report.ok} ok, ${report.findings.length} finding(s)\n`,
  );
}
