import type { Command } from 'commander';
import { withContext, type CliDeps } from '../context.ts';

export function registerWork(program: Command, deps: CliDeps): void {
  program
    .command('work')
    .description(
      'run the job workers (metadata, derivatives, indexing) against the configured archive and Redis',
    )
    .action(() =>
      withContext(deps, async ({ config }) => {
        await deps.startWorkers(config);
        process.stdout.write('ciku workers running (SIGTERM to stop)\n');
      }),
    );
}
