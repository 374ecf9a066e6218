import { createHash } from 'node:crypto';
import type { ReadScope } from '../archive/access.ts';
import { listFilterFields, type SearchDocumentT } from '../../schemas/search.ts';
import type { SearchRequest } from './search-index.ts';
import { FACET_COLUMNS } from './sqlite-schema.ts';

/**
 * The caller's read scope and the list filters, in the two forms a search uses: as tokens of the `acl` FTS column
 * (written with each document, matched inside the MATCH: no row lookup per match) and as SQL conditions over
 * `docs` (alias d), for browsing and for what tokens cannot say (year ranges, geography). Both forms follow the
 * rule of `scopeAllows` (services/archive/access.ts). Pure: SQL text and its parameters, no database.
 */

/**
 * Access and list filters as index tokens in the `acl` column, so the engine answers them inside the MATCH (no
 * row lookups per match): `al<level>`, `ao<org hash>`, `ae<yyyymmdd>` or `aenone`, and `f<field><value hash>`.
 */
const FILTER_CODES: Record<(typeof listFilterFields)[number] | 'has_media', string> = {
  kind: 'k',
  category: 'c',
  province: 'p',
  region: 'r',
  level: 'l',
  batch: 'b',
  museum: 'm',
  period: 'd',
  series: 's',
  has_media: 'h',
};

function hashToken(prefix: string, value: string | number | boolean, length = 16): string {
  return `${prefix}${createHash('sha1').update(String(value)).digest('hex').slice(0, length)}`;
}

export function aclTokens(doc: SearchDocumentT): string[] {
  const out = [`al${doc.access.level}`];
  if (doc.access.organisation !== undefined) out.push(hashToken('ao', doc.access.organisation));
  out.push(
    doc.access.embargo_until === undefined ? 'aenone' : `ae${doc.access.embargo_until.replaceAll('-', '')}`,
  );
  for (const key of listFilterFields) {
    const v = doc[key];
    if (v !== undefined) out.push(hashToken(`f${FILTER_CODES[key]}`, v));
  }
  out.push(hashToken('fh', doc.has_media));
  return out;
}

/** The scope and the token-expressible filters as a MATCH expression on `acl` (undefined: nothing to add). */
export function aclExpression(
  request: Pick<SearchRequest, 'filters' | 'scope'>,
  embargoDays: () => string[],
): string | undefined {
  const parts: string[] = [];
  const scope = request.scope;
  if (!scope.all) {
    const days = embargoDays().filter((d) => d <= scope.today);
    const visible = `acl : ((${scope.levels.map((l) => `al${l}`).join(' OR ')}) AND (${['aenone', ...days.map((d) => `ae${d.replaceAll('-', '')}`)].join(' OR ')}))`;
    parts.push(
      scope.organisation === undefined
        ? visible
        : `(${visible} OR acl : ${hashToken('ao', scope.organisation)})`,
    );
  }
  const f = request.filters;
  for (const key of listFilterFields) {
    const values = f[key];
    if (values === undefined) continue;
    parts.push(`acl : (${values.map((v) => hashToken(`f${FILTER_CODES[key]}`, v)).join(' OR ')})`);
  }
  if (f.has_media !== undefined) parts.push(`acl : ${hashToken('fh', f.has_media)}`);
  return parts.length === 0 ? undefined : parts.join(' AND ');
}

/** SQL for what tokens cannot say (year range, geography), over `docs` (alias d). */
export function residualSql(request: Pick<SearchRequest, 'filters'>, params: unknown[]): string[] {
  return filterConditions(
    { filters: pick(request.filters, ['year_from', 'year_to', 'near', 'bbox']), scope: { all: true } },
    params,
  );
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<T, K>;
}

/** SQL for the caller's read scope over `docs` (alias d): the same rule as `scopeAllows`. */
export function scopeSql(scope: ReadScope, params: unknown[]): string {
  if (scope.all) return '1';
  params.push(...scope.levels, scope.today);
  let sql = `(d.acc_level IN (${scope.levels.map(() => '?').join(', ')}) AND (d.acc_embargo IS NULL OR d.acc_embargo <= ?))`;
  if (scope.organisation !== undefined) {
    params.push(scope.organisation);
    sql = `(${sql} OR d.acc_org = ?)`;
  }
  return sql;
}

export function filterSql(request: Pick<SearchRequest, 'filters' | 'scope'>, params: unknown[]): string {
  const all = filterConditions(request, params);
  return all.length === 0 ? '1' : all.join(' AND ');
}

function filterConditions(request: Pick<SearchRequest, 'filters' | 'scope'>, params: unknown[]): string[] {
  const f = request.filters;
  const where = [scopeSql(request.scope, params)];
  for (const key of listFilterFields) {
    const values = f[key];
    if (values === undefined) continue;
    if (values.length === 0) {
      where.push('0');
      continue;
    }
    params.push(...values);
    where.push(`d.${FACET_COLUMNS[key]} IN (${values.map(() => '?').join(', ')})`);
  }
  if (f.year_from !== undefined) {
    params.push(f.year_from);
    where.push('d.year >= ?');
  }
  if (f.year_to !== undefined) {
    params.push(f.year_to);
    where.push('d.year <= ?');
  }
  if (f.has_media !== undefined) {
    params.push(f.has_media ? 1 : 0);
    where.push('d.has_media = ?');
  }
  if (f.bbox !== undefined) {
    const [west, south, east, north] = f.bbox;
    params.push(south, north);
    where.push('d.lat BETWEEN ? AND ?');
    if (west <= east) {
      params.push(west, east);
      where.push('d.lon BETWEEN ? AND ?');
    } else {
      // A box across the antimeridian.
      params.push(west, east);
      where.push('(d.lon >= ? OR d.lon <= ?)');
    }
  }
  if (f.near !== undefined) {
    const { lat, lon, radius_km } = f.near;
    // Bounding box first (cheap), then the exact great-circle distance.
    const dLat = radius_km / 111.0;
    params.push(lat - dLat, lat + dLat, lat, lon, radius_km);
    where.push('d.lat BETWEEN ? AND ? AND geo_km(d.lat, d.lon, ?, ?) <= ?');
  }
  return where.filter((c) => c !== '1');
}
