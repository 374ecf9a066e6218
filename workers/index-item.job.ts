import type { JobDeps } from './job-deps.ts';
import type { Handler } from './registry.ts';

/**
 * Keeps the search index in step with the archive: the item's head is indexed (a tombstoned item is removed) and
 * its item-catalogue row rewritten (commits write that row themselves; this repairs a lost or stale one), and
 * the outcome records which version the index now holds. Only the head is ever indexed: an older version's job
 * finding a newer head indexes the newer one (harmless, and the newer version's own job finds it done), and a job
 * whose write landed after a newer version was committed sees the head moved and indexes it again (indexer.ts
 * `indexInto`; an item that keeps moving throws CIKU_ERR_VERSION_CONFLICT, retried like any transient fault).
 */
export function indexItem(deps: JobDeps): Handler<'index-item'> {
  return async (p) => {
    if (!deps.search)
      return { status: 'skipped', detail: 'no search engine is configured for these workers' };
    const version = await deps.search.upsertItem(p.itemId);
    return {
      status: 'done',
      detail: version === undefined ? 'removed from the index' : `indexed ${version}`,
    };
  };
}
