import { findPathConflict } from './names.ts';
import {
  DIGEST_LENGTH,
  FIXITY_ALGORITHMS,
  INVENTORY_TYPES,
  isObject,
  RFC3339,
  URI,
  VERSION_DIR,
  versionNo,
  type Collector,
} from './validator-codes.ts';
import { digestOfBytes, readText, type TreeReader } from './validator-read.ts';

/**
 * One inventory read and checked on its own (its keys, id, type, algorithm, versions, head, manifest, version
 * blocks, fixity), its sidecar checked against it, and a prior inventory compared with the root one.
 */
export interface ParsedInventory {
  raw: Record<string, unknown>;
  bytes: Buffer;
  id?: string;
  spec?: string;
  digestAlgorithm?: string;
  head?: string;
  contentDirectory: string;
  manifest: Map<string, string[]>;
  versions: Map<string, Record<string, unknown>>;
  /** version → logical path → digest */
  states: Map<string, Map<string, string>>;
}

function validPathElements(
  p: string,
  emptyCode: string,
  slashCode: string,
  out: Collector,
  where: string,
): boolean {
  let ok = true;
  if (p.startsWith('/') || p.endsWith('/')) {
    out.add(slashCode, `${JSON.stringify(p)} in ${where}`);
    ok = false;
  }
  const inner = p.replace(/^\/+|\/+$/g, '');
  if (inner.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    out.add(emptyCode, `${JSON.stringify(p)} in ${where}`);
    ok = false;
  }
  return ok;
}

const INVENTORY_KEYS = new Set([
  'id',
  'type',
  'digestAlgorithm',
  'head',
  'contentDirectory',
  'fixity',
  'manifest',
  'versions',
]);

/** Reads and checks the inventory at `key`; undefined when it is missing or not a JSON object. */
export async function parseInventory(
  tree: TreeReader,
  key: string,
  out: Collector,
  where: string,
): Promise<ParsedInventory | undefined> {
  const json = await readInventoryJson(tree, key, out, where);
  if (!json) return undefined;
  const { raw, bytes } = json;
  const inv: ParsedInventory = {
    raw,
    bytes,
    contentDirectory: 'content',
    manifest: new Map(),
    versions: new Map(),
    states: new Map(),
  };
  checkKeys(raw, out, where);
  checkId(raw, inv, out, where);
  checkType(raw, inv, out, where);
  checkDigestAlgorithm(raw, inv, out, where);
  checkContentDirectory(raw, inv, out, where);
  checkVersionNames(raw, inv, out, where);
  checkHead(raw, inv, out, where);
  checkManifest(raw, inv, out, where);
  checkVersionBlocks(raw, inv, out, where);
  checkFixity(raw, inv, out, where);
  return inv;
}

async function readInventoryJson(
  tree: TreeReader,
  key: string,
  out: Collector,
  where: string,
): Promise<{ raw: Record<string, unknown>; bytes: Buffer } | undefined> {
  const bytes = await readText(tree, key);
  if (!bytes) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    out.add('E033', `${where} is not JSON (${(err as Error).message})`);
    return undefined;
  }
  if (!isObject(raw)) {
    out.add('E033', `${where} is not a JSON object`);
    return undefined;
  }
  return { raw, bytes };
}

type Raw = Record<string, unknown>;

function checkKeys(raw: Raw, out: Collector, where: string): void {
  for (const k of Object.keys(raw))
    if (!INVENTORY_KEYS.has(k)) out.add('E102', `${where} has key ${JSON.stringify(k)}`);
}

function checkId(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.id === undefined) out.add('E036', `${where} has no id`);
  else if (typeof raw.id !== 'string' || raw.id === '') out.add('E037', `${where} id is not a string`);
  else inv.id = raw.id;
}

function checkType(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.type === undefined) out.add('E036', `${where} has no type`);
  else if (typeof raw.type !== 'string' || INVENTORY_TYPES[raw.type] === undefined) {
    out.add('E038', `${where} type ${JSON.stringify(raw.type)}`);
  } else inv.spec = INVENTORY_TYPES[raw.type]!;
}

