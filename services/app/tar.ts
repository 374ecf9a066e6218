import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * A folder as a POSIX tar stream (pax extended headers carry every path, so UTF-8 names of any length survive),
 * read file by file: what `GET /v1/items/:id/package` sends a bag as. Written here because no tar writer is a
 * dependency; the format is a 512-byte header per entry, the bytes padded to 512, and two zero blocks.
 */
const BLOCK = 512;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, type: '0' | '5' | 'x', mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  // The ustar name is a placeholder (ASCII, ≤ 100 bytes): the pax header before it holds the real path.
  h.write(
    Buffer.from(name)
      .subarray(0, 99)
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '_'),
    0,
    'latin1',
  );
  h.write(octal(type === '5' ? 0o755 : 0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(mtime, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

const pad = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** Every file and folder under `dir`, as `prefix/…` entries in sorted order. */
export async function* tarFolder(dir: string, prefix: string): AsyncGenerator<Buffer> {
  const mtime = Math.floor(Date.now() / 1000);
  async function* walk(rel: string): AsyncGenerator<Buffer> {
    const entries = (await fs.readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const e of entries) {
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      const name = `${prefix}/${childRel}${e.isDirectory() ? '/' : ''}`;
      const full = path.join(dir, childRel);
      const size = e.isDirectory() ? 0 : (await fs.stat(full)).size;
      const pax = paxRecord('path', name);
      yield header('pax', pax.length, 'x', mtime);
      yield Buffer.concat([pax, pad(pax.length)]);
      yield header(name, size, e.isDirectory() ? '5' : '0', mtime);
      if (e.isDirectory()) yield* walk(childRel);
      else {
        for await (const chunk of createReadStream(full, { highWaterMark: 256 * 1024 }))
          yield chunk as Buffer;
        yield pad(size);
      }
    }
  }
  yield* walk('');
  yield Buffer.alloc(BLOCK * 2);
}
