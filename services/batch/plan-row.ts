import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { BatchRow, NamedAccessPart } from '../../schemas/batch.ts';
import { Access, itemKinds, metadataSchemas, type ItemKind } from '../../schemas/item.ts';
import { assertItemId, validateMetadata } from '../archive/items.ts';
import type { SourceRecord } from './manifest-read.ts';
import { isObject, type ColumnTarget, type LoadedMapping, type Mapping } from './mapping.ts';
import { isInside } from './safe-open.ts';
import { hasBadBytes } from './text.ts';

/**
 * One source record → one planned row: every check a row gets before its job runs (encoding, id, kind, metadata
 * schema, access, files present inside the source folder). Columns map to the item schema by name (reserved: id,
 * kind, access, embargo_until, organisation, files, transcript, supplement) or through the mapping.
 */

/** Columns that say something about the row itself, never metadata fields. */
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

const allFields = new Set(itemKinds.flatMap((k) => Object.keys(fieldSchemas(k))));

/** Whether a column goes somewhere (a field, a reserved column, one the mapping ignores): else it is reported. */
export function columnKnown(c: string, mapping: LoadedMapping | undefined): boolean {
  if (mapping?.ignore.has(c)) return true;
  if (mapping?.columns) return mapping.columns.has(c) || reserved.has(c);
  return reserved.has(c) || allFields.has(c) || c === 'metadata';
}

function fieldSchemas(kind: ItemKind): Record<string, TSchema> {
  return (metadataSchemas[kind] as unknown as { properties: Record<string, TSchema> }).properties;
}

