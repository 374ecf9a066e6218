import { createHash } from 'node:crypto';
import type { ItemView } from '../archive/items.ts';
import { CikuError } from '../errors.ts';
import { listSorts, type ListAfter, type ListSort } from './search-index.ts';

/**
 * What both engines' item catalogues share: the row an item makes, the keys of the list orders, and the opaque
 * cursor `GET /v1/items` hands out. The catalogue is derived like the search documents (principle 1): written on
 * every commit (items.ts `onCommit`), by the index job and by `ciku reindex`, which rebuilds it from the archive.
 */

/** `v12` → 12: versions compare as numbers (v10 is after v9). */
export function versionNumber(version: string): number {
  const n = Number(version.slice(1));
  if (!/^v[1-9]\d*$/.test(version) || !Number.isSafeInteger(n))
    throw new CikuError('CIKU_ERR_INTERNAL', `not an item version: ${JSON.stringify(version)}`);
  return n;
}

/** An item's place in the orders: its `updated` (ms) and id. */
export function keyOf(item: Pick<ItemView, 'id' | 'updated'>): ListAfter {
  return { updated: Date.parse(item.updated), id: item.id };
}

/** Whether `a` comes before `b` in `sort` (ids compare by code unit, as SQLite's BINARY collation does). */
export function compareKeys(sort: ListSort, a: ListAfter, b: ListAfter): number {
  const byId = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  if (sort === 'id') return byId;
  const order = a.updated - b.updated || byId;
  return sort === 'updated' ? order : -order;
}

/** The hash `stats()` reports over catalogue rows given in id order. */
export function catalogueHasher() {
  const hash = createHash('sha256');
  let items = 0;
  return {
    add(id: string, version: number, view: string) {
      hash.update(`${id}\t${version}\t${view}\n`);
      items++;
    },
    result: () => ({ items, contentHash: hash.digest('hex') }),
  };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The cursor of the page after `after` in `sort`: base64url of `[sort, updated, id]`. Opaque to callers; carrying
 * the sort lets a cursor given with another order be refused instead of silently starting elsewhere.
 */
export function encodeCursor(sort: ListSort, after: ListAfter): string {
  return Buffer.from(JSON.stringify([sort, after.updated, after.id]), 'utf8').toString('base64url');
}

/** A cursor back to its key; anything this API did not hand out for `sort` is a coded 400. */
export function decodeCursor(sort: ListSort, cursor: string): ListAfter {
  const bad = (why: string) =>
    new CikuError(
      'CIKU_ERR_REQUEST_INVALID',
      `cursor is not one this list gave out (${why}): start again without it`,
    );
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('unreadable');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad('unreadable');
  const [s, updated, id] = parsed as unknown[];
  if (typeof s !== 'string' || !(listSorts as readonly string[]).includes(s)) throw bad('unreadable');
  if (s !== sort) throw bad(`it continues sort=${s}, not sort=${sort}`);
  if (typeof updated !== 'number' || !Number.isSafeInteger(updated) || updated < 0) throw bad('unreadable');
  if (typeof id !== 'string' || !ID.test(id)) throw bad('unreadable');
  return { updated, id };
}
