import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { parseDigestHeader } from '../../adapters/digest-headers.ts';
import { BlobTusStore, createTusServer, TUS_PREFIX, TusHttpError, type TusInfo } from '../../adapters/tus.ts';
import type { Principal } from '../../archive/access.ts';
import { readAll } from '../../archive/blob-store.ts';
import { HEAD_BYTES, type StagedUpload } from '../../archive/ingest.ts';
import { normaliseLogicalPath } from '../../archive/ocfl/names.ts';
import { CikuError, isCikuError } from '../../errors.ts';
import type { AppDeps } from '../deps.ts';

/** A coded error in the shape the tus server sends: our JSON body with its status. */
function tusError(err: unknown): TusHttpError {
  if (isCikuError(err))
    return new TusHttpError(err.statusCode, JSON.stringify({ code: err.code, message: err.message }));
  if (err instanceof TusHttpError) return err;
  return new TusHttpError(500, JSON.stringify({ code: 'CIKU_ERR_INTERNAL', message: 'internal error' }));
}

const ROLES = ['original', 'transcript', 'supplement'] as const;

/**
 * tus 1.0 at /v1/uploads. Creation metadata names the item (`item`) and the file (`filename`, optional `role`,
 * optional `content-digest` in RFC 9530 form). Only a caller that may write the item can create the upload, and
 * only that caller can continue, inspect or terminate it. When the last byte arrives the upload is verified and
 * committed into the item as one new version, and the staging is removed.
 */
export const uploadRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function uploads(app) {
    const { blobs, ingest } = deps;
    const { guards, uploads } = deps.app;
    const store = new BlobTusStore(blobs, deps.options.tusExpiryHours * 3600 * 1000);
    const caller = new AsyncLocalStorage<Principal>();
    const principal = (): Principal => caller.getStore() ?? { role: 'anonymous' };
    const ownerOf = (p: Principal): string => p.keyId ?? p.role;

    const tus = createTusServer(
      store,
      {
        path: '/v1/uploads',
        // Location on the public origin (CIKU_PUBLIC_URL), whatever Host or Forwarded headers the client sent.
        generateUrl: (_req, { id }) => `${deps.options.publicUrl}/v1/uploads/${encodeURIComponent(id)}`,
        maxSize: deps.options.maxUploadBytes,
        onUploadCreate: async (_req, upload) => {
          try {
            const meta = upload.metadata ?? {};
            const itemId = meta.item;
            if (!itemId || !meta.filename) {
              throw new CikuError(
                'CIKU_ERR_REQUEST_INVALID',
                'Upload-Metadata must give "item" and "filename"',
              );
            }
            const name = normaliseLogicalPath(meta.filename);
            const head = await guards.writable(principal(), itemId);
            if (upload.size !== undefined && upload.size > ingest.limitFor(head.kind)) {
              throw new CikuError(
                'CIKU_ERR_UPLOAD_TOO_LARGE',
                `${upload.size} bytes is over the limit for ${head.kind} items`,
              );
            }
            if (meta.role && !(ROLES as readonly string[]).includes(meta.role)) {
              throw new CikuError('CIKU_ERR_REQUEST_INVALID', `role must be one of ${ROLES.join(', ')}`);
            }
            if (meta['content-digest']) parseDigestHeader(meta['content-digest']);
            return { metadata: { ...meta, filename: name, owner: ownerOf(principal()) } };
          } catch (err) {
            throw tusError(err);
          }
        },
        onIncomingRequest: async (req, id) => {
          let info: TusInfo;
          try {
            info = await store.readInfo(id);
          } catch {
            return; // the tus handler answers 404 itself
          }
          if (info.metadata.owner !== ownerOf(principal())) {
            throw new TusHttpError(
              404,
              JSON.stringify({ code: 'CIKU_ERR_UPLOAD_NOT_FOUND', message: `no upload ${id}` }),
            );
          }
          const header = req.headers.get('upload-checksum');
          if (req.method === 'PATCH' && header) {
            const m = /^(sha256|sha512|sha1|md5)\s+([A-Za-z0-9+/=]+)$/.exec(header.trim());
            if (!m || (m[1] !== 'sha256' && m[1] !== 'sha512')) {
              throw new TusHttpError(400, 'Upload-Checksum: supported algorithms are sha256 and sha512\n');
            }
            store.checksums.set(id, {
              algorithm: m[1],
              digest: Buffer.from(m[2]!, 'base64').toString('hex'),
            });
          }
        },
        onUploadFinish: async (req, upload) => {
          try {
            const info = await store.readInfo(upload.id);
            const meta = info.metadata;
            const head = await guards.writable(principal(), meta.item!);
            const expected = meta['content-digest'] ? parseDigestHeader(meta['content-digest']) : undefined;
            const staged = await stagedFromParts(info, expected?.sha256 !== undefined, head.kind);
            const role = ROLES.find((r) => r === meta.role);
            const result = await uploads.commit(principal(), head.id, [
              { name: meta.filename!, staged, ...(role ? { role } : {}), ...(expected ? { expected } : {}) },
            ]);
            await store.finish(upload.id);
            return {
              // A creation-with-upload that completes is still a creation (201, with its Location); a PATCH 204.
              status_code: req.method === 'POST' ? 201 : 204,
              headers: {
                'Ciku-Item': encodeURIComponent(head.id),
                'Ciku-Item-Version': result.item.version,
                'Ciku-Existing': String(result.existing),
              },
            };
          } catch (err) {
            await blobs.deletePrefix(`${TUS_PREFIX}${upload.id}/`).catch(() => undefined);
            throw tusError(err);
          }
        },
        onResponseError: (_req, err) =>
          isCikuError(err)
            ? { status_code: err.statusCode, body: JSON.stringify({ code: err.code, message: err.message }) }
            : undefined,
      },
      deps.tusLocker,
    );

    /** One part: its blob is the whole file, hashed on arrival; adopt it. Several: one more pass joins them. */
    async function stagedFromParts(
      info: TusInfo,
      needSha256: boolean,
      kind: Parameters<typeof ingest.stage>[0],
    ): Promise<StagedUpload> {
      const only = info.parts.length === 1 ? info.parts[0]! : undefined;
      if (only && !needSha256) {
        const head = await readAll(
          await blobs.get(only.key, { start: 0, end: Math.min(only.size, HEAD_BYTES) - 1 }),
        );
        return { key: only.key, size: only.size, sha512: only.sha512, head };
      }
      const joined = Readable.from(
        (async function* () {
          for (const part of info.parts) yield* await blobs.get(part.key);
        })(),
      );
      return ingest.stage(kind, joined, { sha256: needSha256 });
    }

    // The tus server reads the raw request itself: no body parsing here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handler = async (
      request: { raw: IncomingMessage; principal: Principal },
      reply: { hijack(): void; raw: ServerResponse },
    ) => {
      reply.hijack();
      reply.raw.setHeader('Tus-Checksum-Algorithm', 'sha256,sha512');
      await caller.run(request.principal, () => tus.handle(request.raw, reply.raw));
    };
    for (const url of ['/v1/uploads', '/v1/uploads/:id']) {
      app.route({
        method: ['OPTIONS', 'POST', 'HEAD', 'PATCH', 'DELETE'],
        url,
        schema: { hide: true },
        handler,
      });
    }

    const sweep = setInterval(() => {
      store.deleteExpired().catch((err: unknown) => app.log.warn({ err }, 'tus expiry sweep failed'));
    }, 3600_000);
    sweep.unref();
    app.addHook('onClose', () => clearInterval(sweep));
    await store.deleteExpired();
  };
