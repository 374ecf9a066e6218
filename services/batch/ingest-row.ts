import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { BatchRow, RowStatus } from '../../schemas/batch.ts';
import type { Access, ItemKind } from '../../schemas/item.ts';
import { mediaPolicy } from '../../schemas/media-policy.ts';
import type { JobQueue } from '../adapters/queue.ts';
import { sniffMagic } from '../adapters/file-type.ts';
import { enqueueFollowUps } from '../app/follow-ups.ts';
import { canCreate, canRead, canReassign, canWrite, isStaff, type Principal } from '../archive/access.ts';
import type { Agent, Items, ItemView, NewFile } from '../archive/items.ts';
import { identified } from '../archive/ingest.ts';
import { identify, TAIL_BYTES, type Identification } from '../archive/media-type.ts';
import { CikuError, errnoCode, isCikuError } from '../errors.ts';
import { hashHandle } from './hash-handle.ts';
import { openInside, type OpenedFile } from './safe-open.ts';

export interface RowResult {
  status: Exclude<RowStatus, 'failed'>;
  item: string;
  version: string;
  bytes: number;
  /**
   * What the report's reason column says of a row that did its work with a finding: its files that nothing
   * identified (kept as application/octet-stream, each with its warning event). Absent when there is none.
   */
  warning?: string;
}

/** Who runs a row and where its files must be: the batch's recorded principal and source folder. */
export interface RowContext {
  agent: Agent;
  principal: Principal;
  /** The real path of the folder every file of the row must lie inside (the batch's source folder). */
  root: string;
  clock?: () => Date;
}

const HEAD_BYTES = 256 * 1024;
/** Errors opening a file that say nothing of the file: the row is tried again later. */
const transientErrno = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'EIO', 'ENOMEM']);
/** Writes that lost a race with another writer of the same item are decided again, at most this often. */
const ATTEMPTS = 5;

/** An opened file identified from its first 256 KiB (the bytes decide, never the name), as uploads are. */
async function identifyOpened(opened: OpenedFile): Promise<Identification> {
  const { size } = opened.stat;
  const read = async (at: number, length: number): Promise<Buffer> => {
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await opened.handle.read(bytes, 0, length, at);
    return bytes.subarray(0, bytesRead);
  };
  const head = await read(0, Math.min(HEAD_BYTES, size));
  const tailAt = Math.max(0, size - TAIL_BYTES);
  return identify({ head, size, tail: () => read(tailAt, size - tailAt) }, sniffMagic);
}

/**
 * A local file's size, media type and what it carries of its identification (format, or the warning), from its
 * bytes (for `ciku ingest`: a path the operator gave).
 */
export async function typeOfLocalFile(
  file: string,
): Promise<{ size: number; mediaType: string } & Pick<NewFile, 'format' | 'formatWarning'>> {
  const handle = await fs.open(file, 'r');
  try {
    const stat = await handle.stat();
    const { mediaType, format } = await identifyOpened({ handle, stat, real: file });
    return { size: stat.size, mediaType, ...identified(mediaType, format) };
  } finally {
    await handle.close();
  }
}

/** The version message that ties a version to the batch row that wrote it (how a retried row knows its work). */
export const rowMessage = (batchId: string, row: number): string => `batch ${batchId} row ${row}`;

/**
 * What a row says about an item it may not change — one of another organisation, one the caller may not read, a
 * deleted one (for all but staff) — whatever the reason, and nothing about the item (no kind, no version, no
 * deletion): the id is taken, which creating it would tell anyway.
 */
export function idTaken(id: string): CikuError {
  return new CikuError(
    'CIKU_ERR_ITEM_EXISTS',
    `id ${id} is already taken by an item this batch may not change`,
  );
}

type TypedFile = BatchRow['files'][number] & {
  opened: OpenedFile;
  size: number;
  mediaType: string;
  identification: Pick<NewFile, 'format' | 'formatWarning'>;
};

/**
 * One row, idempotently, under the batch's principal and through the same decisions as the API's writes: a new
 * item is created if the principal may create it (`canCreate`); an existing one is changed only if the principal
 * may read and write it (`canRead`, `canWrite`, as guards.writable), never moved to another organisation but by
 * admins and archivists (`canReassign`), and only in what the row names: its metadata fields merge into the item's
 * (as PATCH does), only the access parts the row itself names change, and files are added or replaced, never
 * removed. A row whose every named value the item already holds (files by sha512) is skipped; anything else becomes
 * one new version, conditional on the head the decision was made on (a concurrent change makes the row decide
 * again). A row whose job was killed after its version committed finds that version (by its message) and reports
 * what it did then, so counts stay exact.
 *
 * Every file is opened once, inside the batch's source folder and never through a link (safe-open.ts), and its
 * type, digest and ingested bytes all come from that descriptor. A file planned with a digest (a bag's payload, whose
 * sha512 the validation computed from the bytes that matched the bag's manifests) is stored only if the bytes
 * written have it (`expectedSha512`: checked before the version commits), so a payload file rewritten after the bag
 * was validated fails its row and nothing of it is stored. Manifest and CSV rows name no digest: their files are
 * taken as they are when the row runs. Follow-up jobs (derivatives, index) go in at
 * backfill priority: batch work never delays fresh uploads.
 */
