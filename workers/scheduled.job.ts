import { auditFixity } from '../services/archive/fixity.ts';
import { scanDropZone } from '../services/batch/drop-zone.ts';
import { writeSnapshot } from '../services/stats/snapshots.ts';
import { CikuError } from '../services/errors.ts';
import { needBatches, type JobDeps } from './job-deps.ts';
import type { Handler } from './registry.ts';

/** The fixity audit as a job (nightly by scheduler): one report, mismatches logged once as one warning. */
export function fixityAudit(deps: JobDeps): Handler<'fixity-audit'> {
  return async (p, ctx) => {
    if (!deps.ocfl || !deps.batchConfig)
      throw new CikuError(
        'CIKU_ERR_INTERNAL',
        'the fixity audit needs the OCFL store and batch settings wired in',
      );
    const report = await auditFixity(
      { ocfl: deps.ocfl, blobs: deps.blobs },
      {
        runId:
          p.runId ??
          `fx-${ctx.jobId
            .replace(/[^0-9a-z-]/gi, '')
            .toLowerCase()
            .slice(-40)}`,
        rateBytesPerSec: deps.batchConfig.fixityRateBytes,
        signal: ctx.signal,
      },
    );
    const summary = { run: report.run, objects: report.objects, files: report.files, bytes: report.bytes };
    if (report.findings.length > 0)
      deps.logger.warn(
        { ...summary, findings: report.findings },
        `fixity audit found ${report.findings.length} damaged or missing file(s)`,
      );
    else deps.logger.info(summary, 'fixity audit: every file matches');
    return {
      status: 'done',
      detail: `${report.ok}/${report.files} ok, ${report.findings.length} finding(s), run ${report.run}`,
    };
  };
}

/**
 * The drop-zone scan as a job (nightly by scheduler): new entries become batches, each once. Entries at the top of
 * the drop folder run as staff; those in `organisations/<name>/` as a contributor of that organisation (never as
 * staff), so a delivery folder can only create and change its own organisation's items (services/batch/drop-zone.ts).
 */
export function dropScan(deps: JobDeps): Handler<'drop-scan'> {
  return async () => {
    if (!deps.batchConfig)
      throw new CikuError('CIKU_ERR_INTERNAL', 'the drop-zone scan needs the batch settings');
    const r = await scanDropZone(
      { batches: needBatches(deps), blobs: deps.blobs },
      deps.batchConfig.dropDir,
      {
        settleMs: deps.batchConfig.settleMs,
      },
    );
    deps.logger.info(
      { dir: deps.batchConfig.dropDir, started: r.started, skipped: r.skipped.length },
      'drop zone scanned',
    );
    return {
      status: r.started.length > 0 ? 'done' : 'skipped',
      detail: `${r.started.length} batch(es) started`,
    };
  };
}

/**
 * The yearly statistics snapshot as a job (1 January by scheduler, `CIKU_STATS_SNAPSHOT_CRON`): the staff's whole
 * answer for the year just ended, kept once beside the OCFL objects (a second run, or `ciku stats --snapshot`
 * before it, keeps the first), so year-on-year growth survives later deletions.
 */
export function statsSnapshot(deps: JobDeps): Handler<'stats-snapshot'> {
  return async (p) => {
    if (!deps.stats)
      throw new CikuError('CIKU_ERR_INTERNAL', 'the statistics snapshot needs the statistics wired in');
    const year = p.year ?? new Date().getUTCFullYear() - 1;
    const answer = await deps.stats.compute({ role: 'admin' }, { year: String(year) });
    const r = await writeSnapshot(deps.blobs, answer);
    deps.logger.info({ year, key: r.key, written: r.written }, 'statistics snapshot');
    return r.written
      ? { status: 'done', detail: `snapshot of ${year} written to ${r.key}` }
      : { status: 'skipped', detail: `a snapshot of ${year} is kept already (${r.key})` };
  };
}
