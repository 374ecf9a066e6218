/**
 * Run by test/memory.test.ts in a child process (with and without --expose-gc): streams 256 MiB of fresh 64 KiB
 * Buffers through the stage named by argv[2] and prints the most ArrayBuffer memory alive after any chunk; or,
 * for `errors`, prints how withYoungGcPacing passes a source's error and a consumer's destroy through.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream } from '../../services/archive/blob-store.ts';
import { withYoungGcPacing } from '../../services/memory.ts';

function source(chunks: number): Readable {
  let n = 0;
  return new Readable({
    read() {
      if (n++ === chunks) return this.push(null);
      const b = Buffer.alloc(65536);
      b[0] = n & 255;
      this.push(b);
    },
  });
}

const mode = process.argv[2];
if (mode === 'errors') {
  const failing = new Readable({ read() {} });
  const paced = withYoungGcPacing(failing);
  const error = new Promise<string>((resolve) => paced.on('error', (e) => resolve(e.message)));
  failing.destroy(new Error('disk gone'));
  const abandoned = source(10);
  const out = withYoungGcPacing(abandoned);
  out.destroy();
  await new Promise((r) => setImmediate(r));
  process.stdout.write(JSON.stringify({ error: await error, sourceDestroyed: abandoned.destroyed }));
} else {
  let peak = 0;
  const sink = new Writable({
    write(_chunk, _enc, done) {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      done();
    },
  });
  const chunks = 4096;
  if (mode === 'upload') await pipeline(source(chunks), new HashingStream(['sha512']), sink);
  else await pipeline(withYoungGcPacing(source(chunks)), sink);
  process.stdout.write(String(peak));
}
