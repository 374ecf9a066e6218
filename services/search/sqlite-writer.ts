import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CikuError } from '../errors.ts';

/**
 * The embedded index's writes run on a thread of their own. Putting an interview of 140,000 transcript segments
 * is ~2 s of SQLite work (its segments and their FTS rows, the old ones deleted, one FTS row of millions of
 * tokens) that must stay one transaction, so readers see the old item or the new one and never a part; on the
 * event loop that was the whole process standing still (healthz at 1.4 s in `ciku start`, 5–7 s measured here).
 * The analysis (folding, bigrams, jieba) stays on the event loop in slices with yields between them
 * (sqlite-index.ts), and its rows travel here in chunks; this thread applies each item in one transaction.
 *
 * Only this thread writes the index files (the main thread reads them: WAL readers never wait for a writer), so
 * no call on the event loop can wait for the write lock either. One thread per open index, started on its first
 * write; it keeps the process alive only while a write is pending. better-sqlite3 is loaded here by the path the
 * main thread resolved (an eval'd worker resolves no packages of its own); the SQL is passed in from
 * sqlite-index.ts, which owns the schema.
 */

/** A document row and its FTS columns, ready to insert (everything analysed on the main thread). */
export interface PreparedDoc {
  id: string;
  /** Named parameters of the docs insert. */
  row: Record<string, string | number | null>;
  /** The display document (JSON). */
  body: string;
  /** title, meta, body, title_w, meta_w, body_w, py, acl. */
  fts: string[];
  embargo: string | null;
}

/** file, n, start, end, speaker, text, grams, words. */
export type PreparedSegment = [string, number, number, number, string | null, string, string, string];

/** file, page, ocr (0/1), label, text, grams, words. */
export type PreparedPage = [string, number, number, string | null, string, string, string];

