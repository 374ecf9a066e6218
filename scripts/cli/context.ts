import { createBatchState } from '../../services/adapters/batch-state.ts';
import { createJobQueue, type JobQueue } from '../../services/adapters/queue.ts';
import type { BlobStore } from '../../services/archive/blob-store.ts';
import { createDerivativeStore, type DerivativeStore } from '../../services/archive/derivatives.ts';
import { createBatches, type Batches } from '../../services/batch/batches.ts';
import { loadConfig, type Config } from '../../services/config.ts';
import { openArchive, openBlobStore, openSearchIndex, type Archive } from '../../services/runtime.ts';
import type { SearchIndex } from '../../services/search/search-index.ts';
import type { generateDemoSource, startWorkers } from './lazy-modules.ts';

/** Who the CLI's writes and audits are recorded as: the operator's login. */
export interface CliAgent {
  name: string;
  address: string;
}

/**
 * What a command works with. Each part is opened on first use and once, so a command opens only what it needs
 * (`search` no Redis, `keys` nothing but the blob store) and every part shares the one archive.
 */
export interface CliContext {
  /** Read on first use: a command refuses bad options before it looks at the environment. */
  readonly config: Config;
  readonly agent: CliAgent;
  archive(): Promise<Archive>;
  /** The job queues, on the archive's Redis. */
  queue(): Promise<JobQueue>;
  derivatives(): Promise<DerivativeStore>;
  batches(): Promise<Batches>;
  /** The search engine alone, without the archive (and so without Redis), for commands that only read it. */
  searchIndex(): Promise<SearchIndex>;
  /** The blob store alone, for commands that only need the files in it (API keys). */
  blobStore(): Promise<BlobStore>;
  /** Closes what was opened, the last opened first (the queues before the archive whose Redis they use). */
  close(): Promise<void>;
}

/** What the commands are given: a fresh context per run, and the heavy modules loaded only when run. */
export interface CliDeps {
  openContext: () => CliContext;
  startWorkers: typeof startWorkers;
  generateDemoSource: typeof generateDemoSource;
}

export function cliAgent(env: NodeJS.ProcessEnv): CliAgent {
  const user = env.USER ?? 'operator';
  return { name: `cli:${user}`, address: `urn:ciku:agent:cli:${user}` };
}

export function createCliContext(env: NodeJS.ProcessEnv): CliContext {
  let config: Config | undefined;
  const closers: (() => Promise<void>)[] = [];
  const once = <T>(open: () => Promise<T>, close?: (opened: T) => Promise<void>) => {
    let opening: Promise<T> | undefined;
    return () =>
      (opening ??= open().then((opened) => {
        if (close) closers.push(() => close(opened));
        return opened;
      }));
  };
  const ctx: CliContext = {
    get config() {
      return (config ??= loadConfig(env));
    },
    agent: cliAgent(env),
    archive: once(
      () => openArchive(ctx.config),
      (archive) => archive.close(),
    ),
    queue: once(
      async () => createJobQueue((await ctx.archive()).redis, { prefix: ctx.config.redis.queuePrefix }),
      (queue) => queue.close(),
    ),
    derivatives: once(async () => createDerivativeStore({ blobs: (await ctx.archive()).blobs })),
    batches: once(async () => {
      const { blobs, redis } = await ctx.archive();
      const state = createBatchState(redis, ctx.config.redis.queuePrefix);
      return createBatches({ blobs, state, queue: await ctx.queue() });
    }),
    searchIndex: once(
      () => openSearchIndex(ctx.config),
      (index) => index.close(),
    ),
    blobStore: once(
      () => openBlobStore(ctx.config),
      (blobs) => blobs.close(),
    ),
    async close() {
      for (const close of closers.splice(0).reverse()) await close();
    },
  };
  return ctx;
}

/** Runs `action` with a fresh context and closes what it opened, whether the action returned or threw. */
export async function withContext<T>(deps: CliDeps, action: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = deps.openContext();
  try {
    return await action(ctx);
  } finally {
    await ctx.close();
  }
}
