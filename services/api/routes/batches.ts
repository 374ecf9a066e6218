import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorResponses } from '../../../schemas/api.ts';
import { BatchView, type BatchView as BatchViewT } from '../../../schemas/batch.ts';
import { Access } from '../../../schemas/item.ts';
import { CikuError } from '../../errors.ts';
import type { Principal } from '../../archive/access.ts';
import { agentOf } from '../agent.ts';
import type { AppDeps } from '../build-app.ts';

const StartBody = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'a bag, a folder with a manifest, or a CSV / JSON-lines file, relative to the drop folder',
    }),
    dry_run: Type.Optional(Type.Boolean()),
    kind: Type.Optional(Type.String({ maxLength: 50 })),
    access: Type.Optional(Access),
    mapping: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const mayBatch = (p: Principal) => p.role === 'admin' || p.role === 'archivist' || p.role === 'contributor';

/**
 * Batches over HTTP: `POST /v1/batches` starts one from a source in the server's drop folder (never an arbitrary
 * path: the name is resolved inside the folder and may not climb out or follow a link out), `GET /v1/batches/:id`
 * gives the same counts as `ciku batch`, `/report` the per-row CSV. A contributor's batch belongs to its
 * organisation (every row's access is forced to it) and only it (and admins/archivists) can see the batch.
 */
export function batchRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const batches = deps.batches;
    /** Server paths stay on the server: a source is shown relative to the drop folder. */
    const shown = async (v: BatchViewT): Promise<BatchViewT> => {
      const root =
        deps.dropDir === undefined ? undefined : await fs.realpath(deps.dropDir).catch(() => undefined);
      const p = v.source.path;
      const rel =
        root !== undefined && p.startsWith(root + path.sep) ? p.slice(root.length + 1) : path.basename(p);
      return { ...v, source: { ...v.source, path: rel } };
    };
    const visible = async (p: Principal, id: string) => {
      if (!batches || !mayBatch(p)) throw new CikuError('CIKU_ERR_BATCH_NOT_FOUND', `no batch ${id}`);
      const v = await batches.view(id);
      if (p.role === 'contributor' && v.by !== agentOf(p).name)
        throw new CikuError('CIKU_ERR_BATCH_NOT_FOUND', `no batch ${id}`);
      return shown(v);
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
        const root = await fs.realpath(deps.dropDir).catch(() => {
          throw new CikuError('CIKU_ERR_BATCH_SOURCE', 'the drop folder does not exist on this server');
        });
        const rel = request.body.source.normalize('NFC');
        const joined = path.resolve(root, rel);
        if (path.isAbsolute(rel) || rel.includes('\0') || !joined.startsWith(root + path.sep))
          throw new CikuError('CIKU_ERR_BATCH_SOURCE', 'source must be a path inside the drop folder');
        const real = await fs.realpath(joined).catch(() => {
          throw new CikuError('CIKU_ERR_BATCH_SOURCE', `no ${rel} in the drop folder`);
        });
        if (!real.startsWith(root + path.sep))
          throw new CikuError('CIKU_ERR_BATCH_SOURCE', 'source links to outside the drop folder');
        const { view } = await batches.start(real, {
          by: agentOf(p).name,
          ...(request.body.dry_run ? { dryRun: true } : {}),
          ...(request.body.kind === undefined ? {} : { kind: request.body.kind }),
          ...(request.body.access === undefined ? {} : { access: request.body.access }),
          ...(request.body.mapping === undefined ? {} : { mapping: request.body.mapping }),
          ...(p.role === 'contributor' && p.organisation !== undefined
            ? { organisation: p.organisation }
            : {}),
        });
        void reply.header('Location', `/v1/batches/${view.id}`);
        return reply.code(view.status === 'running' ? 202 : 200).send(await shown(view));
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
