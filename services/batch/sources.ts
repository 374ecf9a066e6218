import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseCsv } from 'csv-parse/sync';
import type { TSchema } from '@sinclair/typebox';
import type { BatchRow } from '../../schemas/batch.ts';
import { Access, itemKinds, metadataSchemas, type ItemKind } from '../../schemas/item.ts';
import { assertItemId, validateMetadata } from '../archive/items.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { infoValues, validateBag, type BagReport } from './bagit.ts';
import { decodeText, hasBadBytes } from './text.ts';

/**
 * Batch sources → planned rows. Three shapes (DESIGN "Batch"):
 *  - a folder with a manifest (`manifest.csv`, `manifest.jsonl`): one row per item, file paths relative to it;
 *  - a CSV (or JSON lines) file alone: metadata-only records (catalogue records, the inheritor list);
 *  - a BagIt bag: validated first (an invalid bag is refused whole); its payload becomes one item, or — when the
 *    payload holds a `manifest.csv`/`manifest.jsonl` — the rows of that manifest.
 * Columns map to the item schema by name (reserved: id, kind, access, embargo_until, organisation, files,
 * transcript, supplement), or through a mapping file (`mapping.json` beside the manifest or `--mapping`). Columns
 * that map to nothing are reported, never silently dropped. Every row is checked here (kind, metadata schema,
 * dates, files present inside the source folder, encoding); a bad row is reported and the rest proceeds.
 */
export interface PlannedRow {
  row: number;
  id?: string;
  plan?: BatchRow;
  error?: string;
}

export interface BatchPlan {
  source: { type: 'manifest' | 'csv' | 'jsonl' | 'bag'; path: string; encoding?: string };
  rows: PlannedRow[];
  warnings: string[];
  /** The whole source refused (an invalid bag, an unreadable manifest): nothing is ingested. */
  refused?: string;
  bag?: BagReport;
  /** Bytes of every file the valid rows name. */
  bytes: number;
}

/** Column → field, as a mapping file writes it: a name, or `{ field, type?, split? }`; `set` adds constants. */
export interface Mapping {
  kind?: string;
  /** Template for the item id, e.g. `ichi-{ihchina_id}`. */
  id?: string;
  /** Template for the title when no column maps to it, e.g. `{name}`. */
  title?: string;
  access?: { level: string; embargo_until?: string; organisation?: string };
  columns?: Record<
    string,
    string | { field: string; type?: 'text' | 'integer' | 'number' | 'list'; split?: string }
  >;
  /** Columns known and deliberately not imported (reported as ignored, not as unmapped). */
  ignore?: string[];
  set?: Record<string, unknown>;
}

export interface PlanOptions {
  mapping?: Mapping | string;
  /** Kind for rows that name none (default: the mapping's, else an error per row; bags: archive_document). */
  kind?: string;
  /** Access for rows that name none (default private). */
  access?: { level: string; embargo_until?: string; organisation?: string };
  /** A contributor's batch: every row belongs to this organisation, whatever the source says. */
  organisation?: string;
}

const reserved = new Set([
  'id',
  'kind',
  'access',
  'embargo_until',
  'organisation',
  'files',
  'file',
  'transcript',
  'supplement',
]);
const MANIFESTS = ['manifest.csv', 'manifest.jsonl', 'manifest.ndjson'];
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

export async function planBatch(source: string, options: PlanOptions = {}): Promise<BatchPlan> {
  const abs = path.resolve(source);
  const st = await fs.stat(abs).catch(() => undefined);
  if (!st) throw new CikuError('CIKU_ERR_BATCH_SOURCE', `no file or folder ${source}`);
  if (st.isDirectory()) {
    if (await looksLikeBag(abs)) return planBag(abs, options);
    for (const m of MANIFESTS) {
      const p = path.join(abs, m);
      if (await exists(p)) return planManifest(p, abs, 'manifest', options);
    }
    throw new CikuError(
      'CIKU_ERR_BATCH_SOURCE',
      `${source} is neither a BagIt bag (no bagit.txt) nor a folder with ${MANIFESTS.join(' / ')}`,
    );
  }
  if (/\.(csv|jsonl|ndjson|tsv)$/i.test(abs)) return planManifest(abs, path.dirname(abs), undefined, options);
  throw new CikuError(
    'CIKU_ERR_BATCH_SOURCE',
    `${source}: expected a folder, a bag, a .csv or a .jsonl file`,
  );
}

async function loadMapping(options: PlanOptions, dir: string): Promise<Mapping | undefined> {
  if (typeof options.mapping === 'object') return options.mapping;
  const file = options.mapping ?? path.join(dir, 'mapping.json');
  if (options.mapping === undefined && !(await exists(file))) return undefined;
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Mapping;
  } catch (err) {
    throw new CikuError(
      'CIKU_ERR_BATCH_SOURCE',
      `mapping ${file} is not readable JSON: ${(err as Error).message}`,
    );
  }
}