export interface WriteSql {
  findRid: string;
  segRids: string;
  delSegFts: string;
  delSegs: string;
  pageRids: string;
  delPageFts: string;
  delPages: string;
  delFts: string;
  delBody: string;
  delDoc: string;
  insDoc: string;
  insBody: string;
  insFts: string;
  insSeg: string;
  insSegFts: string;
  insPage: string;
  insPageFts: string;
  insEmbargo: string;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const SQL = workerData.sql;
const open = new Map();
const staged = new Map();

function handle(file) {
  let h = open.get(file);
  if (h) return h;
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.pragma('cache_size = -' + workerData.cacheKiB);
  const st = {};
  for (const k of Object.keys(SQL)) st[k] = db.prepare(SQL[k]);
  h = { db, st, bulk: false, pending: 0 };
  open.set(file, h);
  return h;
}

function remove(st, id) {
  const found = st.findRid.get(id);
  if (!found) return;
  for (const s of st.segRids.all(found.rid)) st.delSegFts.run(s.rid);
  st.delSegs.run(found.rid);
  for (const p of st.pageRids.all(found.rid)) st.delPageFts.run(p.rid);
  st.delPages.run(found.rid);
  st.delFts.run(found.rid);
  st.delBody.run(found.rid);
  st.delDoc.run(found.rid);
}

function put(st, doc, segs, pages) {
  remove(st, doc.id);
  const rid = Number(st.insDoc.run(doc.row).lastInsertRowid);
  st.insBody.run(rid, doc.body);
  st.insFts.run(rid, ...doc.fts);
  if (doc.embargo !== null) st.insEmbargo.run(doc.embargo);
  for (const s of segs) {
    const segRid = Number(st.insSeg.run(rid, s[0], s[1], s[2], s[3], s[4], s[5]).lastInsertRowid);
    st.insSegFts.run(segRid, s[6], s[7]);
  }
  for (const p of pages) {
    const pageRid = Number(st.insPage.run(rid, p[0], p[1], p[2], p[3], p[4]).lastInsertRowid);
    st.insPageFts.run(pageRid, p[5], p[6]);
  }
}

/** One item's change: its own transaction, or a step of a rebuild's bulk transaction (committed every 500). */
function write(h, fn) {
  if (!h.bulk) return h.db.transaction(fn)();
  fn();
  if (++h.pending >= 500) {
    h.db.exec('COMMIT');
    h.db.exec('BEGIN');
    h.pending = 0;
  }
}

function close(file) {
  const h = open.get(file);
  if (!h) return;
  open.delete(file);
  if (h.db.inTransaction) h.db.exec('ROLLBACK');
  h.db.close();
}

function run(m) {
  switch (m.op) {
    case 'stage': {
      let rows = staged.get(m.key);
      if (!rows) staged.set(m.key, (rows = { segs: [], pages: [] }));
      for (const s of m.segs || []) rows.segs.push(s);
      for (const p of m.pages || []) rows.pages.push(p);
      return;
    }
    case 'unstage':
      staged.delete(m.key);
      return;
    case 'put': {
      const h = handle(m.file);
      const rows = staged.get(m.key) || { segs: [], pages: [] };
      staged.delete(m.key);
      write(h, () => put(h.st, m.doc, rows.segs, rows.pages));
      return;
    }
    case 'remove': {
      const h = handle(m.file);
      write(h, () => remove(h.st, m.id));
      return;
    }
    case 'bulk': {
      const h = handle(m.file);
      h.db.exec('BEGIN');
      h.bulk = true;
      return;
    }
    case 'finish': {
      const h = handle(m.file);
      h.db.exec('COMMIT');
      h.db.exec("INSERT INTO docs_fts(docs_fts) VALUES('optimize')");
      h.db.exec("INSERT INTO segs_fts(segs_fts) VALUES('optimize')");
      h.db.exec("INSERT INTO pages_fts(pages_fts) VALUES('optimize')");
      h.db.pragma('wal_checkpoint(TRUNCATE)');
      close(m.file);
      return;
    }
    case 'close':
      close(m.file);
      return;
    case 'closeAll':
      for (const file of [...open.keys()]) close(file);
      return;
  }
  throw new Error('unknown op ' + m.op);
}

parentPort.on('message', (m) => {
  try {
    run(m);
    parentPort.postMessage({ seq: m.seq, ok: true });
  } catch (err) {
    parentPort.postMessage({ seq: m.seq, ok: false, message: String((err && err.message) || err) });
  }
});
`;

type Op =
  | { op: 'stage'; key: number; segs?: PreparedSegment[]; pages?: PreparedPage[] }
  | { op: 'unstage'; key: number }
  | { op: 'put'; file: string; key: number; doc: PreparedDoc }
  | { op: 'remove'; file: string; id: string }
  | { op: 'bulk' | 'finish' | 'close'; file: string }
  | { op: 'closeAll' };

export interface WriterThread {
  /** Runs one operation on the thread; resolves once it is committed (or failed). */
  run(op: Op): Promise<void>;
  /** A key for staging one put's segments. */
  stageKey(): number;
  close(): Promise<void>;
}

export function createWriterThread(sql: WriteSql, cacheMiB: number): WriterThread {
  let worker: Worker | undefined;
  let nextSeq = 1;
  let nextKey = 1;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  function thread(): Worker {
    if (worker) return worker;
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    // No inherited Node options: the eval'd CommonJS source needs no loader (tsx in development).
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { sqlite, sql, cacheKiB: cacheMiB * 1024 },
    });
    w.on('message', (m: { seq: number; ok: boolean; message?: string }) => {
      const p = pending.get(m.seq);
      pending.delete(m.seq);
      if (pending.size === 0) w.unref();
      if (!p) return;
      if (m.ok) p.resolve();
      else p.reject(new CikuError('CIKU_ERR_INTERNAL', `search index write failed: ${m.message ?? ''}`));
    });
    const fail = (err: Error) => {
      if (worker === w) worker = undefined;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new CikuError('CIKU_ERR_INTERNAL', `the index writer thread stopped: ${err.message}`));
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit ${code}`)));
    w.unref();
    worker = w;
    return w;
  }

  return {
    run(op) {
      const w = thread();
      const seq = nextSeq++;
      return new Promise<void>((resolve, reject) => {
        pending.set(seq, { resolve, reject });
        w.ref();
        w.postMessage({ ...op, seq });
      });
    },
    stageKey: () => nextKey++,
    async close() {
      const w = worker;
      if (!w) return;
      await this.run({ op: 'closeAll' }).catch(() => undefined);
      worker = undefined;
      await w.terminate();
    },
  };
}
