import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { projectRoot } from './helpers/env.ts';

/**
 * 256 MiB of fresh 64 KiB Buffers (what an HTTP upload body is) through the HashingStream every put uses, and
 * through the paced stream every download is sent with, in a child process: the most ArrayBuffer memory alive
 * after any chunk. With --expose-gc (the project's flags) the paced young collections keep the dead Buffers down to
 * a few MiB; without it V8 lets them pile up to its external-memory limit (32 MiB). Not a timing: collections are
 * driven by allocation, not by the clock.
 */
const MiB = 1024 * 1024;
const BOUND = 16 * MiB;
const child = path.join(projectRoot, 'test/helpers/paced-child.ts');

function run(mode: string, flags: string[]): string {
  const out = spawnSync(
    process.execPath,
    [...flags, '--max-semi-space-size=2', '--import=tsx', child, mode],
    {
      cwd: projectRoot,
      encoding: 'utf8',
    },
  );
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stdout;
}

for (const mode of ['upload', 'download']) {
  t.test(`a long ${mode} leaves few dead Buffers behind when collections are paced`, async (t) => {
    const paced = Number(run(mode, ['--expose-gc']));
    const unpaced = Number(run(mode, []));
    t.comment(
      `peak ArrayBuffers: paced ${(paced / MiB).toFixed(1)} MiB, V8 alone ${(unpaced / MiB).toFixed(1)} MiB`,
    );
    // The bound sits between the two behaviours with room on both sides: paced runs measured 4–8 MiB (V8 frees the
    // dead backing stores on a background thread, so the figure varies), V8 alone 32–36 MiB.
    t.ok(paced < BOUND, `paced peak ${(paced / MiB).toFixed(1)} MiB < 16 MiB`);
    t.ok(
      unpaced > BOUND,
      `without pacing the same stream keeps more: ${(unpaced / MiB).toFixed(1)} MiB > 16 MiB`,
    );
  });
}

t.test('a paced download passes errors and an early destroy through', async (t) => {
  t.same(JSON.parse(run('errors', ['--expose-gc'])), { error: 'disk gone', sourceDestroyed: true });
});
