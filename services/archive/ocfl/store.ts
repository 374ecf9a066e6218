import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CikuError, isCikuError } from '../../errors.ts';
import { digestBuffer, readAll, type BlobStore, type ByteRange } from '../blob-store.ts';
import type { LockManager } from '../locks.ts';
import {
  CONTENT_DIRECTORY,
  INVENTORY_TYPE,
  OBJECT_DECLARATION,
  OBJECT_DECLARATION_BODY,
  ROOT_DECLARATION,
  ROOT_DECLARATION_BODY,
  serialiseInventory,
  sidecarBody,
  stateBlock,
  stateMap,
  versionName,
  versionNumber,
  type Inventory,
  type OcflUser,
} from './inventory.ts';
import { layoutConfig, layoutDocument, LAYOUT_EXTENSION, objectPathFor } from './layout.ts';
import { findPathConflict, normaliseLogicalPath, normaliseObjectId } from './names.ts';

/** A blob already written and hashed elsewhere in the same BlobStore (an upload's staging copy). */
export interface StagedBlob {
  staged: string;
  sha512: string;
  size: number;
}

export interface FileInput {
  path: string;
  body: Readable | Buffer | string | StagedBlob;
}

function isStaged(body: FileInput['body']): body is StagedBlob {
  return typeof body === 'object' && body !== null && 'staged' in body;
}

/** What one new version changes, applied in this order: removals, renames, then additions/replacements. */
export interface VersionChanges {
  remove?: string[];
  rename?: { from: string; to: string }[];
  put?: FileInput[];
  /**
   * Called under the lock once every `put` has streamed (digests known): returns more small files for the same
   * version, e.g. a record that names the new files' digests. `state` is the version's logical path → digest.
   */
  finalize?: (ctx: FinalizeContext) => FileInput[] | Promise<FileInput[]>;
}

export interface FinalizeContext {
  version: string;
  previous: Inventory | undefined;
  added: WriteResult['added'];
  state: ReadonlyMap<string, string>;
}

export interface VersionInfo {
  message: string;
  user: OcflUser;
  created?: Date;
}

export interface WriteOptions {
  /** `null`: the object must not exist yet. `'vN'`: the head must be exactly vN (optimistic concurrency). */
  expectHead?: string | null;
}

export interface StateEntry {
  digest: string;
  contentPath: string;
}

export interface WriteResult {
  id: string;
  version: string;
  inventory: Inventory;
  /** logical path → digest / size of every file this version added (deduplicated ones included). */
  added: Map<string, { digest: string; size: number; deduplicated: boolean }>;
}

export interface OcflStoreDeps {
  blobs: BlobStore;
  locks: LockManager;
  /** Key prefix of the storage root inside the blob store. */
  rootPrefix?: string;
  clock?: () => Date;
  lockWaitMs?: number;
}

interface Intent {
  id: string;
  objectPath: string;
  version: string;
  token: number;
  started: string;
}

const INTENTS_PREFIX = 'ciku-intents/';

/**
 * An OCFL 1.1 storage root on any BlobStore. Writes follow the spec's order: content first, then the version's
 * inventory and sidecar, then the root inventory and its sidecar last. A write intent recorded outside the storage
 * root before anything touches the object lets the next writer (or `recoverAll`) finish or roll back a version
 * that a crash interrupted; readers go by the root inventory and so only ever see complete versions.
 */
