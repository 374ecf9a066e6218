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
import { CikuError } from '../../errors.ts';
import type { AppDeps } from '../deps.ts';

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

/** The item routes: parse, call the item service (services/app/items.ts), answer. */
export const itemRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function items(app) {
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
        const item = await deps.app.items.create(request.principal, request.body);
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
      async (request) => deps.app.items.list(request.principal, request.query),
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
        const item = await deps.app.items.read(request.principal, request.params.id, request.query.version);
        void reply.header('ETag', `"${item.version}"`);
        return item;
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
        const ifVersion = ifMatchVersion(request.headers['if-match']);
        const item = await deps.app.items.update(
          request.principal,
          request.params.id,
          request.body,
          ifVersion,
        );
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
        const item = await deps.app.items.remove(request.principal, request.params.id, request.query.reason);
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
        return { versions: await deps.app.items.versions(request.principal, request.params.id) };
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
        return { events: await deps.app.items.events(request.principal, request.params.id) };
      },
    );
  };
