import { constants, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CikuError, errnoCode } from '../errors.ts';

/**
 * Opening a file a batch source names, so that what is read is what was checked. A path is only a name: between
 * a check and a read, any of its components can be swapped for a symbolic link (to a key record, another store,
 * /etc). So the file is opened first — never through a final link (`O_NOFOLLOW`), never blocking on a FIFO
 * (`O_NONBLOCK`) — and the *opened descriptor* is checked: a regular file (`fstat`) whose real path, as the kernel
 * knows it (`/proc/self/fd/N` on Linux), lies inside the folder. Every read (type sniffing, hashing, the ingest
 * stream) is then made from that descriptor. Where there is no /proc, the path's real path must lie inside the
 * folder and name the very file opened (same device and inode).
 */
export interface OpenedFile {
  handle: FileHandle;
  /** The opened file's real path (inside the folder). */
  real: string;
  stat: Stats;
}

export interface OpenInsideOptions {
  /** Refuse a file with more than one name (a hard link can name a file outside the folder from inside it). */
  noHardLinks?: boolean;
}

/** True when `p` is `root` itself or lies below it (both real, absolute paths). */
export function isInside(root: string, p: string): boolean {
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  return p.startsWith(base);
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens `file` for reading if it is a regular file inside `root` (a real path). Refusals are
 * CIKU_ERR_FILE_NOT_FOUND with the reason (`is a symbolic link`, `is not inside the source folder`…); the caller
 * closes the handle.
 */
export async function openInside(
  root: string,
  file: string,
  options: OpenInsideOptions = {},
): Promise<OpenedFile> {
  const refuse = (why: string): CikuError => new CikuError('CIKU_ERR_FILE_NOT_FOUND', why);
  let handle: FileHandle;
  try {
    handle = await fs.open(file, OPEN_FLAGS);
  } catch (err) {
    // Refusals say why in words of the file, never by the system's message (which names the server path).
    const code = errnoCode(err);
    if (code === 'ELOOP') throw refuse('is a symbolic link');
    if (code === 'ENOENT' || code === 'ENOTDIR') throw refuse('is missing');
    if (code === 'ENXIO' || code === 'EISDIR') throw refuse('is not a regular file'); // ENXIO: a socket
    if (code === 'EACCES' || code === 'EPERM') throw refuse('may not be read by the service');
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refuse('is not a regular file');
    const real = await realPathOf(handle, file, stat);
    if (real === undefined || !isInside(root, real)) throw refuse('is not inside the source folder');
    if (options.noHardLinks && stat.nlink > 1)
      throw refuse('is a hard link (a file with another name elsewhere): copy the file instead');
    return { handle, real, stat };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The real path of an opened file, or undefined when it cannot be told (deleted since, renamed away). */
async function realPathOf(handle: FileHandle, file: string, stat: Stats): Promise<string | undefined> {
  try {
    const link = await fs.readlink(`/proc/self/fd/${handle.fd}`);
    // The kernel marks a file unlinked since it was opened; it has no path inside the folder any more.
    return link.endsWith(' (deleted)') || !path.isAbsolute(link) ? undefined : link;
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EINVAL') throw err;
  }
  // No /proc: the path's real path, if it is the file opened.
  const real = await fs.realpath(file).catch(() => undefined);
  if (real === undefined) return undefined;
  const now = await fs.stat(real).catch(() => undefined);
  return now?.dev === stat.dev && now.ino === stat.ino ? real : undefined;
}

/** Reads a whole (small) file through `openInside`, bounded in size. */
export async function readInside(root: string, file: string, maxBytes: number): Promise<Buffer> {
  const { handle, stat } = await openInside(root, file);
  try {
    if (stat.size > maxBytes)
      throw new CikuError('CIKU_ERR_BATCH_SOURCE', `${path.basename(file)} is larger than ${maxBytes} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
