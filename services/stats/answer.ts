import type { StatKey } from '../search/aggregate.ts';
import type { StatSection } from './definitions.ts';

/** The statistics' answer (GET /v1/stats, the portal's pages, the snapshots): its tables as data. */

export interface StatTable {
  id: string;
  section: StatSection;
  definition: string;
  /** Header: the key columns, then the measures. */
  columns: string[];
  /** How many of the columns are keys. */
  keys: number;
  rows: StatKey[][];
  /** Why the engine could not count this table (then `rows` is empty). */
  unavailable?: string;
}

export interface StatsAnswer {
  year: number;
  /** Counts are of items created before this instant (the end of `year`). */
  as_of: string;
  generated_at: string;
  /** Whose numbers: `all` (staff), `organisation` (a contributor's own plus what is public), `public`, `researcher`. */
  scope: 'all' | 'organisation' | 'researcher' | 'public';
  engine: string;
  tables: StatTable[];
}
