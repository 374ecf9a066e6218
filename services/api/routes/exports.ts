import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { create as contentDisposition } from 'content-disposition';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { ErrorBody, ItemIdParam } from '../../../schemas/api.ts';
import { isStaff } from '../../archive/access.ts';
import { createPackageService } from '../../app/packages.ts';
import { tarFolder } from '../../app/tar.ts';
import { CikuError } from '../../errors.ts';
import { ExportQuerystring } from '../../../schemas/export.ts';
import { createExportService } from '../../app/exports.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /v1/items/:id/package` (staff): the item as a BagIt 1.0 bag (services/app/packages.ts), sent as a POSIX tar
 * of the bag's folder: written to a temporary folder first (every byte checked against the archive's sha512 on
 * the way), streamed file by file, and removed when the response ends.
 *
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
    const packages = createPackageService({ items: deps.items, clock: deps.clock });
    app.get(
      '/v1/items/:id/package',
      {
        schema: {
          tags: ['items'],
          summary:
            'The item as a BagIt 1.0 bag (tar): item JSON, PREMIS events, files, sha512 manifests (staff)',
          params: ItemIdParam,
          querystring: Type.Object(
            { all_versions: Type.Optional(Type.Boolean()) },
            { additionalProperties: false },
          ),
          produces: ['application/x-tar'],
          response: {
            200: {
              description: 'the bag as a tar',
              content: { 'application/x-tar': { schema: { type: 'string' } } },
            },
            403: ErrorBody,
            404: ErrorBody,
            410: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        // The item as the caller may see it first (404 for what it may not read, 410 for a deletion), then staff.
        const item = await deps.app.guards.readableHead(request.principal, request.params.id);
        if (!isStaff(request.principal))
          throw new CikuError('CIKU_ERR_FORBIDDEN', 'packages are for admins and archivists');
        const tmp = await mkdtemp(path.join(os.tmpdir(), 'ciku-package-'));
        const name = `${item.id}-bag`;
        try {
          await packages.writeBag(path.join(tmp, name), [item.id], {
            allVersions: request.query.all_versions === true,
          });
        } catch (err) {
          await rm(tmp, { recursive: true, force: true });
          throw err;
        }
        const body = Readable.from(tarFolder(path.join(tmp, name), name));
        const cleanup = () => void rm(tmp, { recursive: true, force: true });
        body.once('close', cleanup);
        return reply
          .header('content-type', 'application/x-tar')
          .header('content-disposition', contentDisposition(`${name}.tar`))
          .header('cache-control', 'no-store')
          .send(body);
      },
    );

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
