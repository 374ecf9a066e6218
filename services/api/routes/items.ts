import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  CreateItemBody,
  errorResponses,
  EventList,
  ItemIdParam,
  ItemList,
  ItemView,
  ListQuery,
  PatchItemBody,
  VersionList,
  VersionQuery,
} from '../../../schemas/api.ts';
import { canCreate, readScope } from '../../archive/access.ts';
import { CikuError } from '../../errors.ts';
import type { AppDeps } from '../deps.ts';
import { fixityEvents } from '../../archive/fixity.ts';
import { agentOf } from '../../app/agent.ts';
import { decodeCursor, encodeCursor } from '../../search/catalogue.ts';

const errors = errorResponses;

/** `If-Match: "v3"` (or v3, or W/"v3") → v3. */
function ifMatchVersion(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:W\/)?"?(v[1-9]\d{0,8})"?$/.exec(header.trim());
  if (!m)
    throw new CikuError(
      'CIKU_ERR_VERSION_CONFLICT',
      `If-Match must name a version like "v3", not ${JSON.stringify(header)}`,
    );
  return m[1];
}

export const itemRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function items(app) {
    const { items, guards, clock, queue } = deps;

    app.post(
      '/v1/items',
      {
        schema: {
          tags: ['items'],
          summary: 'Create an item',
          body: CreateItemBody,
          response: { 201: ItemView, ...errors },
        },
      },
      async (request, reply) => {
        const p = request.principal;
        const given = (request.body.access ?? { level: 'private' }) as Record<string, unknown>;
        // A contributor's items belong to its organisation unless it says otherwise (and it may not).
        const access =
          p.role === 'contributor' && given.organisation === undefined
            ? { ...given, organisation: p.organisation }
            : given;
        if (!canCreate(p, access as never)) {
          throw new CikuError(
            'CIKU_ERR_FORBIDDEN',
            p.role === 'contributor'
              ? 'contributors create items of their own organisation only'
              : 'your key may not create items',
          );
        }
        const item = await items.create(
          {
            ...(request.body.id === undefined ? {} : { id: request.body.id }),
            kind: request.body.kind,
            metadata: request.body.metadata,
            access,
          },
          agentOf(p),
        );
        await queue.enqueue('index-item', { itemId: item.id, version: item.version });
        void reply
          .header('ETag', `"${item.version}"`)
          .header('Location', `/v1/items/${encodeURIComponent(item.id)}`);
        return reply.status(201).send(item);
      },
    );

    app.get(
      '/v1/items',
      {
        schema: {
          tags: ['items'],
          summary: 'List the items the caller may read',
          querystring: ListQuery,
          response: { 200: ItemList, ...errors },
        },
      },
      async (request) => {
        // Served by the engine's item catalogue (kept with every commit), never by listing the store: a keyset
        // page with the caller's read scope and the kind inside the query (services/search/catalogue.ts).
        const { limit = 50, sort = 'id', kind, cursor } = request.query;
        const page = await deps.search.listItems({
          scope: readScope(request.principal, clock()),
          sort,
          limit,
          ...(kind === undefined ? {} : { kind }),
          ...(cursor === undefined ? {} : { after: decodeCursor(sort, cursor) }),
        });
        return page.next === undefined
          ? { items: page.items }
          : { items: page.items, next: encodeCursor(sort, page.next) };
      },
    );

    app.get(
      '/v1/items/:id',
      {
        schema: {
          tags: ['items'],
          summary: 'Read an item (its head or ?version=vN)',
          params: ItemIdParam,
          querystring: VersionQuery,
          response: { 200: ItemView, ...errors },
        },
      },
      async (request, reply) => {
        const item = await guards.readable(request.principal, request.params.id, request.query.version);
        void reply.header('ETag', `"${item.version}"`);
        // Each file with what the workers read and made from its bytes (records are keyed by digest).
        const files = await Promise.all(
          item.files.map(async (f) => ({
            ...f,
            ...(await deps.derivatives.viewFor(f.digests.sha512, f.media_type)),
          })),
        );
        return { ...item, files };
      },
    );

    app.patch(
      '/v1/items/:id',
      {
        schema: {
          tags: ['items'],
          summary:
            'Edit metadata/access or rename/remove files: one new version; If-Match: "vN" makes it conditional',
          params: ItemIdParam,
          body: PatchItemBody,
          headers: Type.Object({ 'if-match': Type.Optional(Type.String()) }),
          response: { 200: ItemView, ...errors },
        },
      },
      async (request, reply) => {
        const p = request.principal;
        const ifVersion = ifMatchVersion(request.headers['if-match']);
        if (request.body.access !== undefined && p.role === 'contributor') {
          const next = request.body.access as { organisation?: string };
          if (next.organisation !== p.organisation)
            throw new CikuError(
              'CIKU_ERR_FORBIDDEN',
              'contributors cannot give an item to another organisation',
            );
        }
        const patch = {
          ...(request.body.metadata === undefined ? {} : { metadata: request.body.metadata }),
          ...(request.body.access === undefined ? {} : { access: request.body.access }),
          ...(request.body.rename === undefined ? {} : { rename: request.body.rename }),
          ...(request.body.remove === undefined ? {} : { remove: request.body.remove }),
        };
        // Committed on the head the write was allowed on (decided again if another version lands first).
        const item = await guards.writeOn(
          p,
          request.params.id,
          (head) => deps.items.update(head.id, patch, agentOf(p), { ifVersion: head.version }),
          ifVersion,
        );
        await queue.enqueue('index-item', { itemId: item.id, version: item.version });
        void reply.header('ETag', `"${item.version}"`);
        return item;
      },
    );

    app.delete(
      '/v1/items/:id',
      {
        schema: {
          tags: ['items'],
          summary: 'Delete an item: a tombstone version (history is kept)',
          params: ItemIdParam,
          querystring: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }),
          response: { 200: ItemView, ...errors },
        },
      },
      async (request) => {
        const item = await guards.writeOn(request.principal, request.params.id, (head) =>
          items.delete(head.id, agentOf(request.principal), request.query.reason, {
            ifVersion: head.version,
          }),
        );
        await queue.enqueue('index-item', { itemId: item.id, version: item.version });
        return item;
      },
    );

    app.get(
      '/v1/items/:id/versions',
      {
        schema: {
          tags: ['items'],
          summary: 'The versions of an item',
          params: ItemIdParam,
          response: { 200: VersionList, ...errors },
        },
      },
      async (request) => {
        const head = await guards.readableHead(request.principal, request.params.id, { allowDeleted: true });
        // Only the versions this caller may read (access over time): an earlier private version is not listed.
        const readable = await guards.readableVersions(request.principal, head);
        return { versions: (await items.versions(head.id)).filter((v) => readable.has(v.version)) };
      },
    );

    app.get(
      '/v1/items/:id/events',
      {
        schema: {
          tags: ['items'],
          summary: 'The PREMIS event log of an item',
          params: ItemIdParam,
          response: { 200: EventList, ...errors },
        },
      },
      async (request) => {
        const head = await guards.readableHead(request.principal, request.params.id, { allowDeleted: true });
        // The item's own log (in its OCFL versions) and the fixity checks audits recorded beside it, each shown
        // only for the versions this caller may read.
        const readable = await guards.readableVersions(request.principal, head);
        const all = [...(await items.events(head.id)), ...(await fixityEvents(deps.blobs, head.id))].filter(
          (e) => e.version === undefined || readable.has(e.version),
        );
        return {
          events: all.sort((a, b) => (a.date_time < b.date_time ? -1 : a.date_time > b.date_time ? 1 : 0)),
        };
      },
    );
  };
