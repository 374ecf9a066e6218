import { createHash } from 'node:crypto';

/**
 * OCFL storage layout extension 0004-hashed-n-tuple-storage-layout with its defaults (sha256, 3 tuples of 3):
 * `object-01` → `3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4`.
 */
export const LAYOUT_EXTENSION = '0004-hashed-n-tuple-storage-layout';

export const layoutConfig = {
  extensionName: LAYOUT_EXTENSION,
  digestAlgorithm: 'sha256',
  tupleSize: 3,
  numberOfTuples: 3,
  shortObjectRoot: false,
} as const;

export function objectPathFor(id: string): string {
  const digest = createHash(layoutConfig.digestAlgorithm).update(id, 'utf8').digest('hex');
  const tuples: string[] = [];
  for (let i = 0; i < layoutConfig.numberOfTuples; i += 1) {
    tuples.push(digest.slice(i * layoutConfig.tupleSize, (i + 1) * layoutConfig.tupleSize));
  }
  return [...tuples, digest].join('/');
}

export const layoutDocument = {
  extension: LAYOUT_EXTENSION,
  description:
    'Hashed N-tuple storage layout: the sha256 of the object id split into 3 tuples of 3 hex characters, then the full digest as the object root.',
};
