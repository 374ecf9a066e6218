import { layoutConfig, LAYOUT_EXTENSION, objectPathFor } from './layout.ts';
import { Collector, isObject, REGISTERED_EXTENSIONS, type Finding } from './validator-codes.ts';
import { checkObject } from './validator-object.ts';
import { readText, type TreeReader } from './validator-read.ts';

/**
 * A storage root checked: its declaration and layout, its extensions, and every object under it (found by walking
 * the hierarchy to the folders that hold an object declaration), each at the path the 0004 layout maps its id to.
 */
export interface StorageRootOptions {
  checkDigests?: boolean;
  onObject?: (path: string, findings: Finding[]) => void;
}

type Child = { name: string; isPrefix: boolean };

/** Checks the storage root at `prefix`; answers how many objects it holds. */
export async function checkStorageRoot(
  tree: TreeReader,
  prefix: string,
  out: Collector,
  options: StorageRootOptions,
): Promise<number> {
  const top: Child[] = [];
  for await (const c of tree.listChildren(prefix)) top.push(c);
  const rootSpec = await checkRootDeclaration(tree, prefix, top, out);
  const useLayout = await usesOurLayout(tree, prefix, top, out);
  for await (const c of tree.listChildren(`${prefix}extensions/`)) {
    if (c.isPrefix && !REGISTERED_EXTENSIONS.has(c.name)) out.add('W016', `extensions/${c.name}`);
  }
  const walk = { tree, prefix, out, options, rootSpec, useLayout, objects: 0 };
  await walkHierarchy(walk, prefix, 0);
  return walk.objects;
}

/** Exactly one `0=ocfl_1.x` with its text; answers the spec version it declares (1.1 when unclear). */
async function checkRootDeclaration(
  tree: TreeReader,
  prefix: string,
  top: Child[],
  out: Collector,
): Promise<string> {
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
  return rootSpec;
}

/**
 * Whether `ocfl_layout.json` names the 0004 layout with our configuration (then each object's path is checked
 * against its id); a layout file without its keys is E070.
 */
async function usesOurLayout(
  tree: TreeReader,
  prefix: string,
  top: Child[],
  out: Collector,
): Promise<boolean> {
  if (!top.some((c) => !c.isPrefix && c.name === 'ocfl_layout.json')) return false;
  const body = await readText(tree, `${prefix}ocfl_layout.json`);
  let layout: unknown;
  try {
    layout = JSON.parse(body?.toString('utf8') ?? '');
  } catch {
    layout = undefined;
  }
  if (!isObject(layout) || typeof layout.extension !== 'string' || typeof layout.description !== 'string') {
    out.add('E070', 'ocfl_layout.json');
    return false;
  }
  if (layout.extension !== LAYOUT_EXTENSION) return false;
  const config = await readText(tree, `${prefix}extensions/${LAYOUT_EXTENSION}/config.json`);
  try {
    const parsed = JSON.parse(config?.toString('utf8') ?? '{}') as Record<string, unknown>;
    return Object.entries(layoutConfig).every(([k, v]) => parsed[k] === undefined || parsed[k] === v);
  } catch {
    return false;
  }
}

interface Walk {
  tree: TreeReader;
  prefix: string;
  out: Collector;
  options: StorageRootOptions;
  rootSpec: string;
  useLayout: boolean;
  objects: number;
}

/**
 * Walks `dir` down to object roots; answers whether it found any. Files in intermediate directories are E084,
 * a directory that leads to no object E085.
 */
async function walkHierarchy(walk: Walk, dir: string, depth: number): Promise<boolean> {
  const { tree, prefix, out } = walk;
  const children: Child[] = [];
  for await (const c of tree.listChildren(dir)) children.push(c);
  const decl = children.find((c) => !c.isPrefix && c.name.startsWith('0=ocfl_object_'));
  if (decl) {
    await checkObjectInRoot(walk, dir, decl.name);
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
    const sub = await walkHierarchy(walk, `${dir}${c.name}/`, depth + 1);
    if (!sub) out.add('E085', `${dir.slice(prefix.length)}${c.name}/ holds no OCFL object`);
    found = found || sub;
  }
  return found;
}

/** The object at `dir`: its spec against the root's, its own checks, its path against its id. */
async function checkObjectInRoot(walk: Walk, dir: string, declaration: string): Promise<void> {
  const { tree, prefix, out, options } = walk;
  walk.objects += 1;
  const objectSpec = /^0=ocfl_object_(1\.\d)$/.exec(declaration)?.[1];
  if (objectSpec !== undefined && objectSpec > walk.rootSpec) {
    out.add('E081', `${dir} declares OCFL ${objectSpec} under a ${walk.rootSpec} storage root`);
  }
  const sub = new Collector();
  const id = await checkObject(
    tree,
    dir,
    sub,
    options.checkDigests === undefined ? {} : { checkDigests: options.checkDigests },
  );
  if (walk.useLayout && id !== undefined) {
    const expected = `${prefix}${objectPathFor(id)}/`;
    if (expected !== dir)
      sub.add('E083', `object ${JSON.stringify(id)} is at ${dir}, the layout says ${expected}`);
  }
  for (const f of sub.findings)
    out.findings.push({ ...f, message: `${dir.slice(prefix.length)}: ${f.message}` });
  options.onObject?.(dir, sub.findings);
}
