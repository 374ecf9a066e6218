import { canCreate, canRead, canReadVersion, canWrite, isStaff, type Principal } from '../archive/access.ts';
import type { Access } from '../../schemas/item.ts';
import type { Items, ItemView } from '../archive/items.ts';
import { CikuError, isCikuError } from '../errors.ts';

/**
 * Loads items through the access decision. An item the caller may not read answers exactly like a missing one
 * (404 CIKU_ERR_ITEM_NOT_FOUND), so restricted items' existence does not leak. Access over time (DESIGN.md): a
 * deleted item is a takedown (410 for everyone but admins and archivists, whatever version or file is asked for),
 * and an earlier version is read only under the head's access and its own (else 404, as a missing version).
 */
/** How often a write is decided again when other versions keep landing under it. */
const WRITE_ATTEMPTS = 5;

export function createGuards(items: Items, clock: () => Date) {
  const hidden = (id: string): CikuError => new CikuError('CIKU_ERR_ITEM_NOT_FOUND', `no item ${id}`);
  const gone = (head: ItemView): CikuError =>
    new CikuError('CIKU_ERR_ITEM_DELETED', `item ${head.id} was deleted`, {
      details: { version: head.version },
    });
  const noVersion = (id: string, version: string): CikuError =>
    new CikuError('CIKU_ERR_VERSION_NOT_FOUND', `item ${id} has no version ${version}`);

  async function load(id: string, version?: string): Promise<ItemView> {
    try {
      return await items.get(id, version);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ID_INVALID')) throw hidden(id);
      throw err;
    }
  }

  /** The head, if the caller may read the item at all (410 for a deleted item unless `allowDeleted` and staff). */
  async function readableHead(
    principal: Principal,
    id: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<ItemView> {
    const head = await load(id);
    if (!canRead(principal, head.access, clock())) throw hidden(id);
    if (head.tombstone && !(options.allowDeleted && isStaff(principal))) throw gone(head);
    return head;
  }

  /**
   * The item at `version` (or its head) if the caller may read it. Staff read any version of a deleted item; its
   * head alone answers 410 unless `allowDeleted`.
   */
  async function readable(
    principal: Principal,
    id: string,
    version?: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<ItemView> {
    const head = await load(id);
    if (!canRead(principal, head.access, clock())) throw hidden(id);
    const atHead = version === undefined || version === head.version;
    if (head.tombstone && (!isStaff(principal) || (atHead && !options.allowDeleted))) throw gone(head);
    if (atHead) return head;
    let older: ItemView;
    try {
      older = await items.get(id, version);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_VERSION_NOT_FOUND')) throw noVersion(id, version);
      throw err;
    }
    const deleted = head.tombstone !== undefined;
    if (!canReadVersion(principal, { access: head.access, deleted }, older.access, clock()))
      throw noVersion(id, version);
    return older;
  }

  /**
   * The versions of an item the caller may read (all of them for staff): what the version list and the event log
   * show. Each version's own access decides, read from its record.
   */
  async function readableVersions(principal: Principal, head: ItemView): Promise<Set<string>> {
    const all = (await items.versions(head.id)).map((v) => v.version);
    if (isStaff(principal)) return new Set(all);
    const now = clock();
    const out = new Set<string>();
    for (const v of all) {
      const view = v === head.version ? head : await items.get(head.id, v);
      if (canReadVersion(principal, { access: head.access, deleted: false }, view.access, now)) out.add(v);
    }
    return out;
  }

  async function writable(principal: Principal, id: string): Promise<ItemView> {
    const head = await load(id);
    if (!canRead(principal, head.access, clock())) throw hidden(id);
    if (!canWrite(principal, head.access)) {
      throw new CikuError('CIKU_ERR_FORBIDDEN', `your key may read item ${id} but not change it`);
    }
    if (head.tombstone) throw gone(head);
    return head;
  }

  /**
   * A write decided on the head it commits on: `act` is given the head the caller was found allowed to change and
   * must commit conditional on that head's version (`ifVersion: head.version`). If another version lands in
   * between (an access change, say), the decision is taken again on the new head, so nobody's write lands on a
   * version they were not allowed to change. A client's own If-Match (`clientVersion`) is never retried: a
   * different head is its 412.
   */
  async function writeOn<T>(
    principal: Principal,
    id: string,
    act: (head: ItemView) => Promise<T>,
    clientVersion?: string,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const head = await writable(principal, id);
      if (clientVersion !== undefined && clientVersion !== head.version)
        throw new CikuError(
          'CIKU_ERR_VERSION_CONFLICT',
          `item ${id} is at ${head.version}, not ${clientVersion}`,
          {
            details: { head: head.version },
          },
        );
      try {
        return await act(head);
      } catch (err) {
        if (
          clientVersion !== undefined ||
          !isCikuError(err, 'CIKU_ERR_VERSION_CONFLICT') ||
          attempt >= WRITE_ATTEMPTS
        )
          throw err;
      }
    }
  }

  /**
   * The access a new item of this caller's gets: a contributor's items belong to its organisation unless it says
   * otherwise (and it may not name another); anything the caller may not create is refused.
   */
  function creatable(principal: Principal, given: Record<string, unknown> = { level: 'private' }): Access {
    const access =
      principal.role === 'contributor' && given.organisation === undefined
        ? { ...given, organisation: principal.organisation }
        : given;
    if (!canCreate(principal, access as Access)) {
      throw new CikuError(
        'CIKU_ERR_FORBIDDEN',
        principal.role === 'contributor'
          ? 'contributors create items of their own organisation only'
          : 'your key may not create items',
      );
    }
    return access as Access;
  }

  return { creatable, readable, readableHead, readableVersions, writable, writeOn };
}

export type Guards = ReturnType<typeof createGuards>;
