import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FileParams, VersionQuery } from '../../../schemas/api.ts';
import { DocumentText, PageText, type DocumentTextT } from '../../../schemas/technical.ts';
import type { LocatedDerivative } from '../../app/derivatives.ts';
import { readAll } from '../../archive/blob-store.ts';
import { CikuError } from '../../errors.ts';
import { parseImageRequest } from '../../iiif/image-api.ts';
import type { AppDeps } from '../deps.ts';
import { derivativeResponses, derivativeSender } from './derivatives.ts';

const seg = (s: string): string => encodeURIComponent(s);

/**
 * The Image API 3 service of one page of a document file in a version (`…/pages/{n}/iiif`): versioned like a
 * file's own service (services/iiif/ids.ts imageServiceId), so a client holding it keeps that version's pixels.
 */
export function pageImageServiceId(
  publicUrl: string,
  itemId: string,
  version: string,
  fileName: string,
  page: number,
): string {
  return `${publicUrl}/v1/items/${seg(itemId)}/versions/${seg(version)}/files/${seg(fileName)}/pages/${page}/iiif`;
}

const responses = derivativeResponses;

const Page = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const PageParams = Type.Intersect([FileParams, Type.Object({ page: Page })]);
const VersionedPageParams = Type.Intersect([
  PageParams,
  Type.Object({ version: Type.String({ pattern: '^v[1-9][0-9]{0,8}$' }) }),
]);
const Rest = Type.Object({ '*': Type.String({ maxLength: 200 }) });

/**
 * A document's pages and text, through the same access decision as every derivative (deps.app.derivatives.locate
 * → guards.readable): a page of a restricted item is as hidden as the item, versions and caching as the derivative
 * routes. Pages: `…/pages/{n}/thumbnail`, `/preview`, `/hocr` (OCR'd pages) and `/iiif/…` (level-0 tiles of large
 * renders); the text: `…/text` (text.json, `?page=n` for one page's).
 */
