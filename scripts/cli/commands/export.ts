import { Option, type Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Role } from '../../../services/archive/access.ts';
import { createExportService } from '../../../services/app/exports.ts';
import { createPackageService } from '../../../services/app/packages.ts';
import { sortOrders, type SortOrder } from '../../../schemas/search.ts';
import { CikuError } from '../../../services/errors.ts';
import { withContext, type CliDeps } from '../context.ts';

const roles = ['admin', 'archivist', 'researcher', 'anonymous'] as const;

interface ExportOptions {
  format: 'csv' | 'jsonl';
  columns?: string;
  kind?: string[];
  sort: SortOrder;
  max?: number;
  as: Role;
  out?: string;
  bag?: string;
  allVersions?: boolean;
}

/**
 * `ciku export search "<q>" --format csv` (a search's hits, as GET /v1/search/export gives them) and
 * `ciku export ID… --bag DIR [--all-versions]` (one BagIt 1.0 bag of the items, services/app/packages.ts).
 */
export function registerExport(program: Command, deps: CliDeps): void {
  program
    .command('export')
    .description(
      'export a search as CSV / JSON Lines (export search <words…>), or items as a BagIt bag (export <id…> --bag DIR)',
    )
    .argument('<what...>', '"search" and the words to search for, or the ids of the items to package')
    .addOption(
      new Option('--format <format>', 'search export format').choices(['csv', 'jsonl']).default('csv'),
    )
    .option(
      '--columns <list>',
      'search export columns, comma-separated (id,kind,title,year,version,access,embargo_until,url,title_highlight,highlight)',
    )
    .option('--kind <kind...>', 'search export: only these kinds')
    .addOption(
      new Option('--sort <order>', 'search export: order of hits')
        .choices([...sortOrders])
        .default('relevance'),
    )
    .option('--max <n>', 'search export: at most this many rows', (v) => Number.parseInt(v, 10))
    .addOption(
      new Option('--as <role>', 'search export: export what this role may read (default archivist)')
        .choices([...roles])
        .default('archivist'),
    )
    .option('--out <file>', 'search export: write to this file (default: standard output)')
    .option('--bag <dir>', 'write the items as one BagIt 1.0 bag into this new folder')
    .option('--all-versions', 'in the bag, every version (default: the head files)')
    .action((what: string[], opts: ExportOptions) =>
      withContext(deps, async (ctx) => {
        if (what[0] === 'search' && opts.bag === undefined) {
          const index = await ctx.searchIndex();
          const service = createExportService({
            search: index,
            clock: () => new Date(),
            publicUrl: ctx.config.publicUrl,
          });
          const out = service.exportSearch(
            { role: opts.as },
            {
              q: what.slice(1).join(' '),
              format: opts.format,
              sort: opts.sort,
              ...(opts.columns === undefined ? {} : { columns: opts.columns }),
              ...(opts.kind === undefined ? {} : { kind: opts.kind }),
              ...(opts.max === undefined ? {} : { max: opts.max }),
            },
          );
          const sink = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
          let rows = -1;
          for await (const piece of out.body) {
            rows += (piece.match(/\n/g) ?? []).length;
            if (!sink.write(piece)) await once(sink, 'drain');
          }
          if (sink !== process.stdout)
            await new Promise<void>((resolve, reject) =>
              (sink as ReturnType<typeof createWriteStream>).end((err?: Error | null) =>
                err ? reject(err) : resolve(),
              ),
            );
          process.stderr.write(`${opts.format === 'csv' ? rows : rows + 1} row(s)\n`);
          return;
        }
        if (opts.bag === undefined)
          throw new CikuError(
            'CIKU_ERR_REQUEST_INVALID',
            'give --bag DIR to package items (or "search" and words to export a search)',
          );
        const { items } = await ctx.archive();
        const result = await createPackageService({ items, clock: () => new Date() }).writeBag(
          opts.bag,
          what,
          {
            allVersions: opts.allVersions === true,
          },
        );
        process.stderr.write(
          `bag ${result.dir}: ${result.items} item(s), ${result.files} file(s), ${result.bytes} bytes\n`,
        );
      }),
    );
}
