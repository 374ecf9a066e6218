import { createHash } from 'node:crypto';
import { readAll, type BlobStore } from '../blob-store.ts';
import { layoutConfig, LAYOUT_EXTENSION, objectPathFor } from './layout.ts';
import { findPathConflict } from './names.ts';

/**
 * An OCFL 1.1 validator for objects and storage roots on any BlobStore. Findings carry the spec's validation codes
 * (https://ocfl.io/1.1/spec/validation-codes.html): E… for a MUST broken, W… for a SHOULD.
 */
export interface Finding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  path?: string;
}

export interface ValidationReport {
  valid: boolean;
  findings: Finding[];
  objects: number;
}

export type TreeReader = Pick<BlobStore, 'list' | 'get' | 'listChildren'>;

const REGISTERED_EXTENSIONS = new Set([
  '0001-digest-algorithms',
  '0002-flat-direct-storage-layout',
  '0003-hash-and-id-n-tuple-storage-layout',
  '0004-hashed-n-tuple-storage-layout',
  '0005-mutable-head',
  '0006-flat-omit-prefix-storage-layout',
  '0007-n-tuple-omit-prefix-storage-layout',
  '0008-schema-registry',
  '0009-digest-algorithms',
  '0010-differential-ocfl-version',
  '0011-direct-clean-path-layout',
]);

const INVENTORY_TYPES: Record<string, string> = {
  'https://ocfl.io/1.0/spec/#inventory': '1.0',
  'https://ocfl.io/1.1/spec/#inventory': '1.1',
};

/** Fixity algorithms we can verify, by OCFL name → node crypto name. */
const FIXITY_ALGORITHMS: Record<string, string | null> = {
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
  'blake2b-512': 'blake2b512',
  'blake2b-160': null,
  'blake2b-256': null,
  'blake2b-384': null,
  'sha512/256': 'sha512-256',
  size: null,
  crc32: null,
};

