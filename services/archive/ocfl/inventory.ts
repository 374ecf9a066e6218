/** The OCFL 1.1 inventory as we write it (https://ocfl.io/1.1/spec/#inventory). */
export const INVENTORY_TYPE = 'https://ocfl.io/1.1/spec/#inventory';
export const OBJECT_DECLARATION = '0=ocfl_object_1.1';
export const OBJECT_DECLARATION_BODY = 'ocfl_object_1.1\n';
export const ROOT_DECLARATION = '0=ocfl_1.1';
export const ROOT_DECLARATION_BODY = 'ocfl_1.1\n';
export const CONTENT_DIRECTORY = 'content';

export interface OcflUser {
  name: string;
  address: string;
}

export interface VersionBlock {
  created: string;
  message: string;
  user: OcflUser;
  /** digest → logical paths */
  state: Record<string, string[]>;
}

export interface Inventory {
  id: string;
  type: typeof INVENTORY_TYPE;
  digestAlgorithm: 'sha512';
  head: string;
  contentDirectory?: string;
  manifest: Record<string, string[]>;
  versions: Record<string, VersionBlock>;
  fixity?: Record<string, Record<string, string[]>>;
}

export function versionName(n: number): string {
  return `v${n}`;
}

export function versionNumber(name: string): number {
  const m = /^v(\d+)$/.exec(name);
  if (!m) throw new Error(`not a version name: ${name}`);
  return Number(m[1]);
}

/** Deterministic serialisation: the bytes of an inventory depend only on its content. */
export function serialiseInventory(inv: Inventory): Buffer {
  const ordered: Inventory = {
    id: inv.id,
    type: inv.type,
    digestAlgorithm: inv.digestAlgorithm,
    head: inv.head,
    ...(inv.contentDirectory === undefined ? {} : { contentDirectory: inv.contentDirectory }),
    manifest: inv.manifest,
    versions: inv.versions,
    ...(inv.fixity === undefined ? {} : { fixity: inv.fixity }),
  };
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`);
}

export function sidecarBody(digest: string): string {
  return `${digest} inventory.json\n`;
}

/** logical path → digest for one version. */
export function stateMap(block: VersionBlock): Map<string, string> {
  const map = new Map<string, string>();
  for (const [digest, paths] of Object.entries(block.state)) for (const p of paths) map.set(p, digest);
  return map;
}

export function stateBlock(map: Map<string, string>): Record<string, string[]> {
  const state: Record<string, string[]> = {};
  for (const [p, digest] of [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    (state[digest] ??= []).push(p);
  }
  return state;
}
