import { Option, type Command } from 'commander';
import type { JobQueue } from '../../../services/adapters/queue.ts';
import { CikuError } from '../../../services/errors.ts';
import { rederive } from '../../../workers/rederive.ts';
import { withContext, type CliContext, type CliDeps } from '../context.ts';
import { waitUntil } from '../wait.ts';

interface RederiveOptions {
  item?: string;
  missing?: boolean;
  wait?: boolean;
}

type Queued = Awaited<ReturnType<typeof rederive>>;

export function registerRederive(program: Command, deps: CliDeps): void {
  program
    .command('rederive')
    .description('queue derivative jobs again: for one item (made anew) or only what is missing archive-wide')
    .addOption(new Option('--item <id>', 'every derivative of this item, made again').conflicts('missing'))
    .option('--missing', 'only derivatives whose record or blob is missing, across the archive')
    .option('--wait', 'wait until the queued jobs have finished and report how they ended')
    .action(async (opts: RederiveOptions) => {
      if (opts.item === undefined && !opts.missing) {
        throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'say what to rederive: --item ID or --missing');
      }
      await withContext(deps, async (ctx) => {
        const queued = await queueRederive(
          ctx,
          opts.item === undefined ? { missing: true } : { item: opts.item },
        );
        for (const q of queued) process.stdout.write(`queued ${q.jobId}\n`);
        process.stderr.write(`${queued.length} job(s) queued\n`);
        if (!opts.wait) return;
        const ended = await waitForJobs(await ctx.queue(), queued);
        process.stderr.write(`finished: ${JSON.stringify(ended)}\n`);
        if ((ended.failed ?? 0) > 0) process.exitCode = 1;
      });
    });
}

/** Queues derivative jobs for one item (made anew) or for whatever is missing; `ciku start` uses it too. */
export async function queueRederive(
  ctx: CliContext,
  target: Parameters<typeof rederive>[1],
): Promise<Queued> {
  const { items } = await ctx.archive();
  return rederive({ items, derivatives: await ctx.derivatives(), queue: await ctx.queue() }, target);
}

/** Waits until every job has ended; counts them by how they ended, printing each failure as it is seen. */
async function waitForJobs(queue: JobQueue, queued: Queued): Promise<Record<string, number>> {
  const pending = new Map(queued.map((q) => [q.jobId, q.name]));
  const ended: Record<string, number> = {};
  const sweep = async () => {
    for (const [jobId, name] of pending) {
      const st = await queue.state(name, jobId);
      if (st.state === 'completed' || st.state === 'failed' || st.state === 'missing') {
        pending.delete(jobId);
        ended[st.state] = (ended[st.state] ?? 0) + 1;
        if (st.state === 'failed') process.stdout.write(`failed ${jobId}: ${st.reason ?? ''}\n`);
      }
    }
    return pending.size;
  };
  await waitUntil({ read: sweep, done: (left) => left === 0, everyMs: 250 });
  return ended;
}
