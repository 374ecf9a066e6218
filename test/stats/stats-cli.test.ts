import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { StatsAnswer } from '../../services/stats/stats.ts';
import { skipUnlessChromium } from '../helpers/browser.ts';
import { projectRoot, REDIS_URL, tempDir, testRedis } from '../helpers/env.ts';

/** `ciku stats`: JSON and CSV, the yearly snapshot kept once (and what deletions then leave of it), the PDF. */

const prefix = `${testRedis(t).prefix}cli`;

function ciku(dataDir: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/ciku.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL, CIKU_QUEUE_PREFIX: prefix, CIKU_DATA_DIR: dataDir },
    timeout: 120_000,
  });
  t.equal(r.status, 0, `ciku ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

t.test('ciku stats prints, snapshots once a year, and prints the report to PDF', async (t) => {
  const dataDir = tempDir(t, 'ciku-stats-cli-');
  const year = new Date().getUTCFullYear();
  for (const id of ['doc-1', 'doc-2'])
    ciku(dataDir, [
      'ingest',
      '--kind',
      'archive_document',
      '--title',
      id,
      '--id',
      id,
      '--metadata',
      '{"series":"非遗","year":1990}',
      path.join(projectRoot, 'package.json'),
    ]);
  const csv = ciku(dataDir, ['stats', '--format', 'csv']);
  t.match(csv, /\r\n# documents_by_series\r\nseries,documents\r\n四有档案,0\r\n文物普查,0\r\n非遗,2\r\n/);
  const json = JSON.parse(ciku(dataDir, ['stats', '--as', 'admin'])) as StatsAnswer;
  t.same(json.tables.find((x) => x.id === 'documents_by_year')?.rows, [[1990, 2]]);
  t.same(json.tables.find((x) => x.id === 'snapshots_by_year')?.rows, [], 'no snapshot yet');

  t.match(
    ciku(dataDir, ['stats', '--snapshot', '--year', String(year)]),
    /^snapshot of \d{4} written to stats\/snapshots\/\d{4}\.json\n$/,
  );
  t.match(ciku(dataDir, ['stats', '--snapshot', '--year', String(year)]), /is kept already/);
  const withSnapshot = JSON.parse(ciku(dataDir, ['stats', '--as', 'admin'])) as StatsAnswer;
  const bytes = fs.statSync(path.join(projectRoot, 'package.json')).size * 2;
  t.same(withSnapshot.tables.find((x) => x.id === 'snapshots_by_year')?.rows, [[year, 2, 2, bytes]]);
  const anonymous = JSON.parse(ciku(dataDir, ['stats', '--as', 'anonymous'])) as StatsAnswer;
  t.notOk(
    anonymous.tables.some((x) => x.id === 'snapshots_by_year'),
    'totals over every item are for staff',
  );

  const skip = skipUnlessChromium();
  if (skip === false) {
    const file = path.join(tempDir(t), 'report.pdf');
    t.match(ciku(dataDir, ['stats', '--pdf', file, '--year', String(year)]), /^written .+report\.pdf/);
    t.equal(fs.readFileSync(file).subarray(0, 5).toString(), '%PDF-');
  } else t.comment(skip);
});
