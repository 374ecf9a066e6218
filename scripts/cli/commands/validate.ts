import type { Command } from 'commander';
import fs from 'node:fs/promises';
import { createFsBlobStore } from '../../../services/adapters/blob-fs.ts';
import { ocflIdFor } from '../../../services/archive/items.ts';
import { objectPathFor } from '../../../services/archive/ocfl/layout.ts';
import {
  detectOcfl,
  validateObject,
  validateStorageRoot,
  type ValidationReport,
} from '../../../services/archive/ocfl/validator.ts';
import { CikuError } from '../../../services/errors.ts';
import { withContext, type CliContext, type CliDeps } from '../context.ts';
import { printJson } from '../output.ts';

export function registerValidate(program: Command, deps: CliDeps): void {
  program
    .command('validate')
    .description(
      'validate an OCFL object or storage root (a folder path), or an item / object id in the archive',
    )
    .argument('<target>', 'a path to an OCFL object or storage root, or an item id')
    .option('--no-digests', 'skip re-reading content to check digests')
    .option('--json', 'print the report as JSON')
    .action(async (target: string, opts: { digests: boolean; json?: boolean }) => {
      const onDisk = await fs.stat(target).then(
        (s) => s.isDirectory(),
        () => false,
      );
      const report = onDisk
        ? await validateFolder(target, opts.digests)
        : await withContext(deps, (ctx) => validateInArchive(ctx, target, opts.digests));
      printReport(report, opts.json === true);
      process.exitCode = report.valid ? 0 : 1;
    });
}

async function validateFolder(folder: string, checkDigests: boolean): Promise<ValidationReport> {
  const tree = await createFsBlobStore(folder, { readOnly: true });
  const kind = await detectOcfl(tree, '');
  return kind === 'storage-root'
    ? validateStorageRoot(tree, '', { checkDigests })
    : validateObject(tree, '', { checkDigests });
}

async function validateInArchive(
  ctx: CliContext,
  target: string,
  checkDigests: boolean,
): Promise<ValidationReport> {
  const archive = await ctx.archive();
  const oid = target.includes(':') ? target : ocflIdFor(target);
  const prefix = `${archive.ocfl.rootPrefix}/${objectPathFor(oid)}/`;
  if (!(await archive.ocfl.exists(oid)))
    throw new CikuError('CIKU_ERR_OBJECT_NOT_FOUND', `no folder or object ${target}`);
  return validateObject(archive.blobs, prefix, { checkDigests, expectedId: oid });
}

function printReport(report: ValidationReport, json: boolean): void {
  if (json) {
    printJson(report);
    return;
  }
  for (const f of report.findings) process.stdout.write(`${f.code} ${f.message}\n`);
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.length - errors;
  process.stderr.write(
    `${report.valid ? 'valid' : 'INVALID'}: ${report.objects} object(s), ${errors} error(s), ${warnings} warning(s)\n`,
  );
}