async function planManifest(
  file: string,
  baseDir: string,
  type: 'manifest' | undefined,
  options: PlanOptions,
  within?: (p: string) => boolean,
): Promise<BatchPlan> {
  const st = await fs.stat(file);
  if (st.size > MAX_MANIFEST_BYTES)
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', `${file} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const decoded = decodeText(await fs.readFile(file));
  const mapping = await loadMapping(options, path.dirname(file));
  const jsonl = /\.(jsonl|ndjson)$/i.test(file);
  const plan: BatchPlan = {
    source: { type: type ?? (jsonl ? 'jsonl' : 'csv'), path: file, encoding: decoded.encoding },
    rows: [],
    warnings: decoded.note ? [decoded.note] : [],
    bytes: 0,
  };
  let records: Record<string, unknown>[];
  let columns: string[] = [];
  try {
    if (jsonl) {
      records = decoded.text
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '')
        .map((l, i) => {
          try {
            const v = JSON.parse(l) as unknown;
            if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
            return v as Record<string, unknown>;
          } catch (err) {
            return { __error: `line ${i + 1} is not a JSON object: ${(err as Error).message}` };
          }
        });
    } else {
      records = parseCsv<Record<string, unknown>>(decoded.text, {
        columns: (header: string[]) => {
          columns = header.map((h) => h.trim());
          return columns;
        },
        delimiter: /\.tsv$/i.test(file) ? '\t' : ',',
        skip_empty_lines: true,
        relax_column_count: true,
        bom: true,
      });
    }
  } catch (err) {
    plan.refused = `${path.basename(file)} cannot be read as ${jsonl ? 'JSON lines' : 'CSV'}: ${(err as Error).message}`;
    return plan;
  }
  if (jsonl) columns = [...new Set(records.flatMap((r) => Object.keys(r)))].filter((c) => c !== '__error');
  const known = columnsKnown(columns, mapping);
  const unmapped = columns.filter((c) => !known.has(c));
  if (unmapped.length > 0)
    plan.warnings.push(`column(s) mapped to no field, not imported: ${unmapped.join(', ')}`);
  const ignored = columns.filter((c) => mapping?.ignore?.includes(c));
  if (ignored.length > 0) plan.warnings.push(`column(s) ignored by the mapping: ${ignored.join(', ')}`);

  const source = createHash('sha256').update(file).digest('hex').slice(0, 10);
  const usedIds = new Map<string, number>();
  const realBase = await fs.realpath(baseDir);
  for (const [i, record] of records.entries()) {
    const row = i + 1;
    const planned = await planRow(record, row, {
      mapping,
      options,
      baseDir: realBase,
      source,
      within,
      unmapped,
    });
    if (planned.plan) {
      const first = usedIds.get(planned.plan.id);
      if (first !== undefined) {
        plan.rows.push({
          row,
          id: planned.plan.id,
          error: `id ${planned.plan.id} is already used by row ${first}`,
        });
        continue;
      }
      usedIds.set(planned.plan.id, row);
      for (const f of planned.plan.files) plan.bytes += (await fs.stat(f.path)).size;
    }
    plan.rows.push(planned);
  }
  return plan;
}

function columnsKnown(columns: string[], mapping: Mapping | undefined): Set<string> {
  const known = new Set<string>();
  const allFields = new Set(itemKinds.flatMap((k) => Object.keys(fieldSchemas(k))));
  for (const c of columns) {
    if (mapping?.ignore?.includes(c)) known.add(c);
    else if (mapping?.columns) {
      if (mapping.columns[c] !== undefined || reserved.has(c)) known.add(c);
    } else if (reserved.has(c) || allFields.has(c) || c === 'metadata') known.add(c);
  }
  return known;
}

function fieldSchemas(kind: ItemKind): Record<string, TSchema> {
  return (metadataSchemas[kind] as unknown as { properties: Record<string, TSchema> }).properties;
}

/** A cell (text) → the field's type as its schema declares it. */
function coerce(
  schema: TSchema | undefined,
  raw: unknown,
  hint?: { type?: string; split?: string },
): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  const type = hint?.type ?? typeOf(schema);
  const split = (s: string) =>
    s
      .split(hint?.split ?? /[;；|]/)
      .map((x) => x.trim())
      .filter((x) => x !== '');
  switch (type) {
    case 'integer':
    case 'number': {
      const n = Number(text);
      return text !== '' && Number.isFinite(n) ? n : text;
    }
    case 'list':
      return split(text);
    case 'text-or-list':
      return /[;；|]/.test(text) ? split(text) : text;
    case 'coordinates': {
      const m = /^\s*(-?\d+(?:\.\d+)?)\s*[,， ]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
      return m ? { lat: Number(m[1]), lon: Number(m[2]) } : text;
    }
    default:
      return text;
  }
}

