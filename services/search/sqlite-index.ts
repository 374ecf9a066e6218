import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ItemView } from '../archive/items.ts';
import type { PageDocumentT, SearchDocumentT, SegmentDocumentT } from '../../schemas/search.ts';
import { CikuError, isCikuError } from '../errors.ts';
import type {
  ChangeHeadPage,
  ChangesPage,
  ChangesRequest,
  IndexRebuild,
  IndexStats,
  ListPage,
  ListRequest,
  SearchIndex,
} from './search-index.ts';
import { sqliteCatalogue, type SqliteCatalogue } from './sqlite-catalogue.ts';
import { catalogueName, indexFiles } from './sqlite-files.ts';
import { prepareItem } from './sqlite-prepare.ts';
import { RANK_ALL, searchItems, searchPages, searchSegments } from './sqlite-query.ts';
import { catalogueComplete, openCatalogue, openDb, prep, WRITE_SQL, type Db } from './sqlite-schema.ts';
import { createWriterThread } from './sqlite-writer.ts';
import { ensureStatTables, sqliteAggregate, statTablesKept } from './sqlite-stats.ts';

/**
 * The embedded engine: SQLite FTS5 (better-sqlite3) in one file under `<dataDir>/search/`. The FTS tables are
 * contentless (they hold the index only); the display text lives once, in `docs.doc` (the document's JSON), from
 * which highlights are cut. All analysis is ours (analyzer.ts), so FTS5 only sees space-separated tokens.
 *
 * Files: `search/CURRENT` names the live index file; `ciku reindex` builds `index-<stamp>.sqlite` beside it and
 * renames a new CURRENT over the old one (atomic), and every process notices the change on its next call and
 * reopens, so no reader ever sees a half-built index. The item catalogue (sqlite-catalogue.ts) lives in
 * `catalogue-<stamp>.sqlite` beside its index file and is swapped with it.
 *
 * This module composes the pieces: the tables and their opening (sqlite-schema.ts), the files (sqlite-files.ts),
 * an item's analysis (sqlite-prepare.ts) and its writing on a thread (sqlite-writer.ts), the scope and filters
 * (sqlite-access.ts), the searches (sqlite-query.ts) and the item catalogue (sqlite-catalogue.ts).
 */

export interface SqliteIndexOptions {
  /** Folder holding CURRENT and the index files. */
  dir: string;
  /** Page cache per connection, in MiB (kept small: the OS page cache does the rest). */
  cacheMiB?: number;
  /** Matches ranked by BM25 at most (default 20,000); larger sets are paged by tiers (sqlite-query.ts). */
  rankAll?: number;
  /** The catalogue's clock: the day its embargo sweep moves passed embargoes up to (sqlite-catalogue.ts). */
  clock?: () => Date;
}

/**
 * How far before the unlocked merge of a rebuild's commit the locked one starts again: rows written while the first
 * ran (or stamped by a clock a little behind) are merged under the lock too.
 */
const TAIL_MARGIN_MS = 2000;

