import { Value } from '@sinclair/typebox/value';
import { randomBytes, randomUUID } from 'node:crypto';
import type { PremisEvent, EventType } from '../../schemas/event.ts';
import {
  Access,
  itemKinds,
  metadataSchemas,
  type FileFormat,
  type FileRole,
  type ItemKind,
  type FileRecord,
  type ItemRecord,
  type StoredItem,
} from '../../schemas/item.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { readAll, type ByteRange } from './blob-store.ts';
import { normaliseLogicalPath } from './ocfl/names.ts';
import type { Inventory } from './ocfl/inventory.ts';
import type { FileInput, OcflStore, VersionChanges } from './ocfl/store.ts';

/**
 * Items on the OCFL store. Everything about an item lives inside its object: `ciku/item.json` (kind, access,
 * descriptive metadata, file registry), `ciku/events.json` (the PREMIS-style events of *this* version only: the
 * whole log is that file read across the versions, which OCFL keeps immutable, so no entry is ever rewritten and
 * each version's state stays as small as the item), and `files/<name>`.
 */
export interface Agent {
  /** Who acted, e.g. `archivist:wang` or `system:batch`. */
  name: string;
  /** A URI for the agent (OCFL wants one in every version's user block). */
  address: string;
}

export interface NewFile {
  name: string;
  body: FileInput['body'];
  role?: FileRole;
  mediaType?: string;
  /** The format identification found in the bytes (schemas/item.ts FileFormat), kept in the file record. */
  format?: FileFormat;
  /**
   * Why identification found nothing (bytes no signature matched): recorded as a `format identification` event of
   * outcome `warning` on the version that adds the file. The file is kept all the same.
   */
  formatWarning?: string;
  /** A sha256 computed on the way in (when a client digest needed it), kept in the file record. */
  sha256?: string;
  /**
   * The sha512 these bytes must have (a bag's payload, digested when the bag was validated): checked against the
   * digest computed while they are written, before the version commits. Other bytes fail the write and nothing of it
   * is stored (`CIKU_ERR_UPLOAD_DIGEST_MISMATCH`).
   */
  expectedSha512?: string;
}

/** A file of an item version (schemas/item.ts FileRecord). */
export type ItemFile = FileRecord;

/** An item version as the archive gives it: one type, from its schema (schemas/item.ts StoredItem). */
export type ItemView = StoredItem;

export interface VersionSummary {
  version: string;
  created: string;
  message: string;
  user: { name: string; address: string };
}

const RECORD = 'ciku/item.json';
const FILES = 'files/';
const EVENTS = 'ciku/events.json';
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

/**
 * File registries are keyed by user text (file names): held in null-prototype objects, so a file named
 * `__proto__`, `constructor` or `toString` is an entry like any other, never a property inherited from
 * `Object.prototype` (JSON.parse makes own properties, but assignment to `__proto__` on a plain object does not).
 */
type FileRegistry = ItemRecord['files'];
function registry(from?: FileRegistry): FileRegistry {
  const out = Object.create(null) as FileRegistry;
  if (from) for (const [k, v] of Object.entries(from)) out[k] = v;
  return out;
}

/** A record as read or cloned, with its file registry null-prototyped (see `registry`). */
/** What the record cache may hold, in UTF-16 code units of JSON text (~32 MiB of memory at most). */
const RECORD_CACHE_BYTES = 16 * 1024 * 1024;

function withRegistry(record: ItemRecord): ItemRecord {
  return { ...record, files: registry(record.files) };
}

/** Metadata merged with a patch (`null` removes a field), as own data properties whatever the key. */
function mergeMetadata(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged = new Map(Object.entries(base));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) merged.delete(k);
    else merged.set(k, v);
  }
  return Object.fromEntries(merged);
}

export function ocflIdFor(itemId: string): string {
  return `urn:ciku:item:${itemId}`;
}

