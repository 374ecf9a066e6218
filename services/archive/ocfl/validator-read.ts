import { digestBuffer, readAll, type BlobStore, type DigestAlgorithm } from '../blob-store.ts';
import { digestReadable } from '../hash-thread.ts';

/**
 * How the validator reads what it checks: small files whole, content by digest. Hashing goes through the
 * project's one hashing path (hash-thread.ts): a blob is read once for every algorithm wanted of it and hashed by
 * `digestReadable` (on the hashing thread past 1 MiB, so reading the next bytes overlaps hashing the last ones; the
 * bytes go nowhere else, so no `HashingStream` passes them on); bytes in memory go to `digestBuffer`.
 */
export type TreeReader = Pick<BlobStore, 'list' | 'get' | 'listChildren'>;

/** The blob at `key`, or undefined when it cannot be read. */
export async function readText(tree: TreeReader, key: string): Promise<Buffer | undefined> {
  try {
    return await readAll(await tree.get(key));
  } catch {
    return undefined;
  }
}

/**
 * Names are node crypto's (FIXITY_ALGORITHMS). `DigestAlgorithm` lists only the store's own algorithms; the
 * hashing path hands any name to `createHash` as it is, so the fixity-only ones (blake2b512, sha512-256) go
 * through it too.
 */
const asDigestAlgorithms = (names: readonly string[]) => names as readonly DigestAlgorithm[];

/** The hex digests of the blob at `key`, by node algorithm name, from one read. */
export async function digestsOfBlob(
  tree: TreeReader,
  key: string,
  algorithms: readonly string[],
): Promise<Record<string, string>> {
  return await digestReadable(await tree.get(key), asDigestAlgorithms(algorithms));
}

/** The hex digest of bytes in memory (an inventory, for its sidecar). */
export function digestOfBytes(bytes: Buffer, algorithm: string): string {
  return (digestBuffer(bytes, asDigestAlgorithms([algorithm])) as Record<string, string>)[algorithm]!;
}
