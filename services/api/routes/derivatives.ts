import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorBody, FileParams, VersionQuery } from '../../../schemas/api.ts';
import { derivativeKinds } from '../../../schemas/technical.ts';
import type { LocatedDerivative } from '../../app/derivatives.ts';
import { readAll } from '../../archive/blob-store.ts';
import { CikuError } from '../../errors.ts';
import type { AppDeps } from '../deps.ts';
import { downloadHeaders, sendBytes } from '../range.ts';

/** IIIF level-0 tile paths as libvips writes them: `{region}/{size}/0/default.jpg`. */
const TILE_PATH =
  /^(full|\d{1,6},\d{1,6},\d{1,6},\d{1,6})\/(max|\d{1,6},|\d{1,6},\d{1,6}|,\d{1,6})\/0\/default\.jpg$/;

const responses = {
  200: Type.Unknown(),
  206: Type.Unknown(),
  304: Type.Null(),
  404: ErrorBody,
  409: ErrorBody,
  410: ErrorBody,
  416: ErrorBody,
};

/**
 * Derivatives are served through the same access decision as their item (guards.readable): a thumbnail, a tile
 * or a proxy of a restricted item is as hidden as the item itself.
 */
export const derivativeRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function derivatives(app) {
    const store = deps.app.derivativeStore;
    const { locate } = deps.app.derivatives;
    // Each derivative route counts anonymous reads in a bucket of its own (the limiter keeps one per configured
    // route), larger than the API's: tiles and thumbnails come by the hundred and are cheap.
    const config = {
      rateLimit: {
        max: deps.options.anonymousMediaRateLimit ?? 10 * deps.options.anonymousRateLimit,
        timeWindow: 60_000,
      },
    };

    async function send(
      request: FastifyRequest,
      reply: FastifyReply,
      found: LocatedDerivative,
      relPath: string,
      contentType: string,
    ) {
      const stat = await store.stat(found.file.digests.sha512, relPath);
      if (!stat) throw new CikuError('CIKU_ERR_DERIVATIVE_NOT_FOUND', `no such derivative file ${relPath}`);
      downloadHeaders(reply);
      void reply
        .header('Content-Type', contentType)
        .header('Cache-Control', found.shareable ? 'public, max-age=86400' : 'private, max-age=3600');
      // IIIF viewers and web players fetch from other origins; only what anyone may read is shared that way.
      if (found.shareable) void reply.header('Access-Control-Allow-Origin', '*');
      const sha512 = found.file.digests.sha512;
      return sendBytes(request, reply, {
        size: stat.size,
        etag: `"${sha512.slice(0, 32)}-${Date.parse(found.record.updated).toString(36)}-${stat.size}"`,
        open: (range) => store.open(sha512, relPath, range),
      });
    }

    async function sendInfoJson(reply: FastifyReply, found: LocatedDerivative) {
      const raw = await readAll(
        await store.open(found.file.digests.sha512, `${found.entry.path}/info.json`),
        1024 * 1024,
      );
      const info = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      // The id names where the tiles are served, on the public origin (CIKU_PUBLIC_URL): never from the Host
      // header, which any client sets and which this answer's public cache would then serve to everyone.
      info.id = `${deps.options.publicUrl}/v1/items/${encodeURIComponent(found.item.id)}/files/${encodeURIComponent(found.file.name)}/derivatives/iiif`;
      downloadHeaders(reply);
      if (found.shareable) void reply.header('Access-Control-Allow-Origin', '*');
      return reply
        .header('Content-Type', 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"')
        .header('Cache-Control', found.shareable ? 'public, max-age=86400' : 'private, max-age=3600')
        .send(JSON.stringify(info));
    }

    app.get(
      '/v1/items/:id/files/:name/derivatives/:kind',
      {
        config,
        schema: {
          tags: ['derivatives'],
          summary: `A derivative of a file (${derivativeKinds.join(', ')}); iiif answers its info.json`,
          params: Type.Intersect([
            FileParams,
            Type.Object({ kind: Type.Union(derivativeKinds.map((k) => Type.Literal(k))) }),
          ]),
          querystring: VersionQuery,
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name, kind } = request.params;
        const found = await locate(request.principal, id, name, request.query.version, kind);
        if (kind === 'iiif') return sendInfoJson(reply, found);
        return send(
          request,
          reply,
          found,
          found.entry.path,
          found.entry.media_type ?? 'application/octet-stream',
        );
      },
    );

    app.get(
      '/v1/items/:id/files/:name/derivatives/iiif/*',
      {
        config,
        schema: {
          tags: ['derivatives'],
          summary: 'IIIF Image API 3.0 level-0: info.json and static tiles',
          params: Type.Intersect([FileParams, Type.Object({ '*': Type.String({ maxLength: 200 }) })]),
          querystring: VersionQuery,
          response: responses,
        },
      },
      async (request, reply) => {
        const { id, name } = request.params;
        const rest = request.params['*'];
        const found = await locate(request.principal, id, name, request.query.version, 'iiif');
        if (rest === '' || rest === 'info.json') return sendInfoJson(reply, found);
        if (!TILE_PATH.test(rest))
          throw new CikuError('CIKU_ERR_DERIVATIVE_NOT_FOUND', `no IIIF tile ${rest}`);
        return send(request, reply, found, `${found.entry.path}/${rest}`, 'image/jpeg');
      },
    );
  };
