import { canRead, canWrite, type Principal } from '../archive/access.ts';
import type { Items, ItemView } from '../archive/items.ts';
import { CikuError, isCikuError } from '../errors.ts';

/**
 * Loads items through the access decision. An item the caller may not read answers exactly like a missing one
 * (404 CIKU_ERR_ITEM_NOT_FOUND), so restricted items' existence does not leak.
 */
export function createGuards(items: Items, clock: () => Date) {
  const hidden = (id: string): CikuError => new CikuError('CIKU_ERR_ITEM_NOT_FOUND', `no item ${id}`);

  async function load(id: string, version?: string): Promise<ItemView> {
    try {
      return await items.get(id, version);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ID_INVALID')) throw hidden(id);
      throw err;
    }
  }

  /** The item (at `version` or its head) if the caller may read it; the head's access decides for every version. */
  async function readable(
    principal: Principal,
    id: string,
    version?: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<ItemView> {
    const head = await load(id);
    if (!canRead(principal, head.access, clock())) throw hidden(id);
    if (version === undefined) {
      if (head.tombstone && !options.allowDeleted)
        throw new CikuError('CIKU_ERR_ITEM_DELETED', `item ${id} was deleted`, {
          details: { version: head.version },
        });
      return head;
    }
    return version === head.version ? head : items.get(id, version);
  }

  async function writable(principal: Principal, id: string): Promise<ItemView> {
    const head = await load(id);
    if (!canRead(principal, head.access, clock())) throw hidden(id);
    if (!canWrite(principal, head.access)) {
      throw new CikuError('CIKU_ERR_FORBIDDEN', `your key may read item ${id} but not change it`);
    }
    if (head.tombstone) throw new CikuError('CIKU_ERR_ITEM_DELETED', `item ${id} was deleted`);
    return head;
  }

  return { readable, writable };
}

export type Guards = ReturnType<typeof createGuards>;
