import { readScope, type Principal, type Role } from '../archive/access.ts';
import { CikuError } from '../errors.ts';
import type { SearchIndex } from '../search/search-index.ts';
import {
  exportColumns,
  defaultExportColumns,
  type ExportColumn,
  type ExportQuerystringT,
} from '../../schemas/export.ts';
import type { SearchHitT } from '../../schemas/search.ts';
import { filtersFrom } from './search.ts';

/**
 * Search exports for researchers: every hit of a search the caller may read (the read scope goes into each engine
 * query, as for `/v1/search`), one row per item, as CSV (UTF-8 with a BOM, so Excel opens Chinese) or JSON Lines,
 * produced page by page as the response is sent — memory stays flat whatever the row count.
 *
 * Rows per export by role: anonymous callers 10,000 (the public window of `/v1/search`), researchers and
 * contributors 100,000, admins and archivists 1,000,000.
 */
export const exportRowLimits: Record<Role, number> = {
  anonymous: 10_000,
  researcher: 100_000,
  contributor: 100_000,
  archivist: 1_000_000,
  admin: 1_000_000,
};

const PAGE = 100;

/** `<mark>` highlights (HTML-escaped text) → plain text with the matches in 【】 (what a spreadsheet can show). */
export function plainHighlight(html: string): string {
  return html
    .replaceAll('<mark>', '【')
    .replaceAll('</mark>', '】')
    .replace(/<[^>]*>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}

export function columnsOf(given: string | undefined): ExportColumn[] {
  if (given === undefined || given.trim() === '') return defaultExportColumns;
  const names = given.split(',').map((c) => c.trim());
  const unknown = names.find((c) => !(exportColumns as readonly string[]).includes(c));
  if (unknown !== undefined)
    throw new CikuError(
      'CIKU_ERR_REQUEST_INVALID',
      `unknown column ${JSON.stringify(unknown)}: choose from ${exportColumns.join(', ')}`,
    );
  return [...new Set(names)] as ExportColumn[];
}

function cell(
  hit: SearchHitT,
  column: ExportColumn,
  itemUrl: (id: string) => string,
): string | number | null {
  switch (column) {
    case 'id':
    case 'kind':
    case 'title':
    case 'version':
      return hit[column];
    case 'year':
      return hit.year ?? null;
    case 'access':
      // Hits name their level only when it is not public (answers.ts).
      return hit.access ?? 'public';
    case 'embargo_until':
      return hit.embargo_until ?? null;
    case 'url':
      return itemUrl(hit.id);
    case 'title_highlight':
      return plainHighlight(hit.highlights.title);
    case 'highlight':
      return hit.highlights.text === undefined ? null : plainHighlight(hit.highlights.text);
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; lines end CRLF. */
function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function createExportService(deps: {
  search: Pick<SearchIndex, 'search'>;
  clock: () => Date;
  publicUrl: string;
}) {
  const base = deps.publicUrl.replace(/\/+$/, '');
  const itemUrl = (id: string) => `${base}/items/${encodeURIComponent(id)}`;

  /** The hits, page by page, up to the caller's row limit (and `max`). */
  async function* hits(principal: Principal, qs: ExportQuerystringT): AsyncGenerator<SearchHitT> {
    const limit = Math.min(qs.max ?? Number.MAX_SAFE_INTEGER, exportRowLimits[principal.role]);
    const filters = filtersFrom({ ...qs, page: 1, limit: PAGE });
    let sent = 0;
    for (let page = 1; sent < limit; page++) {
      const answer = await deps.search.search({
        q: qs.q,
        filters,
        facets: [],
        sort: qs.sort,
        page,
        limit: PAGE,
        // Decided again for every page: an export running past midnight obeys the embargoes of the new day.
        scope: readScope(principal, deps.clock()),
      });
      for (const hit of answer.hits) {
        if (sent >= limit) return;
        yield hit;
        sent++;
      }
      if (answer.hits.length < PAGE || page * PAGE >= answer.total) return;
    }
  }

  /**
   * The export as text pieces (one per page of hits). Columns are checked before the first piece, so a bad
   * request is a coded 400, never a half-sent file.
   */
  function exportSearch(
    principal: Principal,
    qs: ExportQuerystringT,
  ): { contentType: string; extension: string; body: AsyncGenerator<string> } {
    const columns = columnsOf(qs.columns);
    const format = qs.format;
    async function* body(): AsyncGenerator<string> {
      if (format === 'csv') yield `\ufeff${columns.join(',')}\r\n`;
      let chunk = '';
      let n = 0;
      for await (const hit of hits(principal, qs)) {
        if (format === 'csv') chunk += `${columns.map((c) => csvField(cell(hit, c, itemUrl))).join(',')}\r\n`;
        else
          chunk += `${JSON.stringify(Object.fromEntries(columns.map((c) => [c, cell(hit, c, itemUrl)])))}\n`;
        if (++n % PAGE === 0) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk !== '') yield chunk;
    }
    return format === 'csv'
      ? { contentType: 'text/csv; charset=utf-8', extension: 'csv', body: body() }
      : { contentType: 'application/x-ndjson; charset=utf-8', extension: 'jsonl', body: body() };
  }

  return { exportSearch, hits };
}

export type ExportService = ReturnType<typeof createExportService>;
