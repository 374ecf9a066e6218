import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream, type DigestAlgorithm } from '../archive/blob-store.ts';

/**
 * One streaming pass over an opened file for every algorithm asked, read from the descriptor (never the path again:
 * see safe-open.ts), through the `HashingStream` every stored byte goes through: past 1 MiB the hashing runs on
 * the archive's hashing thread, so per-byte CPU stays off the event loop, as for uploads. Algorithms are Node's
 * names (`md5`, `sha1`, `sha224` … `sha512`).
 */
export async function hashHandle(
  handle: FileHandle,
  algorithms: readonly string[],
): Promise<Map<string, string>> {
  const algs = [...new Set(algorithms)];
  // The hashing thread hands the names to node:crypto's createHash, which knows every BagIt algorithm, not only ours.
  const hasher = new HashingStream(algs as DigestAlgorithm[]);
  await pipeline(
    handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 1024 * 1024 }),
    hasher,
    discard(),
  );
  const digests = hasher.digests() as Record<string, string>;
  return new Map(algs.map((a) => [a, digests[a]!]));
}

/** The end of a pipeline that is run for what it computes on the way. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}