export function createOcflStore(deps: OcflStoreDeps) {
  const { blobs, locks } = deps;
  const root = deps.rootPrefix ?? 'ocfl';
  const clock = deps.clock ?? (() => new Date());
  const rootKey = (rel: string): string => `${root}/${rel}`;
  const objectKey = (objectPath: string, rel: string): string => `${root}/${objectPath}/${rel}`;
  const intentKey = (objectPath: string): string =>
    `${INTENTS_PREFIX}${createHash('sha256').update(objectPath).digest('hex')}.json`;

  async function init(): Promise<void> {
    const declaration = await blobs.stat(rootKey(ROOT_DECLARATION));
    if (declaration) return;
    await blobs.put(rootKey(ROOT_DECLARATION), ROOT_DECLARATION_BODY);
    await blobs.put(rootKey('ocfl_layout.json'), `${JSON.stringify(layoutDocument, null, 2)}\n`);
    await blobs.put(
      rootKey(`extensions/${LAYOUT_EXTENSION}/config.json`),
      `${JSON.stringify(layoutConfig, null, 2)}\n`,
    );
  }

  async function readJson<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse((await blobs.read(key)).toString('utf8')) as T;
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /**
   * Parsed root inventories, keyed by the blob's etag as seen *before* reading it: a hit is exactly the bytes
   * stored now, and a blob replaced between the stat and the read is cached under the older etag, which never comes
   * back. Inventories grow with versions (every version's state); an upload reads one three times (access check,
   * edit, under the lock), so parsing it once saves most of a small upload's CPU on long-lived objects. Callers treat
   * inventories as immutable.
   */
  const inventoryCache = new Map<string, { etag: string; inventory: Inventory; bytes: number }>();
  let cachedBytes = 0;
  const CACHE_BYTES = 8 * 1024 * 1024;

  async function readInventoryAt(objectPath: string): Promise<Inventory | undefined> {
    const key = objectKey(objectPath, 'inventory.json');
    const st = await blobs.stat(key);
    if (!st) return undefined;
    const hit = st.etag === undefined ? undefined : inventoryCache.get(key);
    if (hit && hit.etag === st.etag) {
      inventoryCache.delete(key);
      inventoryCache.set(key, hit); // most recently used last
      return hit.inventory;
    }
    const inventory = await readJson<Inventory>(key);
    if (!inventory) return undefined;
    if (st.etag !== undefined && st.size <= CACHE_BYTES / 8) {
      const old = inventoryCache.get(key);
      if (old) cachedBytes -= old.bytes;
      inventoryCache.delete(key);
      inventoryCache.set(key, { etag: st.etag, inventory, bytes: st.size });
      cachedBytes += st.size;
      for (const [k, v] of inventoryCache) {
        if (cachedBytes <= CACHE_BYTES) break;
        inventoryCache.delete(k);
        cachedBytes -= v.bytes;
      }
    }
    return inventory;
  }

  async function getInventory(id: string): Promise<Inventory> {
    const oid = normaliseObjectId(id);
    const inv = await readInventoryAt(objectPathFor(oid));
    if (!inv) throw new CikuError('CIKU_ERR_OBJECT_NOT_FOUND', `no object ${oid}`);
    return inv;
  }

  async function exists(id: string): Promise<boolean> {
    return (
      (await blobs.stat(objectKey(objectPathFor(normaliseObjectId(id)), 'inventory.json'))) !== undefined
    );
  }

  function resolveVersion(inv: Inventory, version?: string): string {
    const v = version ?? inv.head;
    if (!inv.versions[v])
      throw new CikuError('CIKU_ERR_VERSION_NOT_FOUND', `object ${inv.id} has no version ${v}`);
    return v;
  }

  /** logical path → digest + content path, for any version. */
  /**
   * Each parsed inventory's version states, built once: inventories are never changed once parsed (a write
   * clones the one it builds on), and the cached ones are read for every file, tile and record served.
   */
  const states = new WeakMap<Inventory, Map<string, ReadonlyMap<string, StateEntry>>>();

  function stateOf(inv: Inventory, version?: string): ReadonlyMap<string, StateEntry> {
    const v = resolveVersion(inv, version);
    let byVersion = states.get(inv);
    const known = byVersion?.get(v);
    if (known) return known;
    const out = buildState(inv, v);
    if (!byVersion) {
      byVersion = new Map<string, ReadonlyMap<string, StateEntry>>();
      states.set(inv, byVersion);
    }
    byVersion.set(v, out);
    return out;
  }

  function buildState(inv: Inventory, version: string): Map<string, StateEntry> {
    const block = inv.versions[version];
    const out = new Map<string, StateEntry>();
    for (const [path, digest] of stateMap(block!)) {
      const contentPath = inv.manifest[digest]?.[0];
      if (contentPath === undefined) {
        throw new CikuError(
          'CIKU_ERR_OBJECT_INVALID',
          `object ${inv.id}: digest ${digest} is not in the manifest`,
        );
      }
      out.set(path, { digest, contentPath });
    }
    return out;
  }

  async function getState(id: string, version?: string): Promise<ReadonlyMap<string, StateEntry>> {
    return stateOf(await getInventory(id), version);
  }

  /** The blob key holding a logical path's content (for tools that read it in place: see BlobStore.localPath). */
  async function locateFile(
    id: string,
    logicalPath: string,
    options: { version?: string; inventory?: Inventory } = {},
  ): Promise<{ key: string; digest: string; contentPath: string; inventory: Inventory }> {
    const inv = options.inventory ?? (await getInventory(id));
    const path = normaliseLogicalPath(logicalPath);
    const entry = stateOf(inv, options.version).get(path);
    if (!entry) throw new CikuError('CIKU_ERR_FILE_NOT_FOUND', `object ${inv.id} has no file ${path}`);
    const key = objectKey(objectPathFor(inv.id), entry.contentPath);
    return { key, digest: entry.digest, contentPath: entry.contentPath, inventory: inv };
  }

  /** The digest of a logical path's content in a version of an inventory the caller holds (undefined if none). */
  function contentDigest(inv: Inventory, logicalPath: string, version?: string): string | undefined {
    return stateOf(inv, version).get(normaliseLogicalPath(logicalPath))?.digest;
  }

  /** The blob key of stored content by its digest (any version): one inventory read, no state walk. */
  async function locateDigest(id: string, digest: string): Promise<string | undefined> {
    const inv = await getInventory(id);
    const contentPath = inv.manifest[digest]?.[0];
    return contentPath === undefined ? undefined : objectKey(objectPathFor(inv.id), contentPath);
  }

  async function openFile(
    id: string,
    logicalPath: string,
    options: { version?: string; range?: ByteRange; inventory?: Inventory } = {},
  ): Promise<{ stream: Readable; digest: string; size: number; contentPath: string }> {
    const { key, digest, contentPath, inventory: inv } = await locateFile(id, logicalPath, options);
    const entry = { digest, contentPath };
    const stat = await blobs.stat(key);
    if (!stat)
      throw new CikuError(
        'CIKU_ERR_OBJECT_INVALID',
        `object ${inv.id}: content ${entry.contentPath} is missing`,
      );
    const stream = await blobs.get(key, options.range);
    return { stream, digest: entry.digest, size: stat.size, contentPath: entry.contentPath };
  }

  async function readFile(id: string, logicalPath: string, version?: string): Promise<Buffer> {
    return readContent(id, logicalPath, version === undefined ? {} : { version });
  }

  /** A small logical file's bytes in one read (records, event logs): no stream, no separate stat. */
  async function readContent(
    id: string,
    logicalPath: string,
    options: { version?: string; inventory?: Inventory; maxBytes?: number } = {},
  ): Promise<Buffer> {
    const { key, contentPath, inventory: inv } = await locateFile(id, logicalPath, options);
    try {
      return await blobs.read(key, options.maxBytes);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND'))
        throw new CikuError('CIKU_ERR_OBJECT_INVALID', `object ${inv.id}: content ${contentPath} is missing`);
      throw err;
    }
  }

  async function writeVersion(
    id: string,
    changes: VersionChanges,
    info: VersionInfo,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    const oid = normaliseObjectId(id);
    const objectPath = objectPathFor(oid);
    const puts = (changes.put ?? []).map((f) => ({ path: normaliseLogicalPath(f.path), body: f.body }));
    const removes = (changes.remove ?? []).map(normaliseLogicalPath);
    const renames = (changes.rename ?? []).map((r) => ({
      from: normaliseLogicalPath(r.from),
      to: normaliseLogicalPath(r.to),
    }));
    const lockOpts = deps.lockWaitMs === undefined ? {} : { waitMs: deps.lockWaitMs };
    const lock = await locks.acquire(`ocfl:${objectPath}`, lockOpts);
    try {
      await recoverLocked(objectPath);
      const prev = await readInventoryAt(objectPath);
      if (options.expectHead === null && prev) {
        throw new CikuError('CIKU_ERR_OBJECT_EXISTS', `object ${oid} already exists`);
      }
      if (typeof options.expectHead === 'string') {
        if (!prev) throw new CikuError('CIKU_ERR_OBJECT_NOT_FOUND', `no object ${oid}`);
        if (prev.head !== options.expectHead) {
          throw new CikuError(
            'CIKU_ERR_VERSION_CONFLICT',
            `object ${oid} is at ${prev.head}, not ${options.expectHead}`,
            { details: { head: prev.head } },
          );
        }
      }
      const version = prev ? versionName(versionNumber(prev.head) + 1) : versionName(1);
      const state = new Map<string, string>(prev ? stateMap(prev.versions[prev.head]!) : []);
      for (const path of removes) {
        if (!state.delete(path))
          throw new CikuError('CIKU_ERR_FILE_NOT_FOUND', `object ${oid} has no file ${path}`);
      }
      for (const { from, to } of renames) {
        const digest = state.get(from);
        if (digest === undefined)
          throw new CikuError('CIKU_ERR_FILE_NOT_FOUND', `object ${oid} has no file ${from}`);
        if (state.has(to))
          throw new CikuError('CIKU_ERR_FILE_EXISTS', `object ${oid} already has a file ${to}`);
        state.delete(from);
        state.set(to, digest);
      }
      const putPaths = new Set<string>();
      for (const { path } of puts) {
        if (putPaths.has(path))
          throw new CikuError('CIKU_ERR_PATH_INVALID', `file ${path} given twice in one version`);
        putPaths.add(path);
      }
      const conflict = findPathConflict(new Set([...state.keys(), ...putPaths]));
      if (conflict) {
        throw new CikuError(
          'CIKU_ERR_PATH_INVALID',
          `file names conflict: ${JSON.stringify(conflict[0])} is also a folder of ${JSON.stringify(conflict[1])}`,
        );
      }

      const intent: Intent = {
        id: oid,
        objectPath,
        version,
        token: lock.token,
        started: clock().toISOString(),
      };
      await blobs.put(intentKey(objectPath), JSON.stringify(intent));
      try {
        return await writeLocked({
          oid,
          objectPath,
          version,
          prev,
          state,
          puts,
          info,
          lock,
          finalize: changes.finalize,
        });
      } catch (err) {
        // Undo the partial version now rather than at the next write, unless another writer owns the object.
        const stillHeld = await lock.assertHeld().then(
          () => true,
          () => false,
        );
        if (stillHeld) await recoverLocked(objectPath).catch(() => undefined);
        throw err;
      }
    } finally {
      await lock.release();
    }
  }

  async function writeLocked(args: {
    oid: string;
    objectPath: string;
    version: string;
    prev: Inventory | undefined;
    state: Map<string, string>;
    puts: { path: string; body: FileInput['body'] }[];
    info: VersionInfo;
    lock: { assertHeld(): Promise<void> };
    finalize: VersionChanges['finalize'];
  }): Promise<WriteResult> {
    const { oid, objectPath, version, prev, state, info, lock, finalize } = args;
    if (!prev) await blobs.put(objectKey(objectPath, OBJECT_DECLARATION), OBJECT_DECLARATION_BODY);
    const content = versionContent(objectPath, version, prev, state);
    for (const file of args.puts) await content.store(file);
    if (finalize)
      await storeFinalized(content, finalize, { version, previous: prev, added: content.added, state });
    const inventory: Inventory = {
      id: oid,
      type: INVENTORY_TYPE,
      digestAlgorithm: 'sha512',
      head: version,
      contentDirectory: CONTENT_DIRECTORY,
      manifest: pruneManifest(content.manifest, prev, state),
      versions: {
        ...(prev?.versions ?? {}),
        [version]: {
          created: toRfc3339(info.created ?? clock()),
          message: info.message,
          user: { name: info.user.name, address: info.user.address },
          state: stateBlock(state),
        },
      },
    };
    await publishVersion(objectPath, version, inventory, content.added, lock);
    return { id: oid, version, inventory, added: content.added };
  }

  /**
   * The content of the version being written: each file stored under the version's content folder, or — when the
   * object holds its bytes already — pointed at the copy it has (one copy per digest per object). Updates `state`.
   */
  function versionContent(
    objectPath: string,
    version: string,
    prev: Inventory | undefined,
    state: Map<string, string>,
  ) {
    const manifest: Record<string, string[]> = prev ? structuredClone(prev.manifest) : {};
    const known = new Map<string, string>();
    for (const digest of Object.keys(manifest)) known.set(digest.toLowerCase(), digest);
    const added: WriteResult['added'] = new Map();
    const store = async ({ path, body }: { path: string; body: FileInput['body'] }): Promise<void> => {
      const contentPath = `${version}/${CONTENT_DIRECTORY}/${path}`;
      const key = objectKey(objectPath, contentPath);
      let result: { size: number; digest: string };
      if (isStaged(body)) {
        // Hashed on the way into staging: adopt the blob by moving it (or drop it if the bytes are here already).
        result = { size: body.size, digest: body.sha512 };
        if (known.has(body.sha512)) await blobs.delete(body.staged);
        else await blobs.move(body.staged, key, { syncName: false });
      } else {
        const put = await blobs.put(key, body, { algorithms: ['sha512'], syncName: false });
        result = { size: put.size, digest: put.digests.sha512! };
      }
      const digest = result.digest;
      const existing = known.get(digest);
      if (existing !== undefined) {
        // Same bytes already stored in this object: keep one copy, point the new path at it.
        if (!isStaged(body)) await blobs.delete(key);
        state.set(path, existing);
        added.set(path, { digest: existing, size: result.size, deduplicated: true });
      } else {
        manifest[digest] = [contentPath];
        known.set(digest, digest);
        state.set(path, digest);
        added.set(path, { digest, size: result.size, deduplicated: false });
      }
    };
    return { manifest, added, store };
  }

  /** The files `finalize` adds once every put's digest is known: refused if they clash with the version's own. */
  async function storeFinalized(
    content: ReturnType<typeof versionContent>,
    finalize: NonNullable<VersionChanges['finalize']>,
    ctx: FinalizeContext & { state: Map<string, string> },
  ): Promise<void> {
    const extra = (await finalize(ctx)).map((f) => ({
      path: normaliseLogicalPath(f.path),
      body: f.body,
    }));
    for (const f of extra) {
      if (content.added.has(f.path))
        throw new CikuError('CIKU_ERR_PATH_INVALID', `file ${f.path} given twice in one version`);
    }
    const conflict = findPathConflict(new Set([...ctx.state.keys(), ...extra.map((f) => f.path)]));
    if (conflict)
      throw new CikuError('CIKU_ERR_PATH_INVALID', `file names conflict: ${conflict[0]} / ${conflict[1]}`);
    for (const file of extra) await content.store(file);
  }

  /**
   * Makes the version visible in the spec's order — content names, the version's inventory and sidecar, then the
   * root's copy — each step durable before the next relies on it, and the lock checked before each point of no
   * return; the intent goes last, once the version stands on its own.
   */
  async function publishVersion(
    objectPath: string,
    version: string,
    inventory: Inventory,
    added: WriteResult['added'],
    lock: { assertHeld(): Promise<void> },
  ): Promise<void> {
    const bytes = serialiseInventory(inventory);
    const sidecar = sidecarBody(digestBuffer(bytes, ['sha512']).sha512!);
    // Content names become durable before any inventory can reference them (one sync per folder).
    await blobs.syncKeys(
      [...added.entries()]
        .filter(([, a]) => !a.deduplicated)
        .map(([p]) => objectKey(objectPath, `${version}/${CONTENT_DIRECTORY}/${p}`)),
    );
    // A writer whose lease lapsed while streaming stops here, before its version could be rolled forward.
    await lock.assertHeld();
    // Each inventory/sidecar pair shares a folder: one folder sync makes both names durable, and it happens before
    // anything relies on them (the root copy; the intent's deletion).
    const versionPair = [
      objectKey(objectPath, `${version}/inventory.json`),
      objectKey(objectPath, `${version}/inventory.json.sha512`),
    ];
    await blobs.put(versionPair[0]!, bytes, { syncName: false });
    await blobs.put(versionPair[1]!, sidecar, { syncName: false });
    await blobs.syncKeys(versionPair);
    // Past this point the version is complete on its own; make sure no later lock holder has started meanwhile.
    // (A lease lost in between gives CIKU_ERR_LOCK_LOST with an indeterminate outcome: recovery may finish it.)
    await lock.assertHeld();
    const rootPair = [
      objectKey(objectPath, 'inventory.json'),
      objectKey(objectPath, 'inventory.json.sha512'),
    ];
    await blobs.put(rootPair[0]!, bytes, { syncName: false });
    await blobs.put(rootPair[1]!, sidecar, { syncName: false });
    await blobs.syncKeys(rootPair);
    await blobs.delete(intentKey(objectPath));
  }

  /**
   * Finishes or undoes the version an interrupted writer left behind. A version whose own inventory and sidecar
   * are complete and consistent is rolled forward (only the root copy was missing); anything less is removed.
   */
  async function recoverLocked(objectPath: string): Promise<'none' | 'rolled-forward' | 'rolled-back'> {
    const intent = await readJson<Intent>(intentKey(objectPath));
    if (!intent) return 'none';
    const versionInv = await blobs
      .get(objectKey(objectPath, `${intent.version}/inventory.json`))
      .then(readAll)
      .catch(() => undefined);
    const versionSidecar = await blobs
      .get(objectKey(objectPath, `${intent.version}/inventory.json.sha512`))
      .then(readAll)
      .catch(() => undefined);
    let outcome: 'rolled-forward' | 'rolled-back';
    if (
      versionInv &&
      versionSidecar &&
      versionSidecar.toString('utf8') === sidecarBody(digestBuffer(versionInv, ['sha512']).sha512!)
    ) {
      await blobs.put(objectKey(objectPath, 'inventory.json'), versionInv);
      await blobs.put(objectKey(objectPath, 'inventory.json.sha512'), versionSidecar);
      outcome = 'rolled-forward';
    } else if (intent.version === versionName(1)) {
      await blobs.deletePrefix(`${root}/${objectPath}/`);
      outcome = 'rolled-back';
    } else {
      await blobs.deletePrefix(objectKey(objectPath, `${intent.version}/`));
      outcome = 'rolled-back';
    }
    await blobs.delete(intentKey(objectPath));
    return outcome;
  }

  async function recover(id: string): Promise<'none' | 'rolled-forward' | 'rolled-back'> {
    const objectPath = objectPathFor(normaliseObjectId(id));
    const lock = await locks.acquire(
      `ocfl:${objectPath}`,
      deps.lockWaitMs === undefined ? {} : { waitMs: deps.lockWaitMs },
    );
    try {
      return await recoverLocked(objectPath);
    } finally {
      await lock.release();
    }
  }

  /** Recovers every object with an interrupted write; run at start-up. Only in-flight writes have intents. */
  async function recoverAll(): Promise<{ id: string; outcome: string }[]> {
    const keys: string[] = [];
    for await (const blob of blobs.list(INTENTS_PREFIX)) keys.push(blob.key);
    const results: { id: string; outcome: string }[] = [];
    for (const key of keys) {
      const intent = await readJson<Intent>(key);
      if (intent) results.push({ id: intent.id, outcome: await recover(intent.id) });
    }
    return results;
  }

  /** Every object in the storage root (walks the 0004 tuple folders, reads each root inventory's id and head). */
  async function* listObjects(): AsyncIterable<{ id: string; head: string; objectPath: string }> {
    async function* descend(prefix: string, depth: number): AsyncGenerator<string> {
      for await (const child of blobs.listChildren(prefix)) {
        if (!child.isPrefix) continue;
        if (depth === 0 && child.name === 'extensions') continue;
        const next = `${prefix}${child.name}/`;
        if (depth === layoutConfig.numberOfTuples) yield next.slice(root.length + 1, -1);
        else yield* descend(next, depth + 1);
      }
    }
    for await (const objectPath of descend(`${root}/`, 0)) {
      const inv = await readInventoryAt(objectPath);
      if (inv) yield { id: inv.id, head: inv.head, objectPath };
    }
  }

  return {
    blobs,
    rootPrefix: root,
    init,
    exists,
    getInventory,
    getState,
    stateOf,
    openFile,
    locateDigest,
    readFile,
    readContent,
    contentDigest,
    writeVersion,
    recover,
    recoverAll,
    listObjects,
    objectPathFor,
  };
}

export type OcflStore = ReturnType<typeof createOcflStore>;

/** Manifest entries only for digests some version still uses (E107); content is never removed from disk. */
function pruneManifest(
  manifest: Record<string, string[]>,
  prev: Inventory | undefined,
  state: Map<string, string>,
): Record<string, string[]> {
  const used = new Set<string>(state.values());
  for (const block of Object.values(prev?.versions ?? {}))
    for (const d of Object.keys(block.state)) used.add(d);
  const out: Record<string, string[]> = {};
  for (const [digest, paths] of Object.entries(manifest)) if (used.has(digest)) out[digest] = paths;
  return out;
}

/** RFC 3339 to the second, UTC (E049 wants seconds and a zone; milliseconds are allowed but add nothing). */
function toRfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