export async function ingestRow(
  deps: { items: Items; queue: Pick<JobQueue, 'enqueue'> },
  batchId: string,
  row: BatchRow,
  ctx: RowContext,
): Promise<RowResult> {
  const typed: TypedFile[] = [];
  const streams: Readable[] = [];
  try {
    for (const f of row.files) typed.push(await openRowFile(f, row.kind as ItemKind, ctx));
    const bytes = typed.reduce((a, f) => a + f.size, 0);
    const asNew = (f: TypedFile): NewFile => {
      const body = f.opened.handle.createReadStream({
        start: 0,
        autoClose: false,
        highWaterMark: 1024 * 1024,
      });
      streams.push(body);
      // A planned digest (a bag's) is checked against the one computed while the bytes are written, before the
      // version commits: a file changed since it was planned fails its row and nothing is stored.
      return {
        name: f.name,
        role: f.role,
        mediaType: f.mediaType,
        ...f.identification,
        body,
        ...(f.sha512 === undefined ? {} : { expectedSha512: f.sha512 }),
      };
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await writeRow(deps, batchId, row, ctx, typed, asNew, bytes);
      } catch (err) {
        // Lost a race (the item was created, or changed, since it was read): decide again on what is there now.
        if (!(err instanceof RaceLost)) throw err;
        if (attempt >= ATTEMPTS)
          throw new CikuError(
            'CIKU_ERR_UNAVAILABLE',
            `item ${row.id} kept changing while this row ran; the row is tried again later`,
          );
      }
    }
  } finally {
    for (const s of streams) s.destroy();
    await Promise.all(typed.map((f) => f.opened.handle.close()));
  }
}

/** The item was created or changed between the decision and the write. */
class RaceLost extends Error {}

async function openRowFile(
  f: BatchRow['files'][number],
  kind: ItemKind,
  ctx: RowContext,
): Promise<TypedFile> {
  let opened: OpenedFile;
  try {
    // A hard link lets a name inside the folder stand for a file outside it; staff's folders are theirs to arrange.
    opened = await openInside(ctx.root, f.path, { noHardLinks: !isStaff(ctx.principal) });
  } catch (err) {
    if (isCikuError(err))
      throw new CikuError('CIKU_ERR_FILE_NOT_FOUND', `file ${f.name} cannot be read: it ${err.message}`);
    // What the system refuses for good (a socket, no permission…) is this row's verdict, said by the file's name:
    // the system's own message names the server path. A shortage of descriptors or an I/O fault is tried again.
    const code = errnoCode(err);
    if (code === undefined || transientErrno.has(code)) throw err;
    throw new CikuError(
      'CIKU_ERR_FILE_NOT_FOUND',
      `file ${f.name} cannot be read: it could not be opened (${code})`,
    );
  }
  try {
    // Any format is kept (DESIGN principle 9); only the kind's size limit refuses a file.
    const { maxBytes } = mediaPolicy[kind];
    if (opened.stat.size > maxBytes)
      throw new CikuError('CIKU_ERR_UPLOAD_TOO_LARGE', `${f.name} is larger than ${maxBytes} bytes`);
    const { mediaType, format } = await identifyOpened(opened);
    return { ...f, opened, size: opened.stat.size, mediaType, identification: identified(mediaType, format) };
  } catch (err) {
    await opened.handle.close();
    throw err;
  }
}

