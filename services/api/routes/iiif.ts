import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorResponses, FileParams, ItemIdParam } from '../../../schemas/api.ts';
import { MAX_WINDOW, type SearchQuerystringT } from '../../../schemas/search.ts';
import type { DerivativeEntryT } from '../../../schemas/technical.ts';
import { anonymous, type Principal } from '../../archive/access.ts';
import { readAll } from '../../archive/blob-store.ts';
import { fileOf } from '../../app/derivatives.ts';
import { CikuError, isCikuError } from '../../errors.ts';
import {
  buildCollection,
  collectionLabel,
  parseCollectionName,
  type CollectionName,
} from '../../iiif/collection.ts';
import { pageImageServiceId } from '../../iiif/ids.ts';
import {
  IMAGE_CONTEXT,
  imageInfoDocument,
  levelZeroFile,
  parseImageRequest,
  type StoredImageInfo,
} from '../../iiif/image-api.ts';
import { buildManifest, manifestShape, type IiifFile, type IiifItem } from '../../iiif/manifest.ts';
import { readSegments } from '../../web/item-data.ts';
import type { AppDeps } from '../deps.ts';
import { downloadHeaders, sendBytes } from '../range.ts';
import { pageCount, pageTilesPath, readDocumentPages } from './iiif-documents.ts';

/** Manifests per collection page (a viewer lists them at once). */
const PAGE = 100;
/** Candidates an ICH project's collection is chosen from (the items naming its code or its name). */
const ICH_CANDIDATES = 200;

const PRESENTATION_TYPE = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"';

type ReadItem = Awaited<ReturnType<AppDeps['app']['items']['read']>>;

/** Presentation 3 as JSON-LD, unless the client asks for plain JSON (as the spec allows). */
function contentType(request: FastifyRequest): string {
  const accept = request.headers.accept ?? '';
  return /application\/json/i.test(accept) && !/application\/ld\+json/i.test(accept)
    ? 'application/json'
    : PRESENTATION_TYPE;
}

const searchDefaults = (): SearchQuerystringT => ({ q: '', sort: 'title', page: 1, limit: PAGE });

/**
 * IIIF Presentation 3: `/iiif/:id/manifest` (the head), `/iiif/:id/:version/manifest`, `/iiif/collection/:name`.
 * Items are read through the one access decision (deps.app.items.read: 404 for what the caller may not read, 410
 * for a deleted item, an earlier version only under the head's access and its own); services/iiif builds the JSON.
 */
