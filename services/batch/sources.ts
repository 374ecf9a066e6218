import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Value } from '@sinclair/typebox/value';
import { parse as csvParser } from 'csv-parse';
import type { TSchema } from '@sinclair/typebox';
import type { BatchRow, NamedAccessPart } from '../../schemas/batch.ts';
import { Access, itemKinds, metadataSchemas, type ItemKind } from '../../schemas/item.ts';
import { assertItemId, validateMetadata } from '../archive/items.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { infoValues, validateBag, type BagReport } from './bagit.ts';
import { shownPath } from './drop-folder.ts';
import { isInside, openInside, readInside } from './safe-open.ts';
import { decodeText, hasBadBytes } from './text.ts';

/**
 * Batch sources → planned rows. Three shapes (DESIGN "Batch"):
 *  - a folder with a manifest (`manifest.csv`, `manifest.jsonl`): one row per item, file paths relative to it;
 *  - a CSV (or JSON lines) file alone: metadata-only records (catalogue records, the inheritor list);
 *  - a BagIt bag: validated first (an invalid bag is refused whole); its payload becomes one item, or — when the
 *    payload holds a `manifest.csv`/`manifest.jsonl` — the rows of that manifest. Every planned payload file carries
 *    the sha512 its bytes had when they matched the bag's manifests, and its row stores those bytes or nothing
 *    (ingest-row.ts). A manifest or CSV outside a bag gives no digest: its rows' files are taken as they are.
 * Refusals and row reasons name paths relative to the caller's folder (`within`), never by their server path.
 * Columns map to the item schema by name (reserved: id, kind, access, embargo_until, organisation, files,
 * transcript, supplement), or through a mapping file (`mapping.json` beside the manifest or `--mapping`). Columns
 * that map to nothing are reported, never silently dropped. Every row is checked here (kind, metadata schema,
 * dates, files present inside the source folder, encoding); a bad row is reported and the rest proceeds.
 *
 * A row carries only what it names: the metadata fields of its non-empty cells (and the mapping's `set`), and which
 * parts of its access block its own cells give (`named_access`). The row job changes only those on an existing item;
 * the defaults (the batch's access, the mapping's, `private`) make the access of new items only.
 *
 * Manifests are read streaming (csv-parse's stream API; JSON lines line by line), and rows are handed on in
 * chunks as they are planned (`sink`): batches.ts runs this in a worker thread (plan-thread.ts), so neither the
 * parse nor the per-row checks nor a bag's hashing run on the API's event loop. Every key that comes from the
 * source (column names, mapping entries, bag-info labels) lives in a Map: a column named `__proto__` or
 * `constructor` is a column like any other.
 */
