import type { ReadScope } from '../archive/access.ts';
import type { ItemKind } from '../../schemas/item.ts';

/**
 * The counting side of the search port (`SearchIndex.aggregate`): grouped counts and sums over the live items the
 * caller's read scope admits, from what the engine keeps with each commit — never a walk over the store. The
 * statistics (services/stats/) say *what* to count; engines say *how*.
 */

/** What an item or a file can be grouped by. */
export const statFields = [
  'kind',
  'category',
  'level',
  'batch',
  'region',
  'province',
  'gender',
  'ethnicity',
  /** From `birth_year` and the request's `ageAt`: 80+, 70-79, 60-69, 40-59, under-40 (50-59 belongs to 40-59). */
  'age_band',
  'series',
  'year',
  'museum',
  'period',
  'ware_type',
  'site_type',
  'protection_status',
  /** yyyy-mm of the item's first version. */
  'created_month',
  /** Files only: the file's detected media type and role. */
  'media_type',
  'role',
] as const;
export type StatField = (typeof statFields)[number];

/** Sums beside the count: bytes of the items' (or file's) content, recorded seconds, transcript files, OCR text. */
export const statSums = ['bytes', 'seconds', 'transcribed', 'ocr'] as const;
export type StatSum = (typeof statSums)[number];

export interface StatQuery {
  /** Items (one row each) or the files of their head versions. */
  source: 'items' | 'files';
  kind?: ItemKind;
  by: StatField[];
  sums?: StatSum[];
}

export interface AggregateRequest {
  scope: ReadScope;
  /** Only items whose first version is before this instant (ISO 8601): counts as they stood then. */
  createdBefore?: string;
  /** The year ages are counted at (age = ageAt − birth year). */
  ageAt: number;
  queries: StatQuery[];
}

export type StatKey = string | number | null;

export interface StatRow {
  key: StatKey[];
  count: number;
  sums: Partial<Record<StatSum, number>>;
}

/** One query's rows (only the groups that have items), or why this engine cannot answer it. */
export type StatResult = { rows: StatRow[] } | { unavailable: string };

export const AGE_BANDS = ['80+', '70-79', '60-69', '40-59', 'under-40'] as const;
