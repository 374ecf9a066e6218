import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { create as contentDisposition } from 'content-disposition';
import type { Readable } from 'node:stream';
import {
  ErrorBody,
  errorResponses,
  FileParams,
  ItemIdParam,
  UploadResult,
  VersionQuery,
} from '../../../schemas/api.ts';
import { FileRole } from '../../../schemas/item.ts';
import { reprDigestHeader, requestDigests } from '../../adapters/digest-headers.ts';
import type { StagedFile } from '../../archive/ingest.ts';
import { normaliseLogicalPath } from '../../archive/ocfl/names.ts';
import { CikuError, isCikuError } from '../../errors.ts';
import type { AppDeps } from '../deps.ts';
import { fileOf } from '../../app/derivatives.ts';
import { contentTypeHeader, downloadHeaders, inlineSafe, sendBytes } from '../range.ts';

const errors = errorResponses;

export const fileRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function files(app) {
    const { ingest, items } = deps;
    const { guards, uploads } = deps.app;
    // Upload bodies are streamed as they arrive, whatever their Content-Type says (the bytes decide the type).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    await app.register((await import('@fastify/multipart')).default, {
      // preservePath: see the name the client sent, so a traversal is refused rather than silently shortened.
      preservePath: true,
      limits: { files: 1000, fields: 100, fieldSize: 64 * 1024, parts: 1100, headerPairs: 100 },
    });

    app.put(
      '/v1/items/:id/files/:name',
      {
        schema: {
          tags: ['files'],
          summary:
            'Upload one file as the raw request body (streamed): one new version, or 200 if the item has these bytes',
          params: FileParams,
          querystring: Type.Object({ role: Type.Optional(FileRole) }),
          response: { 200: UploadResult, 201: UploadResult, ...errors },
        },
      },
      async (request, reply) => {
        const name = normaliseLogicalPath(request.params.name);
        const head = await guards.writable(request.principal, request.params.id);
        const expected = requestDigests(
          request.headers['content-digest'] as string | undefined,
          request.headers['repr-digest'] as string | undefined,
        );
        const body = request.body as Readable | undefined;
        if (!body || typeof body.pipe !== 'function') {
          throw new CikuError('CIKU_ERR_UPLOAD_INCOMPLETE', 'the request has no body');
        }
        const staged = await ingest.stage(head.kind, body, { sha256: expected?.sha256 !== undefined });
        const declared = request.headers['content-length'];
        if (declared !== undefined && Number(declared) !== staged.size) {
          await ingest.discard([{ staged }]);
          throw new CikuError('CIKU_ERR_UPLOAD_INCOMPLETE', `received ${staged.size} of ${declared} bytes`);
        }
        const file: StagedFile = {
          name,
          staged,
          ...(expected === undefined ? {} : { expected }),
          ...(request.query.role === undefined ? {} : { role: request.query.role }),
        };
        const result = await uploads.commit(request.principal, head.id, [file]);
        return reply.status(result.existing ? 200 : 201).send(result);
      },
    );

    app.post(
      '/v1/items/:id/files',
      {
        schema: {
          tags: ['files'],
          summary:
            'Upload several files as multipart/form-data (field name original|transcript|supplement = role): one version',
          params: ItemIdParam,
          response: { 200: UploadResult, 201: UploadResult, ...errors },
        },
      },
      async (request, reply) => {
        const head = await guards.writable(request.principal, request.params.id);
        if (!request.isMultipart())
          throw new CikuError('CIKU_ERR_REQUEST_INVALID', 'expected multipart/form-data');
        const staged: StagedFile[] = [];
        // Each part streams under the kind's file limit (the plugin's default would be the JSON body limit).
        const limit = ingest.limitFor(head.kind);
        try {
          for await (const part of request.parts({ limits: { fileSize: limit } })) {
            if (part.type !== 'file') continue;
            const name = normaliseLogicalPath(part.filename);
            const s = await ingest.stage(head.kind, part.file);
            const role = (['original', 'transcript', 'supplement'] as const).find(
              (r) => r === part.fieldname,
            );
            // Kept before any check, so whatever refuses the request below discards this part's blob too.
            staged.push({ name, staged: s, ...(role === undefined ? {} : { role }) });
            if (part.file.truncated)
              throw new CikuError(
                'CIKU_ERR_UPLOAD_TOO_LARGE',
                `${name}: larger than the ${limit}-byte limit`,
              );
          }
        } catch (err) {
          await ingest.discard(staged);
          if (isCikuError(err)) throw err;
          if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
            throw new CikuError('CIKU_ERR_UPLOAD_TOO_LARGE', `a part is larger than the ${limit}-byte limit`);
          throw new CikuError(
            'CIKU_ERR_UPLOAD_INCOMPLETE',
            `multipart body incomplete or malformed: ${(err as Error).message}`,
          );
        }
        if (staged.length === 0)
          throw new CikuError('CIKU_ERR_UPLOAD_INCOMPLETE', 'the multipart body holds no file');
        const seen = new Set<string>();
        for (const f of staged) {
          if (seen.has(f.name)) {
            await ingest.discard(staged);
            throw new CikuError('CIKU_ERR_REQUEST_INVALID', `file ${f.name} appears twice`);
          }
          seen.add(f.name);
        }
        const result = await uploads.commit(request.principal, head.id, staged);
        return reply.status(result.existing ? 200 : 201).send(result);
      },
    );

    app.get(
      '/v1/items/:id/files/:name',
      {
        schema: {
          tags: ['files'],
          summary: 'Download a file (any version), with Range, ETag and Repr-Digest',
          params: FileParams,
          querystring: Type.Intersect([
            VersionQuery,
            Type.Object({
              disposition: Type.Optional(Type.Union([Type.Literal('inline'), Type.Literal('attachment')])),
            }),
          ]),
          response: {
            200: Type.Unknown(),
            206: Type.Unknown(),
            304: Type.Null(),
            404: ErrorBody,
            410: ErrorBody,
            416: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const item = await guards.readable(request.principal, request.params.id, request.query.version);
        const file = fileOf(item, request.params.name);
        const name = file.name;
        const mediaType = file.media_type ?? 'application/octet-stream';
        // Inline only what a browser shows passively: markup (XHTML, SVG, XML) from an upload would run script on
        // the API's origin. Whatever it is, the bytes are never sniffed and never run with the origin's rights.
        const disposition =
          request.query.disposition === 'inline' && inlineSafe(mediaType) ? 'inline' : 'attachment';
        void reply
          .header('Repr-Digest', reprDigestHeader(file.digests.sha512))
          .header('Content-Type', contentTypeHeader(mediaType))
          .header('Content-Disposition', contentDisposition(name.split('/').pop(), { type: disposition }));
        downloadHeaders(reply);
        return sendBytes(request, reply, {
          size: file.size,
          etag: `"${file.digests.sha512}"`,
          open: async (range) =>
            (await items.openFile(item.id, name, { version: item.version, ...(range ? { range } : {}) }))
              .stream,
        });
      },
    );
  };