async function writeRow(
  deps: { items: Items; queue: Pick<JobQueue, 'enqueue'> },
  batchId: string,
  row: BatchRow,
  ctx: RowContext,
  typed: TypedFile[],
  asNew: (f: TypedFile) => NewFile,
  bytes: number,
): Promise<RowResult> {
  const { principal } = ctx;
  const message = rowMessage(batchId, row.row);
  let current: ItemView | undefined;
  try {
    current = await deps.items.get(row.id);
  } catch (err) {
    if (!isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) throw err;
  }
  if (current === undefined) {
    if (!canCreate(principal, row.access))
      throw new CikuError(
        'CIKU_ERR_FORBIDDEN',
        principal.role === 'contributor'
          ? 'contributors create items of their own organisation only'
          : 'this batch may not create items',
      );
    try {
      const item = await deps.items.create(
        { id: row.id, kind: row.kind, metadata: row.metadata, access: row.access, files: typed.map(asNew) },
        ctx.agent,
        { message },
      );
      await enqueueFollowUps(deps.queue, item, item.files, { backfill: true });
      return { status: 'ingested', item: item.id, version: item.version, bytes, ...warningOf(typed) };
    } catch (err) {
      // Another writer created it between our read and write: decide again against it.
      if (isCikuError(err, 'CIKU_ERR_ITEM_EXISTS'))
        throw new RaceLost('another writer changed the item meanwhile', { cause: err });
      throw err;
    }
  }

  // The API's order (guards.writable): may read, may write, not deleted. Whatever the reason, a row about an item
  // the caller may not change learns nothing of it; only staff are told it was deleted.
  const now = (ctx.clock ?? (() => new Date()))();
  if (!canRead(principal, current.access, now) || !canWrite(principal, current.access)) throw idTaken(row.id);
  if (current.tombstone) {
    if (!isStaff(principal)) throw idTaken(row.id);
    throw new CikuError(
      'CIKU_ERR_ITEM_DELETED',
      `item ${row.id} was deleted; a batch does not bring it back`,
    );
  }
  if (current.kind !== row.kind)
    throw new CikuError(
      'CIKU_ERR_ITEM_EXISTS',
      `item ${row.id} exists as a ${current.kind}, the row says ${row.kind}`,
    );

  // Only what the row names: its metadata fields, the access parts its cells give, its files.
  const metadata = Object.fromEntries(
    Object.entries(row.metadata).filter(
      ([k, v]) => !Object.hasOwn(current.metadata, k) || !isDeepStrictEqual(current.metadata[k], v),
    ),
  );
  const access = accessAfter(current.access, row);
  if (access.organisation !== current.access.organisation && !canReassign(principal))
    throw new CikuError(
      'CIKU_ERR_FORBIDDEN',
      'only admins and archivists move an item to another organisation (or out of one)',
    );
  if (!canWrite(principal, access)) throw idTaken(row.id);
  const sameAccess = isDeepStrictEqual(access, current.access);
  const changed: TypedFile[] = [];
  for (const f of typed) {
    const existing = current.files.find((x) => x.name === f.name);
    // With a planned digest the item holds the row's file when it holds those bytes (whatever the file is now: a
    // changed one is never stored, see asNew); without one, the bytes are read to tell.
    if (f.sha512 !== undefined) {
      if (existing?.digests.sha512 !== f.sha512) changed.push(f);
    } else if (existing?.size !== f.size) changed.push(f);
    else if ((await hashHandle(f.opened.handle, ['sha512'])).get('sha512') !== existing.digests.sha512)
      changed.push(f);
  }
  if (changed.length === 0 && Object.keys(metadata).length === 0 && sameAccess) {
    // Nothing to write. If this very row wrote the head (a retry after a kill), report that, not a skip.
    const versions = await deps.items.versions(row.id);
    const head = versions.find((v) => v.version === current.version);
    if (head?.message === message) {
      await enqueueFollowUps(deps.queue, current, current.files, { backfill: true });
      return {
        status: current.version === 'v1' ? 'ingested' : 'updated',
        item: row.id,
        version: current.version,
        bytes,
      };
    }
    return { status: 'skipped', item: row.id, version: current.version, bytes };
  }
  let item: ItemView;
  try {
    item = await deps.items.update(
      row.id,
      {
        ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
        ...(sameAccess ? {} : { access }),
        put: changed.map(asNew),
      },
      ctx.agent,
      // Conditional on the head decided on: an item given to another organisation meanwhile is decided again.
      { message, ifVersion: current.version },
    );
  } catch (err) {
    if (isCikuError(err, 'CIKU_ERR_VERSION_CONFLICT'))
      throw new RaceLost('another writer changed the item meanwhile', { cause: err });
    throw err;
  }
  const names = new Set(changed.map((f) => f.name));
  await enqueueFollowUps(
    deps.queue,
    item,
    item.files.filter((f) => names.has(f.name)),
    { backfill: true },
  );
  return { status: 'updated', item: item.id, version: item.version, bytes, ...warningOf(changed) };
}

/** The row's warning for the files it wrote that nothing identified (each also has its warning event). */
function warningOf(written: TypedFile[]): Pick<RowResult, 'warning'> {
  const unknown = written.filter((f) => f.identification.formatWarning !== undefined).map((f) => f.name);
  if (unknown.length === 0) return {};
  return {
    warning: `warning: format not identified, kept as application/octet-stream: ${unknown.join(', ')}`,
  };
}

/** The item's access with the parts the row names put over it (a part the row does not name stays as it is). */
function accessAfter(current: Access, row: BatchRow): Access {
  const next: Access = { ...current };
  for (const part of row.named_access) {
    if (part === 'level') next.level = row.access.level;
    else if (row.access[part] === undefined) delete next[part];
    else next[part] = row.access[part];
  }
  return next;
}
