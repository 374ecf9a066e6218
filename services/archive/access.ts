import type { Access } from '../../schemas/item.ts';

/**
 * The one access decision. Every read path (item, version, file, events, derivative, search hit, segment, export)
 * asks `canRead`; every write path asks `canWrite`. Files and derivatives inherit their item's access.
 *
 * | role                     | public | restricted | private | embargoed (any level) |
 * | admin, archivist         | yes    | yes        | yes     | yes                   |
 * | contributor, own org     | yes    | yes        | yes     | yes                   |
 * | contributor, other org   | yes    | no         | no      | no                    |
 * | researcher               | yes    | yes        | no      | no                    |
 * | anonymous                | yes    | no         | no      | no                    |
 */
export type Role = 'admin' | 'archivist' | 'contributor' | 'researcher' | 'anonymous';

export interface Principal {
  role: Role;
  /** The organisation a contributor acts for (required for contributors). */
  organisation?: string;
  /** Which API key authenticated the caller, for logs and events. */
  keyId?: string;
}

export const anonymous: Principal = { role: 'anonymous' };

export function isStaff(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'archivist';
}

function ownsItem(p: Principal, access: Access): boolean {
  return p.role === 'contributor' && p.organisation !== undefined && access.organisation === p.organisation;
}

/**
 * What a principal may read, as data: everything, or the items of its own organisation plus the non-embargoed
 * items at the listed levels. `canRead` is this scope applied to one item; search engines compile the same scope
 * into their query, so a hit, a total and a facet count obey exactly the rule a file download obeys.
 */
export type ReadScope =
  { all: true } | { all: false; levels: Access['level'][]; today: string; organisation?: string };

export function readScope(p: Principal, now: Date): ReadScope {
  if (isStaff(p)) return { all: true };
  const today = now.toISOString().slice(0, 10);
  const levels: Access['level'][] = p.role === 'researcher' ? ['public', 'restricted'] : ['public'];
  const own =
    p.role === 'contributor' && p.organisation !== undefined ? { organisation: p.organisation } : {};
  return { all: false, levels, today, ...own };
}

export function scopeAllows(scope: ReadScope, access: Access): boolean {
  if (scope.all) return true;
  if (scope.organisation !== undefined && access.organisation === scope.organisation) return true;
  const embargoed = access.embargo_until !== undefined && scope.today < access.embargo_until;
  return !embargoed && scope.levels.includes(access.level);
}

export function canRead(p: Principal, access: Access, now: Date): boolean {
  return scopeAllows(readScope(p, now), access);
}

/**
 * Access over time (DESIGN.md). A deletion (tombstone) is a takedown: every version, file and derivative of the
 * item is hidden from all but admins and archivists. An earlier version is readable only under the head's access
 * *and* that version's own (making an item public does not publish what it held while private).
 */
export function canReadVersion(
  p: Principal,
  head: { access: Access; deleted: boolean },
  version: Access | undefined,
  now: Date,
): boolean {
  if (head.deleted && !isStaff(p)) return false;
  const scope = readScope(p, now);
  return scopeAllows(scope, head.access) && (version === undefined || scopeAllows(scope, version));
}

/** Only admins and archivists move an item from one organisation to another (or out of all). */
export function canReassign(p: Principal): boolean {
  return isStaff(p);
}

/** Staff write anything; a contributor writes only its own organisation's items. */
export function canWrite(p: Principal, access: Access): boolean {
  return isStaff(p) || ownsItem(p, access);
}

/** Who may create items at all, and the access block a contributor's new item must carry. */
export function canCreate(p: Principal, access: Access): boolean {
  if (isStaff(p)) return true;
  return p.role === 'contributor' && p.organisation !== undefined && access.organisation === p.organisation;
}
