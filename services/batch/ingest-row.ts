import { createReadStream, promises as fs } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { BatchRow, RowStatus } from '../../schemas/batch.ts';
import { mediaPolicy } from '../../schemas/media-policy.ts';
import type { ItemKind } from '../../schemas/item.ts';
import type { JobQueue } from '../adapters/queue.ts';
import { sniffMagic } from '../adapters/file-type.ts';
import { enqueueFollowUps } from '../api/follow-ups.ts';
import type { Agent, Items, ItemView, NewFile } from '../archive/items.ts';
import { detectMediaType } from '../archive/media-type.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { hashFile } from './bagit.ts';

export interface RowResult {
  status: Exclude<RowStatus, 'failed'>;
  item: string;
  version: string;
  bytes: number;
}

const HEAD_BYTES = 256 * 1024;

/** A local file's size and media type from its first 256 KiB (the bytes decide, never the name), as uploads are. */
export async function typeOfLocalFile(file: string): Promise<{ size: number; mediaType: string }> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return { size, mediaType: await detectMediaType(head.subarray(0, bytesRead), size, sniffMagic) };
  } finally {
    await handle.close();
  }
}

/** The version message that ties a version to the batch row that wrote it (how a retried row knows its work). */
export const rowMessage = (batchId: string, row: number): string => `batch ${batchId} row ${row}`;

/**
 * One row, idempotently: a new item is created; an item that already holds this metadata, access and these
 * files (by sha512) is skipped; anything else becomes one new version. A row whose job was killed after its
 * version committed finds that version (by its message) and reports what it did then, so counts stay exact.
 * Follow-up jobs (derivatives, index) go in at backfill priority: batch work never delays fresh uploads.
 */
export async function ingestRow(
  deps: { items: Items; queue: Pick<JobQueue, 'enqueue'> },
  batchId: string,
  row: BatchRow,
  agent: Agent,
): Promise<RowResult> {
  const kind = row.kind as ItemKind;
  const policy = mediaPolicy[kind];
  const typed = await Promise.all(
    row.files.map(async (f) => {
      const { size, mediaType } = await typeOfLocalFile(f.path).catch((err: unknown) => {
        throw new CikuError(
          'CIKU_ERR_FILE_NOT_FOUND',
          `file ${f.name} cannot be read: ${(err as Error).message}`,
        );
      });
      if (!policy.accept.includes(mediaType))
        throw new CikuError(
          'CIKU_ERR_UPLOAD_TYPE_REFUSED',
          `${f.name} is ${mediaType}, which a ${kind} item does not take`,
        );
      if (size > policy.maxBytes)
        throw new CikuError('CIKU_ERR_UPLOAD_TOO_LARGE', `${f.name} is larger than ${policy.maxBytes} bytes`);
      return { ...f, size, mediaType };
    }),
  );
  const bytes = typed.reduce((a, f) => a + f.size, 0);
  const message = rowMessage(batchId, row.row);
  const asNew = (f: (typeof typed)[number]): NewFile => ({
    name: f.name,
    role: f.role,
    mediaType: f.mediaType,
    body: createReadStream(f.path, { highWaterMark: 1024 * 1024 }),
  });

  let current: ItemView | undefined;
  try {
    current = await deps.items.get(row.id);
  } catch (err) {
    if (!isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) throw err;
  }
  if (current === undefined) {
    try {
      const item = await deps.items.create(
        { id: row.id, kind: row.kind, metadata: row.metadata, access: row.access, files: typed.map(asNew) },
        agent,
        { message },
      );
      await enqueueFollowUps(deps.queue, item, item.files, { backfill: true });
      return { status: 'ingested', item: item.id, version: item.version, bytes };
    } catch (err) {
      // Another writer created it between our read and write: compare against it like any existing item.
      if (!isCikuError(err, 'CIKU_ERR_ITEM_EXISTS')) throw err;
      current = await deps.items.get(row.id);
    }
  }
  if (current.tombstone)
    throw new CikuError(
      'CIKU_ERR_ITEM_DELETED',
      `item ${row.id} was deleted; a batch does not bring it back`,
    );
  if (current.kind !== row.kind)
    throw new CikuError(
      'CIKU_ERR_ITEM_EXISTS',
      `item ${row.id} exists as a ${current.kind}, the row says ${row.kind}`,
    );

  const changed: typeof typed = [];
  for (const f of typed) {
    const existing = current.files.find((x) => x.name === f.name);
    if (existing?.size !== f.size) changed.push(f);
    else if ((await hashFile(f.path, ['sha512'])).sha512 !== existing.digests.sha512) changed.push(f);
  }
  const sameMetadata = isDeepStrictEqual(current.metadata, row.metadata);
  const sameAccess = isDeepStrictEqual(current.access, row.access);
  if (changed.length === 0 && sameMetadata && sameAccess) {
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
  const removed = Object.fromEntries(
    Object.keys(current.metadata)
      .filter((k) => !(k in row.metadata))
      .map((k) => [k, null]),
  );
  const item = await deps.items.update(
    row.id,
    {
      ...(sameMetadata ? {} : { metadata: { ...removed, ...row.metadata } }),
      ...(sameAccess ? {} : { access: row.access }),
      put: changed.map(asNew),
    },
    agent,
    { message },
  );
  const names = new Set(changed.map((f) => f.name));
  await enqueueFollowUps(
    deps.queue,
    item,
    item.files.filter((f) => names.has(f.name)),
    { backfill: true },
  );
  return { status: 'updated', item: item.id, version: item.version, bytes };
}
