import type { Command } from 'commander';
import { startServer } from '../../../services/api/server.ts';
import { withContext, type CliDeps } from '../context.ts';

export function registerServe(program: Command, deps: CliDeps): void {
  program
    .command('serve')
    .description('run the HTTP API (REST under /v1, tus at /v1/uploads, OpenAPI at /docs)')
    .action(() =>
      withContext(deps, async ({ config }) => {
        await startServer(config);
        process.stdout.write(
          `ciku API listening on http://${config.http.host}:${config.http.port} (docs at /docs)\n`,
        );
      }),
    );
}
