import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CikuError } from '../errors.ts';
import { readInside } from './safe-open.ts';

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

export type ColumnTarget = { field: string; type?: string; split?: string };

/** A mapping as the planner uses it: every user-keyed part a Map or a Set. */
export interface LoadedMapping {
  kind?: string;
  id?: string;
  title?: string;
  access?: { level?: unknown; embargo_until?: unknown; organisation?: unknown };
  columns?: Map<string, ColumnTarget>;
  ignore: Set<string>;
  set: Map<string, unknown>;
}

const MAX_MAPPING_BYTES = 1024 * 1024;

/** The mapping given (an object or a file) or the source's own `mapping.json`, if any, checked whole. */
export async function loadMapping(
  given: Mapping | string | undefined,
  dir: string,
  root: string,
): Promise<LoadedMapping | undefined> {
  let raw: unknown;
  let where: string;
  if (typeof given === 'object') {
    raw = given;
    where = 'the mapping';
  } else {
    // A mapping beside the manifest is part of the source: read like it, never through a link.
    const file = given ?? path.join(dir, 'mapping.json');
    where = `mapping ${given === undefined ? 'mapping.json' : file}`;
    if (
      given === undefined &&
      !(await fs.lstat(file).then(
        () => true,
        () => false,
      ))
    )
      return undefined;
    try {
      const bytes =
        given === undefined ? await readInside(root, file, MAX_MAPPING_BYTES) : await fs.readFile(file);
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

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