/** sha512, or sha256 with a warning; another known algorithm is an error but still used to check what it can. */
function checkDigestAlgorithm(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.digestAlgorithm === undefined) out.add('E036', `${where} has no digestAlgorithm`);
  else if (raw.digestAlgorithm === 'sha512') inv.digestAlgorithm = 'sha512';
  else if (raw.digestAlgorithm === 'sha256') {
    inv.digestAlgorithm = 'sha256';
    out.add('W004', `${where} uses sha256`);
  } else {
    out.add('E025', `${where} uses ${JSON.stringify(raw.digestAlgorithm)}`);
    if (typeof raw.digestAlgorithm === 'string' && FIXITY_ALGORITHMS[raw.digestAlgorithm]) {
      inv.digestAlgorithm = raw.digestAlgorithm;
    }
  }
}

function checkContentDirectory(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.contentDirectory === undefined) return;
  const cd = raw.contentDirectory;
  if (typeof cd !== 'string' || cd.includes('/') || cd === '.' || cd === '..' || cd === '') {
    out.add('E017', `${where} contentDirectory ${JSON.stringify(cd)}`);
  } else inv.contentDirectory = cd;
}

/** The keys of `versions`: well-formed names, one padding convention, a sequence from v1 without gaps. */
function checkVersionNames(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.versions === undefined) return out.add('E041', `${where} has no versions block`);
  if (!isObject(raw.versions)) return out.add('E044', `${where} versions is not an object`);
  const names = Object.keys(raw.versions);
  if (names.length === 0) out.add('E008', `${where} has no versions`);
  const numbers: number[] = [];
  for (const name of names) {
    if (!VERSION_DIR.test(name)) {
      out.add('E104', `${where} version ${JSON.stringify(name)}`);
      continue;
    }
    numbers.push(versionNo(name));
    const block = raw.versions[name];
    if (!isObject(block)) {
      out.add('E047', `${where} version ${name} is not an object`);
      continue;
    }
    inv.versions.set(name, block);
  }
  checkZeroPadding(
    names.filter((n) => VERSION_DIR.test(n)),
    out,
    where,
  );
  checkSequence(numbers, out, where);
}

function checkZeroPadding(validNames: string[], out: Collector, where: string): void {
  const zeroPadded = validNames.filter((n) => n.startsWith('v0'));
  if (zeroPadded.length === 0) return;
  out.add('W001', `${where} uses ${zeroPadded[0]}`);
  const padded = zeroPadded[0]!.length;
  for (const n of validNames) {
    if (!n.startsWith('v0')) {
      out.add('E011', `${where} version ${n} breaks the zero-padded naming`);
      out.add('E013', `${where} version ${n} breaks the zero-padded naming`);
    } else if (n.length !== padded) out.add('E012', `${where} versions ${zeroPadded[0]} and ${n}`);
  }
}

function checkSequence(numbers: number[], out: Collector, where: string): void {
  numbers.sort((a, b) => a - b);
  if (numbers.length > 0 && numbers[0] !== 1) out.add('E009', `${where} starts at v${numbers[0]}`);
  for (let i = 1; i < numbers.length; i += 1) {
    if (numbers[i] !== numbers[i - 1]! + 1) {
      out.add('E010', `${where} jumps from v${numbers[i - 1]} to v${numbers[i]}`);
      break;
    }
  }
}

function checkHead(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.head === undefined) out.add('E036', `${where} has no head`);
  else if (typeof raw.head !== 'string' || !VERSION_DIR.test(raw.head)) {
    out.add('E040', `${where} head ${JSON.stringify(raw.head)} is not a version name`);
  } else {
    inv.head = raw.head;
    const highest = [...inv.versions.keys()].sort((a, b) => versionNo(b) - versionNo(a))[0];
    if (highest !== undefined && highest !== raw.head)
      out.add('E040', `${where} head is ${raw.head}, highest is ${highest}`);
  }
}

