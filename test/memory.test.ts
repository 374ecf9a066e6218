import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { projectRoot } from './helpers/env.ts';

/**
 * Streams 256 MiB of fresh 64 KiB Buffers (what an HTTP upload body is) through the HashingStream every put uses,
 * in a child process, and reports the most ArrayBuffer memory alive after any chunk. With --expose-gc (the
 * project's flags) the stream's paced young collections keep the dead Buffers down to a few MiB; without it V8 lets
 * them pile up to its external-memory limit. Not a timing: allocation-driven collection is deterministic.
 */
const script = `
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream } from ${JSON.stringify(path.join(projectRoot, 'services/archive/blob-store.ts'))};
let peak = 0;
let n = 0;
const source = new Readable({
  read() {
    if (n++ === 4096) return this.push(null);
    const b = Buffer.alloc(65536);
    b[0] = n & 255;
    this.push(b);
  },
});
const sink = new Writable({
  write(_chunk, _enc, done) {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    done();
  },
});
await pipeline(source, new HashingStream(['sha512']), sink);
process.stdout.write(String(peak));
`;

function peakArrayBuffers(flags: string[]): number {
  const out = spawnSync(
    process.execPath,
    [...flags, '--max-semi-space-size=2', '--import=tsx', '--input-type=module', '-e', script],
    { cwd: projectRoot, encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(out.stderr);
  return Number(out.stdout);
}

t.test('a long stream leaves few dead Buffers behind when collections are paced', async (t) => {
  const MiB = 1024 * 1024;
  const paced = peakArrayBuffers(['--expose-gc']);
  const unpaced = peakArrayBuffers([]);
  t.comment(
    `peak ArrayBuffer memory: paced ${(paced / MiB).toFixed(1)} MiB, V8 alone ${(unpaced / MiB).toFixed(1)} MiB`,
  );
  t.ok(paced < 8 * MiB, `paced peak ${(paced / MiB).toFixed(1)} MiB < 8 MiB`);
  t.ok(
    unpaced > 2 * paced,
    'without pacing the same stream keeps more than twice as much (the check measures something)',
  );
});
