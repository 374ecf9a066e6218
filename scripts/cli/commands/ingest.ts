import { Option, type Command } from 'commander';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { enqueueFollowUps } from '../../../services/app/follow-ups.ts';
import { typeOfLocalFile } from '../../../services/batch/ingest-row.ts';
import { withContext, type CliDeps } from '../context.ts';
import { printJson } from '../output.ts';

interface IngestOptions {
  kind: string;
  title: string;
  id?: string;
  metadata?: string;
  access: string;
}

export function registerIngest(program: Command, deps: CliDeps): void {
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
    .action((files: string[], opts: IngestOptions) =>
      withContext(deps, async (ctx) => {
        const archive = await ctx.archive();
        const extra = opts.metadata ? (JSON.parse(opts.metadata) as Record<string, unknown>) : {};
        const item = await archive.items.create(
          {
            ...(opts.id === undefined ? {} : { id: opts.id }),
            kind: opts.kind,
            metadata: { ...extra, title: opts.title },
            access: { level: opts.access },
            files: await Promise.all(files.map(localFile)),
          },
          ctx.agent,
        );
        // The same follow-up jobs an upload gets; the workers (ciku work / ciku start) make the derivatives.
        await enqueueFollowUps(await ctx.queue(), item, item.files);
        printJson(item);
      }),
    );
}

async function localFile(file: string) {
  // The type comes from the bytes, as for uploads and batches: the first 256 KiB, never the name.
  const { mediaType } = await typeOfLocalFile(file);
  return { name: path.basename(file), body: createReadStream(file), mediaType };
}
