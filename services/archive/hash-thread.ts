import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** The digests the archive computes (blob-store.ts re-exports them: its callers name them from there). */
export type DigestAlgorithm = 'sha512' | 'sha256' | 'sha1' | 'md5';
export type Digests = Partial<Record<DigestAlgorithm, string>>;

/**
 * Hashing of long streams on a worker thread, so that the event loop can receive the next bytes while the last
 * ones are hashed. On a 2-core machine a 1 GiB upload spent ~1.3 s of main-thread time in sha512 and ~0.6 s
 * receiving, one after the other; a bare HTTP server that hashes on a worker takes a 1 GiB PUT in 1.45–1.54 s
 * instead of 1.79–2.10 s (same session).
 *
 * Each stream's bytes are copied into 1 MiB buffers that travel to the worker and back (transferred, never
 * copied again, reused: no allocation per chunk), at most `IN_FLIGHT` at a time per stream; when all are out, the
 * stream waits for one to come back (backpressure, so memory stays flat however fast the bytes arrive). A stream
 * that ends before filling its first buffer never reaches the worker: it is hashed on the main thread, so small
 * files pay no round trip. One worker serves the whole process; it keeps the process alive only while a stream is
 * being hashed, and a crashed worker fails the streams it had (the next stream starts a new one).
 */
const BUFFER_BYTES = 1024 * 1024;
const IN_FLIGHT = 4;

/**
 * Buffers no stream holds, shared by all: a 1 MiB allocation is an mmap and its release a munmap, and a validator
 * or a fixity audit hashes thousands of small files one after another (each took a fresh buffer: 5–11% of
 * `ciku validate`). Bounded, so a burst of large streams does not stay allocated after it.
 */
const spare: Buffer[] = [];
const SPARE_MAX = 16;
const takeBuffer = (): Buffer => spare.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
const giveBack = (buf: Buffer | undefined): void => {
  if (buf !== undefined && buf.length === BUFFER_BYTES && spare.length < SPARE_MAX) spare.push(buf);
};

/** The digests of bytes already in memory, hex by algorithm, hashed here (also a short stream's, below). */
export function digestBuffer(buf: Buffer | string, algorithms: readonly DigestAlgorithm[]): Digests {
  const out: Digests = {};
  for (const a of new Set(algorithms)) out[a] = createHash(a).update(buf).digest('hex');
  return out;
}

/**
 * The digests of a stream whose bytes are wanted for nothing else (an audit, a validator): the same path as
 * `HashingStream` (blob-store.ts), without a Transform and a pipeline per blob — over 700 files of 20 KB those cost
 * 1.2–1.7× the hashing itself. Reading waits while the hashing thread has all of this stream's buffers.
 */
export async function digestReadable(
  source: AsyncIterable<Uint8Array>,
  algorithms: readonly DigestAlgorithm[],
): Promise<Digests> {
  const hash = new ThreadHash([...new Set(algorithms)]);
  try {
    for await (const chunk of source) {
      const wait = hash.update(chunk);
      if (wait) await wait;
    }
    return await hash.digests();
  } finally {
    hash.close();
  }
}

/** The worker: a hash per open stream, updated with each buffer, which is sent straight back. CommonJS, eval'd. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'open') streams.set(m.id, m.algorithms.map((a) => createHash(a)));
  else if (m.op === 'update') {
    const hashes = streams.get(m.id);
    if (hashes) {
      const bytes = new Uint8Array(m.buffer, 0, m.length);
      for (const h of hashes) h.update(bytes);
    }
    parentPort.postMessage({ op: 'ack', id: m.id, buffer: m.buffer }, [m.buffer]);
  } else if (m.op === 'digest') {
    const hashes = streams.get(m.id);
    streams.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: hashes.map((h) => h.digest('hex')) });
  } else if (m.op === 'close') streams.delete(m.id);
});
`;

type Reply = { op: 'ack'; id: number; buffer: ArrayBuffer } | { op: 'digest'; id: number; hex: string[] };

let worker: Worker | undefined;
const open = new Map<number, ThreadHash>();
let nextId = 1;

function theWorker(): Worker {
  if (worker) return worker;
  // No inherited Node options: the worker needs neither a loader (tsx in development) nor an --input-type that
  // would make its CommonJS source a module. (V8 flags are the process's own and apply to it anyway.)
  const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  w.on('message', (m: Reply) => open.get(m.id)?.receive(m));
  const fail = (err: Error): void => {
    if (worker === w) worker = undefined;
    for (const s of [...open.values()]) if (s.worker === w) s.fail(err);
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
  worker = w;
  return w;
}

/** Ends the hashing thread (streams it was hashing fail; the next stream starts a new one). For tests. */
export async function stopHashThread(): Promise<void> {
  const w = worker;
  if (w) await w.terminate();
}

