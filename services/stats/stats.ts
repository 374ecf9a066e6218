import { isStaff, readScope, type Principal, type ReadScope } from '../archive/access.ts';
import type { BlobStore } from '../archive/blob-store.ts';
import { readAll } from '../archive/blob-store.ts';
import type { FixityReport } from '../archive/fixity.ts';
import { CikuError } from '../errors.ts';
import type { StatKey, StatResult } from '../search/aggregate.ts';
import type { SearchIndex } from '../search/search-index.ts';
import { CATEGORY_CODES, STAT_DEFINITIONS, type StatDefinition } from './definitions.ts';
import { snapshotTable } from './snapshots.ts';
import type { StatsAnswer, StatTable } from './answer.ts';

/**
 * The statistics (issue 20): every table of STAT_DEFINITIONS counted by the search engine in the caller's read
 * scope (a count is a read: anonymous counts only what anonymous may find), zero rows filled in, plus the fixity
 * audit's last 30 days and the yearly snapshots for staff (a few small files beside the OCFL objects).
 */

export type { StatTable, StatsAnswer };

const FIXITY_WINDOW_DAYS = 30;
const MIN_YEAR = 1900;
const MAX_YEAR = 9999;

function scopeName(scope: ReadScope): StatsAnswer['scope'] {
  if (scope.all) return 'all';
  if (scope.organisation !== undefined) return 'organisation';
  return scope.levels.includes('restricted') ? 'researcher' : 'public';
}

const keyString = (key: StatKey[]) => JSON.stringify(key);

/** The observed groups merged with the fixed rows: fixed first (in order), then by count, unknown (null) last. */
export function tableRows(def: StatDefinition, result: StatResult, year: number): StatKey[][] {
  if ('unavailable' in result) return [];
  const sums = def.query.sums ?? [];
  const measuresOf = (r: (typeof result.rows)[number] | undefined): number[] => [
    r?.count ?? 0,
    ...sums.map((s) => r?.sums[s] ?? 0),
  ];
  const observed = new Map(result.rows.map((r) => [keyString(r.key), r]));
  const fixed = def.query.by.length === 0 ? [[]] : (def.fixed?.(year) ?? []);
  const fixedKeys = new Set(fixed.map(keyString));
  const rest = result.rows
    .filter((r) => !fixedKeys.has(keyString(r.key)))
    .sort((a, b) => {
      const nullA = a.key.includes(null) ? 1 : 0;
      const nullB = b.key.includes(null) ? 1 : 0;
      if (nullA !== nullB) return nullA - nullB;
      if (a.count !== b.count) return b.count - a.count;
      return keyString(a.key) < keyString(b.key) ? -1 : 1;
    });
  const rows = [
    ...fixed.map((key) => [...key, ...measuresOf(observed.get(keyString(key)))]),
    ...rest.map((r) => [...r.key, ...measuresOf(r)]),
  ];
  const c = def.columns.indexOf('category');
  if (c < 0) return rows;
  return rows.map((r) => [
    ...r.slice(0, c),
    CATEGORY_CODES[r[c] as keyof typeof CATEGORY_CODES] ?? null,
    ...r.slice(c),
  ]);
}

function columnsOf(def: StatDefinition): string[] {
  const keys = def.columns.flatMap((c) => (c === 'category' ? ['code', c] : [c]));
  return [...keys, ...def.measures];
}

export function parseYear(raw: string | number | undefined, now: Date): number {
  if (raw === undefined || raw === '') return now.getUTCFullYear();
  const year = Number(raw);
  if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new CikuError(
      'CIKU_ERR_REQUEST_INVALID',
      `year must be a whole year from ${MIN_YEAR} to ${MAX_YEAR}`,
    );
  }
  return year;
}

export function createStatsService(deps: { search: SearchIndex; blobs: BlobStore; clock: () => Date }) {
  /** The fixity audits of the last 30 days: the latest run's files, checks passed and findings by status. */
  async function fixityTable(now: Date, catalogueFiles: number): Promise<StatTable> {
    const since = new Date(now.getTime() - FIXITY_WINDOW_DAYS * 86_400_000).toISOString();
    let latest: FixityReport | undefined;
    let runs = 0;
    for await (const b of deps.blobs.list('audit/fixity-runs/')) {
      const report = JSON.parse(
        (await readAll(await deps.blobs.get(b.key))).toString('utf8'),
      ) as FixityReport;
      if (report.finished === '' || report.finished < since) continue;
      runs++;
      if (latest === undefined || report.finished > latest.finished) latest = report;
    }
    const findings = latest?.findings ?? [];
    const checked = latest?.files ?? 0;
    return {
      id: 'fixity_last_30_days',
      section: 'preservation',
      definition:
        'Fixity audits finished in the last 30 days: runs, and for the latest the files checked, their share of the files in the catalogue, and the results.',
      columns: ['runs', 'files_checked', 'share_checked', 'ok', 'mismatch', 'missing'],
      keys: 0,
      rows: [
        [
          runs,
          checked,
          catalogueFiles === 0 ? 0 : Math.min(1, checked / catalogueFiles),
          latest?.ok ?? 0,
          findings.filter((f) => f.status === 'mismatch').length,
          findings.filter((f) => f.status === 'missing').length,
        ],
      ],
    };
  }

  async function compute(principal: Principal, options: { year?: string | number }): Promise<StatsAnswer> {
    const now = deps.clock();
    const year = parseYear(options.year, now);
    const scope = readScope(principal, now);
    const asOf = `${year + 1}-01-01T00:00:00.000Z`;
    const defs = STAT_DEFINITIONS;
    const results = await deps.search.aggregate({
      scope,
      createdBefore: asOf,
      ageAt: year,
      queries: defs.map((d) => d.query),
    });
    const tables: StatTable[] = defs.map((def, i) => {
      const result = results[i]!;
      return {
        id: def.id,
        section: def.section,
        definition: def.definition,
        columns: columnsOf(def),
        keys: columnsOf(def).length - def.measures.length,
        rows: tableRows(def, result, year),
        ...('unavailable' in result ? { unavailable: result.unavailable } : {}),
      };
    });
    if (isStaff(principal)) {
      const files = tables.find((t) => t.id === 'files_by_kind');
      const total = files?.rows.reduce((n, r) => n + Number(r[1] ?? 0), 0) ?? 0;
      tables.push(await fixityTable(now, total));
      // Totals over every item: staff only, like the fixity numbers.
      tables.push(await snapshotTable(deps.blobs));
    }
    return {
      year,
      as_of: asOf,
      generated_at: now.toISOString(),
      scope: scopeName(scope),
      engine: deps.search.engine,
      tables,
    };
  }

  return { compute };
}

export type StatsService = ReturnType<typeof createStatsService>;

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function csvField(v: StatKey): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function tableCsv(table: StatTable): string {
  return [table.columns, ...table.rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Every table, one after another: a `# id` line, its header and rows, and a blank line between tables. */
export function statsCsv(answer: StatsAnswer, only?: string): string {
  if (only !== undefined) {
    const table = answer.tables.find((t) => t.id === only);
    if (!table) throw new CikuError('CIKU_ERR_REQUEST_INVALID', `unknown table ${JSON.stringify(only)}`);
    return tableCsv(table);
  }
  return answer.tables.map((t) => `# ${t.id}\r\n${tableCsv(t)}`).join('\r\n');
}
