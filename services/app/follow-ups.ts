import { deriveJobFor } from '../../schemas/jobs.ts';
import type { JobQueue } from '../adapters/queue.ts';
import type { Principal } from '../archive/access.ts';
import type { Ingest, StagedFile } from '../archive/ingest.ts';
import { ocflIdFor, type ItemFile, type Items, type ItemView } from '../archive/items.ts';

const ITEM_URN = ocflIdFor('');
import { agentOf } from './agent.ts';
import type { Guards } from './guards.ts';

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
  jobs.push(enqueueIndex(queue, item, options));
  await Promise.all(jobs);
}

/** The one place a version is queued for the search index (every write ends here or in enqueueFollowUps). */
export function enqueueIndex(
  queue: Pick<JobQueue, 'enqueue'>,
  item: Pick<ItemView, 'id' | 'version'>,
  options: { backfill?: boolean } = {},
): Promise<string> {
  return queue.enqueue('index-item', { itemId: item.id, version: item.version }, options);
}

/**
 * Every upload route ends here: commit the staged files as the caller on the head it was allowed to change (decided
 * again if another version lands first: guards.writeOn), then (unless the item already had these bytes) enqueue
 * their follow-up jobs before answering. An item's kind never changes, so the checks made on the first head (size
 * limits) hold on any later one.
 */
export async function commitUpload(
  deps: { ingest: Ingest; queue: JobQueue; guards: Guards },
  principal: Principal,
  itemId: string,
  files: StagedFile[],
): ReturnType<Ingest['commit']> {
  try {
    const result = await deps.guards.writeOn(principal, itemId, (head) =>
      deps.ingest.commit(head, files, agentOf(principal), {
        ifVersion: head.version,
        keepStagedOnConflict: true,
      }),
    );
    if (!result.existing) await enqueueFollowUps(deps.queue, result.item, result.files);
    return result;
  } catch (err) {
    // Refused by the decision itself (the item became unwritable meanwhile) or out of attempts: nothing is kept.
    await deps.ingest.discard(files);
    throw err;
  }
}

/**
 * Versions that `recoverAll` finished after a crash never passed through the commit hook (the catalogue) nor had
 * their follow-ups enqueued: each recovered item's head is indexed again, which rewrites its catalogue row too.
 */
export async function reindexRecovered(
  deps: { items: Pick<Items, 'get'>; queue: Pick<JobQueue, 'enqueue'> },
  recovered: { id: string }[],
): Promise<number> {
  let queued = 0;
  for (const { id } of recovered) {
    if (!id.startsWith(ITEM_URN)) continue;
    const itemId = id.slice(ITEM_URN.length);
    const head = await deps.items.get(itemId).catch(() => undefined);
    if (head === undefined) continue;
    await enqueueIndex(deps.queue, head);
    queued += 1;
  }
  return queued;
}