export interface PlannedRow {
  row: number;
  id?: string;
  /** The row as its job gets it (absent for a failed row, and for every row of a plan made `withoutPlans`). */
  plan?: BatchRow;
  /** Why the row cannot be ingested; a row without one is valid. */
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
  /** The real path of the folder every planned file lies inside: the row job opens nothing outside it. */
  root: string;
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

/** Receives planned rows in source order, in chunks; the planner waits for it (backpressure). */
export type RowSink = (rows: PlannedRow[]) => void | Promise<void>;

type ColumnTarget = { field: string; type?: string; split?: string };

/** A mapping as the planner uses it: every user-keyed part a Map or a Set. */
interface LoadedMapping {
  kind?: string;
  id?: string;
  title?: string;
  access?: { level?: unknown; embargo_until?: unknown; organisation?: unknown };
  columns?: Map<string, ColumnTarget>;
  ignore: Set<string>;
  set: Map<string, unknown>;
}

type SourceRecord = Map<string, unknown>;

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
const MAX_MAPPING_BYTES = 1024 * 1024;
const CHUNK_ROWS = 500;
const allFields = new Set(itemKinds.flatMap((k) => Object.keys(fieldSchemas(k))));

export async function planBatch(
  source: string,
  options: PlanOptions = {},
  sink?: RowSink,
): Promise<BatchPlan> {
  const abs = path.resolve(source);
  // How refusals name the source: relative to the caller's folder (`within`), never by its server path; the CLI's
  // operator (no `within`) gave the path itself.
  const named = options.within === undefined ? source : shownPath(options.within, abs);
  const st = await fs.stat(abs).catch(() => undefined);
  if (!st) throw new CikuError('CIKU_ERR_BATCH_SOURCE', `no file or folder ${named}`);
  const out = new RowOutput(sink);
  const real = await fs.realpath(abs).catch(() => undefined);
  if (real === undefined) throw new CikuError('CIKU_ERR_BATCH_SOURCE', `no file or folder ${named}`);
  if (options.within !== undefined && real !== options.within && !isInside(options.within, real))
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', `${named} is not inside its folder`);
  let plan: BatchPlan;
  if (st.isDirectory()) {
    if (await looksLikeBag(real)) plan = await planBag(real, options, out);
    else {
      const manifest = await firstManifest(real);
      if (manifest === undefined)
        throw new CikuError(
          'CIKU_ERR_BATCH_SOURCE',
          `${named} is neither a BagIt bag (no bagit.txt) nor a folder with ${MANIFESTS.join(' / ')}`,
        );
      plan = await planManifest(path.join(real, manifest), real, 'manifest', options, out);
    }
  } else if (/\.(csv|jsonl|ndjson|tsv)$/i.test(abs)) {
    plan = await planManifest(real, path.dirname(real), undefined, options, out);
  } else
    throw new CikuError(
      'CIKU_ERR_BATCH_SOURCE',
      `${named}: expected a folder, a bag, a .csv or a .jsonl file`,
    );
  await out.flush();
  if (!sink) plan.rows = out.all;
  return plan;
}

/** Rows on their way out: kept (no sink) or handed to the sink in chunks. */
class RowOutput {
  readonly all: PlannedRow[] = [];
  private chunk: PlannedRow[] = [];
  constructor(private readonly sink: RowSink | undefined) {}

  async push(row: PlannedRow): Promise<void> {
    if (!this.sink) {
      this.all.push(row);
      return;
    }
    this.chunk.push(row);
    if (this.chunk.length >= CHUNK_ROWS) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.sink || this.chunk.length === 0) return;
    const rows = this.chunk;
    this.chunk = [];
    await this.sink(rows);
  }
}

async function firstManifest(dir: string): Promise<string | undefined> {
  for (const m of MANIFESTS) if (await lexists(path.join(dir, m))) return m;
  return undefined;
}