export function createSqliteIndex(options: SqliteIndexOptions): SearchIndex {
  const dir = options.dir;
  const cacheMiB = options.cacheMiB ?? 16;
  const rankAll = options.rankAll ?? RANK_ALL;
  const clock = options.clock ?? (() => new Date());
  const catalogueOptions = { today: () => clock().toISOString().slice(0, 10) };
  mkdirSync(dir, { recursive: true });
  const files = indexFiles(dir);

  let db: Db | undefined;
  let cat: Db | undefined;
  let catalogue: SqliteCatalogue | undefined;
  let openedName = '';
  let openedStamp = '';
  const writes = createWriterThread(WRITE_SQL, cacheMiB);

  /** The live database, reopened when CURRENT was replaced (by a reindex in any process). */
  function live(): Db {
    let st: string;
    try {
      st = files.currentStamp();
    } catch {
      st = '';
    }
    if (db && st === openedStamp) return db;
    const name = files.currentName();
    if (!db || name !== openedName) {
      db?.close();
      cat?.close();
      db = cat = undefined;
      const d = openDb(path.join(dir, name), cacheMiB);
      const indexEmpty = () => prep(d, 'SELECT 1 FROM docs LIMIT 1').get() === undefined;
      try {
        cat = openCatalogue(path.join(dir, catalogueName(name)), cacheMiB, indexEmpty);
      } catch (err) {
        d.close();
        throw err;
      }
      db = d;
      catalogue = sqliteCatalogue(cat, catalogueOptions);
      // The writer thread lets go of the file a rebuild replaced (it opens the new one on its next write).
      if (openedName !== '')
        void writes.run({ op: 'close', file: path.join(dir, openedName) }).catch(() => undefined);
      openedName = name;
    }
    openedStamp = files.currentStamp();
    return db;
  }

  function liveCatalogue(): SqliteCatalogue {
    live();
    return catalogue!;
  }

  /**
   * The live catalogue's database, or undefined when there is no usable live index: one of an earlier format
   * (refused by openDb/openCatalogue until a rebuild replaces it — the rebuild itself must not need it) or none.
   */
  function liveCatalogueDb(): Db | undefined {
    try {
      live();
      return cat;
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_UNAVAILABLE')) return undefined;
      throw err;
    }
  }

  /**
   * A catalogue write, made again in the new catalogue when a rebuild was swapped in while it ran (the rebuild
   * copied the rows written before it took the old catalogue's lock; this one may have waited for that lock).
   */
  function putItem(item: ItemView): Promise<void> {
    liveCatalogue().put(item);
    if (files.currentName() !== openedName) liveCatalogue().put(item);
    return Promise.resolve();
  }

  function forgetItem(itemId: string): Promise<void> {
    liveCatalogue().forget(itemId);
    if (files.currentName() !== openedName) liveCatalogue().forget(itemId);
    return Promise.resolve();
  }

  function listItems(request: ListRequest): ListPage {
    const c = liveCatalogue();
    if (!catalogueComplete(cat!)) {
      throw new CikuError(
        'CIKU_ERR_UNAVAILABLE',
        'the item catalogue is not built yet for this index: run ciku reindex (it rebuilds it from the archive)',
      );
    }
    return c.list(request);
  }

  function listChanges(request: ChangesRequest): ChangesPage {
    const c = liveCatalogue();
    if (!catalogueComplete(cat!)) {
      throw new CikuError(
        'CIKU_ERR_UNAVAILABLE',
        'the item catalogue is not built yet for this index: run ciku reindex (it rebuilds it from the archive)',
      );
    }
    return c.changes(request);
  }

  function listChangeHeads(request: ChangesRequest): ChangeHeadPage {
    const c = liveCatalogue();
    if (!catalogueComplete(cat!)) {
      throw new CikuError(
        'CIKU_ERR_UNAVAILABLE',
        'the item catalogue is not built yet for this index: run ciku reindex (it rebuilds it from the archive)',
      );
    }
    return c.changeHeads(request);
  }

  /** Analyses the item here, in slices, and has the writer thread apply it to `file` in one transaction. */
  async function putInto(
    file: () => string,
    doc: SearchDocumentT,
    segments: SegmentDocumentT[],
    pages: PageDocumentT[],
  ) {
    const key = writes.stageKey();
    try {
      const prepared = await prepareItem(doc, segments, pages, (rows) =>
        writes.run({ op: 'stage', key, ...rows }),
      );
      await writes.run({ op: 'put', file: file(), key, doc: prepared });
    } catch (err) {
      await writes.run({ op: 'unstage', key }).catch(() => undefined);
      throw err;
    }
  }

  const liveFile = () => {
    live();
    return path.join(dir, openedName);
  };

  function put(
    doc: SearchDocumentT,
    segments: SegmentDocumentT[],
    pages: PageDocumentT[] = [],
  ): Promise<void> {
    return putInto(liveFile, doc, segments, pages);
  }

  function remove(itemId: string): Promise<void> {
    return writes.run({ op: 'remove', file: liveFile(), id: itemId });
  }

  function indexedVersion(itemId: string): Promise<string | undefined> {
    const row = prep(live(), 'SELECT version FROM docs WHERE id = ?').get(itemId) as
      { version: string } | undefined;
    return Promise.resolve(row?.version);
  }

  function statsOf(d: Db): IndexStats {
    const hash = createHash('sha256');
    let documents = 0;
    for (const row of prep(d, 'SELECT id, hash FROM docs ORDER BY id').iterate() as Iterable<{
      id: string;
      hash: string;
    }>) {
      hash.update(`${row.id}\t${row.hash}\n`);
      documents++;
    }
    const segments = (prep(d, 'SELECT count(*) AS n FROM segs').get() as { n: number }).n;
    const pages = (prep(d, 'SELECT count(*) AS n FROM pages').get() as { n: number }).n;
    return { documents, segments, pages, contentHash: hash.digest('hex'), catalogue: catalogue!.stats() };
  }

  function rebuild(): Promise<IndexRebuild> {
    const name = files.newIndexName();
    const file = path.join(dir, name);
    // Created here (schema, format), filled by the writer thread in one bulk transaction per 500 items.
    openDb(file, cacheMiB).close();
    const bulk = writes.run({ op: 'bulk', file });
    const startedAt = Date.now();
    const freshCat = openCatalogue(path.join(dir, catalogueName(name)), cacheMiB, () => false);
    // A catalogue that keeps the statistics' fact tables hands them on, filled as the rebuild writes its rows
    // (not all at once on the first count after the swap).
    const current = liveCatalogueDb();
    if (current && statTablesKept(current)) ensureStatTables(freshCat);
    const fc = sqliteCatalogue(freshCat, catalogueOptions);
    let done = false;
    const fileOf = () => file;
    return bulk.then(() => ({
      put: (doc, segments, pages = []) => putInto(fileOf, doc, segments, pages),
      remove: (itemId) => writes.run({ op: 'remove', file, id: itemId }),
      putItem(item) {
        fc.put(item);
        return Promise.resolve();
      },
      forgetItem(itemId) {
        fc.forget(itemId);
        return Promise.resolve();
      },
      async commit() {
        if (done) return;
        done = true;
        await writes.run({ op: 'finish', file });
        const old = liveCatalogueDb();
        const previous = openedName;
        if (!old) {
          // Replacing an index of an earlier format (or none): nothing to carry over, nothing else can write it.
          freshCat.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '1')").run();
          freshCat.pragma('wal_checkpoint(TRUNCATE)');
          files.makeCurrent(name);
          freshCat.close();
          files.removeOthers([name]);
          return;
        }
        // Outside any lock, the slow part: every row the live catalogue took since the rebuild began (one machine,
        // one clock: `touched`), however long the rebuild ran, then the fresh file checkpointed and truncated.
        // Commits in other processes write the live catalogue on their event loops meanwhile, unhindered.
        const tailSince = Math.max(startedAt, Date.now() - TAIL_MARGIN_MS);
        fc.mergeFrom(old, startedAt);
        freshCat.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '1')").run();
        freshCat.pragma('wal_checkpoint(TRUNCATE)');
        // Under the live catalogue's write lock, held until CURRENT names the new files: only the rows written
        // since the pass above (a few, re-merging is harmless) and the rename. A writer that waited for the lock
        // writes the old catalogue, sees CURRENT changed and writes the new one too (putItem), so no commit is
        // lost in the swap.
        old.exec('BEGIN IMMEDIATE');
        try {
          fc.mergeFrom(old, tailSince);
          files.makeCurrent(name);
        } finally {
          old.exec('COMMIT');
        }
        freshCat.close();
        files.removeOthers([name, previous]);
      },
      async abort() {
        if (done) return;
        done = true;
        await writes.run({ op: 'close', file });
        freshCat.close();
        for (const f of [file, path.join(dir, catalogueName(name))])
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${f}${suffix}`, { force: true });
      },
    }));
  }

  return {
    engine: 'sqlite',
    put,
    remove,
    putItem: (item) => tryAsync(() => putItem(item)),
    forgetItem: (itemId) => tryAsync(() => forgetItem(itemId)),
    listItems: (request) => tryAsync(() => Promise.resolve(listItems(request))),
    listChanges: (request) => tryAsync(() => Promise.resolve(listChanges(request))),
    listChangeHeads: (request) => tryAsync(() => Promise.resolve(listChangeHeads(request))),
    cataloguedVersion: (itemId) => tryAsync(() => Promise.resolve(liveCatalogue().version(itemId))),
    search(request) {
      try {
        return Promise.resolve(searchItems(live, request, rankAll));
      } catch (err) {
        return Promise.reject(translate(err));
      }
    },
    searchSegments(request) {
      try {
        return Promise.resolve(searchSegments(live, request));
      } catch (err) {
        return Promise.reject(translate(err));
      }
    },
    searchPages(request) {
      try {
        return Promise.resolve(searchPages(live, request));
      } catch (err) {
        return Promise.reject(translate(err));
      }
    },
    indexedVersion,
    stats: () => Promise.resolve(statsOf(live())),
    aggregate: (request) =>
      tryAsync(() => {
        liveCatalogue();
        return Promise.resolve(sqliteAggregate(cat!, request));
      }),
    count: () => Promise.resolve((prep(live(), 'SELECT count(*) AS n FROM docs').get() as { n: number }).n),
    rebuild,
    ping() {
      prep(live(), 'SELECT 1').get();
      return Promise.resolve();
    },
    async close() {
      await writes.close();
      db?.close();
      cat?.close();
      db = cat = undefined;
    },
  };
}

/** A synchronous engine call as a promise: a throw becomes a rejection, coded. */
function tryAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(translate(err));
  }
}

/** An FTS5 syntax error would be our bug (user text never becomes syntax): it is a 500, coded. */
function translate(err: unknown): Error {
  if (err instanceof CikuError) return err;
  return new CikuError('CIKU_ERR_INTERNAL', `search failed: ${(err as Error).message}`, { cause: err });
}
