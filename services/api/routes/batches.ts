import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../../../schemas/api.ts';
import { BatchView, StartBatchBody } from '../../../schemas/batch.ts';
import { isCikuError } from '../../errors.ts';
import { PLAN_RETRY_AFTER_SECONDS } from '../../batch/plan-thread.ts';
import type { AppDeps } from '../deps.ts';

/**
 * Batches over HTTP (services/app/batches.ts decides): `POST /v1/batches` starts one from a source in the server's
 * drop folder, `GET /v1/batches/:id` gives the same counts as `ciku batch`, `/report` the per-row CSV.
 */
export function batchRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const batches = deps.app.batches;

    app.post(
      '/v1/batches',
      {
        schema: {
          tags: ['batches'],
          summary: 'Start a batch from a source in the drop folder',
          body: StartBatchBody,
          response: { 202: BatchView, 200: BatchView, ...errorResponses },
        },
      },
      async (request, reply) => {
        const view = await batches.start(request.principal, request.body).catch((err: unknown) => {
          // Too many plans waiting in this process (plan-thread.ts): 503, and when to ask again.
          if (isCikuError(err, 'CIKU_ERR_UNAVAILABLE'))
            void reply.header('Retry-After', String(PLAN_RETRY_AFTER_SECONDS));
          throw err;
        });
        void reply.header('Location', `/v1/batches/${view.id}`);
        return reply.code(view.status === 'running' ? 202 : 200).send(view);
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
      async (request) => batches.view(request.principal, request.params.id),
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
        const { id, csv } = await batches.report(request.principal, request.params.id);
        return reply
          .header('Content-Type', 'text/csv; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${id}-report.csv"`)
          .send(csv);
      },
    );
  };
}
