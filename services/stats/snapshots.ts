import type { BlobStore } from '../archive/blob-store.ts';
import { CikuError, isCikuError } from '../errors.ts';
import type { StatsAnswer, StatTable } from './answer.ts';

/**
 * Yearly snapshots of the statistics: the staff's whole answer at the end of a year, kept in the blob store beside
 * the OCFL objects (`stats/snapshots/<year>.json`, never inside an object: a snapshot is about the archive, not
 * one item), so the year-on-year growth survives later deletions and purges. Written once per year (`ciku stats
 * --snapshot`, and the scheduled job on 1 January for the year just ended); writing again keeps the first unless
 * forced.
 */

const PREFIX = 'stats/snapshots/';

export const snapshotKey = (year: number) => `${PREFIX}${year}.json`;

export async function writeSnapshot(
  blobs: BlobStore,
  answer: StatsAnswer,
  options: { force?: boolean } = {},
): Promise<{ key: string; written: boolean }> {
  if (answer.scope !== 'all')
    throw new CikuError('CIKU_ERR_INTERNAL', 'a snapshot is of the staff statistics (every item)');
  const key = snapshotKey(answer.year);
  if (!options.force && (await blobs.stat(key)) !== undefined) return { key, written: false };
  await blobs.put(key, `${JSON.stringify(answer)}\n`);
  return { key, written: true };
}

export async function readSnapshot(blobs: BlobStore, year: number): Promise<StatsAnswer | undefined> {
  try {
    return JSON.parse((await blobs.read(snapshotKey(year))).toString('utf8')) as StatsAnswer;
  } catch (err) {
    if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** The years with a snapshot, oldest first. */
export async function snapshotYears(blobs: BlobStore): Promise<number[]> {
  const years: number[] = [];
  for await (const b of blobs.list(PREFIX)) {
    const m = /(\d{4})\.json$/.exec(b.key);
    if (m) years.push(Number(m[1]));
  }
  return years.sort((a, b) => a - b);
}

function total(answer: StatsAnswer, id: string, column: number): number {
  const table = answer.tables.find((t) => t.id === id);
  return table?.rows.reduce((n, r) => n + Number(r[column] ?? 0), 0) ?? 0;
}

/** Year on year from the snapshots: items, files and bytes held at the end of each year. */
export async function snapshotTable(blobs: BlobStore): Promise<StatTable> {
  const rows = [];
  for (const year of await snapshotYears(blobs)) {
    const s = await readSnapshot(blobs, year);
    if (s === undefined) continue;
    rows.push([
      year,
      total(s, 'items_by_kind', 1),
      total(s, 'files_by_kind', 1),
      total(s, 'files_by_kind', 2),
    ]);
  }
  return {
    id: 'snapshots_by_year',
    section: 'growth',
    definition:
      'From the yearly snapshots: the items, files and bytes the archive held at the end of each year (as counted then).',
    columns: ['year', 'items', 'files', 'bytes'],
    keys: 1,
    rows,
  };
}
