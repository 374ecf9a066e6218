import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../../../schemas/api.ts';
import { StatsAnswer, StatsQuerystring } from '../../../schemas/stats.ts';
import { createStatsService, statsCsv } from '../../stats/stats.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /v1/stats`: the archive's statistics in the caller's read scope (services/stats/stats.ts), as JSON or, with
 * `format=csv`, as CSV (every table, or the one `table` names).
 */
export function statsRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const stats = createStatsService({ search: deps.search, blobs: deps.blobs, clock: deps.clock });
  return async (app) => {
    app.get(
      '/v1/stats',
      {
        schema: {
          tags: ['stats'],
          summary:
            'Counts, coverage and growth for the annual self-assessment (only what the caller may read)',
          querystring: StatsQuerystring,
          response: { 200: Type.Union([StatsAnswer, Type.String()]), ...errorResponses },
        },
      },
      async (request, reply) => {
        const q = request.query;
        const answer = await stats.compute(request.principal, q.year === undefined ? {} : { year: q.year });
        // Counts differ by caller: never from a shared cache.
        void reply.header('Cache-Control', 'private, no-store');
        if (q.format !== 'csv') return answer;
        const name = q.table === undefined ? `ciku-stats-${answer.year}` : `ciku-${q.table}-${answer.year}`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${name}.csv"`)
          .send(statsCsv(answer, q.table));
      },
    );
  };
}
