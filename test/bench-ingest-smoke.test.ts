import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { serverNodeFlags } from '../services/node-flags.ts';
import { projectRoot, tempDir } from './helpers/env.ts';

/**
 * `npm run bench:ingest` at toy sizes: not a measurement (its figures are not checked against the goals), only that
 * the script the performance goals are judged by still runs end to end — both sides, every round, the
 * after-search phase — and writes the result it documents. Its timings are whatever this machine gives.
 */
t.test('bench:ingest runs at toy sizes and writes its documented result', async (t) => {
  const out = path.join(tempDir(t), 'ingest.json');
  const run = spawnSync(
    process.execPath,
    [
      ...serverNodeFlags,
      '--import',
      'tsx',
      'scripts/bench/bench-ingest.ts',
      '--large-mib=4',
      '--small-count=12',
      '--small-kib=16',
      '--clients=3',
      '--repeat=1',
      '--large-repeat=3',
      '--settle-s=0',
      `--out=${out}`,
    ],
    { cwd: projectRoot, encoding: 'utf8', timeout: 180_000 },
  );
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /bench:ingest — API/);
  const result = JSON.parse(fs.readFileSync(out, 'utf8')) as {
    largeRepeat: number;
    repeat: number;
    rows: { workload: string; ratio: number; 'median ratio': number; runs: number; goal: number }[];
    runs: { round: number; workload: string; side: string; seconds: number }[];
    peakServerRssBytes: number;
    peakServerRssAfterSearchBytes: number;
  };
  t.equal(result.largeRepeat, 3);
  t.same(
    result.runs.map((r) => `${r.round}:${r.workload}/${r.side}`),
    [
      '0:large/core',
      '0:large/api',
      '1:large/api',
      '1:large/core',
      '2:large/core',
      '2:large/api',
      '0:small/core',
      '0:small/api',
    ],
    'large rounds in ABBA order first, then the small ones',
  );
  t.ok(
    result.runs.every((r) => r.seconds > 0),
    'every run timed',
  );
  t.same(
    result.rows.map((r) => [r.runs, r.goal]),
    [
      [3, 0.85],
      [1, 0.6],
    ],
  );
  for (const row of result.rows) {
    t.ok(row.ratio > 0 && Number.isFinite(row.ratio), `${row.workload}: a ratio`);
    t.ok(row['median ratio'] > 0 && Number.isFinite(row['median ratio']), `${row.workload}: a median ratio`);
  }
  t.ok(result.peakServerRssBytes > 0 && result.peakServerRssAfterSearchBytes > 0, 'server RSS sampled');
});
