import type { JobQueue } from '../adapters/queue.ts';
import type { ItemFile, ItemView } from '../archive/items.ts';

/** After a commit: metadata + derivatives per new file (keyed by digest), and a reindex of the item version. */
export async function enqueueFollowUps(queue: JobQueue, item: ItemView, files: ItemFile[]): Promise<void> {
  const jobs: Promise<string>[] = [];
  for (const f of files) {
    const base = { itemId: item.id, version: item.version, file: f.name, sha512: f.digests.sha512 };
    jobs.push(queue.enqueue('extract-metadata', base));
    jobs.push(queue.enqueue('derive', { ...base, mediaType: f.media_type ?? 'application/octet-stream' }));
  }
  jobs.push(queue.enqueue('index-item', { itemId: item.id, version: item.version }));
  await Promise.all(jobs);
}
