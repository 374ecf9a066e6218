import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { create as contentDisposition } from 'content-disposition';
import { Readable } from 'node:stream';
import { ErrorBody } from '../../../schemas/api.ts';
import { ExportQuerystring } from '../../../schemas/export.ts';
import { createExportService } from '../../app/exports.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /v1/search/export`: a search's hits as a CSV or JSON Lines download, streamed page by page (services/app/
 * exports.ts), with the caller's read scope in every engine query and a row limit by role.
 */
export const exportRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function exports(app) {
    const service = createExportService({
      search: deps.search,
      clock: deps.clock,
      publicUrl: deps.options.publicUrl,
    });
    app.get(
      '/v1/search/export',
      {
        schema: {
          tags: ['search'],
          summary: 'Export a search (same parameters as /v1/search) as CSV (UTF-8 with BOM) or JSON Lines',
          description:
            'One row per item the caller may read, every hit from the first (no paging). columns: comma-separated ' +
            'from id, kind, title, year, version, access, embargo_until, url, title_highlight, highlight (matches ' +
            'in 【】). Rows per export: anonymous 10,000; researchers and contributors 100,000; staff 1,000,000 ' +
            '(max lowers it).',
          querystring: ExportQuerystring,
          produces: ['text/csv', 'application/x-ndjson'],
          response: {
            200: {
              description: 'the rows, streamed',
              content: {
                'text/csv': { schema: { type: 'string' } },
                'application/x-ndjson': { schema: { type: 'string' } },
              },
            },
            400: ErrorBody,
            503: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const out = service.exportSearch(request.principal, request.query);
        return reply
          .header('content-type', out.contentType)
          .header('content-disposition', contentDisposition(`ciku-search.${out.extension}`))
          .header('cache-control', 'no-store')
          .send(Readable.from(out.body));
      },
    );
  };
