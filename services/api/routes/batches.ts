import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../../../schemas/api.ts';
import { BatchView, type BatchView as BatchViewT } from '../../../schemas/batch.ts';
import { Access } from '../../../schemas/item.ts';
import { CikuError, isCikuError } from '../../errors.ts';
import { isStaff, type Principal } from '../../archive/access.ts';
import { mayBatch } from '../../batch/batches.ts';
import { resolveSource, shownPath, sourceRootFor } from '../../batch/drop-folder.ts';
import { PLAN_RETRY_AFTER_SECONDS } from '../../batch/plan-thread.ts';
import { agentOf } from '../../app/agent.ts';
import type { AppDeps } from '../deps.ts';

const StartBody = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "a bag, a folder with a manifest, or a CSV / JSON-lines file: relative to the drop folder (admins, archivists) or to the organisation's folder in it, organisations/<organisation>/ (contributors)",
    }),
    dry_run: Type.Optional(Type.Boolean()),
    kind: Type.Optional(Type.String({ maxLength: 50 })),
    access: Type.Optional(Access),
    mapping: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/**
 * Batches over HTTP: `POST /v1/batches` starts one from a source in the server's drop folder (never an arbitrary
 * path: the name is resolved inside the caller's folder — a contributor's is its organisation's,
 * `organisations/<organisation>/`, see services/batch/drop-folder.ts — and may not climb out or follow a link
 * out), `GET /v1/batches/:id` gives the same counts as `ciku batch`, `/report` the per-row CSV. The batch acts for
 * the caller (its role and organisation are recorded with it): every row is decided as the API would decide that
 * caller's write. A contributor's batch belongs to its organisation (every row's access is forced to it), and only
 * that organisation's contributors (and admins/archivists) can see it.
 */
export function batchRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const batches = deps.batches;
    /** Server paths stay on the server: a source is shown relative to the caller's folder. */
    const shown = async (p: Principal, v: BatchViewT): Promise<BatchViewT> => {
      const root =
        deps.dropDir === undefined ? undefined : await sourceRootFor(deps.dropDir, p).catch(() => undefined);
      return { ...v, source: { ...v.source, path: shownPath(root, v.source.path) } };
    };
    const visible = async (p: Principal, id: string) => {
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
    };

    app.post(
      '/v1/batches',
      {
        schema: {
          tags: ['batches'],
          summary: 'Start a batch from a source in the drop folder',
          body: StartBody,
          response: { 202: BatchView, 200: BatchView, ...errorResponses },
        },
      },
      async (request, reply) => {
        const p = request.principal;
        if (p.role === 'anonymous') throw new CikuError('CIKU_ERR_AUTH_INVALID', 'batches need an API key');
        if (!mayBatch(p) || !batches || deps.dropDir === undefined)
          throw new CikuError('CIKU_ERR_FORBIDDEN', 'your key may not start batches');
        const { real, root } = await resolveSource(deps.dropDir, p, request.body.source);
        const { view } = await batches
          .start(real, {
            by: agentOf(p).name,
            principal: p,
            within: root,
            ...(request.body.dry_run ? { dryRun: true } : {}),
            ...(request.body.kind === undefined ? {} : { kind: request.body.kind }),
            ...(request.body.access === undefined ? {} : { access: request.body.access }),
            ...(request.body.mapping === undefined ? {} : { mapping: request.body.mapping }),
          })
          .catch((err: unknown) => {
            // Too many plans waiting in this process (plan-thread.ts): 503, and when to ask again.
            if (isCikuError(err, 'CIKU_ERR_UNAVAILABLE'))
              void reply.header('Retry-After', String(PLAN_RETRY_AFTER_SECONDS));
            throw err;
          });
        void reply.header('Location', `/v1/batches/${view.id}`);
        return reply.code(view.status === 'running' ? 202 : 200).send(await shown(p, view));
      },
    );

    app.get(
      '/v1/batches/:id',
      {
        schema: {
          tags: ['batches'],
          summary: 'A batch: status and counts (rows done, ingested, updated, skipped, failed, bytes)',
          params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
          response: { 200: BatchView, ...errorResponses },
        },
      },
      async (request) => visible(request.principal, request.params.id),
    );

    app.get(
      '/v1/batches/:id/report',
      {
        schema: {
          tags: ['batches'],
          summary: 'The per-row report as CSV (row, item, status, version, reason)',
          params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        },
      },
      async (request, reply) => {
        const v = await visible(request.principal, request.params.id);
        const csv = await batches!.reportCsv(v.id);
        return reply
          .header('Content-Type', 'text/csv; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${v.id}-report.csv"`)
          .send(csv);
      },
    );
  };
}
