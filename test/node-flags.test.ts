import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { serverNodeFlags } from '../services/node-flags.ts';
import { projectRoot } from './helpers/env.ts';

/**
 * The Node flags run before any of our code can read services/node-flags.ts, so they are spelled out where a
 * process starts. This keeps every spelling equal to the list (a flag added in one place only would leave the
 * others' processes without it, silently: e.g. no `--expose-gc`, so no paced collections).
 */
const read = (file: string) => readFileSync(path.join(projectRoot, file), 'utf8');
const flagsIn = (line: string) => line.split(/\s+/).filter((w) => w.startsWith('--'));
const pkg = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  tap: { 'node-arg': string[] };
};

t.test('bin/ciku.js’s shebang runs node with exactly the server flags', async (t) => {
  const shebang = read('bin/ciku.js').split('\n')[0]!;
  t.match(shebang, /^#!\/usr\/bin\/env -S MALLOC_ARENA_MAX=2 node /);
  t.same(flagsIn(shebang), [...serverNodeFlags]);
});

t.test('npm start and the Dockerfile start through bin/ciku.js (so through its shebang)', async (t) => {
  t.match(pkg.scripts.start, /(^|&& )\.\/bin\/ciku\.js start$/);
  t.notMatch(pkg.scripts.start, /\bnode\b/, 'not through a bare node, which would drop the flags');
  const entry = /^ENTRYPOINT (.*)$/m.exec(read('Dockerfile'))?.[1];
  t.same(JSON.parse(entry ?? 'null'), ['/app/bin/ciku.js']);
});

t.test(
  'bench:ingest runs its in-process core side with the same flags as the server it compares with',
  async (t) => {
    const cmd = pkg.scripts['bench:ingest']!.split('&&').find((c) => c.includes('bench-ingest.ts'))!;
    t.same(
      flagsIn(cmd).filter((f) => !f.startsWith('--import')),
      [...serverNodeFlags],
    );
  },
);

t.test('tap runs the tests with --expose-gc (the paced-collection tests need it)', async (t) => {
  t.ok(pkg.tap['node-arg'].includes('--expose-gc'));
});