/** Manifest digests well-formed and unique; content paths valid, inside a version's content directory, apart. */
function checkManifest(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  const digestRe = inv.digestAlgorithm
    ? new RegExp(`^[0-9a-fA-F]{${DIGEST_LENGTH[inv.digestAlgorithm] ?? 1},}$`)
    : /^[0-9a-fA-F]+$/;
  if (raw.manifest === undefined) return out.add('E041', `${where} has no manifest block`);
  if (!isObject(raw.manifest)) return out.add('E106', `${where} manifest is not an object`);
  const lower = new Set<string>();
  const allContent: string[] = [];
  for (const [digest, paths] of Object.entries(raw.manifest)) {
    if (!digestRe.test(digest))
      out.add('E096', `${where} manifest key ${JSON.stringify(digest)} is not a digest`);
    if (lower.has(digest.toLowerCase())) out.add('E096', `${where} manifest repeats ${digest}`);
    lower.add(digest.toLowerCase());
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
      out.add('E092', `${where} manifest value for ${digest} is not an array of paths`);
      continue;
    }
    const list = paths as string[];
    for (const p of list) {
      if (!validPathElements(p, 'E099', 'E100', out, `${where} manifest`)) continue;
      const [v, cd] = p.split('/');
      if (v === undefined || !inv.versions.has(v) || cd !== inv.contentDirectory) {
        out.add('E042', `${where} content path ${p} is not inside a version content directory`);
      }
    }
    allContent.push(...list);
    inv.manifest.set(digest, list);
  }
  const conflict = findPathConflict(allContent);
  if (conflict) out.add('E101', `${where} content paths ${conflict[0]} and ${conflict[1]}`);
}

/** Each version's metadata and state (kept in `inv.states`); then every manifest digest must be used. */
function checkVersionBlocks(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  const usedDigests = new Set<string>();
  const hasManifest = raw.manifest !== undefined && isObject(raw.manifest);
  for (const [name, block] of inv.versions) {
    checkVersionMetadata(block, out, `${where} ${name}`);
    inv.states.set(name, readState(block, inv, hasManifest, usedDigests, out, `${where} ${name}`));
  }
  for (const digest of inv.manifest.keys()) {
    if (!usedDigests.has(digest)) out.add('E107', `${where} manifest digest ${digest} is used by no version`);
  }
}

/** created, message and user of one version block (`where` names the inventory and the version). */
function checkVersionMetadata(block: Raw, out: Collector, where: string): void {
  if (block.created === undefined) out.add('E048', `${where} has no created`);
  else if (typeof block.created !== 'string' || !RFC3339.test(block.created)) {
    out.add('E049', `${where} created ${JSON.stringify(block.created)}`);
  }
  if (block.message === undefined) out.add('W007', `${where} has no message`);
  else if (typeof block.message !== 'string') out.add('E094', `${where} message is not a string`);
  if (block.user === undefined) out.add('W007', `${where} has no user`);
  else if (!isObject(block.user) || typeof block.user.name !== 'string') out.add('E054', `${where} user`);
  else if (block.user.address === undefined) out.add('W008', `${where} user has no address`);
  else if (typeof block.user.address !== 'string' || !URI.test(block.user.address)) {
    out.add('W009', `${where} user address ${JSON.stringify(block.user.address)}`);
  }
}

/** A version's state as logical path → digest, its digests noted in `used`. */
function readState(
  block: Raw,
  inv: ParsedInventory,
  hasManifest: boolean,
  used: Set<string>,
  out: Collector,
  where: string,
): Map<string, string> {
  const state = new Map<string, string>();
  if (block.state === undefined) {
    out.add('E048', `${where} has no state`);
    return state;
  }
  if (!isObject(block.state)) {
    out.add('E050', `${where} state is not an object`);
    return state;
  }
  const logical: string[] = [];
  for (const [digest, paths] of Object.entries(block.state)) {
    used.add(digest);
    if (hasManifest && !inv.manifest.has(digest)) {
      out.add('E050', `${where} state digest ${digest} is not in the manifest`);
    }
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
      out.add('E050', `${where} state value for ${digest} is not an array of paths`);
      continue;
    }
    for (const p of paths as string[]) {
      validPathElements(p, 'E052', 'E053', out, `${where} state`);
      logical.push(p);
      state.set(p, digest);
    }
  }
  const conflict = findPathConflict(logical);
  if (conflict) out.add('E095', `${where}: ${conflict[0]} and ${conflict[1]}`);
  return state;
}

