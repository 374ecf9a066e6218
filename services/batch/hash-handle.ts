import type { FileHandle } from 'node:fs/promises';
import type { DigestAlgorithm } from '../archive/blob-store.ts';
import { ThreadHash } from '../archive/hash-thread.ts';

/**
 * One streaming pass over an opened file for every algorithm asked, read from the descriptor (never the path again:
 * see safe-open.ts). The hashing runs on the archive's hashing thread once the file passes 1 MiB, so per-byte CPU
 * stays off the event loop, as for uploads. Algorithms are Node's names (`md5`, `sha1`, `sha224` … `sha512`).
 */
export async function hashHandle(
  handle: FileHandle,
  algorithms: readonly string[],
): Promise<Map<string, string>> {
  const algs = [...new Set(algorithms)];
  // ThreadHash hands the names to node:crypto's createHash, which knows every BagIt algorithm, not only ours.
  const hash = new ThreadHash(algs as DigestAlgorithm[]);
  try {
    for await (const chunk of handle.createReadStream({
      start: 0,
      autoClose: false,
      highWaterMark: 1024 * 1024,
    })) {
      const wait = hash.update(chunk as Buffer);
      if (wait) await wait;
    }
    const digests = (await hash.digests()) as Record<string, string>;
    return new Map(algs.map((a) => [a, digests[a]!]));
  } finally {
    hash.close();
  }
}
