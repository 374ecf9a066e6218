import yauzl from 'yauzl';
import type { ArchiveEntryT } from '../../schemas/technical.ts';
import { CikuError } from '../errors.ts';

/**
 * The one module that imports yauzl: a ZIP's list of entries read from its central directory alone — nothing is
 * inflated, nothing written to disk. All entries are walked (so the count is the real one, and the bomb checks
 * see them all) up to `MAX_WALKED`; the first `max` are kept.
 *
 * Listing cannot be bombed by size (nothing is inflated), but what we record must not lie: an archive whose
 * entries overlap each other (the "overlapping files" bomb: one small deflate stream referenced thousands of
 * times) or whose declared sizes inflate beyond `MAX_RATIO`:1 into terabytes is refused as too large, and a
 * damaged directory as unreadable.
 */

export interface ZipListingResult {
  entries: ArchiveEntryT[];
  entry_count: number;
}

/** Entries walked at most (each costs ~100 bytes of central directory and ~16 bytes here). */
const MAX_WALKED = 1_000_000;
/** Total inflated size past which a high compression ratio is a bomb, not a text archive. */
const BOMB_TOTAL_BYTES = 1024 ** 4;
const MAX_RATIO = 1000;
/** A local file header is 30 bytes before its name: entries closer than that to the next one overlap. */
const LOCAL_HEADER = 30;

const unreadable = (err: unknown) =>
  new CikuError(
    'CIKU_ERR_MEDIA_UNREADABLE',
    `the ZIP could not be read: ${(err as Error).message ?? String(err)}`.slice(0, 1000),
    { cause: err },
  );

function open(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // strictFileNames off: names with backslashes are listed as written (we never extract, so no path risk).
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: true, decodeStrings: true, strictFileNames: false },
      (e, z) => (e ? reject(unreadable(e)) : resolve(z)),
    );
  });
}

export async function listZip(file: string, max: number): Promise<ZipListingResult> {
  const zip = await open(file);
  if (zip.entryCount > MAX_WALKED) {
    zip.close();
    throw new CikuError(
      'CIKU_ERR_MEDIA_TOO_LARGE',
      `the ZIP declares ${zip.entryCount} entries, above the ${MAX_WALKED} we list`,
    );
  }
  const entries: ArchiveEntryT[] = [];
  const offsets: number[] = [];
  const ends: number[] = [];
  let count = 0;
  let inflated = 0;
  let deflated = 0;
  await new Promise<void>((resolve, reject) => {
    zip.on('error', (e: unknown) => reject(unreadable(e)));
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      count += 1;
      inflated += entry.uncompressedSize;
      deflated += entry.compressedSize;
      offsets.push(entry.relativeOffsetOfLocalHeader);
      ends.push(entry.relativeOffsetOfLocalHeader + LOCAL_HEADER + entry.compressedSize);
      if (entries.length < max) {
        const directory = entry.fileName.endsWith('/');
        let modified: string | undefined;
        try {
          modified = entry.getLastModDate({ timezone: 'UTC' }).toISOString();
        } catch {
          // A DOS date of zeroes is no date.
        }
        entries.push({
          name: entry.fileName.slice(0, 4096),
          size: entry.uncompressedSize,
          compressed_size: entry.compressedSize,
          ...(modified === undefined ? {} : { modified }),
          ...(directory ? { directory: true } : {}),
        });
      }
      zip.readEntry();
    });
    zip.readEntry();
  });
  if (inflated > BOMB_TOTAL_BYTES && inflated > deflated * MAX_RATIO) {
    throw new CikuError(
      'CIKU_ERR_MEDIA_TOO_LARGE',
      `the ZIP's ${count} entries inflate to ${inflated} bytes from ${deflated} (a zip bomb)`,
    );
  }
  const order = offsets.map((_, i) => i).sort((a, b) => offsets[a]! - offsets[b]!);
  for (let k = 1; k < order.length; k++) {
    if (offsets[order[k]!]! < ends[order[k - 1]!]!) {
      throw new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        'the ZIP has entries that overlap each other (an overlapping-files zip bomb)',
      );
    }
  }
  return { entries, entry_count: count };
}
