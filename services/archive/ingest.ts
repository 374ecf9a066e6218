import { randomUUID } from 'node:crypto';
import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';
import { mediaPolicy } from '../../schemas/media-policy.ts';
import type { FileFormat, FileRole, ItemKind } from '../../schemas/item.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { readAll, type BlobStore, type DigestAlgorithm } from './blob-store.ts';
import type { Agent, ItemFile, Items, ItemView, NewFile } from './items.ts';
import { identify, TAIL_BYTES, type MagicSniffer } from './media-type.ts';
import { normaliseLogicalPath } from './ocfl/names.ts';

/**
 * Stage → verify: one streaming pass writes an upload into the blob store's staging area while it is hashed
 * (sha512 always; sha256 when the client's digest needs it), counted against a size limit, and its first bytes are
 * kept for type detection. Nothing is committed here: the caller verifies and then adopts the staged blob into an
 * OCFL version by moving it (no second pass over the bytes).
 */
export const HEAD_BYTES = 256 * 1024;

export interface StagedUpload {
  key: string;
  size: number;
  sha512: string;
  sha256?: string;
  head: Buffer;
}

class Inspector extends Transform {
  size = 0;
  private readonly headChunks: Buffer[] = [];
  private headSize = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      done(new CikuError('CIKU_ERR_UPLOAD_TOO_LARGE', `file larger than the ${this.maxBytes}-byte limit`));
      return;
    }
    if (this.headSize < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headSize);
      this.headChunks.push(Buffer.from(part));
      this.headSize += part.length;
    }
    done(null, chunk);
  }

  head(): Buffer {
    return Buffer.concat(this.headChunks);
  }
}

export function stagingPrefix(instance: string): string {
  return `staging/${instance}/`;
}

export async function stageUpload(
  blobs: BlobStore,
  body: Readable,
  options: { instance: string; maxBytes: number; sha256?: boolean },
): Promise<StagedUpload> {
  const key = `${stagingPrefix(options.instance)}${randomUUID()}`;
  const inspector = new Inspector(options.maxBytes);
  // An error or a close before the end (a dropped client, a truncated multipart part) fails the stage.
  finished(body, (err) => {
    if (err)
      inspector.destroy(new CikuError('CIKU_ERR_UPLOAD_INCOMPLETE', `upload ended early: ${err.message}`));
  });
  // The limit can trip while the store is still opening its file, before it listens: the error is kept on the
  // stream (stream.errored) and surfaces through the store's pipeline, so it must not go unhandled meanwhile.
  inspector.on('error', () => undefined);
  const algorithms: DigestAlgorithm[] = options.sha256 ? ['sha512', 'sha256'] : ['sha512'];
  // The bytes are synced (they must be durable before any inventory names them); the staging name need not be:
  // after a crash a staged blob is garbage either way, and the commit syncs the name it is moved to.
  const res = await blobs.put(key, body.pipe(inspector), { algorithms, syncName: false });
  return {
    key,
    size: res.size,
    sha512: res.digests.sha512!,
    ...(res.digests.sha256 === undefined ? {} : { sha256: res.digests.sha256 }),
    head: inspector.head(),
  };
}

/** RFC 9530 digests a client may send (`Content-Digest` / `Repr-Digest`), as lowercase hex by algorithm. */
export interface ClientDigests {
  sha256?: string;
  sha512?: string;
}

export function verifyDigests(staged: StagedUpload, expected: ClientDigests): void {
  for (const alg of ['sha256', 'sha512'] as const) {
    const want = expected[alg];
    if (want === undefined) continue;
    const got = staged[alg];
    if (got !== want) {
      throw new CikuError(
        'CIKU_ERR_UPLOAD_DIGEST_MISMATCH',
        `${alg} of the received bytes is ${got ?? '(not computed)'}, the client sent ${want}: nothing was stored`,
        { details: { algorithm: alg, expected: want, actual: got } },
      );
    }
  }
}

export interface StagedFile {
  name: string;
  staged: StagedUpload;
  role?: FileRole;
  expected?: ClientDigests;
}

export interface IngestDeps {
  blobs: BlobStore;
  items: Items;
  sniff: MagicSniffer;
  /** This process's id: its staging folder, cleaned by the next start if the process dies. */
  instance: string;
  /** Global per-file limit; each kind's own limit (schemas/media-policy.ts) applies too. */
  maxBytes: number;
}

/**
 * The ingest pipeline behind every upload route: stage (one pass: hash + size + head), then verify the client's
 * digests and the kind's size limit, identify the format from the bytes, skip content the item already has, and
 * commit the rest as one new version. Whatever the format, the bytes are kept (DESIGN principle 9): bytes nothing
 * identifies are stored as application/octet-stream with a `format identification` warning event. Any refusal
 * discards the staged blobs, so nothing is left behind.
 */
/**
 * What a new file carries of its identification: the format, or — for bytes nothing identified — the warning its
 * version's `format identification` event records. Shared by the upload routes and batch rows.
 */
