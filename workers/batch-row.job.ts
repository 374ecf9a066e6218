import { withoutServerPaths } from '../services/batch/drop-folder.ts';
import { ingestRow } from '../services/batch/ingest-row.ts';
import { CikuError, errnoCode, isCikuError } from '../services/errors.ts';
import type { JobDeps } from './job-deps.ts';
import { needBatches } from './job-deps.ts';
import type { Handler } from './registry.ts';

/** Faults that retrying the same row cannot fix: the row is reported failed with the reason, the batch goes on. */
const transientCodes = new Set([
  'CIKU_ERR_LOCK_TIMEOUT',
  'CIKU_ERR_LOCK_LOST',
  'CIKU_ERR_UNAVAILABLE',
  'CIKU_ERR_INTERNAL',
]);
function isRowFault(err: unknown): boolean {
  if (isCikuError(err)) return !transientCodes.has(err.code);
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR';
}

/**
 * One batch row: ingest idempotently under the batch's recorded principal, inside its recorded source folder, and
 * record the outcome (exactly once per row, whatever retries happen). A batch that recorded no principal runs no
 * row (fails closed).
 */
export function batchRow(deps: JobDeps): Handler<'batch-row'> {
  return async ({ batchId, row }) => {
    const batches = needBatches(deps);
    const by = await batches.by(batchId);
    const agent = { name: `batch:${by}`, address: `urn:ciku:agent:batch:${encodeURIComponent(by)}` };
    let root: string | undefined;
    try {
      const ctx = await batches.context(batchId);
      root = ctx?.root;
      if (ctx === undefined)
        throw new CikuError(
          'CIKU_ERR_FORBIDDEN',
          `batch ${batchId} records no principal: its rows are not run`,
        );
      const r = await ingestRow(deps, batchId, row, { agent, principal: ctx.principal, root: ctx.root });
      await batches.record(batchId, {
        row: row.row,
        status: r.status,
        item: r.item,
        version: r.version,
        bytes: r.bytes,
        // Kept, with a warning (bytes no signature identifies): the report says so on the row.
        ...(r.warning === undefined ? {} : { reason: r.warning }),
      });
      return {
        status: r.status === 'skipped' ? 'skipped' : 'done',
        detail: `${r.status} ${r.item} ${r.version}`,
      };
    } catch (err) {
      if (!isRowFault(err)) throw err;
      // The report is the caller's: a system error's message (ENOENT, EACCES…) names the server path it failed on.
      const reason = withoutServerPaths((err as Error).message, root);
      await batches.record(batchId, { row: row.row, status: 'failed', item: row.id, reason });
      return { status: 'done', detail: `row failed: ${reason}` };
    }
  };
}

/** The batch flow's parent: every row job has ended; fill in rows whose job failed for good, write the report. */
export function batchFinish(deps: JobDeps): Handler<'batch-finish'> {
  return async ({ batchId }) => {
    const v = await needBatches(deps).finish(batchId);
    deps.logger.info({ batch: batchId, counts: v.counts }, 'batch finished');
    return { status: 'done', detail: JSON.stringify(v.counts) };
  };
}
