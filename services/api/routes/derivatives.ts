import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorBody, FileParams, VersionQuery } from '../../../schemas/api.ts';
import { derivativeKinds } from '../../../schemas/technical.ts';
import type { LocatedDerivative } from '../../app/derivatives.ts';
import { readAll } from '../../archive/blob-store.ts';
import { CikuError } from '../../errors.ts';
import { imageServiceId } from '../../iiif/ids.ts';
import {
  IMAGE_CONTEXT,
  imageInfoDocument,
  levelZeroFile,
  parseImageRequest,
  type ImageRequest,
  type StoredImageInfo,
} from '../../iiif/image-api.ts';
import type { AppDeps } from '../deps.ts';
import { downloadHeaders, sendBytes } from '../range.ts';

/** The answers a route serving derivative bytes may give (this file's and pages.ts). */
export const derivativeResponses = {
  200: Type.Unknown(),
  206: Type.Unknown(),
  304: Type.Null(),
  400: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  410: ErrorBody,
  416: ErrorBody,
};

/**
 * How derivative bytes are answered, for every route serving them (this file's and pages.ts): the caller's access
 * decides the cache (public and cross-origin only for what anyone may read), ETags from digest + record time,
 * Range. info.json is answered under the service id the route names (versioned, on the public origin).
 */
export function derivativeSender(deps: AppDeps) {
  const store = deps.app.derivativeStore;
  async function send(
    request: FastifyRequest,
    reply: FastifyReply,
    found: LocatedDerivative,
    relPath: string,
    contentType: string,
    known?: { size: number },
  ) {
    // A caller that has just stat'ed the file passes what it found: one stat per tile, not two.
    const stat = known ?? (await store.stat(found.file.digests.sha512, relPath));
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
      read: (maxBytes) => store.read(sha512, relPath, maxBytes),
    });
  }

  async function storedInfo(found: LocatedDerivative, folder: string): Promise<StoredImageInfo> {
    const raw = await readAll(
      await store.open(found.file.digests.sha512, `${folder}/info.json`),
      1024 * 1024,
    );
    return JSON.parse(raw.toString('utf8')) as StoredImageInfo;
  }

  async function sendInfoJson(
    request: FastifyRequest,
    reply: FastifyReply,
    found: LocatedDerivative,
    at: { folder: string; id: string },
  ) {
    const info = imageInfoDocument(at.id, await storedInfo(found, at.folder));
    downloadHeaders(reply);
    if (found.shareable) void reply.header('Access-Control-Allow-Origin', '*');
    addVary(reply, 'Accept');
    return reply
      .header(
        'Content-Type',
        wantsPlainJson(request.headers.accept)
          ? 'application/json'
          : `application/ld+json;profile="${IMAGE_CONTEXT}"`,
      )
      .header('Cache-Control', found.shareable ? 'public, max-age=86400' : 'private, max-age=3600')
      .send(JSON.stringify(info));
  }

  /**
   * A level-0 image request: the stored file of that name when there is one (tiles are requested in the form
   * they are stored under, so this is one stat), else info.json decides — another form of a pre-made file (`w,`
   * for `w,h`, a listed size for `max`) is served from it, a request no file answers is 400, and a pre-made file
   * that is missing from the store is 404.
   */
  async function sendImage(
    request: FastifyRequest,
    reply: FastifyReply,
    found: LocatedDerivative,
    folder: string,
    rest: string,
    req: ImageRequest,
  ) {
    const sha512 = found.file.digests.sha512;
    const literal = `${folder}/${rest}`;
    const stat = await store.stat(sha512, literal);
    if (stat) return send(request, reply, found, literal, 'image/jpeg', stat);
    const file = levelZeroFile(await storedInfo(found, folder), req);
    return send(request, reply, found, `${folder}/${file}`, 'image/jpeg');
  }

  return { send, sendInfoJson, sendImage };
}

/**
 * Derivatives are served through the same access decision as their item (guards.readable): a thumbnail, a tile
 * or a proxy of a restricted item is as hidden as the item itself.
 */
