import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { batchEnv } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

const ROWS = 300_000;

t.test(
  `a ${ROWS.toLocaleString('en')}-row CSV dry run is planned off the event loop: the loop turns at least once every 4 chunks of 500 rows`,
  async (t) => {
    const env = await batchEnv(t, { workers: false });
    const dir = tempDir(t);
    const lines = ['id,kind,title,creator,date'];
    for (let i = 1; i <= ROWS; i += 1)
      lines.push(`big-${i},archive_document,档案 ${i},景德镇市档案馆,2020-01-02`);
    fs.writeFileSync(path.join(dir, 'big.csv'), `${lines.join('\n')}\n`);

    // Event-loop turns, counted in the check phase, and the turn each progress report of the planner came in.
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns += 1;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const seen: { rows: number; turn: number }[] = [];
    const { view, plan } = await env.batches.start(path.join(dir, 'big.csv'), {
      by: 'test',
      dryRun: true,
      onPlanned: (rows) => seen.push({ rows, turn: turns }),
    });
    spinning = false;

    t.match(view, { status: 'dry-run', counts: { total: ROWS, failed: 0 } });
    t.equal(plan.rows.length, ROWS);
    t.equal(plan.rows[ROWS - 1]?.plan, undefined, 'a dry run carries no row plans back');
    t.equal(seen.length, ROWS / 500, 'rows came in chunks of 500 as they were planned');
    t.equal(seen.at(-1)?.rows, ROWS);
    const stalls = seen.filter((s, i) => i >= 4 && s.turn <= seen[i - 4]!.turn).length;
    t.equal(stalls, 0, 'no five chunks within one turn of the loop');
    t.ok(
      seen.at(-1)!.turn - seen[0]!.turn >= seen.length / 4 - 1,
      `the loop turned while planning (${seen.at(-1)!.turn - seen[0]!.turn} turns)`,
    );
  },
);
