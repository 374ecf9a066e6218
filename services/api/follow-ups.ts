import { deriveJobFor } from '../../schemas/jobs.ts';
import type { JobQueue } from '../adapters/queue.ts';
import type { Principal } from '../archive/access.ts';
import type { Ingest, StagedFile } from '../archive/ingest.ts';
import type { ItemFile, ItemView } from '../archive/items.ts';
import { agentOf } from './agent.ts';

/**
 * After a commit: one derivative job per new file of a media family (technical metadata + derivatives, keyed by
 * digest), and a reindex of the item version.
 */
export async function enqueueFollowUps(
  queue: Pick<JobQueue, 'enqueue'>,
  item: ItemView,
  files: ItemFile[],
  options: { backfill?: boolean } = {},
): Promise<void> {
  const jobs: Promise<string>[] = [];
  for (const f of files) {
    const mediaType = f.media_type ?? 'application/octet-stream';
    const name = deriveJobFor(mediaType);
    if (name === undefined) continue;
    jobs.push(
      queue.enqueue(
        name,
        {
          itemId: item.id,
          version: item.version,
          file: f.name,
          sha512: f.digests.sha512,
          mediaType,
        },
        options,
      ),
    );
  }
  jobs.push(queue.enqueue('index-item', { itemId: item.id, version: item.version }, options));
  await Promise.all(jobs);
}

/**
 * Every upload route ends here: commit the staged files as the caller, then (unless the item already had these
 * bytes) enqueue their follow-up jobs before answering.
 */
export async function commitUpload(
  deps: { ingest: Ingest; queue: JobQueue },
  head: ItemView,
  files: StagedFile[],
  principal: Principal,
): ReturnType<Ingest['commit']> {
  const result = await deps.ingest.commit(head, files, agentOf(principal));
  if (!result.existing) await enqueueFollowUps(deps.queue, result.item, result.files);
  return result;
}