export const derivativeRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function derivatives(app) {
    const { locate } = deps.app.derivatives;
    const { send, sendInfoJson, sendImage } = derivativeSender(deps);
    // Each derivative route counts anonymous reads in a bucket of its own (the limiter keeps one per configured
    // route), larger than the API's: tiles and thumbnails come by the hundred and are cheap.
    const config = {
      rateLimit: {
        max: deps.options.anonymousMediaRateLimit ?? 10 * deps.options.anonymousRateLimit,
        timeWindow: 60_000,
      },
    };

    // The id names the version's own service, on the public origin (CIKU_PUBLIC_URL): a client holding it
    // fetches that version's pixels whatever the head becomes; never from the Host header, which any client
    // sets and which this answer's public cache would then serve to everyone.
    const serviceOf = (found: LocatedDerivative) => ({
      folder: found.entry.path,
      id: imageServiceId(deps.options.publicUrl, found.item.id, found.item.version, found.file.name),
    });

    async function serveIiif(
      request: FastifyRequest,
      reply: FastifyReply,
      principal: FastifyRequest['principal'],
      at: { id: string; name: string; version: string | undefined; rest: string },
    ) {
      const info = at.rest === '' || at.rest === 'info.json';
      // Syntax first, before the item is read: a malformed or never-servable request answers the same 400 for
      // every item, existing, restricted or not.
      const req = info ? undefined : parseImageRequest(at.rest);
      const found = await locate(principal, at.id, at.name, at.version, 'iiif');
      if (req === undefined) return sendInfoJson(request, reply, found, serviceOf(found));
      return sendImage(request, reply, found, found.entry.path, at.rest, req);
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
          response: derivativeResponses,
        },
      },
      async (request, reply) => {
        const { id, name, kind } = request.params;
        const found = await locate(request.principal, id, name, request.query.version, kind);
        if (kind === 'iiif') return sendInfoJson(request, reply, found, serviceOf(found));
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
          response: derivativeResponses,
        },
      },
      async (request, reply) => {
        const { id, name } = request.params;
        return serveIiif(request, reply, request.principal, {
          id,
          name,
          version: request.query.version,
          rest: request.params['*'],
        });
      },
    );

    const VersionedFileParams = Type.Intersect([
      FileParams,
      Type.Object({ version: Type.String({ pattern: '^v[1-9][0-9]{0,8}$' }) }),
    ]);

    app.get(
      '/v1/items/:id/versions/:version/files/:name/derivatives/iiif',
      {
        config,
        schema: {
          tags: ['derivatives'],
          summary: 'IIIF Image API 3.0 level-0 service of a file in one version: its info.json',
          params: VersionedFileParams,
          response: derivativeResponses,
        },
      },
      async (request, reply) => {
        const { id, name, version } = request.params;
        return serveIiif(request, reply, request.principal, { id, name, version, rest: '' });
      },
    );

    app.get(
      '/v1/items/:id/versions/:version/files/:name/derivatives/iiif/*',
      {
        config,
        schema: {
          tags: ['derivatives'],
          summary: 'IIIF Image API 3.0 level-0 service of a file in one version: info.json and static tiles',
          params: Type.Intersect([
            VersionedFileParams,
            Type.Object({ '*': Type.String({ maxLength: 200 }) }),
          ]),
          response: derivativeResponses,
        },
      },
      async (request, reply) => {
        const { id, name, version } = request.params;
        return serveIiif(request, reply, request.principal, { id, name, version, rest: request.params['*'] });
      },
    );
  };

/** `Accept` asks for plain JSON over JSON-LD (the spec's default when it does not say). */
export function wantsPlainJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const q = (type: string) => {
    let best = -1;
    for (const range of accept.split(',')) {
      const [media, ...params] = range.split(';').map((x) => x.trim().toLowerCase());
      if (media !== type) continue;
      const qParam = params.find((p) => p.startsWith('q='));
      best = Math.max(best, qParam === undefined ? 1 : Number(qParam.slice(2)) || 0);
    }
    return best;
  };
  const json = q('application/json');
  return json > 0 && json > q('application/ld+json');
}

export function addVary(reply: FastifyReply, field: string): void {
  const prev = reply.getHeader('Vary');
  const list =
    prev === undefined
      ? []
      : String(prev)
          .split(',')
          .map((x) => x.trim());
  if (!list.some((x) => x.toLowerCase() === field.toLowerCase())) list.push(field);
  void reply.header('Vary', list.join(', '));
}
