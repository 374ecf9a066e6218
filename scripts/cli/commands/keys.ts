import { Option, type Command } from 'commander';
import { createApiKeys } from '../../../services/auth/api-keys.ts';
import { withContext, type CliContext, type CliDeps } from '../context.ts';
import { printJson } from '../output.ts';

interface CreateOptions {
  name: string;
  role: 'admin' | 'archivist' | 'contributor' | 'researcher';
  organisation?: string;
}

export function registerKeys(program: Command, deps: CliDeps): void {
  const keys = program
    .command('keys')
    .description('manage API keys (stored hashed; the secret is shown once)');
  keys
    .command('create')
    .description('create a key and print its secret')
    .requiredOption('--name <name>', 'who or what the key is for')
    .addOption(
      new Option('--role <role>', 'role')
        .choices(['admin', 'archivist', 'contributor', 'researcher'])
        .makeOptionMandatory(),
    )
    .option('--organisation <org>', 'the organisation a contributor acts for')
    .action((opts: CreateOptions) => withContext(deps, (ctx) => createKey(ctx, opts)));
  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => withContext(deps, (ctx) => listKeys(ctx, opts.json === true)));
  keys
    .command('revoke')
    .description('revoke a key (servers notice within 30 s)')
    .argument('<id>', 'key id (the part after ck_)')
    .action((id: string) =>
      withContext(deps, async (ctx) => {
        const rec = await (await apiKeys(ctx)).revoke(id);
        process.stdout.write(`revoked ${rec.id} at ${rec.revoked}\n`);
      }),
    );
}

async function apiKeys(ctx: CliContext) {
  return createApiKeys({ blobs: await ctx.blobStore() });
}

async function createKey(ctx: CliContext, opts: CreateOptions): Promise<void> {
  const api = await apiKeys(ctx);
  const { token, record } = await api.create({
    name: opts.name,
    role: opts.role,
    ...(opts.organisation === undefined ? {} : { organisation: opts.organisation }),
  });
  process.stdout.write(`${token}\n`);
  process.stderr.write(
    `created key ${record.id} (${record.role}${record.organisation ? `, ${record.organisation}` : ''}); the secret above is not stored and cannot be shown again\n`,
  );
}

async function listKeys(ctx: CliContext, json: boolean): Promise<void> {
  const keys = await (await apiKeys(ctx)).list();
  if (json) printJson(keys);
  else
    for (const k of keys)
      process.stdout.write(
        `${k.id}\t${k.role}\t${k.organisation ?? '-'}\t${k.revoked ? `revoked ${k.revoked}` : 'active'}\t${k.name}\n`,
      );
}
