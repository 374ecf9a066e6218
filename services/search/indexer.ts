import type { ItemView, Items } from '../archive/items.ts';
import { readAll } from '../archive/blob-store.ts';
import type { DerivativeStore } from '../archive/derivatives.ts';
import { isCikuError } from '../errors.ts';
import { StringDecoder } from 'node:string_decoder';
import { buildDocumentsSliced, type TranscriptSegments } from './documents.ts';
import { slicer, type Tick } from './slices.ts';
import type { IndexWriter, SearchIndex } from './search-index.ts';

/**
 * Archive → index: reads an item's head and its transcripts' segments (the `segments` derivative the transcript
 * job writes) and puts the documents and the item's catalogue row. The index job calls `upsertItem`; `ciku reindex`
 * calls `reindexAll`, which needs nothing but the archive. (Commits write catalogue rows themselves, through
 * items.ts `onCommit`; these writes make a lost or stale catalogue whole again.)
 */

const TRANSCRIPT_TYPES = new Set(['text/vtt', 'application/x-subrip']);

type Segments = TranscriptSegments['segments'];

/** The prefix the transcript job writes (workers/derive-transcript.job.ts): `{"version":1,"segments":[…]}`. */
const SEGMENTS_PREFIX = '{"version":1,"segments":[';

/**
 * A segments file parsed with turns for the event loop (one JSON.parse of 140,000 segments held it for 0.2–0.4 s):
 * decoded a MiB at a time, then the array's elements are found by a scan that follows strings and nesting and
 * parsed by JSON.parse a few thousand at a time. Any other shape is parsed whole. Malformed input throws
 * SyntaxError, as JSON.parse does.
 */
export async function parseSegmentsJson(raw: Buffer, tick: Tick): Promise<Segments | undefined> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  for (let at = 0; at < raw.length; at += 1024 * 1024) {
    text += decoder.write(raw.subarray(at, at + 1024 * 1024));
    await tick();
  }
  text += decoder.end();
  if (!text.startsWith(SEGMENTS_PREFIX)) {
    const parsed = JSON.parse(text) as { segments?: Segments };
    return Array.isArray(parsed.segments) ? parsed.segments : undefined;
  }
  const out: Segments = [];
  let depth = 0;
  let inString = false;
  let from = SEGMENTS_PREFIX.length;
  let count = 0;
  const flush = (to: number) => {
    if (to > from) for (const s of JSON.parse(`[${text.slice(from, to)}]`) as Segments) out.push(s);
    from = to + 1;
    count = 0;
  };
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) {
        // The array's end: what follows must close the object.
        if (c !== 0x5d || text.slice(i + 1).trim() !== '}') throw new SyntaxError('segments: bad end');
        flush(i);
        return out;
      }
      depth--;
    } else if (c === 0x2c && depth === 0 && ++count >= 2000) {
      flush(i);
      await tick();
    }
    if ((i & 0xffff) === 0) await tick();
  }
  throw new SyntaxError('segments: unexpected end');
}

export interface ReindexProgress {
  done: number;
  /** Known once the listing finished (the archive is listed first, then indexed). */
  total: number;
  failed: { id: string; reason: string }[];
}

export function createIndexer(deps: { items: Items; derivatives: DerivativeStore; index: SearchIndex }) {
  const { items, derivatives, index } = deps;

  async function transcriptsOf(item: ItemView, tick: Tick): Promise<TranscriptSegments[]> {
    const out: TranscriptSegments[] = [];
    for (const f of item.files) {
      if (f.role !== 'transcript' && !TRANSCRIPT_TYPES.has(f.media_type ?? '')) continue;
      const record = await derivatives.readRecord(f.digests.sha512);
      const entry = record?.derivatives.segments;
      if (entry?.status !== 'ready' || entry.path === undefined) continue;
      try {
        const raw = await readAll(await derivatives.open(f.digests.sha512, entry.path), 64 * 1024 * 1024);
        const segments = await parseSegmentsJson(raw, tick);
        if (segments) out.push({ file: f.name, segments });
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
    // An interview's segments are read, parsed and built in slices (the engine analyses them in slices too).
    const tick = slicer();
    const { doc, segments } = await buildDocumentsSliced(item, await transcriptsOf(item, tick), tick);
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