export function assertItemId(id: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new CikuError(
      'CIKU_ERR_ID_INVALID',
      `invalid item id ${JSON.stringify(id)}: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return id;
}

// C0 controls but tab, newline and carriage return; DEL. Text with them (a NUL above all) is not text.
// eslint-disable-next-line no-control-regex
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** The first string (value or key) in `value` that is not text: a lone surrogate or a control character. */
function findBadText(value: unknown, where = 'metadata'): string | undefined {
  const stack: [unknown, string][] = [[value, where]];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return `${at}: not well-formed Unicode (a lone surrogate)`;
      if (CONTROL_IN_TEXT.test(v)) return `${at}: contains a control character`;
    } else if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, `${at}[${i}]`]));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (!k.isWellFormed() || CONTROL_IN_TEXT.test(k)) return `${at}: a field name that is not text`;
        stack.push([x, `${at}.${k}`]);
      }
  }
  return undefined;
}

/** Checks metadata against the kind's schema, listing every problem (unknown fields included) in one message. */
export function validateMetadata(kind: string, metadata: unknown): Record<string, unknown> {
  if (!(itemKinds as string[]).includes(kind)) {
    throw new CikuError(
      'CIKU_ERR_ITEM_KIND_UNKNOWN',
      `unknown kind ${JSON.stringify(kind)}; kinds: ${itemKinds.join(', ')}`,
    );
  }
  const schema = metadataSchemas[kind as ItemKind];
  const badText = findBadText(metadata);
  if (badText !== undefined)
    throw new CikuError('CIKU_ERR_ITEM_METADATA_INVALID', `invalid metadata: ${badText}`, {
      details: [badText],
    });
  if (Buffer.byteLength(JSON.stringify(metadata ?? null)) > MAX_METADATA_BYTES) {
    throw new CikuError('CIKU_ERR_ITEM_METADATA_INVALID', `metadata larger than ${MAX_METADATA_BYTES} bytes`);
  }
  if (!Value.Check(schema, metadata)) {
    const problems = [...Value.Errors(schema, metadata)].slice(0, 20).map((e) => {
      const where = e.path === '' ? 'metadata' : `metadata${e.path.replaceAll('/', '.')}`;
      return e.schema === schema && e.message.includes('Unexpected property')
        ? `${where}: unknown field for kind ${kind}`
        : `${where}: ${e.message}`;
    });
    const unknown = Object.keys((metadata ?? {}) as object).filter(
      (k) => !Object.hasOwn((schema as unknown as { properties: object }).properties, k),
    );
    if (unknown.length > 0) problems.unshift(`unknown field(s) for kind ${kind}: ${unknown.join(', ')}`);
    throw new CikuError(
      'CIKU_ERR_ITEM_METADATA_INVALID',
      `invalid metadata: ${[...new Set(problems)].join('; ')}`,
      {
        details: problems,
      },
    );
  }
  return metadata as Record<string, unknown>;
}

function validateAccess(access: unknown): Access {
  const badText = findBadText(access, 'access');
  if (badText !== undefined)
    throw new CikuError('CIKU_ERR_ITEM_METADATA_INVALID', `invalid access: ${badText}`, {
      details: [badText],
    });
  if (!Value.Check(Access, access)) {
    const problems = [...Value.Errors(Access, access)]
      .slice(0, 5)
      .map((e) => `access${e.path.replaceAll('/', '.')}: ${e.message}`);
    throw new CikuError('CIKU_ERR_ITEM_METADATA_INVALID', `invalid access: ${problems.join('; ')}`, {
      details: problems,
    });
  }
  return access;
}

/** Accession-style ids the archive hands out when a client gives none: `ck-2026-7f3k9q2m`. */
export function generateItemId(now: Date): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const bytes = randomBytes(8);
  let suffix = '';
  for (const b of bytes) suffix += alphabet[b % 32];
  return `ck-${now.getUTCFullYear()}-${suffix}`;
}

export interface ItemsDeps {
  ocfl: OcflStore;
  clock?: () => Date;
  /**
   * Told about every version this module commits (the item as written), before the write returns: how the item
   * catalogue stays in step with the archive, so a caller lists what it just wrote.
   */
  onCommit?: (item: ItemView) => Promise<void>;
  /**
   * Told when `onCommit` fails. The version is committed whatever the derived catalogue does, so the write answers
   * with it (the item's index job, which every write queues, writes the row again; `ciku reindex` rebuilds them
   * all). Without this, the failure fails the call, as a caller that cannot log must learn of it.
   */
  onCommitError?: (err: unknown, item: ItemView) => void;
}

export interface ItemPatch {
  metadata?: Record<string, unknown>;
  access?: unknown;
  put?: NewFile[];
  remove?: string[];
  rename?: { from: string; to: string }[];
}

export function createItems(deps: ItemsDeps) {
  const { ocfl } = deps;
  const clock = deps.clock ?? (() => new Date());
  const committed = async (item: ItemView): Promise<ItemView> => {
    if (!deps.onCommit) return item;
    try {
      await deps.onCommit(item);
    } catch (err) {
      if (!deps.onCommitError) throw err;
      deps.onCommitError(err, item);
    }
    return item;
  };

  const event = (
    type: EventType,
    agent: Agent,
    version: string,
    extra: Partial<PremisEvent> = {},
  ): PremisEvent => ({
    id: randomUUID(),
    type,
    date_time: clock().toISOString(),
    agent: agent.name,
    outcome: 'success',
    version,
    ...extra,
  });

  const notFound = (id: string): CikuError => new CikuError('CIKU_ERR_ITEM_NOT_FOUND', `no item ${id}`);

  async function inventoryOf(id: string) {
    try {
      return await ocfl.getInventory(ocflIdFor(assertItemId(id)));
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_OBJECT_NOT_FOUND')) throw notFound(id);
      throw err;
    }
  }

  /**
   * Records' text by content digest: a version's record is content-addressed, so the bytes behind a digest never
   * change, and every read of an item (each tile, thumbnail and manifest served) reads one. Parsed again on each
   * read, so no caller shares (or can change) another's objects. Bounded by RECORD_CACHE_BYTES.
   */
  const recordTexts = new Map<string, string>();
  let recordTextBytes = 0;

  /** The record of one version, read with an inventory the caller already holds (inventories can be large). */
  async function readRecord(id: string, version: string, inventory: Inventory): Promise<ItemRecord> {
    const oid = ocflIdFor(id);
    const digest = ocfl.contentDigest(inventory, RECORD, version);
    let text = digest === undefined ? undefined : recordTexts.get(digest);
    if (text === undefined) {
      text = (await ocfl.readContent(oid, RECORD, { version, inventory })).toString('utf8');
      if (digest !== undefined) remember(digest, text);
    }
    return withRegistry(JSON.parse(text) as ItemRecord);
  }

  function remember(digest: string, text: string): void {
    if (text.length > RECORD_CACHE_BYTES / 64) return;
    recordTexts.set(digest, text);
    recordTextBytes += text.length;
    // Oldest first (a Map keeps insertion order): a plain FIFO is enough for records read again and again.
    for (const [k, v] of recordTexts) {
      if (recordTextBytes <= RECORD_CACHE_BYTES) break;
      recordTexts.delete(k);
      recordTextBytes -= v.length;
    }
  }

  function toView(record: ItemRecord, inventory: Inventory, version: string): ItemView {
    const v: ItemView = {
      id: record.id,
      kind: record.kind,
      version,
      created: inventory.versions.v1!.created,
      updated: inventory.versions[version]!.created,
      access: record.access,
      metadata: record.metadata,
      files: Object.entries(record.files)
        .map(([name, f]) => ({ name, ...f }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
    if (record.tombstone) v.tombstone = record.tombstone;
    return v;
  }

  /** The item at its head, or at `version` (`vN`). A tombstoned head is returned with its `tombstone` block. */
  async function get(id: string, version?: string): Promise<ItemView> {
    const inv = await inventoryOf(id);
    const v = version ?? inv.head;
    if (!inv.versions[v]) throw new CikuError('CIKU_ERR_VERSION_NOT_FOUND', `item ${id} has no version ${v}`);
    return toView(await readRecord(id, v, inv), inv, v);
  }

  async function versions(id: string): Promise<VersionSummary[]> {
    const inv = await inventoryOf(id);
    return Object.entries(inv.versions)
      .sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))
      .map(([version, b]) => ({ version, created: b.created, message: b.message, user: b.user }));
  }

  /** Every event of every version, oldest first: each version's own `ciku/events.json`. */
  async function events(id: string): Promise<PremisEvent[]> {
    const inv = await inventoryOf(id);
    const out: PremisEvent[] = [];
    const versions = Object.keys(inv.versions).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    for (const version of versions) {
      if (!ocfl.stateOf(inv, version).has(EVENTS)) continue;
      const bytes = await ocfl.readContent(ocflIdFor(id), EVENTS, { version, inventory: inv });
      out.push(...(JSON.parse(bytes.toString('utf8')) as PremisEvent[]));
    }
    return out;
  }

  function fileInputs(files: NewFile[]): { path: string; body: NewFile['body'] }[] {
    const seen = new Set<string>();
    return files.map((f) => {
      const name = normaliseLogicalPath(f.name);
      if (seen.has(name)) throw new CikuError('CIKU_ERR_PATH_INVALID', `file ${name} given twice`);
      seen.add(name);
      return { path: `${FILES}${name}`, body: f.body };
    });
  }

  /** Record + this version's events, computed once the new files' digests are known. */
  function finalizeWith(
    base: (previous: Inventory | undefined) => ItemRecord | Promise<ItemRecord>,
    files: NewFile[],
    agent: Agent,
    extraEvents: (version: string) => PremisEvent[],
    written: { record?: ItemRecord } = {},
  ): NonNullable<VersionChanges['finalize']> {
    return async ({ version, added, previous }) => {
      const record = await base(previous);
      written.record = record;
      const evs: PremisEvent[] = [];
      for (const f of files) {
        const name = normaliseLogicalPath(f.name);
        const a = added.get(`${FILES}${name}`)!;
        if (f.expectedSha512 !== undefined && a.digest !== f.expectedSha512.toLowerCase())
          throw new CikuError(
            'CIKU_ERR_UPLOAD_DIGEST_MISMATCH',
            `${name}: its bytes have sha512 ${a.digest}, not the expected ${f.expectedSha512.toLowerCase()}: nothing was stored`,
          );
        const replaced = Object.hasOwn(record.files, name);
        record.files[name] = {
          role: f.role ?? 'original',
          size: a.size,
          digests: { sha512: a.digest, ...(f.sha256 === undefined ? {} : { sha256: f.sha256 }) },
          ...(f.mediaType === undefined ? {} : { media_type: f.mediaType }),
          ...(f.format === undefined ? {} : { format: f.format }),
          added_in: version,
        };
        evs.push(
          event('message digest calculation', agent, version, {
            objects: [name],
            detail: `sha512:${a.digest}`,
          }),
          event(replaced ? 'modification' : 'ingestion', agent, version, {
            objects: [name],
            detail: `${a.size} bytes${a.deduplicated ? ', identical content already stored: kept once' : ''}`,
          }),
        );
        if (f.formatWarning !== undefined)
          evs.push(
            event('format identification', agent, version, {
              objects: [name],
              outcome: 'warning',
              detail: f.formatWarning,
            }),
          );
      }
      evs.push(...extraEvents(version));
      return [
        { path: RECORD, body: `${JSON.stringify(record, null, 2)}\n` },
        { path: EVENTS, body: `${JSON.stringify(evs, null, 2)}\n` },
      ];
    };
  }

  async function create(
    input: { id?: string; kind: string; metadata: unknown; access?: unknown; files?: NewFile[] },
    agent: Agent,
    options: { message?: string } = {},
  ): Promise<ItemView> {
    const id = assertItemId(input.id ?? generateItemId(clock()));
    const metadata = validateMetadata(input.kind, input.metadata);
    const access = validateAccess(input.access ?? { level: 'private' });
    const files = input.files ?? [];
    const put = fileInputs(files);
    const written: { record?: ItemRecord } = {};
    const finalize = finalizeWith(
      () => ({ id, kind: input.kind as ItemKind, access, metadata, files: registry() }),
      files,
      agent,
      (version) => [event('ingestion', agent, version, { detail: `item created (${input.kind})` })],
      written,
    );
    try {
      const result = await ocfl.writeVersion(
        ocflIdFor(id),
        { put, finalize },
        { message: options.message ?? `create ${input.kind} item`, user: agent },
        { expectHead: null },
      );
      return await committed(toView(written.record!, result.inventory, result.version));
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_OBJECT_EXISTS'))
        throw new CikuError('CIKU_ERR_ITEM_EXISTS', `item ${id} already exists`);
      throw err;
    }
  }

  /**
   * One new version with any mix of metadata edit (`null` removes a field), access change, added/replaced,
   * removed and renamed files. `ifVersion` makes it conditional on the head (412 CIKU_ERR_VERSION_CONFLICT).
   */
  async function update(
    id: string,
    patch: ItemPatch,
    agent: Agent,
    options: { ifVersion?: string; message?: string } = {},
  ): Promise<ItemView> {
    assertItemId(id);
    const inv = await inventoryOf(id);
    // Checked now for a clear, early answer; applied again under the object's lock to the record as it is then,
    // so concurrent writers never overwrite each other and only an explicit If-Match can conflict.
    const current = await readRecord(id, inv.head, inv);
    const applyPatch = (base: ItemRecord): ItemRecord => {
      if (base.tombstone) throw new CikuError('CIKU_ERR_ITEM_DELETED', `item ${id} was deleted`);
      const record: ItemRecord = withRegistry(structuredClone(base));
      if (patch.metadata !== undefined) {
        record.metadata = validateMetadata(base.kind, mergeMetadata(record.metadata, patch.metadata));
      }
      if (patch.access !== undefined) record.access = validateAccess(patch.access);
      for (const name of [...removes, ...renames.map((r) => r.from)]) {
        if (!Object.hasOwn(record.files, name))
          throw new CikuError('CIKU_ERR_FILE_NOT_FOUND', `item ${id} has no file ${name}`);
      }
      for (const name of removes) delete record.files[name];
      for (const { from, to } of renames) {
        record.files[to] = record.files[from]!;
        delete record.files[from];
      }
      return record;
    };
    const files = patch.put ?? [];
    const removes = (patch.remove ?? []).map(normaliseLogicalPath);
    const renames = (patch.rename ?? []).map((r) => ({
      from: normaliseLogicalPath(r.from),
      to: normaliseLogicalPath(r.to),
    }));
    const patched = applyPatch(current);
    const access = patched.access;
    if (files.length === 0 && removes.length === 0 && renames.length === 0 && sameRecord(patched, current)) {
      // Nothing would change (an empty PATCH, or values the head already has): no version is made. Judged
      // against the head as read here; a concurrent writer's version may land meanwhile, as with any read.
      if (options.ifVersion !== undefined && options.ifVersion !== inv.head)
        throw new CikuError(
          'CIKU_ERR_VERSION_CONFLICT',
          `item ${id} is at ${inv.head}, not ${options.ifVersion}`,
          {
            details: { head: inv.head },
          },
        );
      return toView(current, inv, inv.head);
    }
    const written: { record?: ItemRecord } = {};
    const finalize = finalizeWith(
      async (previous) =>
        applyPatch(previous === undefined ? current : await readRecord(id, previous.head, previous)),
      files,
      agent,
      (version) => [
        ...(patch.metadata === undefined
          ? []
          : [
              event('metadata modification', agent, version, {
                detail: `fields: ${Object.keys(patch.metadata).join(', ')}`,
              }),
            ]),
        ...(patch.access === undefined
          ? []
          : [event('policy assignment', agent, version, { detail: `access ${JSON.stringify(access)}` })]),
        ...removes.map((name) =>
          event('deletion', agent, version, {
            objects: [name],
            detail: 'file removed from the current version',
          }),
        ),
        ...renames.map((r) =>
          event('filename change', agent, version, {
            objects: [r.from, r.to],
            detail: `${r.from} → ${r.to}`,
          }),
        ),
      ],
      written,
    );
    const result = await ocfl.writeVersion(
      ocflIdFor(id),
      {
        remove: removes.map((n) => `${FILES}${n}`),
        rename: renames.map((r) => ({ from: `${FILES}${r.from}`, to: `${FILES}${r.to}` })),
        put: fileInputs(files),
        finalize,
      },
      { message: options.message ?? describe(patch), user: agent },
      options.ifVersion === undefined ? {} : { expectHead: options.ifVersion },
    );
    return committed(toView(written.record!, result.inventory, result.version));
  }

  /** Tombstone: a new version whose state keeps only the record (marked deleted) and the event log. */
  async function remove(
    id: string,
    agent: Agent,
    reason?: string,
    options: { ifVersion?: string } = {},
  ): Promise<ItemView> {
    // The files to drop are read before the lock: if another version lands meanwhile, read again and retry
    // (unless the caller named the version to delete: then that is its conflict).
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await removeOnce(id, agent, reason, options.ifVersion);
      } catch (err) {
        if (options.ifVersion !== undefined || !isCikuError(err, 'CIKU_ERR_VERSION_CONFLICT') || attempt >= 5)
          throw err;
      }
    }
  }

  async function removeOnce(
    id: string,
    agent: Agent,
    reason?: string,
    ifVersion?: string,
  ): Promise<ItemView> {
    const inv = await inventoryOf(id);
    if (ifVersion !== undefined && ifVersion !== inv.head)
      throw new CikuError('CIKU_ERR_VERSION_CONFLICT', `item ${id} is at ${inv.head}, not ${ifVersion}`, {
        details: { head: inv.head },
      });
    const current = await readRecord(id, inv.head, inv);
    if (current.tombstone) throw new CikuError('CIKU_ERR_ITEM_DELETED', `item ${id} was already deleted`);
    const names = Object.keys(current.files);
    const at = clock().toISOString();
    const written: ItemRecord = {
      ...current,
      files: registry(),
      tombstone: { at, by: agent.name, ...(reason === undefined ? {} : { reason }) },
    };
    const finalize: NonNullable<VersionChanges['finalize']> = ({ version }) => {
      const record = written;
      const evs = [
        event('deletion', agent, version, { objects: names, detail: reason ?? 'item deleted (tombstone)' }),
      ];
      return [
        { path: RECORD, body: `${JSON.stringify(record, null, 2)}\n` },
        { path: EVENTS, body: `${JSON.stringify(evs, null, 2)}\n` },
      ];
    };
    const result = await ocfl.writeVersion(
      ocflIdFor(id),
      { remove: names.map((n) => `${FILES}${n}`), finalize },
      { message: `delete item${reason ? `: ${reason}` : ''}`, user: agent },
      { expectHead: inv.head },
    );
    return committed(toView(written, result.inventory, result.version));
  }

  async function openFile(id: string, name: string, options: { version?: string; range?: ByteRange } = {}) {
    const inv = await inventoryOf(id);
    const version = options.version ?? inv.head;
    if (!inv.versions[version])
      throw new CikuError('CIKU_ERR_VERSION_NOT_FOUND', `item ${id} has no version ${version}`);
    const item = toView(await readRecord(id, version, inv), inv, version);
    const file = item.files.find((f) => f.name === normaliseLogicalPath(name));
    if (!file) throw new CikuError('CIKU_ERR_FILE_NOT_FOUND', `item ${id} has no file ${name} in ${version}`);
    const opened = await ocfl.openFile(ocflIdFor(id), `${FILES}${file.name}`, {
      version,
      inventory: inv,
      ...(options.range === undefined ? {} : { range: options.range }),
    });
    return { stream: opened.stream, file, item };
  }

  /** Where an item stores the bytes with this sha512 (any version), or undefined: what workers read. */
  async function locateContent(id: string, sha512: string): Promise<string | undefined> {
    try {
      return await ocfl.locateDigest(ocflIdFor(assertItemId(id)), sha512);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_OBJECT_NOT_FOUND')) throw notFound(id);
      throw err;
    }
  }

  async function readFileBytes(id: string, name: string, version?: string): Promise<Buffer> {
    const { stream } = await openFile(id, name, version === undefined ? {} : { version });
    return readAll(stream);
  }

  async function* list(): AsyncIterable<string> {
    for await (const o of ocfl.listObjects()) {
      if (o.id.startsWith('urn:ciku:item:')) yield o.id.slice('urn:ciku:item:'.length);
    }
  }

  /** The head version of an item: one inventory read, no record (what the indexer checks its work against). */
  async function headVersion(id: string): Promise<string> {
    return (await inventoryOf(id)).head;
  }

  return {
    create,
    get,
    headVersion,
    versions,
    events,
    update,
    delete: remove,
    openFile,
    locateContent,
    readFileBytes,
    list,
  };
}

export type Items = ReturnType<typeof createItems>;

/** Two records hold the same kind, access, metadata and files (key order aside). */
function sameRecord(a: ItemRecord, b: ItemRecord): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted at every level: equal for equal data whatever the insertion order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

function describe(patch: ItemPatch): string {
  const parts: string[] = [];
  if (patch.metadata) parts.push('edit metadata');
  if (patch.access) parts.push('change access');
  if (patch.put?.length) parts.push(`add ${patch.put.length} file(s)`);
  if (patch.remove?.length) parts.push(`remove ${patch.remove.length} file(s)`);
  if (patch.rename?.length) parts.push(`rename ${patch.rename.length} file(s)`);
  return parts.join(', ') || 'no change';
}
