import { Collector, report, type ValidationReport } from './validator-codes.ts';
import { checkObject } from './validator-object.ts';
import type { TreeReader } from './validator-read.ts';
import { checkStorageRoot, type StorageRootOptions } from './validator-root.ts';

/**
 * An OCFL 1.1 validator for objects and storage roots on any BlobStore. Findings carry the spec's validation codes
 * (https://ocfl.io/1.1/spec/validation-codes.html): E… for a MUST broken, W… for a SHOULD.
 *
 * The checks live beside this module: the codes and findings (validator-codes.ts), reading and hashing
 * (validator-read.ts), one inventory (validator-inventory.ts), one object (validator-object.ts) and a storage root
 * (validator-root.ts).
 */
export type { Finding, ValidationReport } from './validator-codes.ts';
export type { TreeReader } from './validator-read.ts';

/**
 * Validates one object whose root is at `prefix` ('' or ending in '/') in `tree`. `checkDigests: false` skips
 * re-reading content (structure and inventories only).
 */
export async function validateObject(
  tree: TreeReader,
  prefix: string,
  options: { checkDigests?: boolean; expectedId?: string } = {},
): Promise<ValidationReport> {
  const out = new Collector();
  await checkObject(tree, prefix, out, options);
  return report(out, 1);
}

/**
 * Validates a storage root at `prefix`: its declaration and layout, every object under it (found by walking the
 * hierarchy to the folders that hold an object declaration), and — for the 0004 layout — that each object sits
 * at the path its id maps to.
 */
export async function validateStorageRoot(
  tree: TreeReader,
  prefix: string,
  options: StorageRootOptions = {},
): Promise<ValidationReport> {
  const out = new Collector();
  const objects = await checkStorageRoot(tree, prefix, out, options);
  return report(out, objects);
}

/** Decides whether `prefix` holds an object root or a storage root, by its declaration files. */
export async function detectOcfl(
  tree: TreeReader,
  prefix: string,
): Promise<'object' | 'storage-root' | undefined> {
  for await (const c of tree.listChildren(prefix)) {
    if (c.isPrefix) continue;
    if (c.name.startsWith('0=ocfl_object_')) return 'object';
    if (c.name.startsWith('0=ocfl_')) return 'storage-root';
  }
  return undefined;
}
