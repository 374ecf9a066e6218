import {
  FIXITY_ALGORITHMS,
  isObject,
  REGISTERED_EXTENSIONS,
  URI,
  VERSION_DIR,
  versionNo,
  type Collector,
} from './validator-codes.ts';
import {
  checkSidecar,
  compareVersions,
  parseInventory,
  type ParsedInventory,
} from './validator-inventory.ts';
import { digestsOfBlob, readText, type TreeReader } from './validator-read.ts';

/**
 * One object root checked: its declaration, root inventory, the entries of its root, its extensions, each version
 * directory and its inventory, the content on disk against the manifests, and (unless told not to) every content
 * digest of the manifests and fixity blocks.
 */
export interface ObjectCheckOptions {
  checkDigests?: boolean;
  expectedId?: string;
}

/** What an object root holds, relative to it: every file, the files at its top, the files under each top dir. */
interface Listing {
  files: Set<string>;
  topFiles: Set<string>;
  topDirs: Map<string, string[]>;
}

interface VersionInventory {
  version: string;
  inv: ParsedInventory;
}

/** Checks the object whose root is `prefix` ('' or ending in '/'); answers its id when its inventory gives one. */
export async function checkObject(
  tree: TreeReader,
  prefix: string,
  out: Collector,
  options: ObjectCheckOptions,
): Promise<string | undefined> {
  const listing = await listObject(tree, prefix);
  const declaredSpec = await checkDeclaration(tree, prefix, listing.topFiles, out);
  if (!listing.topFiles.has('inventory.json')) {
    out.add('E063', 'no inventory.json in the object root');
    return undefined;
  }
  const root = await parseInventory(tree, `${prefix}inventory.json`, out, 'root inventory');
  if (!root) return undefined;
  checkRootInventory(root, declaredSpec, options, out);
  await checkSidecar(tree, prefix, '', root, listing.topFiles, out);
  checkRootEntries(root, listing, out);
  checkExtensionsDir(listing.topDirs.get('extensions'), out);
  const inventories = await checkVersionDirs(tree, prefix, root, listing.topDirs, out);
  checkHeadInventory(root, inventories, out);
  for (const { version, inv } of inventories) compareVersions(root, inv, version, out);
  checkContentListed(listing.files, root, inventories, out);
  if (options.checkDigests !== false) {
    await checkContentDigests(tree, prefix, listing.files, [root, ...inventories.map((i) => i.inv)], out);
  }
  return root.id;
}

async function listObject(tree: TreeReader, prefix: string): Promise<Listing> {
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
  return { files, topFiles, topDirs };
}

/** Exactly one `0=ocfl_object_1.x` with its text; answers the spec version it declares (1.1 when unclear). */
async function checkDeclaration(
  tree: TreeReader,
  prefix: string,
  topFiles: Set<string>,
  out: Collector,
): Promise<string> {
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
  return declaredSpec;
}

/** The root inventory against the declaration, and its id (a URI, the one expected at this path). */
function checkRootInventory(
  root: ParsedInventory,
  declaredSpec: string,
  options: ObjectCheckOptions,
  out: Collector,
): void {
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
}

/** The object root holds only its declaration, inventory, sidecar, logs, extensions and version directories. */
function checkRootEntries(root: ParsedInventory, { topFiles, topDirs }: Listing, out: Collector): void {
  const algorithm = root.digestAlgorithm;
  for (const f of topFiles) {
    if (f === 'inventory.json' || f.startsWith('0=')) continue;
    if (f.startsWith('inventory.json.') && (algorithm === undefined || f === `inventory.json.${algorithm}`))
      continue;
    out.add('E001', `unexpected file ${JSON.stringify(f)} in the object root`);
  }
  for (const dir of topDirs.keys()) {
    if (dir === 'logs' || dir === 'extensions' || root.versions.has(dir)) continue;
    if (VERSION_DIR.test(dir)) out.add('E046', `version directory ${dir} is not in the root inventory`);
    else out.add('E001', `unexpected directory ${JSON.stringify(dir)} in the object root`);
  }
  for (const v of root.versions.keys()) {
    if (!topDirs.has(v)) out.add('E010', `version directory ${v} is missing`);
  }
}

/** `extensions/` holds only sub-directories, named after registered extensions. */
function checkExtensionsDir(extensions: string[] | undefined, out: Collector): void {
  for (const rel of extensions ?? []) {
    if (!rel.includes('/')) out.add('E067', `file ${JSON.stringify(rel)} directly in extensions/`);
    else {
      const name = rel.slice(0, rel.indexOf('/'));
      if (!REGISTERED_EXTENSIONS.has(name)) out.add('W013', `extensions/${name}`);
    }
  }
}

