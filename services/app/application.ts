import type { JobQueue } from '../adapters/queue.ts';
import type { BlobStore } from '../archive/blob-store.ts';
import { createDerivativeStore } from '../archive/derivatives.ts';
import type { Ingest, StagedFile } from '../archive/ingest.ts';
import type { Items } from '../archive/items.ts';
import type { Principal } from '../archive/access.ts';
import type { Batches } from '../batch/batches.ts';
import type { SearchIndex } from '../search/search-index.ts';
import { createBatchService } from './batches.ts';
import { createDerivativeService } from './derivatives.ts';
import { commitUpload } from './follow-ups.ts';
import { createGuards } from './guards.ts';
import { createItemService } from './items.ts';
import { createSearchService } from './search.ts';

/**
 * The application layer: the access decisions and the use cases every front door calls (the /v1 routes today, the
 * portal, the workspace, IIIF and OAI-PMH next). Built once per process from the archive's parts.
 */
export function createApplication(deps: {
  blobs: BlobStore;
  items: Items;
  ingest: Ingest;
  queue: JobQueue;
  search: SearchIndex;
  clock: () => Date;
  batches?: Batches;
  dropDir?: string;
}) {
  const derivatives = createDerivativeStore({ blobs: deps.blobs });
  const guards = createGuards(deps.items, deps.clock);
  return {
    guards,
    derivativeStore: derivatives,
    items: createItemService({ ...deps, guards, derivatives }),
    search: createSearchService(deps),
    derivatives: createDerivativeService({ guards, derivatives }),
    uploads: {
      /** Commits staged files as the caller on the head it may change, then queues their follow-ups. */
      commit: (principal: Principal, itemId: string, files: StagedFile[]) =>
        commitUpload({ ingest: deps.ingest, queue: deps.queue, guards }, principal, itemId, files),
    },
    batches: createBatchService({
      ...(deps.batches === undefined ? {} : { batches: deps.batches }),
      ...(deps.dropDir === undefined ? {} : { dropDir: deps.dropDir }),
    }),
  };
}

export type Application = ReturnType<typeof createApplication>;
