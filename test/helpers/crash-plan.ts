import { createHash } from 'node:crypto';

export const CRASH_OBJECT = 'urn:ciku:test:crash-object';

/** Deterministic content of version n: a ~1.5 MB file that changes every version, a note, and a file that comes and goes. */
export function expectedFiles(n: number): Record<string, Buffer> {
  const seed = createHash('sha512').update(`v${n}`).digest();
  const big = Buffer.alloc(1536 * 1024 + n);
  for (let i = 0; i < big.length; i += seed.length) seed.copy(big, i);
  const files: Record<string, Buffer> = {
    'data/big.bin': big,
    'data/说明.txt': Buffer.from(`版本 ${n}\n`),
    'data/constant.txt': Buffer.from('unchanged in every version\n'),
  };
  if (n % 2 === 0) files[`data/even-${n}.txt`] = Buffer.from(`even ${n}`);
  return files;
}