/** The schema of a kind's field, only when the kind has that field as its own (never an inherited name). */
function fieldSchema(kind: ItemKind, field: string): TSchema | undefined {
  const fields = fieldSchemas(kind);
  return Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/** A cell (text) → the field's type as its schema declares it. */
function coerce(schema: TSchema | undefined, raw: unknown, hint?: ColumnTarget): unknown {
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

function template(t: string, record: SourceRecord): string {
  return t.replace(/\{([^}]+)\}/g, (_, k: string) => {
    const v = record.get(k);
    return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  });
}

/** How a source is planned (sources.ts re-exports it: callers name it from there). */
export interface PlanOptions {
  mapping?: Mapping | string;
  /** Kind for rows that name none (default: the mapping's, else an error per row; bags: archive_document). */
  kind?: string;
  /** Access for new items whose row names none (default private). */
  access?: { level: string; embargo_until?: string; organisation?: string };
  /** Every row belongs to this organisation, whatever the source says (a contributor's batch: its own). */
  organisation?: string;
  /** Valid rows carry their row number and id only, not their plan (a dry run needs no more). */
  withoutPlans?: boolean;
  /**
   * The folder (a real path) the source must lie in — a contributor's organisation folder, the drop folder —
   * checked on the source's real path before anything is read from it, whatever was checked before.
   */
  within?: string;
}

export interface RowContext {
  mapping: LoadedMapping | undefined;
  options: PlanOptions;
  baseDir: string;
  source: string;
  /**
   * A bag's payload files (real paths) and the sha512 their bytes had when the bag was validated: a manifest
   * inside a bag may name only these, and its rows carry their digests.
   */
  bagPayload: Map<string, string | undefined> | undefined;
  unmapped: Set<string>;
}

export type RowPlanned = { row: number; id?: string; error?: string; plan?: BatchRow; bytes: number };

/** Why a row cannot be ingested, as a step of planning it finds it. */
class Refused {
  constructor(readonly reason: string) {}
}

/** A record's cell as text: trimmed, numbers and booleans spelled out, anything else as JSON; empty is absent. */
function cellsOf(record: SourceRecord): (k: string) => string | undefined {
  return (k) => {
    const v = record.get(k);
    if (v === undefined || v === null) return undefined;
    const s =
      typeof v === 'string'
        ? v.trim()
        : typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
    return s === '' ? undefined : s;
  };
}

/**
 * One source record → the row its job gets, or why it cannot be ingested. The steps in order: the bytes are
 * text, the id, the kind, the metadata (which needs the kind), the access, the files.
 */
export async function planRow(record: SourceRecord, row: number, ctx: RowContext): Promise<RowPlanned> {
  const failed = (error: string, id?: string): RowPlanned => ({
    row,
    ...(id === undefined ? {} : { id }),
    error,
    bytes: 0,
  });
  const cell = cellsOf(record);
  const bad = [...record].find(([, v]) => typeof v === 'string' && hasBadBytes(v));
  if (bad)
    return failed(
      `column ${bad[0]} holds bytes that are not valid in the file's encoding (GBK in a UTF-8 file?): save the manifest as UTF-8`,
      cell('id'),
    );
  const id = rowId(record, row, ctx, cell);
  // An invalid id is not repeated as the row's id: it names nothing.
  if (id instanceof Refused) return failed(id.reason);
  const kind = rowKind(cell, ctx);
  if (kind instanceof Refused) return failed(kind.reason, id);
  const metadata = rowMetadata(record, kind, ctx);
  if (metadata instanceof Refused) return failed(metadata.reason, id);
  const access = rowAccess(cell, ctx);
  if (access instanceof Refused) return failed(access.reason, id);
  const files = await rowFiles(record, cell, ctx);
  if (files instanceof Refused) return failed(files.reason, id);
  return {
    row,
    id,
    bytes: files.bytes,
    plan: {
      row,
      id,
      kind,
      access: access.block,
      named_access: [...access.named.keys()],
      metadata,
      files: files.files,
    },
  };
}

/** The row's id: its own, else the mapping's template, else one made from the source and the row number. */
function rowId(
  record: SourceRecord,
  row: number,
  ctx: RowContext,
  cell: (k: string) => string | undefined,
): string | Refused {
  const id =
    cell('id') ?? (ctx.mapping?.id ? template(ctx.mapping.id, record) : undefined) ?? `b${ctx.source}-${row}`;
  try {
    assertItemId(id);
  } catch (err) {
    return new Refused((err as Error).message);
  }
  return id;
}

function rowKind(cell: (k: string) => string | undefined, ctx: RowContext): ItemKind | Refused {
  const kind = cell('kind') ?? ctx.mapping?.kind ?? ctx.options.kind;
  if (kind === undefined) return new Refused('no kind (give a kind column, a mapping kind or --kind)');
  if (!(itemKinds as string[]).includes(kind))
    return new Refused(`unknown kind ${JSON.stringify(kind)} (one of ${itemKinds.join(', ')})`);
  return kind as ItemKind;
}

/**
 * The metadata the row names — the mapping's constants, a nested `metadata` object, then its non-empty cells, each
 * coerced to its field's type — validated against its kind's schema. A cell naming a field of another kind is left
 * out (the row's kind decides), unless the mapping sent it there on purpose.
 */
function rowMetadata(
  record: SourceRecord,
  kind: ItemKind,
  ctx: RowContext,
): Record<string, unknown> | Refused {
  const { mapping } = ctx;
  const metadata = new Map<string, unknown>(mapping?.set ?? []);
  const nested = record.get('metadata');
  if (isObject(nested)) for (const [k, v] of Object.entries(nested)) metadata.set(k, v);
  for (const [col, raw] of record) {
    if (reserved.has(col) || col === 'metadata' || ctx.unmapped.has(col)) continue;
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    const m = mapping?.columns?.get(col);
    const target = m?.field ?? (mapping?.columns ? undefined : col);
    if (target === undefined) continue;
    const schema = fieldSchema(kind, target);
    if (schema === undefined) {
      if (mapping?.columns)
        return new Refused(`the mapping sends column ${col} to ${target}, which ${kind} does not have`);
      continue;
    }
    metadata.set(target, coerce(schema, raw, m));
  }
  if (!metadata.has('title') && mapping?.title) metadata.set('title', template(mapping.title, record));
  try {
    return validateMetadata(kind, Object.fromEntries(metadata));
  } catch (err) {
    return new Refused((err as Error).message);
  }
}

/**
 * What the row names of its access (its own cells; a batch's organisation is named for every row), and the whole
 * block a new item gets: those over the defaults.
 */
function rowAccess(
  cell: (k: string) => string | undefined,
  ctx: RowContext,
): { named: Map<NamedAccessPart, string>; block: BatchRow['access'] } | Refused {
  const { options, mapping } = ctx;
  const named = new Map<NamedAccessPart, string>();
  const level = cell('access');
  const embargo = cell('embargo_until');
  const organisation = options.organisation ?? cell('organisation');
  if (level !== undefined) named.set('level', level);
  if (embargo !== undefined) named.set('embargo_until', embargo);
  if (organisation !== undefined) named.set('organisation', organisation);
  const defaults = { ...options.access, ...mapping?.access };
  const access: Record<string, unknown> = { level: named.get('level') ?? defaults.level ?? 'private' };
  const embargoUntil = named.get('embargo_until') ?? defaults.embargo_until;
  if (embargoUntil !== undefined) access.embargo_until = embargoUntil;
  const org = named.get('organisation') ?? defaults.organisation;
  if (org !== undefined) access.organisation = org;
  if (!Value.Check(Access, access)) {
    const first = [...Value.Errors(Access, access)][0];
    return new Refused(
      `access ${JSON.stringify(access)}: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`,
    );
  }
  return { named, block: access };
}

const fileColumns = [
  ['files', 'original'],
  ['file', 'original'],
  ['transcript', 'transcript'],
  ['supplement', 'supplement'],
] as const;

/**
 * The files the row names, each inside the source folder (and, in a bag, in its payload, with the digest its
 * bytes had there), no two with the same name; and their bytes.
 */
async function rowFiles(
  record: SourceRecord,
  cell: (k: string) => string | undefined,
  ctx: RowContext,
): Promise<{ files: BatchRow['files']; bytes: number } | Refused> {
  const files: BatchRow['files'] = [];
  let bytes = 0;
  for (const [col, role] of fileColumns) {
    const raw = record.get(col);
    const list = Array.isArray(raw) ? raw.map(String) : (cell(col)?.split(/[;；|]/) ?? []);
    for (const rel of list.map((s) => s.trim()).filter((s) => s !== '')) {
      // An absolute path is refused without being repeated: a report never carries a path of the machine.
      const named = path.isAbsolute(rel) ? `…/${path.basename(rel)}` : rel;
      const resolved = await resolveInside(ctx.baseDir, rel);
      if ('error' in resolved) return new Refused(`file ${named}: ${resolved.error}`);
      if (ctx.bagPayload && !ctx.bagPayload.has(resolved.real))
        return new Refused(`file ${named} is not in the bag's payload`);
      const name = path.basename(rel).normalize('NFC');
      if (files.some((f) => f.name === name)) return new Refused(`two files named ${name}`);
      const sha512 = ctx.bagPayload?.get(resolved.real);
      files.push({ path: resolved.real, name, role, ...(sha512 === undefined ? {} : { sha512 }) });
      bytes += resolved.size;
    }
  }
  return { files, bytes };
}

/**
 * A path named by a manifest, resolved inside its folder: no absolute paths, no climbing out, no links out. A check
 * at planning time, for a clear per-row report; the row job opens the file again and checks the opened file
 * (safe-open.ts), since the folder can change in between.
 */
async function resolveInside(
  base: string,
  rel: string,
): Promise<{ real: string; size: number } | { error: string }> {
  if (path.isAbsolute(rel) || rel.includes('\0')) return { error: 'must be a path relative to the manifest' };
  const joined = path.resolve(base, rel);
  if (!isInside(base, joined)) return { error: 'climbs out of the manifest folder' };
  const real = await fs.realpath(joined).catch(() => undefined);
  if (real === undefined) return { error: 'is missing' };
  if (!isInside(base, real)) return { error: 'is a link to outside the manifest folder' };
  const st = await fs.stat(real);
  if (!st.isFile()) return { error: 'is not a regular file' };
  return { real, size: st.size };
}
