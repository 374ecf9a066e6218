import type { ItemView, Items } from '../archive/items.ts';
import { readAll } from '../archive/blob-store.ts';
import type { DerivativeStore } from '../archive/derivatives.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { StringDecoder } from 'node:string_decoder';
import { Value } from '@sinclair/typebox/value';
import { DocumentText } from '../../schemas/technical.ts';
import { buildDocumentsSliced, type DocumentPages, type TranscriptSegments } from './documents.ts';
import { slicer, type Tick } from './slices.ts';
import type { IndexWriter, SearchIndex } from './search-index.ts';

/**
 * Archive → index: reads an item's head, its transcripts' segments (the `segments` derivative the transcript job
 * writes) and its documents' pages (the `text` derivative the document job writes) and puts the documents and the
 * item's catalogue row. The index job calls `upsertItem`; `ciku reindex`
 * calls `reindexAll`, which needs nothing but the archive. (Commits write catalogue rows themselves, through
 * items.ts `onCommit`; these writes make a lost or stale catalogue whole again.)
 */

const TRANSCRIPT_TYPES = new Set(['text/vtt', 'application/x-subrip']);
/** A `text.json` larger than this is not read (2,000 pages of a dense report are a few MiB). */
const MAX_TEXT_JSON_BYTES = 64 * 1024 * 1024;

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

/** Rounds of "write, read the head again" before an item that keeps changing is left to a retry. */
const MAX_ROUNDS = 5;

/**
 * What the indexer reads of the archive. `headVersion` (items.ts) is one cached inventory read; an archive core
 * without it answers the head from `versions` (the same inventory read).
 */
export type IndexerItems = Pick<Items, 'get' | 'list' | 'versions'> & {
  headVersion?: (id: string) => Promise<string>;
};

export function createIndexer(deps: {
  items: IndexerItems;
  derivatives: DerivativeStore;
  index: SearchIndex;
}) {
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
   * The pages of the item's documents (PDFs, office files, OCR'd scans): any file but a transcript or a recording
   * may have a `text` derivative, so each one's record is read. A lost or malformed text.json is a derivative to
   * rebuild, not a reason to drop the item (its other text is still indexed).
   */
  async function documentsOf(item: ItemView, tick: Tick): Promise<DocumentPages[]> {
    const out: DocumentPages[] = [];
    for (const f of item.files) {
      const type = f.media_type ?? '';
      if (f.role === 'transcript' || TRANSCRIPT_TYPES.has(type) || /^(audio|video)\//.test(type)) continue;
      const record = await derivatives.readRecord(f.digests.sha512);
      const entry = record?.derivatives.text;
      if (entry?.status !== 'ready' || entry.path === undefined) continue;
      try {
        const raw = await readAll(await derivatives.open(f.digests.sha512, entry.path), MAX_TEXT_JSON_BYTES);
        await tick();
        const parsed = JSON.parse(raw.toString('utf8')) as unknown;
        await tick();
        if (Value.Check(DocumentText, parsed)) out.push({ file: f.name, pages: parsed.pages });
      } catch (err) {
        if (!isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND') && !(err instanceof SyntaxError)) throw err;
      }
    }
    return out;
  }

  /**
   * One pass: reads the item's head and writes it into `target` (documents and catalogue row; a tombstoned or
   * vanished item removed). Answers the version it read (undefined: no item in the archive) and the version it
   * indexed (undefined: removed).
   */
  async function indexOnce(
    target: IndexWriter,
    itemId: string,
  ): Promise<{ read: string | undefined; indexed: string | undefined }> {
    let item: ItemView;
    try {
      item = await items.get(itemId);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) {
        await target.forgetItem(itemId);
        await target.remove(itemId);
        return { read: undefined, indexed: undefined };
      }
      throw err;
    }
    await target.putItem(item);
    if (item.tombstone) {
      await target.remove(itemId);
      return { read: item.version, indexed: undefined };
    }
    // An interview's segments are read, parsed and built in slices (the engine analyses them in slices too).
    const tick = slicer();
    const transcripts = await transcriptsOf(item, tick);
    const documents = await documentsOf(item, tick);
    const { doc, segments, pages } = await buildDocumentsSliced(item, transcripts, tick, documents);
    await target.put(doc, segments, pages);
    return { read: item.version, indexed: item.version };
  }

  /** The archive's head version now (undefined: the item is gone, which indexes as removed). */
  async function headNow(itemId: string): Promise<string | undefined> {
    try {
      return items.headVersion
        ? await items.headVersion(itemId)
        : (await items.versions(itemId)).at(-1)?.version;
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /**
   * Puts the item's head (or removes a tombstoned / vanished item) into `target`, and its catalogue row (a
   * tombstone's too: it is never listed, and it keeps a late write of an earlier version from reviving the item).
   * Returns the version indexed.
   *
   * Index jobs are per version and run several at a time, and building a long transcript takes seconds: a job that
   * read vN may write after the job of vN+1 did, putting vN back (a deleted item found again, a private one listed
   * in search with its old public text). So after writing, the archive's head is read again and, if it is not the
   * version just written, the item is indexed again. Why this converges on the head: every commit happens before
   * its own index job reads the head, so each head has a job that reads it (or a later one) and writes after the
   * commit; and whichever job writes last re-reads the head *after* its write completed, so it either saw the
   * latest commit (any later commit's job writes after it, and is then the last writer) or it sees it now and
   * writes again. An item that keeps changing faster than it indexes gets a retryable error after a few rounds
   * (the job is retried; the newer versions' own jobs are queued anyway).
   */
  async function indexInto(target: IndexWriter, itemId: string): Promise<string | undefined> {
    for (let round = 1; ; round++) {
      const { read, indexed } = await indexOnce(target, itemId);
      const head = await headNow(itemId);
      if (head === read) return indexed;
      if (round >= MAX_ROUNDS)
        throw new CikuError(
          'CIKU_ERR_VERSION_CONFLICT',
          `item ${itemId} moved from ${read ?? 'nothing'} to ${head ?? 'nothing'} while it was indexed, ${round} times: indexing again later`,
        );
    }
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
