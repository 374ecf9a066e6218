import t from 'tap';
import type { StatsAnswer } from '../../services/stats/answer.ts';
import { readSnapshot } from '../../services/stats/snapshots.ts';
import { createLogger } from '../../services/adapters/logger.ts';
import { statsSnapshot } from '../../workers/scheduled.job.ts';
import type { JobDeps } from '../../workers/job-deps.ts';
import { openAdapter } from '../helpers/env.ts';

t.test('the scheduled snapshot keeps the year just ended, once', async (t) => {
  const blobs = await openAdapter(t, 'fs');
  const asked: { role: string; year?: string }[] = [];
  const compute = (principal: { role: string }, options: { year?: string } = {}) => {
    asked.push({ role: principal.role, ...options });
    return Promise.resolve({
      scope: 'all',
      year: Number(options.year),
      tables: [],
    } as unknown as StatsAnswer);
  };
  const deps = { blobs, stats: { compute }, logger: createLogger('silent') } as unknown as JobDeps;
  const ctx = {} as Parameters<ReturnType<typeof statsSnapshot>>[1];
  const lastYear = new Date().getUTCFullYear() - 1;

  t.match(await statsSnapshot(deps)({}, ctx), { status: 'done' });
  t.same(asked, [{ role: 'admin', year: String(lastYear) }], "staff's statistics of the year just ended");
  t.equal((await readSnapshot(blobs, lastYear))?.year, lastYear, 'kept beside the objects');
  t.match(await statsSnapshot(deps)({}, ctx), { status: 'skipped' }, 'a second run keeps the first');
  t.match(await statsSnapshot(deps)({ year: 2020 }, ctx), { status: 'done' }, 'a year may be named');
  t.equal((await readSnapshot(blobs, 2020))?.year, 2020);
});
