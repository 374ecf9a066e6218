import type { BatchView, StartBatchBodyT } from '../../schemas/batch.ts';
import { isStaff, type Principal } from '../archive/access.ts';
import { mayBatch, type Batches } from '../batch/batches.ts';
import { resolveSource, shownPath, sourceRootFor } from '../batch/drop-folder.ts';
import { CikuError } from '../errors.ts';
import { agentOf } from './agent.ts';

/**
 * Batches for a caller: a source is resolved inside the caller's part of the drop folder (a contributor's is its
 * organisation's, `organisations/<organisation>/`, see services/batch/drop-folder.ts) and may not climb out or
 * follow a link out; the batch acts for the caller (its role and organisation are recorded with it), so every row
 * is decided as the API would decide that caller's write. A contributor's batch belongs to its organisation, and
 * only that organisation's contributors (and staff) can see it. Server paths stay on the server: a source is
 * shown relative to the caller's folder.
 */
export function createBatchService(deps: { batches?: Batches; dropDir?: string }) {
  const { batches, dropDir } = deps;

  async function shown(p: Principal, v: BatchView): Promise<BatchView> {
    const root = dropDir === undefined ? undefined : await sourceRootFor(dropDir, p).catch(() => undefined);
    return { ...v, source: { ...v.source, path: shownPath(root, v.source.path) } };
  }

  /** Starts (or, for a dry run, plans) a batch; 503 CIKU_ERR_UNAVAILABLE when too many plans wait here. */
  async function start(p: Principal, body: StartBatchBodyT): Promise<BatchView> {
    if (p.role === 'anonymous') throw new CikuError('CIKU_ERR_AUTH_INVALID', 'batches need an API key');
    if (!mayBatch(p) || !batches || dropDir === undefined)
      throw new CikuError('CIKU_ERR_FORBIDDEN', 'your key may not start batches');
    const { real, root } = await resolveSource(dropDir, p, body.source);
    const { view } = await batches.start(real, {
      by: agentOf(p).name,
      principal: p,
      within: root,
      ...(body.dry_run ? { dryRun: true } : {}),
      ...(body.kind === undefined ? {} : { kind: body.kind }),
      ...(body.access === undefined ? {} : { access: body.access }),
      ...(body.mapping === undefined ? {} : { mapping: body.mapping }),
    });
    return shown(p, view);
  }

  /** A batch the caller may see; any other answers as a missing one. */
  async function view(p: Principal, id: string): Promise<BatchView> {
    const hidden = new CikuError('CIKU_ERR_BATCH_NOT_FOUND', `no batch ${id}`);
    if (!batches || !mayBatch(p)) throw hidden;
    const v = await batches.view(id);
    if (!isStaff(p)) {
      const ctx = await batches.context(id);
      const ours =
        ctx !== undefined
          ? ctx.principal.role === 'contributor' && ctx.principal.organisation === p.organisation
          : v.by === agentOf(p).name; // a batch from before principals were recorded: its own key's only
      if (!ours || p.organisation === undefined) throw hidden;
    }
    return shown(p, v);
  }

  /** The per-row report (CSV) of a batch the caller may see. */
  async function report(p: Principal, id: string): Promise<{ id: string; csv: string }> {
    const v = await view(p, id);
    return { id: v.id, csv: await batches!.reportCsv(v.id) };
  }

  return { start, view, report };
}

export type BatchService = ReturnType<typeof createBatchService>;
