import type { CreateItemBody, ListQueryT, PatchItemBody } from '../../schemas/api.ts';
import type { PremisEvent } from '../../schemas/event.ts';
import type { JobQueue } from '../adapters/queue.ts';
import { readScope, type Principal } from '../archive/access.ts';
import type { BlobStore } from '../archive/blob-store.ts';
import type { DerivativeStore } from '../archive/derivatives.ts';
import { fixityEvents } from '../archive/fixity.ts';
import type { Items, ItemView } from '../archive/items.ts';
import { CikuError } from '../errors.ts';
import { decodeCursor, encodeCursor } from '../search/catalogue.ts';
import type { SearchIndex } from '../search/search-index.ts';
import { agentOf } from './agent.ts';
import { enqueueIndex } from './follow-ups.ts';
import type { Guards } from './guards.ts';

/**
 * The item use cases every front door shares (API, pages, batch rows where they apply): each read goes through
 * the access decision, each write is decided on the head it commits on and queues its version for the index.
 */
export function createItemService(deps: {
  items: Items;
  guards: Guards;
  queue: Pick<JobQueue, 'enqueue'>;
  search: SearchIndex;
  derivatives: DerivativeStore;
  blobs: BlobStore;
  clock: () => Date;
}) {
  const { items, guards, queue } = deps;

  async function create(principal: Principal, body: CreateItemBody): Promise<ItemView> {
    const access = guards.creatable(principal, body.access as Record<string, unknown> | undefined);
    const item = await items.create(
      {
        ...(body.id === undefined ? {} : { id: body.id }),
        kind: body.kind,
        metadata: body.metadata,
        access,
      },
      agentOf(principal),
    );
    await enqueueIndex(queue, item);
    return item;
  }

  /**
   * A page of the items the caller may read, from the engine's item catalogue (kept with every commit), never by
   * listing the store: a keyset page with the caller's read scope and the kind inside the query.
   */
  async function list(
    principal: Principal,
    query: ListQueryT,
  ): Promise<{ items: ItemView[]; next?: string }> {
    const { limit = 50, sort = 'id', kind, cursor } = query;
    const page = await deps.search.listItems({
      scope: readScope(principal, deps.clock()),
      sort,
      limit,
      ...(kind === undefined ? {} : { kind }),
      ...(cursor === undefined ? {} : { after: decodeCursor(sort, cursor) }),
    });
    return page.next === undefined
      ? { items: page.items }
      : { items: page.items, next: encodeCursor(sort, page.next) };
  }

  /** An item version the caller may read, each file with what the workers read and made from its bytes. */
  async function read(principal: Principal, id: string, version?: string) {
    const item = await guards.readable(principal, id, version);
    const files = await Promise.all(
      item.files.map(async (f) => ({
        ...f,
        ...(await deps.derivatives.viewFor(f.digests.sha512, f.media_type)),
      })),
    );
    return { ...item, files };
  }

  /** One new version from a PATCH; `ifVersion` is the client's If-Match (never retried). */
  async function update(
    principal: Principal,
    id: string,
    body: PatchItemBody,
    ifVersion?: string,
  ): Promise<ItemView> {
    if (body.access !== undefined && principal.role === 'contributor') {
      const next = body.access as { organisation?: string };
      if (next.organisation !== principal.organisation)
        throw new CikuError('CIKU_ERR_FORBIDDEN', 'contributors cannot give an item to another organisation');
    }
    const patch = {
      ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
      ...(body.access === undefined ? {} : { access: body.access }),
      ...(body.rename === undefined ? {} : { rename: body.rename }),
      ...(body.remove === undefined ? {} : { remove: body.remove }),
    };
    const item = await guards.writeOn(
      principal,
      id,
      (head) => items.update(head.id, patch, agentOf(principal), { ifVersion: head.version }),
      ifVersion,
    );
    await enqueueIndex(queue, item);
    return item;
  }

  /** A tombstone version (history is kept). */
  async function remove(principal: Principal, id: string, reason?: string): Promise<ItemView> {
    const item = await guards.writeOn(principal, id, (head) =>
      items.delete(head.id, agentOf(principal), reason, { ifVersion: head.version }),
    );
    await enqueueIndex(queue, item);
    return item;
  }

  /** The versions this caller may read (access over time: an earlier private version is not listed). */
  async function versions(principal: Principal, id: string) {
    const head = await guards.readableHead(principal, id, { allowDeleted: true });
    const readable = await guards.readableVersions(principal, head);
    return (await items.versions(head.id)).filter((v) => readable.has(v.version));
  }

  /**
   * The item's own log (in its OCFL versions) and the fixity checks audits recorded beside it, each shown only for
   * the versions this caller may read, oldest first.
   */
  async function events(principal: Principal, id: string): Promise<PremisEvent[]> {
    const head = await guards.readableHead(principal, id, { allowDeleted: true });
    const readable = await guards.readableVersions(principal, head);
    const all = [...(await items.events(head.id)), ...(await fixityEvents(deps.blobs, head.id))].filter(
      (e) => e.version === undefined || readable.has(e.version),
    );
    return all.sort((a, b) => (a.date_time < b.date_time ? -1 : a.date_time > b.date_time ? 1 : 0));
  }

  return { create, list, read, update, remove, versions, events };
}

export type ItemService = ReturnType<typeof createItemService>;