const DIGEST_LENGTH: Record<string, number> = { sha512: 128, sha256: 64 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;
const VERSION_DIR = /^v\d+$/;

const MESSAGES: Record<string, string> = {
  E001: 'The OCFL Object Root must not contain files or directories other than those specified',
  E003: 'There must be exactly one version declaration file in the object root',
  E007: 'The version declaration must contain its dvalue followed by a newline',
  E008: 'OCFL Object content must be stored as a sequence of one or more versions',
  E009: 'The version number sequence must start at 1',
  E010: 'The version number sequence must be continuous without missing integers',
  E011: 'Zero-padded version directory numbers must start with the prefix v and then a zero',
  E012: 'All version directories must use the same naming convention',
  E013: 'New versions must follow the version directory naming convention established by earlier versions',
  E015: 'A version directory must contain no files other than an inventory and its digest',
  E017: 'contentDirectory must not contain "/" and must not be "." or ".."',
  E019: 'contentDirectory must be set in the first version and must not change',
  E023: "Every file within a version's content directory must be referenced in the manifest",
  E025: 'For content-addressing, OCFL Objects must use sha512 or sha256',
  E033: 'The inventory must be well-formed JSON of the specified structure',
  E036: 'The inventory must include the keys id, type, digestAlgorithm and head',
  E037: 'The id must be the same in every inventory of the object',
  E038: 'The inventory type must be the inventory URI of the declared specification version',
  E040: 'head must be the version directory name with the highest version number',
  E041: 'The inventory must include manifest and versions blocks',
  E042: 'Content paths in the manifest must be relative to the object root, inside a version content directory',
  E044: 'versions must be a JSON object',
  E046: 'The keys of versions must correspond to the version directories used',
  E047: 'Each version must be a JSON object',
  E048: 'A version must include created and state',
  E049: 'created must be an RFC 3339 date-time with seconds and a time zone',
  E050: 'State digests must be strings that appear in the manifest',
  E052: 'Logical path elements must not be ".", ".." or empty',
  E053: 'A logical path must not begin or end with "/"',
  E054: 'user must be an object with a name',
  E056: 'fixity keys must be known digest algorithms',
  E057: 'fixity values must map digests to content paths of the manifest',
  E058: 'Every inventory must have a digest sidecar',
  E060: 'The sidecar must contain the digest of the inventory',
  E061: 'The sidecar must be of the form "DIGEST inventory.json"',
  E063: 'Every OCFL Object must have an inventory in its root',
  E064: 'The root inventory must be the same as the inventory of the most recent version',
  E066: 'Each version block of a prior inventory must represent the same state as in the current inventory',
  E067: 'The extensions directory must contain only extension sub-directories',
  E069: 'An OCFL Storage Root must contain a root conformance declaration',
  E070: 'ocfl_layout.json must include the keys extension and description',
  E076: 'There must be exactly one version declaration in the storage root',
  E080: 'The storage root declaration must contain its dvalue followed by a newline',
  E081: 'Objects must declare the same or an earlier specification version than their storage root',
  E083: 'There must be a deterministic mapping from an object id to its storage path',
  E084: 'Storage hierarchies must not include files within intermediate directories',
  E085: 'Storage hierarchies must be terminated by OCFL Object Roots',
  E092: 'Each manifest digest must be the digest of the content paths listed for it',
  E093: 'Fixity digests must match the digests of their content paths',
  E094: 'message must be a JSON string',
  E095: 'Within a version, logical paths must be unique and non-conflicting',
  E096: 'Each digest must occur only once in the manifest, regardless of case',
  E097: 'Each digest must occur only once per algorithm in the fixity block, regardless of case',
  E099: 'Content path elements must not be ".", ".." or empty',
  E100: 'A content path must not begin or end with "/"',
  E101: 'Content paths must be unique and non-conflicting',
  E102: 'An inventory must not contain keys that are not specified',
  E103: 'Each version must conform to the same or a later specification version than the preceding version',
  E104: 'Version directory names must be v followed by the version number',
  E106: 'manifest must be a JSON object',
  E107: 'Every manifest digest must be used by some version state',
  E111: 'fixity must be a JSON object',
  W001: 'Version directory names should not be zero-padded',
  W002: 'A version directory should contain no directories other than the content directory',
  W004: 'For content-addressing, OCFL Objects should use sha512',
  W005: 'The inventory id should be a URI',
  W007: 'A version should include message and user',
  W008: 'user should include an address',
  W009: 'The user address should be a URI',
  W010: 'Every version directory should include an inventory',
  W011: 'Prior inventories should keep the created, message and user values of the current inventory',
  W013: 'Extension sub-directories should be named after registered extensions',
  W016: 'Storage root extension sub-directories should be named after registered extensions',
};

interface ParsedInventory {
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

class Collector {
  readonly findings: Finding[] = [];
  private readonly seen = new Set<string>();

  add(code: string, detail: string, path?: string): void {
    const key = `${code}|${path ?? ''}|${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const base = MESSAGES[code] ?? code;
    this.findings.push({
      code,
      severity: code.startsWith('W') ? 'warning' : 'error',
      message: detail ? `${base}: ${detail}` : base,
      ...(path === undefined ? {} : { path }),
    });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

async function hashKey(tree: TreeReader, key: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of await tree.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Validates one object whose root is at `prefix` ('' or ending in '/') in `tree`. `checkDigests: false` skips
 * re-reading content (structure and inventories only).
 */
export async function validateObject(
  tree: TreeReader,
  prefix: string,
  options: { checkDigests?: boolean; expectedId?: string } = {},
): Promise<ValidationReport> {
  const out = new Collector();
  await checkObject(tree, prefix, out, options);
  return report(out, 1);
}

function report(out: Collector, objects: number): ValidationReport {
  return { valid: !out.findings.some((f) => f.severity === 'error'), findings: out.findings, objects };
}

async function readText(tree: TreeReader, key: string): Promise<Buffer | undefined> {
  try {
    return await readAll(await tree.get(key));
  } catch {
    return undefined;
  }
}

async function checkObject(
  tree: TreeReader,
  prefix: string,
  out: Collector,
  options: { checkDigests?: boolean; expectedId?: string },
): Promise<string | undefined> {
  const files = new Set<string>();
  for await (const blob of tree.list(prefix)) files.add(blob.key.slice(prefix.length));
  const topFiles = new Set<string>();
  const topDirs = new Map<string, string[]>();
  for (const f of files) {
    const slash = f.indexOf('/');
    if (slash === -1) topFiles.add(f);
    else {
      const dir = f.slice(0, slash);
      const list = topDirs.get(dir) ?? [];
      list.push(f.slice(slash + 1));
      topDirs.set(dir, list);
    }
  }

  // Conformance declaration.
  const declarations = [...topFiles].filter((f) => f.startsWith('0='));
  let declaredSpec = '1.1';
  if (declarations.length !== 1) {
    out.add(
      'E003',
      declarations.length === 0 ? 'no 0=ocfl_object_1.x file' : `found ${declarations.join(', ')}`,
    );
  }
  for (const decl of declarations) {
    const m = /^0=ocfl_object_(1\.[01])$/.exec(decl);
    if (!m) {
      out.add('E003', `unrecognised declaration ${decl}`);
      continue;
    }
    declaredSpec = m[1]!;
    const body = await readText(tree, prefix + decl);
    if (body?.toString('utf8') !== `ocfl_object_${declaredSpec}\n`)
      out.add('E007', `${decl} has the wrong text`);
  }

  if (!topFiles.has('inventory.json')) {
    out.add('E063', 'no inventory.json in the object root');
    return undefined;
  }
  const root = await parseInventory(tree, `${prefix}inventory.json`, out, 'root inventory');
  if (!root) return undefined;
  if (root.spec !== undefined && root.spec !== declaredSpec) {
    out.add('E038', `root inventory type is OCFL ${root.spec} but the declaration says ${declaredSpec}`);
  }
  if (root.id !== undefined && !URI.test(root.id)) out.add('W005', JSON.stringify(root.id));
  if (options.expectedId !== undefined && root.id !== undefined && root.id !== options.expectedId) {
    out.add(
      'E083',
      `object stored at the path of ${JSON.stringify(options.expectedId)} has id ${JSON.stringify(root.id)}`,
    );
  }
  await checkSidecar(tree, prefix, '', root, topFiles, out);

  // Object root entries.
  const algorithm = root.digestAlgorithm;
  for (const f of topFiles) {
    if (f === 'inventory.json' || f.startsWith('0=')) continue;
    if (f.startsWith('inventory.json.') && (algorithm === undefined || f === `inventory.json.${algorithm}`))
      continue;
    out.add('E001', `unexpected file ${JSON.stringify(f)} in the object root`);
  }
  const versionNames = [...root.versions.keys()];
  for (const dir of topDirs.keys()) {
    if (dir === 'logs' || dir === 'extensions' || root.versions.has(dir)) continue;
    if (VERSION_DIR.test(dir)) out.add('E046', `version directory ${dir} is not in the root inventory`);
    else out.add('E001', `unexpected directory ${JSON.stringify(dir)} in the object root`);
  }
  for (const v of versionNames) {
    if (!topDirs.has(v)) out.add('E010', `version directory ${v} is missing`);
  }
  const extensions = topDirs.get('extensions');
  if (extensions) {
    for (const rel of extensions) {
      if (!rel.includes('/')) out.add('E067', `file ${JSON.stringify(rel)} directly in extensions/`);
      else {
        const name = rel.slice(0, rel.indexOf('/'));
        if (!REGISTERED_EXTENSIONS.has(name)) out.add('W013', `extensions/${name}`);
      }
    }
  }

  // Version directories and their inventories, oldest first.
  const ordered = versionNames.slice().sort((a, b) => versionNo(a) - versionNo(b));
  const inventories: { version: string; inv: ParsedInventory }[] = [];
  let previousSpec: string | undefined;
  for (const v of ordered) {
    const entries = topDirs.get(v) ?? [];
    const vFiles = new Set(entries.filter((e) => !e.includes('/')));
    const vDirs = new Set(entries.filter((e) => e.includes('/')).map((e) => e.slice(0, e.indexOf('/'))));
    let inv: ParsedInventory | undefined;
    if (vFiles.has('inventory.json')) {
      inv = await parseInventory(tree, `${prefix}${v}/inventory.json`, out, `${v} inventory`);
      if (inv) {
        await checkSidecar(tree, prefix, `${v}/`, inv, vFiles, out);
        if (inv.head !== undefined && inv.head !== v)
          out.add('E040', `${v}/inventory.json has head ${inv.head}`);
        if (inv.id !== undefined && root.id !== undefined && inv.id !== root.id) {
          out.add(
            'E037',
            `${v}/inventory.json has id ${JSON.stringify(inv.id)}, root has ${JSON.stringify(root.id)}`,
          );
        }
        if (inv.contentDirectory !== root.contentDirectory) {
          out.add(
            'E019',
            `${v} uses ${JSON.stringify(inv.contentDirectory)}, root ${JSON.stringify(root.contentDirectory)}`,
          );
        }
        if (inv.spec !== undefined) {
          if (previousSpec !== undefined && inv.spec < previousSpec) {
            out.add('E103', `${v} declares OCFL ${inv.spec} after OCFL ${previousSpec}`);
          }
          previousSpec = inv.spec;
        }
        inventories.push({ version: v, inv });
      }
    } else if (topDirs.has(v)) {
      out.add('W010', `${v} has no inventory.json`);
    }
    for (const f of vFiles) {
      if (f === 'inventory.json' || f.startsWith('inventory.json.')) continue;
      out.add('E015', `unexpected file ${v}/${f}`);
    }
    for (const d of vDirs) if (d !== root.contentDirectory) out.add('W002', `unexpected directory ${v}/${d}`);
  }
  if (root.spec !== undefined && previousSpec !== undefined && root.spec < previousSpec) {
    out.add('E103', `root inventory declares OCFL ${root.spec} after OCFL ${previousSpec}`);
  }

  // The head version's inventory must be the root inventory, byte for byte.
  const headInv = inventories.find((i) => i.version === root.head);
  if (headInv && !headInv.inv.bytes.equals(root.bytes)) {
    out.add('E064', `${root.head}/inventory.json differs from the root inventory`);
  }
  for (const { version, inv } of inventories) compareVersions(root, inv, version, out);

  // Content on disk vs manifests.
  const contentFiles = [...files].filter((f) => {
    const parts = f.split('/');
    return parts.length >= 3 && root.versions.has(parts[0]!) && parts[1] === root.contentDirectory;
  });
  const rootContent = new Set([...root.manifest.values()].flat());
  for (const f of contentFiles) if (!rootContent.has(f)) out.add('E023', `${f} is not in the root manifest`);
  for (const { version, inv } of inventories) {
    const listed = new Set([...inv.manifest.values()].flat());
    for (const f of contentFiles) {
      if (versionNo(f.slice(0, f.indexOf('/'))) <= versionNo(version) && !listed.has(f)) {
        out.add('E023', `${f} is not in the manifest of ${version}/inventory.json`);
      }
    }
  }
  for (const [, paths] of root.manifest) {
    for (const p of paths) if (!files.has(p)) out.add('E092', `content path ${p} does not exist`);
  }

  if (options.checkDigests !== false) {
    const cache = new Map<string, string>();
    const digestOf = async (path: string, alg: string): Promise<string | undefined> => {
      const nodeAlg = FIXITY_ALGORITHMS[alg];
      if (!nodeAlg || !files.has(path)) return undefined;
      const k = `${alg}|${path}`;
      let d = cache.get(k);
      if (d === undefined) {
        d = await hashKey(tree, prefix + path, nodeAlg);
        cache.set(k, d);
      }
      return d;
    };
    for (const inv of [root, ...inventories.map((i) => i.inv)]) {
      if (inv.digestAlgorithm !== 'sha512' && inv.digestAlgorithm !== 'sha256') continue;
      for (const [digest, paths] of inv.manifest) {
        for (const p of paths) {
          const actual = await digestOf(p, inv.digestAlgorithm);
          if (actual !== undefined && actual !== digest.toLowerCase()) {
            out.add('E092', `${p} has ${inv.digestAlgorithm} ${actual}, the manifest says ${digest}`);
          }
        }
      }
      const fixity = inv.raw.fixity;
      if (isObject(fixity)) {
        for (const [alg, block] of Object.entries(fixity)) {
          if (!isObject(block)) continue;
          for (const [digest, paths] of Object.entries(block)) {
            if (!Array.isArray(paths)) continue;
            for (const p of paths) {
              if (typeof p !== 'string') continue;
              const actual = await digestOf(p, alg);
              if (actual !== undefined && actual !== digest.toLowerCase()) {
                out.add('E093', `${p} has ${alg} ${actual}, the fixity block says ${digest}`);
              } else if (actual === undefined && FIXITY_ALGORITHMS[alg] && !files.has(p)) {
                out.add('E093', `fixity content path ${p} does not exist`);
              }
            }
          }
        }
      }
    }
  }
  return root.id;
}

function versionNo(v: string): number {
  const m = /^v(\d+)$/.exec(v);
  return m ? Number(m[1]) : Number.NaN;
}

async function checkSidecar(
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
  const actual = createHash(nodeAlg).update(inv.bytes).digest('hex');
  if (actual !== m[1]!.toLowerCase()) out.add('E060', `${dir}${name} does not match ${dir}inventory.json`);
}

/** Version blocks present in a prior inventory must describe the same state as in the root inventory. */
function compareVersions(root: ParsedInventory, prior: ParsedInventory, where: string, out: Collector): void {
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

async function parseInventory(
  tree: TreeReader,
  key: string,
  out: Collector,
  where: string,
): Promise<ParsedInventory | undefined> {
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
  const inv: ParsedInventory = {
    raw,
    bytes,
    contentDirectory: 'content',
    manifest: new Map(),
    versions: new Map(),
    states: new Map(),
  };
  for (const k of Object.keys(raw))
    if (!INVENTORY_KEYS.has(k)) out.add('E102', `${where} has key ${JSON.stringify(k)}`);

  if (raw.id === undefined) out.add('E036', `${where} has no id`);
  else if (typeof raw.id !== 'string' || raw.id === '') out.add('E037', `${where} id is not a string`);
  else inv.id = raw.id;

  if (raw.type === undefined) out.add('E036', `${where} has no type`);
  else if (typeof raw.type !== 'string' || INVENTORY_TYPES[raw.type] === undefined) {
    out.add('E038', `${where} type ${JSON.stringify(raw.type)}`);
  } else inv.spec = INVENTORY_TYPES[raw.type]!;

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

  if (raw.contentDirectory !== undefined) {
    const cd = raw.contentDirectory;
    if (typeof cd !== 'string' || cd.includes('/') || cd === '.' || cd === '..' || cd === '') {
      out.add('E017', `${where} contentDirectory ${JSON.stringify(cd)}`);
    } else inv.contentDirectory = cd;
  }

  // versions
  let padded: number | undefined;
  if (raw.versions === undefined) out.add('E041', `${where} has no versions block`);
  else if (!isObject(raw.versions)) out.add('E044', `${where} versions is not an object`);
  else {
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
    const validNames = names.filter((n) => VERSION_DIR.test(n));
    const zeroPadded = validNames.filter((n) => n.startsWith('v0'));
    if (zeroPadded.length > 0) {
      out.add('W001', `${where} uses ${zeroPadded[0]}`);
      padded = zeroPadded[0]!.length;
      for (const n of validNames) {
        if (!n.startsWith('v0')) {
          out.add('E011', `${where} version ${n} breaks the zero-padded naming`);
          out.add('E013', `${where} version ${n} breaks the zero-padded naming`);
        } else if (n.length !== padded) out.add('E012', `${where} versions ${zeroPadded[0]} and ${n}`);
      }
    }
    numbers.sort((a, b) => a - b);
    if (numbers.length > 0 && numbers[0] !== 1) out.add('E009', `${where} starts at v${numbers[0]}`);
    for (let i = 1; i < numbers.length; i += 1) {
      if (numbers[i] !== numbers[i - 1]! + 1) {
        out.add('E010', `${where} jumps from v${numbers[i - 1]} to v${numbers[i]}`);
        break;
      }
    }
  }

  if (raw.head === undefined) out.add('E036', `${where} has no head`);
  else if (typeof raw.head !== 'string' || !VERSION_DIR.test(raw.head)) {
    out.add('E040', `${where} head ${JSON.stringify(raw.head)} is not a version name`);
  } else {
    inv.head = raw.head;
    const highest = [...inv.versions.keys()].sort((a, b) => versionNo(b) - versionNo(a))[0];
    if (highest !== undefined && highest !== raw.head)
      out.add('E040', `${where} head is ${raw.head}, highest is ${highest}`);
  }

  // manifest
  const digestRe = inv.digestAlgorithm
    ? new RegExp(`^[0-9a-fA-F]{${DIGEST_LENGTH[inv.digestAlgorithm] ?? 1},}$`)
    : /^[0-9a-fA-F]+$/;
  if (raw.manifest === undefined) out.add('E041', `${where} has no manifest block`);
  else if (!isObject(raw.manifest)) out.add('E106', `${where} manifest is not an object`);
  else {
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

  // version blocks
  const usedDigests = new Set<string>();
  for (const [name, block] of inv.versions) {
    if (block.created === undefined) out.add('E048', `${where} ${name} has no created`);
    else if (typeof block.created !== 'string' || !RFC3339.test(block.created)) {
      out.add('E049', `${where} ${name} created ${JSON.stringify(block.created)}`);
    }
    if (block.message === undefined) out.add('W007', `${where} ${name} has no message`);
    else if (typeof block.message !== 'string') out.add('E094', `${where} ${name} message is not a string`);
    if (block.user === undefined) out.add('W007', `${where} ${name} has no user`);
    else if (!isObject(block.user) || typeof block.user.name !== 'string')
      out.add('E054', `${where} ${name} user`);
    else if (block.user.address === undefined) out.add('W008', `${where} ${name} user has no address`);
    else if (typeof block.user.address !== 'string' || !URI.test(block.user.address)) {
      out.add('W009', `${where} ${name} user address ${JSON.stringify(block.user.address)}`);
    }
    const stateMapOut = new Map<string, string>();
    if (block.state === undefined) out.add('E048', `${where} ${name} has no state`);
    else if (!isObject(block.state)) out.add('E050', `${where} ${name} state is not an object`);
    else {
      const logical: string[] = [];
      for (const [digest, paths] of Object.entries(block.state)) {
        usedDigests.add(digest);
        if (raw.manifest !== undefined && isObject(raw.manifest) && !inv.manifest.has(digest)) {
          out.add('E050', `${where} ${name} state digest ${digest} is not in the manifest`);
        }
        if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
          out.add('E050', `${where} ${name} state value for ${digest} is not an array of paths`);
          continue;
        }
        for (const p of paths as string[]) {
          validPathElements(p, 'E052', 'E053', out, `${where} ${name} state`);
          logical.push(p);
          stateMapOut.set(p, digest);
        }
      }
      const conflict = findPathConflict(logical);
      if (conflict) out.add('E095', `${where} ${name}: ${conflict[0]} and ${conflict[1]}`);
    }
    inv.states.set(name, stateMapOut);
  }
  for (const digest of inv.manifest.keys()) {
    if (!usedDigests.has(digest)) out.add('E107', `${where} manifest digest ${digest} is used by no version`);
  }

  // fixity
  if (raw.fixity !== undefined) {
    if (!isObject(raw.fixity)) out.add('E111', `${where} fixity is not an object`);
    else {
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
  }
  return inv;
}

/**
 * Validates a storage root at `prefix`: its declaration and layout, every object under it (found by walking the
 * hierarchy to the folders that hold an object declaration), and — for the 0004 layout — that each object sits
 * at the path its id maps to.
 */
export async function validateStorageRoot(
  tree: TreeReader,
  prefix: string,
  options: { checkDigests?: boolean; onObject?: (path: string, findings: Finding[]) => void } = {},
): Promise<ValidationReport> {
  const out = new Collector();
  const top: { name: string; isPrefix: boolean }[] = [];
  for await (const c of tree.listChildren(prefix)) top.push(c);
  const declarations = top.filter((c) => !c.isPrefix && c.name.startsWith('0='));
  let rootSpec = '1.1';
  if (declarations.length === 0) out.add('E069', 'no 0=ocfl_1.x declaration');
  else if (declarations.length > 1) out.add('E076', declarations.map((d) => d.name).join(', '));
  for (const d of declarations) {
    const m = /^0=ocfl_(1\.[01])$/.exec(d.name);
    if (!m) {
      out.add('E069', `unrecognised declaration ${d.name}`);
      continue;
    }
    rootSpec = m[1]!;
    const body = await readText(tree, prefix + d.name);
    if (body?.toString('utf8') !== `ocfl_${rootSpec}\n`) out.add('E080', `${d.name} has the wrong text`);
  }
  let useLayout = false;
  if (top.some((c) => !c.isPrefix && c.name === 'ocfl_layout.json')) {
    const body = await readText(tree, `${prefix}ocfl_layout.json`);
    let layout: unknown;
    try {
      layout = JSON.parse(body?.toString('utf8') ?? '');
    } catch {
      layout = undefined;
    }
    if (!isObject(layout) || typeof layout.extension !== 'string' || typeof layout.description !== 'string') {
      out.add('E070', 'ocfl_layout.json');
    } else if (layout.extension === LAYOUT_EXTENSION) {
      const config = await readText(tree, `${prefix}extensions/${LAYOUT_EXTENSION}/config.json`);
      try {
        const parsed = JSON.parse(config?.toString('utf8') ?? '{}') as Record<string, unknown>;
        useLayout = Object.entries(layoutConfig).every(
          ([k, v]) => parsed[k] === undefined || parsed[k] === v,
        );
      } catch {
        useLayout = false;
      }
    }
  }
  for await (const c of tree.listChildren(`${prefix}extensions/`)) {
    if (c.isPrefix && !REGISTERED_EXTENSIONS.has(c.name)) out.add('W016', `extensions/${c.name}`);
  }

  let objects = 0;
  const walk = async (dir: string, depth: number): Promise<boolean> => {
    const children: { name: string; isPrefix: boolean }[] = [];
    for await (const c of tree.listChildren(dir)) children.push(c);
    const decl = children.find((c) => !c.isPrefix && c.name.startsWith('0=ocfl_object_'));
    if (decl) {
      objects += 1;
      const objectSpec = /^0=ocfl_object_(1\.\d)$/.exec(decl.name)?.[1];
      if (objectSpec !== undefined && objectSpec > rootSpec) {
        out.add('E081', `${dir} declares OCFL ${objectSpec} under a ${rootSpec} storage root`);
      }
      const sub = new Collector();
      const id = await checkObject(
        tree,
        dir,
        sub,
        options.checkDigests === undefined ? {} : { checkDigests: options.checkDigests },
      );
      if (useLayout && id !== undefined) {
        const expected = `${prefix}${objectPathFor(id)}/`;
        if (expected !== dir)
          sub.add('E083', `object ${JSON.stringify(id)} is at ${dir}, the layout says ${expected}`);
      }
      for (const f of sub.findings)
        out.findings.push({ ...f, message: `${dir.slice(prefix.length)}: ${f.message}` });
      options.onObject?.(dir, sub.findings);
      return true;
    }
    let found = false;
    for (const c of children) {
      if (!c.isPrefix) {
        if (depth > 0)
          out.add('E084', `file ${dir.slice(prefix.length)}${c.name} in an intermediate directory`);
        continue;
      }
      if (depth === 0 && c.name === 'extensions') continue;
      const sub = await walk(`${dir}${c.name}/`, depth + 1);
      if (!sub) out.add('E085', `${dir.slice(prefix.length)}${c.name}/ holds no OCFL object`);
      found = found || sub;
    }
    return found;
  };
  await walk(prefix, 0);
  return report(out, objects);
}

/** Decides whether `prefix` holds an object root or a storage root, by its declaration files. */
export async function detectOcfl(
  tree: TreeReader,
  prefix: string,
): Promise<'object' | 'storage-root' | undefined> {
  for await (const c of tree.listChildren(prefix)) {
    if (c.isPrefix) continue;
    if (c.name.startsWith('0=ocfl_object_')) return 'object';
    if (c.name.startsWith('0=ocfl_')) return 'storage-root';
  }
  return undefined;
}