/** Fixity blocks: known algorithms, digests unique, paths valid and in the manifest. */
function checkFixity(raw: Raw, inv: ParsedInventory, out: Collector, where: string): void {
  if (raw.fixity === undefined) return;
  if (!isObject(raw.fixity)) return out.add('E111', `${where} fixity is not an object`);
  const manifestPaths = new Set([...inv.manifest.values()].flat());
  for (const [alg, block] of Object.entries(raw.fixity)) {
    if (!(alg in FIXITY_ALGORITHMS)) out.add('E056', `${where} fixity algorithm ${JSON.stringify(alg)}`);
    if (!isObject(block)) {
      out.add('E057', `${where} fixity ${alg} is not an object`);
      continue;
    }
    const lower = new Set<string>();
    for (const [digest, paths] of Object.entries(block)) {
      if (lower.has(digest.toLowerCase())) out.add('E097', `${where} fixity ${alg} repeats ${digest}`);
      lower.add(digest.toLowerCase());
      if (!Array.isArray(paths)) {
        out.add('E057', `${where} fixity ${alg} value for ${digest}`);
        continue;
      }
      for (const p of paths) {
        if (typeof p !== 'string') continue;
        if (!validPathElements(p, 'E099', 'E100', out, `${where} fixity`)) continue;
        if (!manifestPaths.has(p)) out.add('E057', `${where} fixity path ${p} is not in the manifest`);
      }
    }
  }
}

/** The sidecar `inventory.json.<algorithm>` beside an inventory (in `dir`, "" or "vN/") must hold its digest. */
export async function checkSidecar(
  tree: TreeReader,
  prefix: string,
  dir: string,
  inv: ParsedInventory,
  siblings: Set<string>,
  out: Collector,
): Promise<void> {
  const alg = inv.digestAlgorithm;
  if (alg === undefined) return;
  const name = `inventory.json.${alg}`;
  if (!siblings.has(name)) {
    out.add('E058', `${dir}${name} is missing`);
    return;
  }
  const body = (await readText(tree, `${prefix}${dir}${name}`))?.toString('utf8') ?? '';
  const m = /^([0-9a-fA-F]+)[ \t]+inventory\.json\n?$/.exec(body);
  if (!m) {
    out.add('E061', `${dir}${name}`);
    return;
  }
  const nodeAlg = FIXITY_ALGORITHMS[alg];
  if (!nodeAlg) return;
  const actual = digestOfBytes(inv.bytes, nodeAlg);
  if (actual !== m[1]!.toLowerCase()) out.add('E060', `${dir}${name} does not match ${dir}inventory.json`);
}

/** Version blocks present in a prior inventory must describe the same state as in the root inventory. */
export function compareVersions(
  root: ParsedInventory,
  prior: ParsedInventory,
  where: string,
  out: Collector,
): void {
  for (const [v, priorState] of prior.states) {
    const rootState = root.states.get(v);
    if (!rootState) continue;
    const same =
      priorState.size === rootState.size &&
      [...priorState].every(([path, digest]) => {
        const other = rootState.get(path);
        if (other === undefined) return false;
        if (prior.digestAlgorithm === root.digestAlgorithm) return other === digest;
        // Different algorithms: the same content is the same content path in both manifests.
        const a = new Set(prior.manifest.get(digest) ?? []);
        return (root.manifest.get(other) ?? []).some((p) => a.has(p));
      });
    if (!same) out.add('E066', `version ${v} in ${where}/inventory.json differs from the root inventory`);
    const pb = prior.versions.get(v);
    const rb = root.versions.get(v);
    if (pb && rb) {
      for (const key of ['created', 'message', 'user']) {
        if (JSON.stringify(pb[key]) !== JSON.stringify(rb[key])) {
          out.add('W011', `${key} of ${v} differs between ${where}/inventory.json and the root inventory`);
        }
      }
    }
  }
}
