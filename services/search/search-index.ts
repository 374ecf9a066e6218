import type { ReadScope } from '../archive/access.ts';
import type { AggregateRequest, StatResult } from './aggregate.ts';
import type { ItemView } from '../archive/items.ts';
import type { Access, ItemKind } from '../../schemas/item.ts';
import { CikuError } from '../errors.ts';
import {
  facetFields,
  type FacetField,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchFiltersT,
  type PageAnswerT,
  type PageDocumentT,
  type SegmentAnswerT,
  type SegmentDocumentT,
  type SortOrder,
} from '../../schemas/search.ts';

/**
 * Facet names as a caller gives them (repeated and/or comma-separated) → the fields, each once; an unknown name
 * is a coded 400.
 */
export function facetList(raw: string[]): FacetField[] {
  const names = raw.flatMap((f) => f.split(',')).filter((f) => f !== '');
  const unknown = names.find((f) => !(facetFields as readonly string[]).includes(f));
  if (unknown !== undefined) {
    throw new CikuError(
      'CIKU_ERR_REQUEST_INVALID',
      `unknown facet ${JSON.stringify(unknown)}: choose from ${facetFields.join(', ')}`,
    );
  }
  return [...new Set(names)] as FacetField[];
}

/** A validated search request. `scope` is the caller's read scope: engines apply it inside the query. */
export interface SearchRequest {
  q: string;
  filters: SearchFiltersT;
  facets: FacetField[];
  sort: SortOrder;
  page: number;
  limit: number;
  scope: ReadScope;
}

export interface SegmentRequest {
  q: string;
  /** Only this item's segments. */
  item?: string;
  speaker?: string;
  page: number;
  limit: number;
  scope: ReadScope;
}

/** Pages of documents that hold the words: of one item (and one of its files) when given. */
export interface PageRequest {
  q: string;
  item?: string;
  file?: string;
  page: number;
  limit: number;
  scope: ReadScope;
}

/**
 * Orders of the item catalogue (`GET /v1/items`): `id` (ascending; the default), `updated` (oldest change first)
 * and `-updated` (newest change first); ties on `updated` are broken by id in the same direction.
 */
export const listSorts = ['id', 'updated', '-updated'] as const;
export type ListSort = (typeof listSorts)[number];

/** Where a page starts: just past this item's place in the order (a keyset, not an offset). */
export interface ListAfter {
  /** The item's `updated` in ms since the epoch (unused by the `id` order). */
  updated: number;
  id: string;
}

/** A page of the catalogue. `scope` and `kind` are applied inside the engine's query, so a page is always full. */
export interface ListRequest {
  scope: ReadScope;
  kind?: ItemKind;
  sort: ListSort;
  limit: number;
  after?: ListAfter;
}

export interface ListPage {
  /** The items' heads as written (never tombstoned ones). */
  items: ItemView[];
  /** The last item's key, when more may follow. */
  next?: ListAfter;
}

/**
 * A page of every catalogue row, tombstones and items of every access level included, oldest change first
 * (`updated`, then id), within `[fromMs, untilMs]`. For a front door that decides each row's fate itself through
 * the access decision — OAI-PMH shows an item a harvester may no longer read as a deleted record — never as a
 * caller's list (that is `listItems`, with the read scope inside the query).
 */
export interface ChangesRequest {
  kind?: ItemKind;
  /** Only rows whose `updated` (ms) is at or after this. */
  fromMs?: number;
  /** Only rows whose `updated` (ms) is at or before this. */
  untilMs?: number;
  after?: ListAfter;
  limit: number;
}

export interface ChangesPage {
  /** The rows' item views as written (tombstones included). */
  items: ItemView[];
  /** The last row's key, when more may follow. */
  next?: ListAfter;
}

/** A row of `listChangeHeads`: what decides a row's fate, without its item view. */
export interface ChangeHead {
  id: string;
  /** ms since the epoch, as the row's key. */
  updated: number;
  version: string;
  kind: ItemKind;
  access: Access;
  deleted: boolean;
}

export interface ChangeHeadPage {
  rows: ChangeHead[];
  next?: ListAfter;
}

/**
 * The item catalogue's write side: one row per item, its head as written (a tombstone is kept as a flagged row,
 * never listed). A row never goes back to an older version: writers may call in any order.
 */
export interface CatalogueWriter {
  putItem(item: ItemView): Promise<void>;
  /** Drops an item that is no longer in the archive at all (a purge). */
  forgetItem(itemId: string): Promise<void>;
}

/** The write side an index and a rebuild share: search documents and catalogue rows. */
export interface IndexWriter extends CatalogueWriter {
  /** Replaces everything indexed for the item (its document, its segments and its documents' pages). */
  put(doc: SearchDocumentT, segments: SegmentDocumentT[], pages?: PageDocumentT[]): Promise<void>;
  remove(itemId: string): Promise<void>;
}

export interface IndexRebuild extends IndexWriter {
  /** Makes the new index the live one in one step (readers see the old one or the new one, never a mix). */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface IndexStats {
  documents: number;
  segments: number;
  pages: number;
  /** sha256 over every document's canonical JSON in id order: two indexes with the same content agree. */
  contentHash: string;
  /** The catalogue's rows (tombstones included) and a hash over their id, version and item view, in id order. */
  catalogue: { items: number; contentHash: string };
}

/** The search port: `sqlite` (embedded default) and `meilisearch` implement it and pass one contract suite. */
export interface SearchIndex extends IndexWriter {
  readonly engine: 'sqlite' | 'meilisearch';
  search(request: SearchRequest): Promise<SearchAnswerT>;
  searchSegments(request: SegmentRequest): Promise<SegmentAnswerT>;
  /** Document pages holding the words, grouped by item, under the caller's scope (as segments are). */
  searchPages(request: PageRequest): Promise<PageAnswerT>;
  /** The item version the index holds for an item, if any. */
  indexedVersion(itemId: string): Promise<string | undefined>;
  /** A page of the item catalogue (keyset paging; access and kind inside the query). */
  listItems(request: ListRequest): Promise<ListPage>;
  /** Every row (any access, tombstones too) changed in a time range, in `updated` order: see `ChangesRequest`. */
  listChanges(request: ChangesRequest): Promise<ChangesPage>;
  /** The same rows as `listChanges` without their views (keys, version, kind, access): cheap enough to count. */
  listChangeHeads(request: ChangesRequest): Promise<ChangeHeadPage>;
  /** The version the catalogue holds for an item (a tombstone's too), if any. */
  cataloguedVersion(itemId: string): Promise<string | undefined>;
  /** Every document's content hashed: for comparing indexes (reads them all). */
  stats(): Promise<IndexStats>;
  /** Grouped counts over the live items in the request's scope, one result per query (services/stats/). */
  aggregate(request: AggregateRequest): Promise<StatResult[]>;
  /** How many item documents the index holds (cheap). */
  count(): Promise<number>;
  rebuild(): Promise<IndexRebuild>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