export const pageRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function pages(app) {
    const store = deps.app.derivativeStore;
    const { locate } = deps.app.derivatives;
    const { send, sendInfoJson, sendImage } = derivativeSender(deps);
    // Counted in the media bucket, like tiles and thumbnails (a document viewer fetches a page's many at once).
    const config = {
      rateLimit: {
        max: deps.options.anonymousMediaRateLimit ?? 10 * deps.options.anonymousRateLimit,
        timeWindow: 60_000,
      },
    };

    /** The `pages` derivative of a file, holding page `page` (404 past the document's last page). */
    async function locatePage(
      request: FastifyRequest,
      at: { id: string; name: string; version: string | undefined; page: number },
    ): Promise<LocatedDerivative> {
      const found = await locate(request.principal, at.id, at.name, at.version, 'pages');
      if (at.page > (found.entry.pages ?? 0)) {
        throw new CikuError(
          'CIKU_ERR_DERIVATIVE_NOT_FOUND',
          `${found.file.name} has ${found.entry.pages ?? 0} pages, not ${at.page}`,
        );
      }
      return found;
    }

    async function serveIiif(
      request: FastifyRequest,
      reply: FastifyReply,
      at: { id: string; name: string; version: string | undefined; page: number; rest: string },
    ) {
      const info = at.rest === '' || at.rest === 'info.json';
      // Syntax first: a malformed request answers the same 400 whatever the item (as the file's own service).
      const req = info ? undefined : parseImageRequest(at.rest);
      const found = await locatePage(request, at);
      const folder = `${found.entry.path}/${at.page}/iiif`;
      if (!(await store.stat(found.file.digests.sha512, `${folder}/info.json`))) {
        throw new CikuError(
          'CIKU_ERR_DERIVATIVE_NOT_FOUND',
          `page ${at.page} of ${found.file.name} has no tiles: its render is small, its preview is the whole page`,
        );
      }
      if (req === undefined) {
        const id = pageImageServiceId(
          deps.options.publicUrl,
          found.item.id,
          found.item.version,
          found.file.name,
          at.page,
        );
        return sendInfoJson(request, reply, found, { folder, id });
      }
      return sendImage(request, reply, found, folder, at.rest, req);
    }

    for (const image of ['thumbnail', 'preview'] as const) {
      app.get(
        `/v1/items/:id/files/:name/pages/:page/${image}`,
        {
          config,
          schema: {
            tags: ['documents'],
            summary: `The ${image} of one page of a document (JPEG; ${image === 'thumbnail' ? 256 : 1600} px long side)`,
            params: PageParams,
            querystring: VersionQuery,
            response: responses,
          },
        },
        async (request, reply) => {
          const { id, name, page } = request.params;
          const found = await locatePage(request, { id, name, version: request.query.version, page });
          return send(request, reply, found, `${found.entry.path}/${page}/${image}.jpg`, 'image/jpeg');
        },
      );
    }

    app.get(
      '/v1/items/:id/files/:name/pages/:page/hocr',
      {
        config,
        schema: {
          tags: ['documents'],
          summary: "One OCR'd page's words with their boxes (hOCR, in the pixels of the page's render)",
          params: PageParams,
          querystring: VersionQuery,
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name, page } = request.params;
        const found = await locate(request.principal, id, name, request.query.version, 'hocr');
        const file = `${found.entry.path}/${page}.hocr`;
        if (!(await store.stat(found.file.digests.sha512, file))) {
          throw new CikuError(
            'CIKU_ERR_DERIVATIVE_NOT_FOUND',
            `page ${page} of ${found.file.name} was not OCR'd (its own text layer was used)`,
          );
        }
        return send(request, reply, found, file, found.entry.media_type ?? 'text/vnd.hocr+html');
      },
    );

    app.get(
      '/v1/items/:id/files/:name/pages/:page/iiif',
      {
        config,
        schema: {
          tags: ['documents'],
          summary: 'IIIF Image API 3.0 level-0 service of one page: its info.json',
          params: PageParams,
          querystring: VersionQuery,
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name, page } = request.params;
        return serveIiif(request, reply, { id, name, page, version: request.query.version, rest: '' });
      },
    );

    app.get(
      '/v1/items/:id/files/:name/pages/:page/iiif/*',
      {
        config,
        schema: {
          tags: ['documents'],
          summary: 'IIIF Image API 3.0 level-0 service of one page: info.json and static tiles',
          params: Type.Intersect([PageParams, Rest]),
          querystring: VersionQuery,
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name, page } = request.params;
        const rest = request.params['*'];
        return serveIiif(request, reply, { id, name, page, version: request.query.version, rest });
      },
    );

    app.get(
      '/v1/items/:id/versions/:version/files/:name/pages/:page/iiif',
      {
        config,
        schema: {
          tags: ['documents'],
          summary: 'IIIF Image API 3.0 level-0 service of one page in one version: its info.json',
          params: VersionedPageParams,
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name, page, version } = request.params;
        return serveIiif(request, reply, { id, name, page, version, rest: '' });
      },
    );

    app.get(
      '/v1/items/:id/versions/:version/files/:name/pages/:page/iiif/*',
      {
        config,
        schema: {
          tags: ['documents'],
          summary:
            'IIIF Image API 3.0 level-0 service of one page in one version: info.json and static tiles',
          params: Type.Intersect([VersionedPageParams, Rest]),
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name, page, version } = request.params;
        return serveIiif(request, reply, { id, name, page, version, rest: request.params['*'] });
      },
    );

    app.get(
      '/v1/items/:id/files/:name/text',
      {
        config,
        schema: {
          tags: ['documents'],
          summary:
            "A document's text per page (text.json: text-layer, extracted or ocr, with OCR's confidence), or one page's",
          params: FileParams,
          querystring: Type.Intersect([VersionQuery, Type.Object({ page: Type.Optional(Page) })]),
          response: { ...responses, 200: Type.Union([DocumentText, PageText]) },
        },
      },
      async (request, reply) => {
        const { id, name } = request.params;
        const { version, page } = request.query;
        const found = await locate(request.principal, id, name, version, 'text');
        if (page === undefined) return send(request, reply, found, found.entry.path, 'application/json');
        const sha512 = found.file.digests.sha512;
        const stat = await store.stat(sha512, found.entry.path);
        if (!stat) throw new CikuError('CIKU_ERR_DERIVATIVE_NOT_FOUND', `no text of ${found.file.name}`);
        const text = JSON.parse(
          (await readAll(await store.open(sha512, found.entry.path), stat.size)).toString('utf8'),
        ) as DocumentTextT;
        const one = text.pages.find((p) => p.page === page);
        if (!one) {
          throw new CikuError(
            'CIKU_ERR_DERIVATIVE_NOT_FOUND',
            `the text of ${found.file.name} has ${text.pages.length} pages, not ${page}`,
          );
        }
        if (found.shareable) void reply.header('Access-Control-Allow-Origin', '*');
        return reply
          .header('Cache-Control', found.shareable ? 'public, max-age=86400' : 'private, max-age=3600')
          .header('Content-Type', 'application/json; charset=utf-8')
          .send(one);
      },
    );
  };