async function loadMapping(
  options: PlanOptions,
  dir: string,
  root: string,
): Promise<LoadedMapping | undefined> {
  let raw: unknown;
  let where: string;
  if (typeof options.mapping === 'object') {
    raw = options.mapping;
    where = 'the mapping';
  } else {
    // A mapping beside the manifest is part of the source: read like it, never through a link.
    const file = options.mapping ?? path.join(dir, 'mapping.json');
    where = `mapping ${options.mapping === undefined ? 'mapping.json' : file}`;
    if (options.mapping === undefined && !(await lexists(file))) return undefined;
    try {
      const bytes =
        options.mapping === undefined
          ? await readInside(root, file, MAX_MAPPING_BYTES)
          : await fs.readFile(file);
      raw = JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (err) {
      throw new CikuError(
        'CIKU_ERR_BATCH_SOURCE',
        `${where} is not readable JSON: ${(err as Error).message}`,
      );
    }
  }
  return normaliseMapping(raw, where);
}

function normaliseMapping(raw: unknown, where: string): LoadedMapping {
  const bad = (why: string) => new CikuError('CIKU_ERR_BATCH_SOURCE', `${where}: ${why}`);
  if (!isObject(raw)) throw bad('must be a JSON object');
  const text = (key: string): string | undefined => {
    const v = Object.hasOwn(raw, key) ? raw[key] : undefined;
    if (v !== undefined && typeof v !== 'string') throw bad(`${key} must be a string`);
    return v;
  };
  const out: LoadedMapping = { ignore: new Set(), set: new Map() };
  const kind = text('kind');
  const id = text('id');
  const title = text('title');
  if (kind !== undefined) out.kind = kind;
  if (id !== undefined) out.id = id;
  if (title !== undefined) out.title = title;
  const access = Object.hasOwn(raw, 'access') ? raw.access : undefined;
  if (access !== undefined) {
    if (!isObject(access)) throw bad('access must be an object');
    out.access = {
      ...(Object.hasOwn(access, 'level') ? { level: access.level } : {}),
      ...(Object.hasOwn(access, 'embargo_until') ? { embargo_until: access.embargo_until } : {}),
      ...(Object.hasOwn(access, 'organisation') ? { organisation: access.organisation } : {}),
    };
  }
  const columns = Object.hasOwn(raw, 'columns') ? raw.columns : undefined;
  if (columns !== undefined) {
    if (!isObject(columns)) throw bad('columns must be an object');
    out.columns = new Map();
    for (const [col, target] of Object.entries(columns)) {
      if (typeof target === 'string') out.columns.set(col, { field: target });
      else if (isObject(target) && typeof target.field === 'string')
        out.columns.set(col, {
          field: target.field,
          ...(typeof target.type === 'string' ? { type: target.type } : {}),
          ...(typeof target.split === 'string' ? { split: target.split } : {}),
        });
      else throw bad(`column ${col} must map to a field name or { field }`);
    }
  }
  const ignore = Object.hasOwn(raw, 'ignore') ? raw.ignore : undefined;
  if (ignore !== undefined) {
    if (!Array.isArray(ignore) || !ignore.every((c) => typeof c === 'string'))
      throw bad('ignore must be a list of column names');
    out.ignore = new Set(ignore);
  }
  const set = Object.hasOwn(raw, 'set') ? raw.set : undefined;
  if (set !== undefined) {
    if (!isObject(set)) throw bad('set must be an object');
    out.set = new Map(Object.entries(set));
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function planManifest(
  file: string,
  baseDir: string,
  type: 'manifest' | undefined,
  options: PlanOptions,
  out: RowOutput,
  bagPayload?: Map<string, string | undefined>,
): Promise<BatchPlan> {
  const root = await fs.realpath(baseDir);
  const mapping = await loadMapping(options, path.dirname(file), root);
  const jsonl = /\.(jsonl|ndjson)$/i.test(file);
  const plan: BatchPlan = {
    source: { type: type ?? (jsonl ? 'jsonl' : 'csv'), path: file },
    rows: [],
    warnings: [],
    bytes: 0,
    root,
  };
  let text: ManifestText;
  try {
    text = await openManifest(root, file);
  } catch (err) {
    if (!isCikuError(err)) throw err;
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', `${path.basename(file)} ${err.message}`);
  }
  plan.source.encoding = text.encoding;
  if (text.note) plan.warnings.push(text.note);

  const known = (c: string): boolean => columnKnown(c, mapping);
  const unmapped = new Set<string>();
  const seen = new Set<string>(); // known columns, in the order met
  const noteColumns = (columns: Iterable<string>) => {
    for (const c of columns) {
      if (unmapped.has(c) || seen.has(c)) continue;
      if (known(c)) seen.add(c);
      else unmapped.add(c);
    }
  };
  const source = createHash('sha256').update(file).digest('hex').slice(0, 10);
  const usedIds = new Map<string, number>();
  const ctx: RowContext = { mapping, options, baseDir: root, source, bagPayload, unmapped };
  let row = 0;
  const take = async (record: SourceRecord | { error: string }): Promise<void> => {
    row += 1;
    const planned: RowPlanned =
      record instanceof Map ? await planRow(record, row, ctx) : { row, error: record.error, bytes: 0 };
    if (planned.plan) {
      const first = usedIds.get(planned.plan.id);
      if (first !== undefined) {
        await out.push({
          row,
          id: planned.plan.id,
          error: `id ${planned.plan.id} is already used by row ${first}`,
        });
        return;
      }
      usedIds.set(planned.plan.id, row);
      plan.bytes += planned.bytes;
      if (options.withoutPlans) {
        await out.push({ row, id: planned.plan.id });
        return;
      }
    }
    await out.push({
      row: planned.row,
      ...(planned.id === undefined ? {} : { id: planned.id }),
      ...(planned.plan === undefined ? {} : { plan: planned.plan }),
      ...(planned.error === undefined ? {} : { error: planned.error }),
    });
  };
  try {
    if (jsonl) {
      for await (const record of jsonLines(text.chunks())) {
        if (record instanceof Map) noteColumns(record.keys());
        await take(record);
      }
    } else {
      let header: string[] | undefined;
      for await (const cells of csvRecords(text.chunks(), /\.tsv$/i.test(file) ? '\t' : ',')) {
        if (header === undefined) {
          header = cells.map((h) => h.trim());
          noteColumns(header);
          continue;
        }
        const record: SourceRecord = new Map();
        header.forEach((h, i) => {
          if (cells[i] !== undefined) record.set(h, cells[i]);
        });
        await take(record);
      }
    }
  } catch (err) {
    if (err instanceof ManifestSyntaxError) {
      plan.refused = `${path.basename(file)} cannot be read as ${jsonl ? 'JSON lines' : 'CSV'}: ${err.message}`;
      return plan;
    }
    throw err;
  } finally {
    await text.close();
  }
  if (unmapped.size > 0)
    plan.warnings.push(`column(s) mapped to no field, not imported: ${[...unmapped].join(', ')}`);
  const ignored = [...seen].filter((c) => mapping?.ignore.has(c));
  if (ignored.length > 0) plan.warnings.push(`column(s) ignored by the mapping: ${ignored.join(', ')}`);
  return plan;
}

class ManifestSyntaxError extends Error {}

interface ManifestText {
  encoding: string;
  note?: string;
  chunks(): AsyncIterable<string>;
  close(): Promise<void>;
}

/**
 * A manifest opened once (inside its folder, never through a link), read as text in chunks. Valid UTF-8 — what
 * nearly every manifest is — is checked in one streaming pass and decoded in a second, so memory stays flat
 * whatever its size; a file that is not UTF-8 is read whole (≤ 512 MiB) for text.ts's encoding detection.
 */
async function openManifest(root: string, file: string): Promise<ManifestText> {
  const { handle, stat } = await openInside(root, file);
  try {
    if (stat.size > MAX_MANIFEST_BYTES)
      throw new CikuError('CIKU_ERR_BATCH_SOURCE', `is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const read = () => handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 256 * 1024 });
    let utf8 = true;
    const check = new TextDecoder('utf-8', { fatal: true });
    try {
      for await (const chunk of read()) check.decode(chunk as Buffer, { stream: true });
      check.decode();
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      utf8 = false;
    }
    const close = () => handle.close();
    if (utf8)
      return {
        encoding: 'utf-8',
        close,
        async *chunks() {
          const decoder = new TextDecoder('utf-8'); // drops a byte-order mark
          for await (const chunk of read()) yield decoder.decode(chunk as Buffer, { stream: true });
          const rest = decoder.decode();
          if (rest !== '') yield rest;
        },
      };
    const decoded = decodeText(await handle.readFile());
    return {
      encoding: decoded.encoding,
      ...(decoded.note ? { note: decoded.note } : {}),
      close,
      async *chunks() {
        for (let i = 0; i < decoded.text.length; i += 64 * 1024) yield decoded.text.slice(i, i + 64 * 1024);
      },
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** CSV records (arrays of cells, the header first) from text chunks, streaming. */
async function* csvRecords(chunks: AsyncIterable<string>, delimiter: string): AsyncGenerator<string[]> {
  const text = Readable.from(chunks);
  const parser = csvParser({ delimiter, skip_empty_lines: true, relax_column_count: true, bom: true });
  let readFailed: Error | undefined;
  // pipe() does not pass a read error on: end the parser with it, as a read error (not a CSV syntax error).
  text.on('error', (err) => {
    readFailed = err;
    parser.destroy(err);
  });
  text.pipe(parser);
  try {
    for await (const record of parser) yield record as string[];
  } catch (err) {
    if (readFailed !== undefined || isCikuError(err)) throw err;
    throw new ManifestSyntaxError((err as Error).message);
  } finally {
    text.destroy();
  }
}

/** JSON-lines records from text chunks: a Map per object line, an error per line that is not one. */
async function* jsonLines(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord | { error: string }> {
  let carry = '';
  let n = 0;
  const one = (line: string): SourceRecord | { error: string } => {
    n += 1;
    try {
      const v = JSON.parse(line) as unknown;
      if (!isObject(v)) throw new Error('not an object');
      return new Map(Object.entries(v));
    } catch (err) {
      return { error: `line ${n} is not a JSON object: ${(err as Error).message}` };
    }
  };
  for await (const chunk of chunks) {
    const lines = (carry + chunk).split(/\r?\n/);
    carry = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') yield one(line);
  }
  if (carry.trim() !== '') yield one(carry);
}

function columnKnown(c: string, mapping: LoadedMapping | undefined): boolean {
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

interface RowContext {
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

type RowPlanned = { row: number; id?: string; error?: string; plan?: BatchRow; bytes: number };

async function planRow(record: SourceRecord, row: number, ctx: RowContext): Promise<RowPlanned> {
  const { mapping, options } = ctx;
  const cell = (k: string): string | undefined => {
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
  const failed = (error: string, id?: string): RowPlanned => ({
    row,
    ...(id === undefined ? {} : { id }),
    error,
    bytes: 0,
  });
  const bad = [...record].find(([, v]) => typeof v === 'string' && hasBadBytes(v));
  const givenId = cell('id');
  if (bad)
    return failed(
      `column ${bad[0]} holds bytes that are not valid in the file's encoding (GBK in a UTF-8 file?): save the manifest as UTF-8`,
      givenId,
    );
  let id = givenId ?? (mapping?.id ? template(mapping.id, record) : undefined);
  id ??= `b${ctx.source}-${row}`;
  try {
    assertItemId(id);
  } catch (err) {
    return failed((err as Error).message);
  }
  const kind = cell('kind') ?? mapping?.kind ?? options.kind;
  if (kind === undefined) return failed('no kind (give a kind column, a mapping kind or --kind)', id);
  if (!(itemKinds as string[]).includes(kind))
    return failed(`unknown kind ${JSON.stringify(kind)} (one of ${itemKinds.join(', ')})`, id);

  const metadata = new Map<string, unknown>(mapping?.set ?? []);
  const nested = record.get('metadata');
  if (isObject(nested)) for (const [k, v] of Object.entries(nested)) metadata.set(k, v);
  for (const [col, raw] of record) {
    if (reserved.has(col) || col === 'metadata' || ctx.unmapped.has(col)) continue;
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    const m = mapping?.columns?.get(col);
    const target = m?.field ?? (mapping?.columns ? undefined : col);
    if (target === undefined) continue;
    const schema = fieldSchema(kind as ItemKind, target);
    if (schema === undefined) {
      if (mapping?.columns)
        return failed(`the mapping sends column ${col} to ${target}, which ${kind} does not have`, id);
      continue; // a field of another kind: the row's kind decides
    }
    metadata.set(target, coerce(schema, raw, m));
  }
  if (!metadata.has('title') && mapping?.title) metadata.set('title', template(mapping.title, record));
  let validated: Record<string, unknown>;
  try {
    validated = validateMetadata(kind, Object.fromEntries(metadata));
  } catch (err) {
    return failed((err as Error).message, id);
  }

  // What the row names of its access (its own cells; a batch's organisation is named for every row), and the
  // whole block a new item gets: those over the defaults.
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
    return failed(
      `access ${JSON.stringify(access)}: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`,
      id,
    );
  }

  const files: BatchRow['files'] = [];
  let bytes = 0;
  const roles = [
    ['files', 'original'],
    ['file', 'original'],
    ['transcript', 'transcript'],
    ['supplement', 'supplement'],
  ] as const;
  for (const [col, role] of roles) {
    const raw = record.get(col);
    const list = Array.isArray(raw) ? raw.map(String) : (cell(col)?.split(/[;；|]/) ?? []);
    for (const rel of list.map((s) => s.trim()).filter((s) => s !== '')) {
      // An absolute path is refused without being repeated: a report never carries a path of the machine.
      const named = path.isAbsolute(rel) ? `…/${path.basename(rel)}` : rel;
      const resolved = await resolveInside(ctx.baseDir, rel);
      if ('error' in resolved) return failed(`file ${named}: ${resolved.error}`, id);
      if (ctx.bagPayload && !ctx.bagPayload.has(resolved.real))
        return failed(`file ${named} is not in the bag's payload`, id);
      const name = path.basename(rel).normalize('NFC');
      if (files.some((f) => f.name === name)) return failed(`two files named ${name}`, id);
      const sha512 = ctx.bagPayload?.get(resolved.real);
      files.push({ path: resolved.real, name, role, ...(sha512 === undefined ? {} : { sha512 }) });
      bytes += resolved.size;
    }
  }
  return {
    row,
    id,
    bytes,
    plan: {
      row,
      id,
      kind,
      access,
      named_access: [...named.keys()],
      metadata: validated,
      files,
    },
  };
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

async function planBag(dir: string, options: PlanOptions, out: RowOutput): Promise<BatchPlan> {
  const bag = await validateBag(dir, options.within === undefined ? {} : { within: options.within });
  const data = path.join(dir, 'data');
  const plan: BatchPlan = {
    source: { type: 'bag', path: dir, ...(bag.encoding ? { encoding: bag.encoding } : {}) },
    rows: [],
    warnings: [...bag.warnings],
    bag,
    bytes: 0,
    root: data,
  };
  if (!bag.valid) {
    plan.refused = `invalid bag: ${bag.errors.join('; ')}`;
    return plan;
  }
  // The payload by real path (the bag's folder is real, and validation refused every link in it).
  const payload = new Map(bag.payload.map((p) => [path.join(dir, p.path), p.sha512]));
  for (const m of MANIFESTS) {
    const p = path.join(data, m);
    if (payload.has(p)) {
      const inner = await planManifest(p, data, 'manifest', options, out, payload);
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
  const record: SourceRecord = new Map<string, unknown>([
    ['id', id],
    ['kind', kind],
    ['metadata', metadata],
  ]);
  const planned = await planRow(record, 1, {
    mapping: undefined,
    options,
    baseDir: dir,
    source: '',
    bagPayload: undefined,
    unmapped: new Set(),
  });
  if (planned.plan) {
    // Each file with the sha512 its bytes had when they matched the manifests: the row stores those bytes only.
    planned.plan.files = bag.payload.map((p) => ({
      path: path.join(dir, p.path),
      name: p.path.slice('data/'.length).normalize('NFC'),
      role: 'original' as const,
      ...(p.sha512 === undefined ? {} : { sha512: p.sha512 }),
    }));
    plan.bytes = bag.payload.reduce((a, p) => a + p.size, 0);
  }
  await out.push({
    row: 1,
    ...(planned.id === undefined ? {} : { id: planned.id }),
    ...(planned.plan === undefined || options.withoutPlans ? {} : { plan: planned.plan }),
    ...(planned.error === undefined ? {} : { error: planned.error }),
  });
  return plan;
}

/** A bag, or what is meant to be one (a payload folder or BagIt manifests, even if bagit.txt is missing). */
async function looksLikeBag(dir: string): Promise<boolean> {
  if (await lexists(path.join(dir, 'bagit.txt'))) return true;
  const names = await fs.readdir(dir);
  return names.some((n) => /^(tag)?manifest-[a-z0-9]+\.txt$/.test(n));
}

/** Whether a name exists (a link counts: it is refused when opened, not mistaken for absence). */
async function lexists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

export function isBatchSourceError(err: unknown): boolean {
  return isCikuError(err, 'CIKU_ERR_BATCH_SOURCE');
}
