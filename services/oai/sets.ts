import type { ItemView } from '../archive/items.ts';
import { itemKinds, type ItemKind } from '../../schemas/item.ts';

/**
 * OAI-PMH sets: `kind:<kind>`, `series:<series>`, `museum:<organisation>`, `region:<region>`, `project:<code>`,
 * each under its top-level set (`kind`, `series`, …: a record in `region:X` is in `region` too, as the protocol's
 * set hierarchy says).
 *
 * A setSpec may hold only `A-Za-z0-9-_.!~*'()` and `:`, so values are spelt with ASCII letters, digits, `-`, `_` and
 * `.` as they are and every other character as `~` and the hex of its UTF-8 bytes (珠山区 → `~E7~8F~A0~E5~B1~B1~E5~8C~BA`,
 * Ⅷ-7 → `~E2~85~A7-7`): one spec per value, reversible, and the setName carries the value as written.
 */
export const setFamilies = ['kind', 'series', 'museum', 'region', 'project'] as const;
export type SetFamily = (typeof setFamilies)[number];

/** Spellings already made: a harvest spells the same few kinds, regions and museums for every record. */
const spelt = new Map<string, string>();

export function encodeSetValue(value: string): string {
  const known = spelt.get(value);
  if (known !== undefined) return known;
  const out = spell(value);
  if (spelt.size >= 10_000) spelt.clear();
  spelt.set(value, out);
  return out;
}

function spell(value: string): string {
  let out = '';
  for (const ch of value) {
    if (/^[A-Za-z0-9._-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeSetValue(spec: string): string | undefined {
  if (!/^([A-Za-z0-9._-]|~[0-9A-F]{2})+$/.test(spec)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < spec.length;) {
    if (spec[i] === '~') {
      bytes.push(parseInt(spec.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(spec.charCodeAt(i));
      i += 1;
    }
  }
  const text = Buffer.from(bytes).toString('utf8');
  // Not UTF-8 (a replacement character appeared), or not the one spelling of its value: no set of ours.
  return encodeSetValue(text) === spec ? text : undefined;
}

const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** The values an item has in each family (empty families left out). */
export function setValuesOf(item: Pick<ItemView, 'kind' | 'metadata' | 'access'>): [SetFamily, string][] {
  const m = item.metadata;
  const out: [SetFamily, string][] = [['kind', item.kind]];
  for (const s of strings(m.series)) out.push(['series', s]);
  // The contributing museum as the record names it, else the organisation the item belongs to.
  const museums = strings(m.museum);
  const museumValues =
    museums.length > 0
      ? museums
      : item.kind === 'collection_object' && item.access.organisation !== undefined
        ? [item.access.organisation]
        : [];
  for (const s of museumValues) out.push(['museum', s]);
  for (const s of strings(m.region)) out.push(['region', s]);
  const projects = [...strings(m.code), ...strings(m.project_codes)];
  for (const s of new Set(projects)) out.push(['project', s]);
  return out;
}

export function setSpecsOf(item: Pick<ItemView, 'kind' | 'metadata' | 'access'>): string[] {
  return [...new Set(setValuesOf(item).map(([f, v]) => `${f}:${encodeSetValue(v)}`))];
}

/** A set asked for: a whole family, or one value of it. */
export type SetFilter = { family: SetFamily; value?: string };

/** The OAI-PMH setSpec syntax (OAI-PMH.xsd setSpecType). */
export const SET_SPEC = /^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$/;

/**
 * A `set` argument → the filter, `undefined` for a well-formed spec that names no set of ours (no records match),
 * `'bad'` for one that is not a setSpec at all (a badArgument).
 */
export function parseSet(spec: string): SetFilter | undefined | 'bad' {
  if (!SET_SPEC.test(spec)) return 'bad';
  const [family, value, ...rest] = spec.split(':');
  if (!(setFamilies as readonly string[]).includes(family!) || rest.length > 0) return undefined;
  if (value === undefined) return { family: family as SetFamily };
  const decoded = decodeSetValue(value);
  if (decoded === undefined) return undefined;
  if (family === 'kind' && !(itemKinds as string[]).includes(decoded)) return undefined;
  return { family: family as SetFamily, value: decoded };
}

/** The kind a filter pins (the catalogue selects by kind itself), if any. */
export function kindOfFilter(filter: SetFilter | undefined): ItemKind | undefined {
  return filter?.family === 'kind' && filter.value !== undefined ? (filter.value as ItemKind) : undefined;
}

export function inSet(item: Pick<ItemView, 'kind' | 'metadata' | 'access'>, filter: SetFilter): boolean {
  return setValuesOf(item).some(
    ([f, v]) => f === filter.family && (filter.value === undefined || v === filter.value),
  );
}
