import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deriveJobFor, type DerivePayload, type JobName, type JobPayload } from '../../schemas/jobs.ts';
import { sniffMagic } from '../../services/adapters/file-type.ts';
import { createLogger } from '../../services/adapters/logger.ts';
import type { BlobStore } from '../../services/archive/blob-store.ts';
import { createDerivativeStore, type DerivativeStore } from '../../services/archive/derivatives.ts';
import { createItems, type Items } from '../../services/archive/items.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { detectMediaType } from '../../services/archive/media-type.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { defaultRegistry } from '../../workers/build-workers.ts';
import { loadConfig } from '../../services/config.ts';
import { jobLimits, type JobDeps } from '../../workers/job-deps.ts';
import type { JobContext, JobOutcome } from '../../workers/registry.ts';
import { openAdapter, tempDir, type AdapterName } from './env.ts';

export const agent = { name: 'archivist:test', address: 'urn:ciku:agent:archivist:test' };

export interface Harness {
  blobs: BlobStore;
  items: Items;
  derivatives: DerivativeStore;
  deps: JobDeps;
  enqueued: { name: JobName; payload: unknown }[];
  progress: { stage: string; percent: number }[];
  /** Runs a job's handler as a worker would (fresh context, scratch folder). */
  run<N extends JobName>(name: N, payload: JobPayload<N>): Promise<JobOutcome>;
  /** Stores a file as a new item and returns the payload of the derivative job its upload would queue. */
  addFile(
    itemId: string,
    file: string,
    name?: string,
  ): Promise<{ job: JobName | undefined; payload: DerivePayload }>;
}

export async function workerHarness(
  t: { teardown(fn: () => unknown): void },
  adapter: AdapterName = 'fs',
): Promise<Harness> {
  const blobs = await openAdapter(t, adapter);
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  const items = createItems({ ocfl });
  const derivatives = createDerivativeStore({ blobs });
  const enqueued: Harness['enqueued'] = [];
  const progress: Harness['progress'] = [];
  const deps: JobDeps = {
    items,
    blobs,
    derivatives,
    queue: {
      enqueue: async (name, payload) => {
        enqueued.push({ name, payload });
        return name;
      },
    },
    // The documented defaults (CIKU_IMAGE_MAX_PIXELS, CIKU_AV_*, CIKU_TRANSCRIPT_*): tests narrow them per case.
    limits: jobLimits(loadConfig({}).worker),
    logger: createLogger('silent'),
  };
  const registry = defaultRegistry(deps);
  const scratchRoot = tempDir(t, 'ciku-scratch-');
  let n = 0;
  return {
    blobs,
    items,
    derivatives,
    deps,
    enqueued,
    progress,
    async run<N extends JobName>(name: N, payload: JobPayload<N>) {
      n += 1;
      const dir = path.join(scratchRoot, String(n));
      let ready: Promise<string> | undefined;
      const ctx: JobContext = {
        jobId: `test-${n}`,
        attempt: 1,
        signal: new AbortController().signal,
        progress: (stage, percent) => progress.push({ stage, percent }),
        scratch() {
          ready ??= (async () => {
            await fs.rm(dir, { recursive: true, force: true });
            await fs.mkdir(dir, { recursive: true });
            return dir;
          })();
          return ready;
        },
      };
      try {
        return await registry[name](payload, ctx);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
    async addFile(itemId, file, name = path.basename(file)) {
      const bytes = await fs.readFile(file);
      const mediaType = await detectMediaType(bytes.subarray(0, 256 * 1024), bytes.length, sniffMagic);
      const item = await items.create(
        {
          id: itemId,
          kind: 'media',
          metadata: { title: name },
          access: { level: 'public' },
          files: [{ name, body: bytes, mediaType }],
        },
        agent,
      );
      const f = item.files[0]!;
      return {
        job: deriveJobFor(mediaType),
        payload: { itemId, version: item.version, file: f.name, sha512: f.digests.sha512, mediaType },
      };
    },
  };
}