export function identified(
  mediaType: string,
  format: FileFormat | undefined,
): Pick<NewFile, 'format' | 'formatWarning'> {
  if (format !== undefined) return { format };
  if (mediaType === 'application/octet-stream')
    return { formatWarning: 'no signature identified these bytes: kept as application/octet-stream' };
  return {};
}

export function createIngest(deps: IngestDeps) {
  const { blobs, items, sniff } = deps;

  function limitFor(kind: ItemKind): number {
    return Math.min(deps.maxBytes, mediaPolicy[kind].maxBytes);
  }

  async function stage(
    kind: ItemKind,
    body: Readable,
    options: { sha256?: boolean } = {},
  ): Promise<StagedUpload> {
    return stageUpload(blobs, body, {
      instance: deps.instance,
      maxBytes: limitFor(kind),
      ...(options.sha256 === undefined ? {} : { sha256: options.sha256 }),
    });
  }

  /** The staged blob's last bytes (one ranged read), for what keeps its identity at the end (a PDF's XMP). */
  async function tailOf(staged: StagedUpload): Promise<Buffer> {
    return readAll(await blobs.get(staged.key, { start: Math.max(0, staged.size - TAIL_BYTES) }), TAIL_BYTES);
  }

  async function discard(files: { staged: StagedUpload }[]): Promise<void> {
    await Promise.all(files.map((f) => blobs.delete(f.staged.key).catch(() => undefined)));
  }

  /** `head`: the item as the caller just loaded it (kind, files for the identical-content check). */
  async function commit(
    head: ItemView,
    files: StagedFile[],
    agent: Agent,
    options: { ifVersion?: string; keepStagedOnConflict?: boolean } = {},
  ): Promise<{ item: ItemView; files: ItemFile[]; existing: boolean }> {
    const itemId = head.id;
    try {
      const prepared: (NewFile & { sha512: string })[] = [];
      for (const f of files) {
        if (f.expected) verifyDigests(f.staged, f.expected);
        if (f.staged.size > limitFor(head.kind)) {
          throw new CikuError(
            'CIKU_ERR_UPLOAD_TOO_LARGE',
            `${f.name}: larger than the ${limitFor(head.kind)}-byte limit for ${head.kind}`,
          );
        }
        const { mediaType, format } = await identify(
          { head: f.staged.head, size: f.staged.size, tail: () => tailOf(f.staged) },
          sniff,
        );
        prepared.push({
          name: f.name,
          body: { staged: f.staged.key, sha512: f.staged.sha512, size: f.staged.size },
          role:
            f.role ??
            (mediaType === 'text/vtt' || mediaType === 'application/x-subrip' ? 'transcript' : 'original'),
          mediaType,
          ...identified(mediaType, format),
          sha512: f.staged.sha512,
          ...(f.staged.sha256 === undefined ? {} : { sha256: f.staged.sha256 }),
        });
      }
      const byName = new Map(head.files.map((f) => [f.name, f]));
      const already = (f: (typeof prepared)[number]) =>
        byName.get(normaliseLogicalPath(f.name))?.digests.sha512 === f.sha512;
      if (prepared.length > 0 && prepared.every(already)) {
        // These very bytes under these very names: nothing to change, no version (200). The same bytes under a
        // new name are a new version whose manifest points at the content already stored (OCFL keeps one copy):
        // a successful PUT must leave its URL readable.
        await discard(files);
        return {
          item: head,
          files: prepared.map((f) => byName.get(normaliseLogicalPath(f.name))!),
          existing: true,
        };
      }
      // Files the item already holds as they are (same name, same bytes) stay out of the version; their blobs go
      // once it commits (a conflict may be decided again on a head that no longer holds them).
      const unchanged = prepared.filter(already);
      const item = await items.update(
        itemId,
        { put: prepared.filter((f) => !already(f)).map(({ sha512: _sha512, ...f }) => f) },
        agent,
        options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion },
      );
      await discard(
        files.filter((f) => unchanged.some((u) => u.sha512 === f.staged.sha512 && u.name === f.name)),
      );
      const names = new Set(prepared.map((f) => normaliseLogicalPath(f.name)));
      return { item, files: item.files.filter((f) => names.has(f.name)), existing: false };
    } catch (err) {
      // A lost race the caller will decide again keeps the staged bytes for that second try.
      if (!(options.keepStagedOnConflict && isCikuError(err, 'CIKU_ERR_VERSION_CONFLICT')))
        await discard(files);
      throw err;
    }
  }

  /** Deletes staging left by processes that are gone (their ids are not in `live`). */
  async function cleanOrphans(live: (instance: string) => Promise<boolean>): Promise<number> {
    let removed = 0;
    for await (const child of blobs.listChildren('staging/')) {
      if (!child.isPrefix || child.name === 'tus' || child.name === deps.instance) continue;
      if (!(await live(child.name))) removed += await blobs.deletePrefix(`staging/${child.name}/`);
    }
    return removed;
  }

  return { stage, commit, discard, cleanOrphans, limitFor };
}

export type Ingest = ReturnType<typeof createIngest>;
