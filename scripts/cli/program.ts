import { Command } from 'commander';
import { registerBatchReport } from './commands/batch-report.ts';
import { registerBatch } from './commands/batch.ts';
import { registerExport } from './commands/export.ts';
import { registerFixity } from './commands/fixity.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerKeys } from './commands/keys.ts';
import { registerRederive } from './commands/rederive.ts';
import { registerReindex } from './commands/reindex.ts';
import { registerSearch } from './commands/search.ts';
import { registerServe } from './commands/serve.ts';
import { registerStart } from './commands/start.ts';
import { registerStats } from './commands/stats.ts';
import { registerValidate } from './commands/validate.ts';
import { registerWork } from './commands/work.ts';
import type { CliDeps } from './context.ts';

/** The `ciku` program with every command, in the order `ciku --help` lists them. */
export function buildProgram(deps: CliDeps): Command {
  // Set before the commands are added: each copies its parent's settings when it is made.
  const program = new Command('ciku')
    .description('瓷库 ciku — the Jingdezhen ceramic heritage archive')
    .showHelpAfterError();
  for (const register of [
    registerValidate,
    registerIngest,
    registerServe,
    registerWork,
    registerRederive,
    registerReindex,
    registerSearch,
    registerExport,
    registerBatch,
    registerBatchReport,
    registerFixity,
    registerKeys,
    registerStats,
    registerStart,
  ])
    register(program, deps);
  return program;
}
