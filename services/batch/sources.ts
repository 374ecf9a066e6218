import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BatchRow } from '../../schemas/batch.ts';
import { CikuError, isCikuError } from '../errors.ts';
import { infoValues, validateBag, type BagReport } from './bagit.ts';
import { shownPath } from './drop-folder.ts';
import {
  csvRecords,
  jsonLines,
  ManifestSyntaxError,
  openManifest,
  type ManifestText,
  type SourceRecord,
} from './manifest-read.ts';
import { loadMapping } from './mapping.ts';
import { columnKnown, planRow, type PlanOptions, type RowContext, type RowPlanned } from './plan-row.ts';
import { isInside } from './safe-open.ts';

export type { Mapping } from './mapping.ts';
export type { PlanOptions } from './plan-row.ts';

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

/** Receives planned rows in source order, in chunks; the planner waits for it (backpressure). */
export type RowSink = (rows: PlannedRow[]) => void | Promise<void>;

const MANIFESTS = ['manifest.csv', 'manifest.jsonl', 'manifest.ndjson'];
const CHUNK_ROWS = 500;

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

async function planManifest(
  file: string,
  baseDir: string,
  type: 'manifest' | undefined,
  options: PlanOptions,
  out: RowOutput,
  bagPayload?: Map<string, string | undefined>,
): Promise<BatchPlan> {
  const root = await fs.realpath(baseDir);
  const mapping = await loadMapping(options.mapping, path.dirname(file), root);
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
