import type { Principal } from '../archive/access.ts';
import type { Agent } from '../archive/items.ts';

/** The OCFL/PREMIS agent for a caller: its role and key id, as a URI. */
export function agentOf(p: Principal): Agent {
  const who = p.keyId === undefined ? p.role : `${p.role}:${p.keyId}`;
  return { name: `api:${who}`, address: `urn:ciku:agent:api:${who}` };
}
