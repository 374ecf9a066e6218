import type { StatKey } from '../../search/aggregate.ts';
import { LEVELS } from '../../stats/definitions.ts';
import type { StatsAnswer, StatTable } from '../../stats/stats.ts';
import { isMessageKey } from '../i18n.ts';
import type { MessageKey } from '../messages/zh-CN.ts';
import { withParams, type PageContext } from '../page-context.ts';
import { renderDocument } from './layout.tsx';

/**
 * `/stats` and `/stats/report`: the statistics of /v1/stats for the reader (their read scope), as bar charts drawn
 * here as SVG (no charting library is installed, and a chart must read without JavaScript), each beside its table
 * and its CSV; and the annual self-assessment report, the same numbers as numbered tables laid out for print.
 */

const CHART_ROWS = 15;
const OPEN_ROWS = 20;
const MB = 1024 * 1024;

type T = PageContext['t'];

function say(t: T, key: string, fallback: string): string {
  return isMessageKey(key) ? t(key) : fallback;
}

function tableTitle(t: T, table: StatTable): string {
  return say(t, `stats.table.${table.id}`, table.id);
}

/** A key cell as readers see it: kinds and age bands in words, a missing value as "not recorded". */
function keyText(t: T, column: string, value: StatKey): string {
  if (value === null) return t('stats.none');
  if (column === 'kind') return say(t, `kind.${String(value)}`, String(value));
  if (column === 'age_band') return say(t, `stats.age.${String(value)}`, String(value));
  if (column === 'batch') return t('value.batch', { n: String(value) });
  return String(value);
}

/** A measure as readers see it: seconds as hours, bytes as MB, shares as percentages. */
function measureText(ctx: PageContext, column: string, value: StatKey): string {
  const n = typeof value === 'number' ? value : 0;
  const f = (x: number, digits = 0) =>
    x.toLocaleString(ctx.locale, { maximumFractionDigits: digits, minimumFractionDigits: digits });
  if (column === 'recorded_seconds') return f(n / 3600, 1);
  if (column === 'bytes') return f(n / MB, 1);
  if (column === 'share_checked') return `${f(n * 100, 1)} %`;
  return f(n);
}

function columnTitle(t: T, column: string): string {
  return say(t, `stats.col.${column}`, column);
}

/** The label of a row for its chart bar: its key cells, numeral and category together. */
function rowLabel(t: T, table: StatTable, row: StatKey[]): string {
  return table.columns
    .slice(0, table.keys)
    .map((c, i) => keyText(t, c, row[i] ?? null))
    .join(' ');
}