/** Version directories and their inventories, oldest first; answers the inventories that could be read. */
async function checkVersionDirs(
  tree: TreeReader,
  prefix: string,
  root: ParsedInventory,
  topDirs: Map<string, string[]>,
  out: Collector,
): Promise<VersionInventory[]> {
  const ordered = [...root.versions.keys()].sort((a, b) => versionNo(a) - versionNo(b));
  const inventories: VersionInventory[] = [];
  let previousSpec: string | undefined;
  for (const v of ordered) {
    const entries = topDirs.get(v) ?? [];
    const vFiles = new Set(entries.filter((e) => !e.includes('/')));
    const vDirs = new Set(entries.filter((e) => e.includes('/')).map((e) => e.slice(0, e.indexOf('/'))));
    if (vFiles.has('inventory.json')) {
      const inv = await parseInventory(tree, `${prefix}${v}/inventory.json`, out, `${v} inventory`);
      if (inv) {
        await checkSidecar(tree, prefix, `${v}/`, inv, vFiles, out);
        checkVersionInventory(root, v, inv, previousSpec, out);
        previousSpec = inv.spec ?? previousSpec;
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
  return inventories;
}

/** A version's inventory against the root one: its head, id, content directory, and a spec no older than before. */
function checkVersionInventory(
  root: ParsedInventory,
  v: string,
  inv: ParsedInventory,
  previousSpec: string | undefined,
  out: Collector,
): void {
  if (inv.head !== undefined && inv.head !== v) out.add('E040', `${v}/inventory.json has head ${inv.head}`);
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
  if (inv.spec !== undefined && previousSpec !== undefined && inv.spec < previousSpec) {
    out.add('E103', `${v} declares OCFL ${inv.spec} after OCFL ${previousSpec}`);
  }
}

/** The head version's inventory must be the root inventory, byte for byte. */
function checkHeadInventory(root: ParsedInventory, inventories: VersionInventory[], out: Collector): void {
  const headInv = inventories.find((i) => i.version === root.head);
  if (headInv && !headInv.inv.bytes.equals(root.bytes)) {
    out.add('E064', `${root.head}/inventory.json differs from the root inventory`);
  }
}

/** Content on disk against the manifests: every file listed (by the root and each later inventory), every path there. */
function checkContentListed(
  files: Set<string>,
  root: ParsedInventory,
  inventories: VersionInventory[],
  out: Collector,
): void {
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
}

/** A digest an inventory states for a content path, in its manifest or in a fixity block. */
interface DigestClaim {
  in: 'manifest' | 'fixity';
  /** The OCFL algorithm name. */
  algorithm: string;
  digest: string;
  path: string;
}

/** An inventory's claims, manifest first, in inventory order. */
function* claimsOf(inv: ParsedInventory): Generator<DigestClaim> {
  for (const [digest, paths] of inv.manifest) {
    for (const path of paths) yield { in: 'manifest', algorithm: inv.digestAlgorithm!, digest, path };
  }
  const fixity = inv.raw.fixity;
  if (!isObject(fixity)) return;
  for (const [algorithm, block] of Object.entries(fixity)) {
    if (!isObject(block)) continue;
    for (const [digest, paths] of Object.entries(block)) {
      if (!Array.isArray(paths)) continue;
      for (const path of paths) if (typeof path === 'string') yield { in: 'fixity', algorithm, digest, path };
    }
  }
}

/**
 * Every digest the inventories (sha512 or sha256 ones: others were refused already) state, against the content.
 * Each file is read once, for every algorithm any inventory states of it.
 */
async function checkContentDigests(
  tree: TreeReader,
  prefix: string,
  files: Set<string>,
  inventories: ParsedInventory[],
  out: Collector,
): Promise<void> {
  const claims = inventories
    .filter((inv) => inv.digestAlgorithm === 'sha512' || inv.digestAlgorithm === 'sha256')
    .flatMap((inv) => [...claimsOf(inv)]);
  const wanted = new Map<string, Set<string>>();
  for (const c of claims) {
    const nodeAlg = FIXITY_ALGORITHMS[c.algorithm];
    if (!nodeAlg || !files.has(c.path)) continue;
    const algs = wanted.get(c.path) ?? new Set<string>();
    algs.add(nodeAlg);
    wanted.set(c.path, algs);
  }
  const digests = new Map<string, Record<string, string>>();
  const digestOf = async (path: string, alg: string): Promise<string | undefined> => {
    const nodeAlg = FIXITY_ALGORITHMS[alg];
    if (!nodeAlg || !files.has(path)) return undefined;
    let known = digests.get(path);
    if (known === undefined) {
      known = await digestsOfBlob(tree, prefix + path, [...wanted.get(path)!]);
      digests.set(path, known);
    }
    return known[nodeAlg];
  };
  for (const c of claims) {
    const actual = await digestOf(c.path, c.algorithm);
    const differs = actual !== undefined && actual !== c.digest.toLowerCase();
    if (c.in === 'manifest') {
      if (differs) out.add('E092', `${c.path} has ${c.algorithm} ${actual}, the manifest says ${c.digest}`);
    } else if (differs) {
      out.add('E093', `${c.path} has ${c.algorithm} ${actual}, the fixity block says ${c.digest}`);
    } else if (actual === undefined && FIXITY_ALGORITHMS[c.algorithm] && !files.has(c.path)) {
      out.add('E093', `fixity content path ${c.path} does not exist`);
    }
  }
}