export const iiifRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function iiif(app) {
    const publicUrl = deps.options.publicUrl;
    const store = deps.app.derivativeStore;

    /** The item version as the builders take it: each file with its technical metadata and ready derivatives. */
    async function iiifItem(item: ReadItem, full: boolean): Promise<IiifItem> {
      const files = await Promise.all(
        item.files.map(async (f): Promise<IiifFile> => {
          let derivatives: IiifFile['derivatives'] = {};
          let pages: IiifFile['pages'];
          if (full) {
            const record = await store.readRecord(f.digests.sha512);
            derivatives = Object.fromEntries(
              Object.entries(record?.derivatives ?? {}).filter(
                (e): e is [string, DerivativeEntryT] => e[1].status === 'ready' && e[1].path !== undefined,
              ),
            );
            // A document's pages (a PDF, an office file rendered): one canvas each.
            if (record && f.role !== 'transcript') pages = await readDocumentPages(store, record);
          } else {
            // Enough to tell whether a manifest exists (collections): which derivatives are ready.
            for (const [kind, d] of Object.entries(f.derivatives ?? {}))
              if (d.status === 'ready') derivatives[kind] = { status: 'ready' };
            if (derivatives.pages && f.role !== 'transcript')
              pages = [{ page: 1, tiles: false, text: false }];
          }
          return {
            name: f.name,
            role: f.role,
            ...(f.media_type === undefined ? {} : { media_type: f.media_type }),
            ...(f.technical === undefined ? {} : { technical: f.technical }),
            derivatives,
            ...(pages === undefined ? {} : { pages }),
          };
        }),
      );
      return {
        id: item.id,
        kind: item.kind,
        version: item.version,
        metadata: item.metadata,
        access: item.access,
        files,
      };
    }

    /** Whether anyone may read this version right now: only then is the answer cached publicly and shared. */
    async function shareable(principal: Principal, id: string, version?: string): Promise<boolean> {
      if (principal.role === 'anonymous') return true;
      return deps.app.guards.readable(anonymous, id, version).then(
        () => true,
        () => false,
      );
    }

    async function sendManifest(request: FastifyRequest, reply: FastifyReply, id: string, version?: string) {
      const item = await deps.app.items.read(request.principal, id, version);
      const transcripts = [];
      for (const f of item.files) {
        if (f.derivatives?.segments?.status !== 'ready') continue;
        const read = await readSegments(deps.app, item, f.name);
        if (read) transcripts.push({ file: f.name, segments: read.segments });
      }
      const manifest = buildManifest({
        publicUrl,
        item: await iiifItem(item, true),
        head: version === undefined,
        transcripts,
      });
      if (!manifest)
        throw new CikuError(
          'CIKU_ERR_IIIF_NO_MEDIA',
          `item ${item.id} has no image, document page, audio or video ready to show, so no manifest`,
        );
      const shared = await shareable(request.principal, id, version);
      if (shared) void reply.header('Access-Control-Allow-Origin', '*');
      // A version's manifest changes only with access (or derivatives becoming ready); the head with every edit.
      const age = version === undefined ? 300 : 3600;
      return reply
        .header('Content-Type', contentType(request))
        .header('Cache-Control', shared ? `public, max-age=${age}` : `private, max-age=${age}`)
        .header('Vary', 'Accept')
        .send(JSON.stringify(manifest));
    }

    /** An item as the caller may read it, or undefined when hidden from it or deleted (a list skips those). */
    async function readIfVisible(principal: Principal, id: string): Promise<ReadItem | undefined> {
      return deps.app.items.read(principal, id).catch((err: unknown) => {
        if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND') || isCikuError(err, 'CIKU_ERR_ITEM_DELETED'))
          return undefined;
        throw err;
      });
    }

    /** The manifests (id, title) among `ids` that this caller may read and that have something to show. */
    async function withManifests(principal: Principal, ids: string[], keep = (_: ReadItem) => true) {
      const out: { id: string; title: string }[] = [];
      for (const id of ids) {
        const item = await readIfVisible(principal, id);
        if (!item || !keep(item) || manifestShape(await iiifItem(item, false)) === undefined) continue;
        out.push({
          id: item.id,
          title: typeof item.metadata.title === 'string' ? item.metadata.title : item.id,
        });
      }
      return out;
    }

    const pageNumber = (page: string | undefined): number => {
      if (page === undefined) return 1;
      if (!/^[1-9]\d{0,5}$/.test(page))
        throw new CikuError(
          'CIKU_ERR_REQUEST_INVALID',
          `page must be a page number, not ${JSON.stringify(page)}`,
        );
      return Number(page);
    };

    async function collectionPage(principal: Principal, name: CollectionName, page: string | undefined) {
      switch (name.by) {
        case 'kind': {
          // The item catalogue's keyset pages: every item of a kind, however many, at the same cost per page.
          const listed = await deps.app.items.list(principal, {
            kind: name.kind,
            limit: PAGE,
            sort: 'id',
            ...(page === undefined ? {} : { cursor: page }),
          });
          const manifests = await withManifests(
            principal,
            listed.items.map((i) => i.id),
          );
          return { label: collectionLabel(name), manifests, next: listed.next };
        }
        case 'museum': {
          const n = pageNumber(page);
          const answer = await deps.app.search.items(principal, {
            ...searchDefaults(),
            museum: [name.museum],
            has_media: true,
            page: n,
          });
          const manifests = await withManifests(
            principal,
            answer.hits.map((h) => h.id),
            (item) => item.metadata.museum === name.museum,
          );
          const more = n * PAGE < Math.min(answer.total, MAX_WINDOW);
          return { label: collectionLabel(name), manifests, next: more ? n + 1 : undefined };
        }
        case 'ich':
          return ichPage(principal, name.code, pageNumber(page));
      }
    }

    /**
     * An ICH project's collection: the project record (found by its code) and the items that name it — its code
     * in `code`/`project_codes`, its name in `ich_projects` or `subject` — among those the search finds for either.
     */
    async function ichPage(principal: Principal, code: string, n: number) {
      const found = await deps.app.search.items(principal, {
        ...searchDefaults(),
        q: code,
        kind: ['ich_project'],
        limit: 20,
      });
      let projectName: string | undefined;
      for (const hit of found.hits) {
        const item = await readIfVisible(principal, hit.id);
        if (item?.metadata.code === code) {
          const m = item.metadata;
          projectName = typeof m.name === 'string' ? m.name : typeof m.title === 'string' ? m.title : code;
          break;
        }
      }
      if (projectName === undefined)
        throw new CikuError('CIKU_ERR_IIIF_COLLECTION_NOT_FOUND', `no ICH project with the code ${code}`);
      const name = projectName;
      const ids = new Set<string>();
      for (const q of [code, name]) {
        const answer = await deps.app.search.items(principal, {
          ...searchDefaults(),
          q,
          has_media: true,
          limit: ICH_CANDIDATES / 2,
        });
        for (const h of answer.hits) ids.add(h.id);
      }
      const texts = (v: unknown): string[] =>
        typeof v === 'string'
          ? [v]
          : Array.isArray(v)
            ? v.filter((x): x is string => typeof x === 'string')
            : [];
      const names = (item: ReadItem) => {
        const m = item.metadata;
        return (
          m.code === code ||
          texts(m.project_codes).includes(code) ||
          texts(m.ich_projects).includes(name) ||
          texts(m.subject).includes(name)
        );
      };
      const all = await withManifests(principal, [...ids].sort(), names);
      const manifests = all.slice((n - 1) * PAGE, n * PAGE);
      return {
        label: collectionLabel({ by: 'ich', code }, name),
        manifests,
        next: n * PAGE < all.length ? n + 1 : undefined,
      };
    }

    app.get(
      '/iiif/:id/manifest',
      {
        schema: {
          tags: ['iiif'],
          summary: 'IIIF Presentation 3 manifest of an item (its head version)',
          params: ItemIdParam,
          response: { 200: Type.Unknown(), ...errorResponses },
        },
      },
      async (request, reply) => sendManifest(request, reply, request.params.id),
    );

    app.get(
      '/iiif/:id/:version/manifest',
      {
        schema: {
          tags: ['iiif'],
          summary: 'IIIF Presentation 3 manifest of one version of an item',
          params: Type.Intersect([
            ItemIdParam,
            Type.Object({ version: Type.String({ pattern: '^v[1-9][0-9]{0,8}$' }) }),
          ]),
          response: { 200: Type.Unknown(), ...errorResponses },
        },
      },
      async (request, reply) => sendManifest(request, reply, request.params.id, request.params.version),
    );

    /**
     * A document page's level-0 image service (its tiles and info.json, `pages/{n}/iiif/` of the file's
     * derivatives), in a version: the item read through the one access decision first (hidden 404, deleted 410),
     * then the page's folder. Request syntax is checked before the item is read, as for images.
     */
    async function servePageImage(
      request: FastifyRequest,
      reply: FastifyReply,
      at: { id: string; version: string; name: string; page: number; rest: string },
    ) {
      const info = at.rest === '' || at.rest === 'info.json';
      const req = info ? undefined : parseImageRequest(at.rest);
      const item = await deps.app.guards.readable(request.principal, at.id, at.version);
      const file = fileOf(item, at.name);
      const record = await store.readRecord(file.digests.sha512);
      const count = pageCount(record);
      if (!record || count === undefined || at.page > count)
        throw new CikuError('CIKU_ERR_DERIVATIVE_NOT_FOUND', `${file.name} has no page ${at.page} rendered`);
      const folder = pageTilesPath(record, at.page);
      const sha512 = file.digests.sha512;
      const stored = async (): Promise<StoredImageInfo> => {
        try {
          const raw = await readAll(await store.open(sha512, `${folder}/info.json`), 1024 * 1024);
          return JSON.parse(raw.toString('utf8')) as StoredImageInfo;
        } catch (err) {
          if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND'))
            throw new CikuError(
              'CIKU_ERR_DERIVATIVE_NOT_FOUND',
              `page ${at.page} of ${file.name} has no tiles (its preview paints it)`,
            );
          throw err;
        }
      };
      const shared = await shareable(request.principal, at.id, at.version);
      if (shared) void reply.header('Access-Control-Allow-Origin', '*');
      downloadHeaders(reply);
      // Content-addressed and versioned: a page's pixels never change under this URL.
      void reply.header('Cache-Control', shared ? 'public, max-age=86400' : 'private, max-age=3600');
      if (req === undefined) {
        const id = pageImageServiceId(publicUrl, item.id, item.version, file.name, at.page);
        return reply
          .header('Content-Type', `application/ld+json;profile="${IMAGE_CONTEXT}"`)
          .send(JSON.stringify(imageInfoDocument(id, await stored())));
      }
      let rel = `${folder}/${at.rest}`;
      let stat = await store.stat(sha512, rel);
      if (!stat) {
        rel = `${folder}/${levelZeroFile(await stored(), req)}`;
        stat = await store.stat(sha512, rel);
      }
      if (!stat) throw new CikuError('CIKU_ERR_DERIVATIVE_NOT_FOUND', `no such tile ${at.rest}`);
      const size = stat.size;
      void reply.header('Content-Type', 'image/jpeg');
      return sendBytes(request, reply, {
        size,
        etag: `"${sha512.slice(0, 32)}-p${at.page}-${Date.parse(record.updated).toString(36)}-${size}"`,
        open: (range) => store.open(sha512, rel, range),
      });
    }

    const PageImageParams = Type.Intersect([
      FileParams,
      Type.Object({
        version: Type.String({ pattern: '^v[1-9][0-9]{0,8}$' }),
        page: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      }),
    ]);

    app.get(
      '/iiif/:id/:version/files/:name/pages/:page/image',
      {
        schema: {
          tags: ['iiif'],
          summary:
            'IIIF Image API 3.0 level-0 service of one page of a document, in one version: its info.json',
          params: PageImageParams,
          response: { 200: Type.Unknown(), 304: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => servePageImage(request, reply, { ...request.params, rest: '' }),
    );

    app.get(
      '/iiif/:id/:version/files/:name/pages/:page/image/*',
      {
        schema: {
          tags: ['iiif'],
          summary: 'IIIF Image API 3.0 level-0 service of one page of a document: info.json and static tiles',
          params: Type.Intersect([PageImageParams, Type.Object({ '*': Type.String({ maxLength: 200 }) })]),
          response: { 200: Type.Unknown(), 206: Type.Unknown(), 304: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) =>
        servePageImage(request, reply, { ...request.params, rest: request.params['*'] }),
    );

    app.get(
      '/iiif/collection/:name',
      {
        schema: {
          tags: ['iiif'],
          summary: 'IIIF Presentation 3 collection: a kind, museum:{name} or ich:{code}, paged',
          params: Type.Object({ name: Type.String({ maxLength: 600 }) }),
          querystring: Type.Object({ page: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })) }),
          response: { 200: Type.Unknown(), ...errorResponses },
        },
      },
      async (request, reply) => {
        const name = parseCollectionName(request.params.name);
        if (!name)
          throw new CikuError(
            'CIKU_ERR_IIIF_COLLECTION_NOT_FOUND',
            `no collection ${request.params.name}: a kind, museum:{name} or ich:{code}`,
          );
        const page = request.query.page;
        const found = await collectionPage(request.principal, name, page);
        const collection = buildCollection({
          publicUrl,
          name: request.params.name,
          label: found.label,
          ...(page === undefined ? {} : { page }),
          ...(found.next === undefined ? {} : { next: found.next }),
          manifests: found.manifests,
        });
        // What a page lists depends on who asks: only the anonymous answer may be shared and cached publicly.
        const shared = request.principal.role === 'anonymous';
        if (shared) void reply.header('Access-Control-Allow-Origin', '*');
        return reply
          .header('Content-Type', contentType(request))
          .header('Cache-Control', shared ? 'public, max-age=300' : 'private, max-age=300')
          .header('Vary', 'Accept')
          .send(JSON.stringify(collection));
      },
    );
  };
