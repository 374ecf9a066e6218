import type { JobDeps } from './job-deps.ts';
import type { Handler } from './registry.ts';

/**
 * Keeps the search index in step with the archive: upsert on a new version, removal on a tombstone. The engines
 * come with the search issue; until one is configured the job is a recorded `skipped`, so the queue never fills.
 */
export function indexItem(deps: JobDeps): Handler<'index-item'> {
  return async (p) => {
    if (!deps.search) return { status: 'skipped', detail: 'no search engine is configured in this build' };
    const item = await deps.items.get(p.itemId);
    // Only the head is indexed: an older version's job finding a newer head indexes the newer one (harmless).
    if (item.tombstone) await deps.search.removeItem(p.itemId);
    else await deps.search.upsertItem(p.itemId);
    return { status: 'done' };
  };
}