function typeOf(schema: TSchema | undefined): string {
  if (!schema) return 'text';
  const s = schema as { type?: string; anyOf?: TSchema[]; properties?: Record<string, unknown> };
  if (s.type === 'integer' || s.type === 'number') return s.type;
  if (s.type === 'array') return 'list';
  if (s.type === 'object' && s.properties?.lat) return 'coordinates';
  if (s.anyOf?.some((x) => (x as { type?: string }).type === 'array')) return 'text-or-list';
  return 'text';
}

function template(t: string, record: Record<string, unknown>): string {
  return t.replace(/\{([^}]+)\}/g, (_, k: string) => {
    const v = record[k];
    return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  });
}

async function planRow(
  record: Record<string, unknown>,
  row: number,
  ctx: {
    mapping: Mapping | undefined;
    options: PlanOptions;
    baseDir: string;
    source: string;
    within: ((p: string) => boolean) | undefined;
    unmapped: string[];
  },
): Promise<PlannedRow> {
  const { mapping, options } = ctx;
  const cell = (k: string): string | undefined => {
    const v = record[k];
    if (v === undefined || v === null) return undefined;
    const s =
      typeof v === 'string'
        ? v.trim()
        : typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
    return s === '' ? undefined : s;
  };
  if (typeof record.__error === 'string') return { row, error: record.__error };
  const bad = Object.entries(record).find(([, v]) => typeof v === 'string' && hasBadBytes(v));
  const givenId = cell('id');
  if (bad)
    return {
      row,
      ...(givenId === undefined ? {} : { id: givenId }),
      error: `column ${bad[0]} holds bytes that are not valid in the file's encoding (GBK in a UTF-8 file?): save the manifest as UTF-8`,
    };
  let id = cell('id') ?? (mapping?.id ? template(mapping.id, record) : undefined);
  id ??= `b${ctx.source}-${row}`;
  try {
    assertItemId(id);
  } catch (err) {
    return { row, error: (err as Error).message };
  }
  const kind = cell('kind') ?? mapping?.kind ?? options.kind;
  if (kind === undefined) return { row, id, error: 'no kind (give a kind column, a mapping kind or --kind)' };
  if (!(itemKinds as string[]).includes(kind))
    return { row, id, error: `unknown kind ${JSON.stringify(kind)} (one of ${itemKinds.join(', ')})` };
  const fields = fieldSchemas(kind as ItemKind);

  const metadata: Record<string, unknown> = { ...(mapping?.set ?? {}) };
  const nested = record.metadata;
  if (typeof nested === 'object' && nested !== null && !Array.isArray(nested))
    Object.assign(metadata, nested as Record<string, unknown>);
  for (const [col, raw] of Object.entries(record)) {
    if (reserved.has(col) || col === 'metadata' || ctx.unmapped.includes(col)) continue;
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    const m = mapping?.columns?.[col];
    const target = typeof m === 'string' ? m : (m?.field ?? (mapping?.columns ? undefined : col));
    if (target === undefined) continue;
    if (fields[target] === undefined) {
      if (mapping?.columns)
        return {
          row,
          id,
          error: `the mapping sends column ${col} to ${target}, which ${kind} does not have`,
        };
      continue; // a field of another kind: the row's kind decides
    }
    metadata[target] = coerce(fields[target], raw, typeof m === 'object' ? m : undefined);
  }
  if (metadata.title === undefined && mapping?.title) metadata.title = template(mapping.title, record);
  let validated: Record<string, unknown>;
  try {
    validated = validateMetadata(kind, metadata);
  } catch (err) {
    return { row, id, error: (err as Error).message };
  }

  const level = cell('access') ?? mapping?.access?.level ?? options.access?.level ?? 'private';
  const access: Record<string, unknown> = { level };
  const embargo = cell('embargo_until') ?? mapping?.access?.embargo_until ?? options.access?.embargo_until;
  if (embargo !== undefined) access.embargo_until = embargo;
  const organisation =
    options.organisation ??
    cell('organisation') ??
    mapping?.access?.organisation ??
    options.access?.organisation;
  if (organisation !== undefined) access.organisation = organisation;
  if (!Value.Check(Access, access)) {
    const first = [...Value.Errors(Access, access)][0];
    return {
      row,
      id,
      error: `access ${JSON.stringify(access)}: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`,
    };
  }

  const files: BatchRow['files'] = [];
  const roles = [
    ['files', 'original'],
    ['file', 'original'],
    ['transcript', 'transcript'],
    ['supplement', 'supplement'],
  ] as const;
  for (const [col, role] of roles) {
    const raw = record[col];
    const list = Array.isArray(raw) ? raw.map(String) : (cell(col)?.split(/[;；|]/) ?? []);
    for (const rel of list.map((s) => s.trim()).filter((s) => s !== '')) {
      const resolved = await resolveInside(ctx.baseDir, rel);
      if (typeof resolved !== 'string') return { row, id, error: `file ${rel}: ${resolved.error}` };
      if (ctx.within && !ctx.within(resolved))
        return { row, id, error: `file ${rel} is not in the bag's payload` };
      const name = path.basename(rel).normalize('NFC');
      if (files.some((f) => f.name === name)) return { row, id, error: `two files named ${name}` };
      files.push({ path: resolved, name, role });
    }
  }
  return {
    row,
    id,
    plan: { row, id, kind, access, metadata: validated, files },
  };
}