/** Streams whose bytes are on the hashing thread now. */
export function threadHashesOpen(): number {
  return open.size;
}

/**
 * Keeps the process alive while streams are being hashed, and not otherwise. Every open stream is the current
 * worker's: a dead worker's streams are failed (and so removed) as it dies.
 */
function track(s: ThreadHash, opened: boolean): void {
  if (opened) open.set(s.id, s);
  else open.delete(s.id);
  if (open.size > 0) worker?.ref();
  else worker?.unref();
}

/** One stream's digests: `update` with every chunk (await its answer when it gives one), then `digests`. */
export class ThreadHash {
  readonly id = nextId++;
  worker: Worker | undefined;
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  private inFlight = 0;
  private error: Error | undefined;
  private waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private result: { resolve: (d: Digests) => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly algorithms: readonly DigestAlgorithm[]) {}

  /** Takes a copy of `chunk`; answers a promise when the stream must wait for a buffer to come back. */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    for (let off = 0; off < chunk.length;) {
      this.current ??= this.free.pop() ?? takeBuffer();
      const n = Math.min(chunk.length - off, BUFFER_BYTES - this.used);
      this.current.set(chunk.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === BUFFER_BYTES) this.post();
    }
    if (this.inFlight < IN_FLIGHT) return undefined;
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** The digests of everything updated, hex by algorithm. */
  digests(): Promise<Digests> {
    if (this.error) return Promise.reject(this.error);
    if (!this.worker) {
      // Never reached the worker: a short stream, hashed here.
      const out = digestBuffer(this.current?.subarray(0, this.used) ?? Buffer.alloc(0), this.algorithms);
      giveBack(this.current);
      this.current = undefined;
      return Promise.resolve(out);
    }
    if (this.used > 0) this.post();
    this.worker.postMessage({ op: 'digest', id: this.id });
    return new Promise((resolve, reject) => (this.result = { resolve, reject }));
  }

  /** Stops hashing (the stream failed): the worker forgets it. */
  close(): void {
    if (this.worker && open.has(this.id)) this.worker.postMessage({ op: 'close', id: this.id });
    track(this, false);
    if (!this.worker) giveBack(this.current);
    this.current = undefined;
  }

  receive(m: Reply): void {
    if (m.op === 'ack') {
      this.inFlight -= 1;
      const back = Buffer.from(m.buffer);
      if (this.free.length < IN_FLIGHT) this.free.push(back);
      else giveBack(back);
      if (this.inFlight < IN_FLIGHT) for (const w of this.waiting.splice(0)) w.resolve();
      return;
    }
    track(this, false);
    for (const buf of this.free.splice(0)) giveBack(buf);
    const out: Digests = {};
    this.algorithms.forEach((a, i) => (out[a] = m.hex[i]!));
    this.result?.resolve(out);
  }

  fail(err: Error): void {
    this.error = err;
    track(this, false);
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.result?.reject(err);
  }

  private post(): void {
    if (!this.worker) {
      this.worker = theWorker();
      track(this, true);
      this.worker.postMessage({ op: 'open', id: this.id, algorithms: this.algorithms });
    }
    const buffer = this.current!.buffer as ArrayBuffer;
    this.worker.postMessage({ op: 'update', id: this.id, buffer, length: this.used }, [buffer]);
    this.current = undefined;
    this.used = 0;
    this.inFlight += 1;
  }
}
