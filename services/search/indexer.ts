import type { ItemView, Items } from '../archive/items.ts';
import { readAll } from '../archive/blob-store.ts';
import type { DerivativeStore } from '../archive/derivatives.ts';
import { isCikuError } from '../errors.ts';
import { buildDocuments, type TranscriptSegments } from './documents.ts';
import type { IndexWriter, SearchIndex } from './search-index.ts';

/**
 * Archive → index: reads an item's head and its transcripts' segments (the `segments` derivative the transcript
 * job writes) and puts the documents and the item's catalogue row. The index job calls `upsertItem`; `ciku reindex`
 * calls `reindexAll`, which needs nothing but the archive. (Commits write catalogue rows themselves, through
 * items.ts `onCommit`; these writes make a lost or stale catalogue whole again.)
 */

const TRANSCRIPT_TYPES = new Set(['text/vtt', 'application/x-subrip']);

export interface ReindexProgress {
  done: number;
  /** Known once the listing finished (the archive is listed first, then indexed). */
  total: number;
  failed: { id: string; reason: string }[];
}

export function createIndexer(deps: { items: Items; derivatives: DerivativeStore; index: SearchIndex }) {
  const { items, derivatives, index } = deps;

  async function transcriptsOf(item: ItemView): Promise<TranscriptSegments[]> {
    const out: TranscriptSegments[] = [];
    for (const f of item.files) {
      if (f.role !== 'transcript' && !TRANSCRIPT_TYPES.has(f.media_type ?? '')) continue;
      const record = await derivatives.readRecord(f.digests.sha512);
      const entry = record?.derivatives.segments;
      if (entry?.status !== 'ready' || entry.path === undefined) continue;
      try {
        const raw = await readAll(await derivatives.open(f.digests.sha512, entry.path), 64 * 1024 * 1024);
        const parsed = JSON.parse(raw.toString('utf8')) as { segments?: TranscriptSegments['segments'] };
        if (Array.isArray(parsed.segments)) out.push({ file: f.name, segments: parsed.segments });
      } catch (err) {
        // A lost segments file is a derivative to rebuild (`ciku rederive --missing`), not a reason to drop the item.
        if (!isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND') && !(err instanceof SyntaxError)) throw err;
      }
    }
    return out;
  }

  /**
   * Puts the item's head (or removes a tombstoned / vanished item) into `target`, and its catalogue row (a
   * tombstone's too: it is never listed, and it keeps a late write of an earlier version from reviving the item).
   * Returns the version indexed.
   */
  async function indexInto(target: IndexWriter, itemId: string): Promise<string | undefined> {
    let item: ItemView;
    try {
      item = await items.get(itemId);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) {
        await target.forgetItem(itemId);
        await target.remove(itemId);
        return undefined;
      }
      throw err;
    }
    await target.putItem(item);
    if (item.tombstone) {
      await target.remove(itemId);
      return undefined;
    }
    const { doc, segments } = buildDocuments(item, await transcriptsOf(item));
    await target.put(doc, segments);
    return item.version;
  }

  async function reindexAll(onProgress?: (p: ReindexProgress) => void): Promise<ReindexProgress> {
    const ids: string[] = [];
    for await (const id of items.list()) ids.push(id);
    ids.sort();
    const progress: ReindexProgress = { done: 0, total: ids.length, failed: [] };
    onProgress?.(progress);
    const rebuild = await index.rebuild();
    const indexed = new Map<string, string | undefined>();
    try {
      for (const id of ids) {
        try {
          indexed.set(id, await indexInto(rebuild, id));
        } catch (err) {
          progress.failed.push({ id, reason: (err as Error).message });
        }
        progress.done++;
        onProgress?.(progress);
      }
      // Catch-up: items created or changed while the rebuild ran (their index jobs wrote to the old index).
      for await (const id of items.list()) {
        if (indexed.has(id)) {
          const head = await items.get(id).then(
            (i) => (i.tombstone ? undefined : i.version),
            () => undefined,
          );
          if (head === indexed.get(id)) continue;
        }
        await indexInto(rebuild, id);
      }
      await rebuild.commit();
    } catch (err) {
      await rebuild.abort();
      throw err;
    }
    return progress;
  }

  return {
    upsertItem: (itemId: string) => indexInto(index, itemId),
    indexInto,
    reindexAll,
  };
}

export type Indexer = ReturnType<typeof createIndexer>;