/** A path named by a manifest, resolved inside its folder: no absolute paths, no climbing out, no links out. */
async function resolveInside(base: string, rel: string): Promise<string | { error: string }> {
  if (path.isAbsolute(rel) || rel.includes('\0')) return { error: 'must be a path relative to the manifest' };
  const joined = path.resolve(base, rel);
  if (!joined.startsWith(base + path.sep)) return { error: 'climbs out of the manifest folder' };
  const real = await fs.realpath(joined).catch(() => undefined);
  if (real === undefined) return { error: 'is missing' };
  if (!real.startsWith(base + path.sep)) return { error: 'is a link to outside the manifest folder' };
  const st = await fs.stat(real);
  if (!st.isFile()) return { error: 'is not a regular file' };
  return real;
}

async function planBag(dir: string, options: PlanOptions): Promise<BatchPlan> {
  const bag = await validateBag(dir);
  const plan: BatchPlan = {
    source: { type: 'bag', path: dir, ...(bag.encoding ? { encoding: bag.encoding } : {}) },
    rows: [],
    warnings: [...bag.warnings],
    bag,
    bytes: 0,
  };
  if (!bag.valid) {
    plan.refused = `invalid bag: ${bag.errors.join('; ')}`;
    return plan;
  }
  const payload = new Set(bag.payload.map((p) => path.join(dir, p.path)));
  const data = path.join(dir, 'data');
  for (const m of MANIFESTS) {
    const p = path.join(data, m);
    if (payload.has(p)) {
      const inner = await planManifest(p, data, 'manifest', options, (f) => payload.has(f));
      return { ...inner, source: plan.source, warnings: [...plan.warnings, ...inner.warnings], bag };
    }
  }
  // The whole payload is one item described by bag-info.txt.
  const first = (label: string) => infoValues(bag, label)[0];
  const rawId = first('External-Identifier') ?? path.basename(dir);
  const id =
    rawId
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 128) || 'bag';
  const kind = first('Ciku-Kind') ?? options.kind ?? 'archive_document';
  const date = first('Bagging-Date');
  const description = infoValues(bag, 'External-Description').join('\n');
  const metadata: Record<string, unknown> = {
    title: first('Title') ?? (description.split('\n')[0]?.slice(0, 200) || path.basename(dir)),
    ...(description ? { description } : {}),
    ...(first('Source-Organization') ? { creator: infoValues(bag, 'Source-Organization') } : {}),
    ...(first('External-Identifier') ? { identifier: infoValues(bag, 'External-Identifier') } : {}),
    ...(date && /^\d{4}-\d{2}-\d{2}$/.test(date) ? { date } : {}),
    source: `BagIt ${bag.version} bag ${path.basename(dir)}`,
  };
  const record: Record<string, unknown> = { id, kind, metadata };
  const realDir = await fs.realpath(dir);
  const rowPlan = await planRow(record, 1, {
    mapping: undefined,
    options,
    baseDir: realDir,
    source: '',
    within: undefined,
    unmapped: [],
  });
  if (rowPlan.plan) {
    rowPlan.plan.files = bag.payload.map((p) => ({
      path: path.join(realDir, p.path),
      name: p.path.slice('data/'.length).normalize('NFC'),
      role: 'original' as const,
    }));
    plan.bytes = bag.payload.reduce((a, p) => a + p.size, 0);
  }
  plan.rows.push(rowPlan);
  return plan;
}

/** A bag, or what is meant to be one (a payload folder or BagIt manifests, even if bagit.txt is missing). */
async function looksLikeBag(dir: string): Promise<boolean> {
  if (await exists(path.join(dir, 'bagit.txt'))) return true;
  const names = await fs.readdir(dir);
  return names.some((n) => /^(tag)?manifest-[a-z0-9]+\.txt$/.test(n));
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

export function isBatchSourceError(err: unknown): boolean {
  return isCikuError(err, 'CIKU_ERR_BATCH_SOURCE');
}