/** A horizontal bar chart of a table's first measure (at most CHART_ROWS rows: the table has them all). */
export function BarChart({ ctx, table }: { ctx: PageContext; table: StatTable }) {
  const rows = table.rows.slice(0, CHART_ROWS);
  const measure = table.columns[table.keys]!;
  const values = rows.map((r) => (typeof r[table.keys] === 'number' ? (r[table.keys] as number) : 0));
  const max = Math.max(1, ...values);
  const bar = 22;
  const labelW = 210;
  const plotW = 330;
  const width = labelW + plotW + 80;
  const height = rows.length * bar + 8;
  const title = ctx.t('stats.chart', { title: tableTitle(ctx.t, table) });
  return (
    <svg
      class="stat-chart"
      role="img"
      aria-label={title}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      xmlns="http://www.w3.org/2000/svg"
    >
      <title>{title}</title>
      {rows.map((r, i) => {
        const y = 4 + i * bar;
        const w = Math.round((values[i]! / max) * plotW);
        const label = rowLabel(ctx.t, table, r);
        return (
          <g key={i}>
            <text x={labelW - 8} y={y + 15} text-anchor="end" font-size="13" fill="#333">
              {label.length > 16 ? `${label.slice(0, 15)}…` : label}
            </text>
            <rect
              x={labelW}
              y={y + 3}
              width={Math.max(w, values[i]! > 0 ? 1 : 0)}
              height={bar - 6}
              fill="#2b5d8a"
            />
            <text x={labelW + w + 6} y={y + 15} font-size="13" fill="#333">
              {measureText(ctx, measure, values[i]!)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function DataTable({ ctx, table, caption }: { ctx: PageContext; table: StatTable; caption?: string }) {
  const { t } = ctx;
  return (
    <table class="stat-table">
      {caption === undefined ? null : <caption>{caption}</caption>}
      <thead>
        <tr>
          {table.columns.map((c, i) => (
            <th key={c} scope="col" class={i >= table.keys ? 'num' : undefined}>
              {columnTitle(t, c)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.map((r, ri) => (
          <tr key={ri}>
            {r.map((v, i) =>
              i < table.keys ? (
                i === 0 ? (
                  <th key={i} scope="row">
                    {keyText(t, table.columns[i]!, v)}
                  </th>
                ) : (
                  <td key={i}>{keyText(t, table.columns[i]!, v)}</td>
                )
              ) : (
                <td key={i} class="num">
                  {measureText(ctx, table.columns[i]!, v)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function csvHref(table: string | undefined, year: number): string {
  return withParams('/v1/stats', { format: 'csv', year: String(year), ...(table ? { table } : {}) });
}

function scopeLine(ctx: PageContext, data: StatsAnswer): string {
  return ctx.t('stats.counted', {
    scope: ctx.t(`stats.scope.${data.scope}` as MessageKey),
    asOf: `${data.year}-12-31`,
  });
}

/** Tables shown as a cross table (their CSV stays one row per pair); the chart of their totals is beside them. */
const PIVOTED = 'ich_projects_by_category_level';

function StatFigure({ ctx, table: given, year }: { ctx: PageContext; table: StatTable; year: number }) {
  const { t } = ctx;
  const title = tableTitle(t, given);
  const pivoted = given.id === PIVOTED;
  const table = pivoted ? pivotCategoryLevel(given) : given;
  const chartable = !pivoted && table.keys > 0 && table.rows.length > 0;
  return (
    <section class="stat" id={table.id} aria-labelledby={`${table.id}-h`}>
      <h3 id={`${table.id}-h`}>{title}</h3>
      {table.unavailable !== undefined ? (
        <p class="hint">{t('stats.unavailable', { reason: table.unavailable })}</p>
      ) : (
        <>
          {chartable ? <BarChart ctx={ctx} table={table} /> : null}
          {table.rows.length > OPEN_ROWS ? (
            <details>
              <summary>{t('stats.more', { n: table.rows.length })}</summary>
              <DataTable ctx={ctx} table={table} />
            </details>
          ) : (
            <DataTable ctx={ctx} table={table} />
          )}
        </>
      )}
      <p class="stat-links">
        <a href={csvHref(table.id, year)} download>
          {t('stats.csv')}
        </a>
      </p>
    </section>
  );
}

function YearForm({ ctx, year, action }: { ctx: PageContext; year: number; action: string }) {
  const { t } = ctx;
  return (
    <form class="stat-year" method="get" action={action}>
      <label for="year">{t('stats.year')}</label>{' '}
      <input id="year" name="year" type="number" min={1900} max={9999} value={String(year)} />{' '}
      <button type="submit">{t('stats.show')}</button>
    </form>
  );
}

export function StatsPage({ ctx, data }: { ctx: PageContext; data: StatsAnswer }) {
  const { t } = ctx;
  const sections = [...new Set(data.tables.map((x) => x.section))];
  return (
    <article class="stats-page">
      <h1>{t('stats.title')}</h1>
      <p class="lead">{t('stats.lead', { year: data.year })}</p>
      <p class="hint">{scopeLine(ctx, data)}</p>
      <YearForm ctx={ctx} year={data.year} action="/stats" />
      <p class="stat-links">
        <a href={withParams('/stats/report', { year: String(data.year) })}>{t('stats.report')}</a>
        {' · '}
        <a href={csvHref(undefined, data.year)} download>
          {t('stats.csvAll')}
        </a>
        {' · '}
        <a href={withParams('/v1/stats', { year: String(data.year) })}>{t('stats.json')}</a>
      </p>
      <nav aria-label={t('stats.title')} class="stat-toc">
        <ul>
          {sections.map((s) => (
            <li key={s}>
              <a href={`#section-${s}`}>{say(t, `stats.section.${s}`, s)}</a>
            </li>
          ))}
        </ul>
      </nav>
      {sections.map((s) => (
        <section key={s} id={`section-${s}`} class="stat-section">
          <h2>{say(t, `stats.section.${s}`, s)}</h2>
          {data.tables
            .filter((x) => x.section === s)
            .map((x) => (
              <StatFigure key={x.id} ctx={ctx} table={x} year={data.year} />
            ))}
        </section>
      ))}
    </article>
  );
}

/** The category × level table pivoted as the self-assessment has it: a row per category, a column per level. */
export function pivotCategoryLevel(table: StatTable): StatTable {
  const byCategory = new Map<string, { code: StatKey; counts: Map<string, number> }>();
  for (const [code, category, level, n] of table.rows) {
    const key = String(category);
    const entry = byCategory.get(key) ?? { code: code ?? null, counts: new Map<string, number>() };
    entry.counts.set(String(level), (entry.counts.get(String(level)) ?? 0) + Number(n ?? 0));
    byCategory.set(key, entry);
  }
  const levels = [...LEVELS];
  const rows = [...byCategory].map(([category, e]) => {
    const cells = levels.map((l) => e.counts.get(l) ?? 0);
    return [e.code, category, ...cells, cells.reduce((a, b) => a + b, 0)];
  });
  return { ...table, columns: ['code', 'category', ...levels, 'total'], keys: 2, rows };
}

/** Report tables: every table, the category × level one pivoted, the long regional lists left to the CSV. */
const REPORT_SKIP = new Set([
  'ich_projects_by_category',
  'ich_projects_by_level',
  'ich_projects_by_region',
  'inheritors_by_region',
]);

export function StatsReport({ ctx, data }: { ctx: PageContext; data: StatsAnswer }) {
  const { t } = ctx;
  const tables = data.tables
    .filter((x) => !REPORT_SKIP.has(x.id) && x.unavailable === undefined)
    .map((x) => (x.id === PIVOTED ? pivotCategoryLevel(x) : x));
  return (
    <article class="stats-report">
      <h1>{t('stats.reportTitle', { year: data.year })}</h1>
      <p>{t('stats.reportLead', { asOf: data.as_of.slice(0, 10) })}</p>
      <p class="hint">
        {scopeLine(ctx, data)} ·{' '}
        {t('stats.generated', { at: data.generated_at.slice(0, 16).replace('T', ' ') })}
      </p>
      <div class="no-print">
        <YearForm ctx={ctx} year={data.year} action="/stats/report" />
      </div>
      {tables.map((x, i) => (
        <section key={x.id} class="report-table">
          <DataTable
            ctx={ctx}
            table={x}
            caption={t('stats.reportTable', { n: i + 1, title: tableTitle(t, x) })}
          />
        </section>
      ))}
    </article>
  );
}

/** The report as a complete document (`ciku stats --pdf` prints it without a server). */
export function reportDocument(ctx: PageContext, data: StatsAnswer): string {
  return renderDocument(
    ctx,
    { title: ctx.t('stats.reportTitle', { year: data.year }), noindex: true },
    <StatsReport ctx={ctx} data={data} />,
  );
}
