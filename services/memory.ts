/**
 * Frees the Buffers a byte stream leaves behind, as it goes.
 *
 * Every network read of an upload arrives as a new Buffer (64 KiB from Node's HTTP parser), allocated outside the
 * V8 heap. Once hashed and written it is garbage, but V8 notices only a small JS object per Buffer: the young
 * generation fills slowly, so the backing stores pile up until the external-memory limit forces a full
 * mark-compact of the whole heap, every ~32 MiB streamed. That costs RSS (the dead Buffers) and time (a full
 * collection is far dearer than a young one, and a process that has searched carries a larger old generation).
 * A young-generation collection frees dead young Buffers just as well and costs well under a millisecond on our
 * 2 MiB semi-space, so one is run every `STREAMED_PER_COLLECTION` bytes that pass through a stored stream (the
 * `HashingStream` every put goes through, whatever its route: PUT, multipart, tus, batch, core) or a download
 * (`withYoungGcPacing`, in the API's one byte-sending path).
 *
 * This needs the `gc` function, which `--expose-gc` (in the project's Node flags: services/node-flags.ts) gives;
 * without it nothing is done and V8 keeps its own pace.
 *
 * Measured on a `ciku serve` process, 1 GiB PUTs with curl, its RSS sampled every 20 ms (same session, 2 runs each):
 * upload peak RSS over idle +33–36 → +16–22 MiB; after a search (analyzers loaded) 184–188 → 152–163 MiB.
 */
import { pipeline, Transform, type Readable } from 'node:stream';

type Gc = (options: { type: 'minor' | 'major'; execution: 'sync' }) => void;

export const STREAMED_PER_COLLECTION = 4 * 1024 * 1024;

const gc = (globalThis as { gc?: Gc }).gc;
let streamed = 0;

/** Counts `bytes` streamed through this process; runs a young-generation collection every few MiB. */
export function noteStreamed(bytes: number): void {
  if (gc === undefined) return;
  streamed += bytes;
  if (streamed < STREAMED_PER_COLLECTION) return;
  streamed = 0;
  gc({ type: 'minor', execution: 'sync' });
}

/**
 * `source` with each chunk counted by `noteStreamed` on its way out (a download: a file stream's 1 MiB reads are
 * as short-lived as an upload's pieces). Errors and an early destroy (a client that goes away) pass through both
 * ways. Without `gc` the source itself is returned.
 */
export function withYoungGcPacing(source: Readable): Readable {
  if (gc === undefined) return source;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      noteStreamed(chunk.length);
      done(null, chunk);
    },
  });
  return pipeline(source, counter, () => undefined);
}

/**
 * Runs `load` (something that makes a lasting step up in the process's memory: the search analyzers' ~50 MiB of
 * dictionaries, loaded on a server's first search) between two full collections: the garbage of earlier work is
 * cleared before the step, so the two do not add up to a peak, and the loader's own scratch after it. Two
 * collections of a heap of ~50 MiB, once in the life of a process: tens of milliseconds.
 */
export function loadCompacted<T>(load: () => T): T {
  gc?.({ type: 'major', execution: 'sync' });
  const loaded = load();
  gc?.({ type: 'major', execution: 'sync' });
  return loaded;
}
