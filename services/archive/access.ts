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

function isStaff(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'archivist';
}

function ownsItem(p: Principal, access: Access): boolean {
  return p.role === 'contributor' && p.organisation !== undefined && access.organisation === p.organisation;
}

export function isEmbargoed(access: Access, now: Date): boolean {
  return access.embargo_until !== undefined && now.toISOString().slice(0, 10) < access.embargo_until;
}

export function canRead(p: Principal, access: Access, now: Date): boolean {
  if (isStaff(p) || ownsItem(p, access)) return true;
  if (isEmbargoed(access, now)) return false;
  if (access.level === 'public') return true;
  if (access.level === 'restricted') return p.role === 'researcher';
  return false;
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
