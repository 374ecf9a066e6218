import type { ReadScope } from '../archive/access.ts';
import type { AggregateRequest, StatResult } from './aggregate.ts';
import type { ItemView } from '../archive/items.ts';
import type { ItemKind } from '../../schemas/item.ts';
import { CikuError } from '../errors.ts';
import {
  facetFields,
  type FacetField,
  type SearchAnswerT,
  type SearchDocumentT,
  type SearchFiltersT,
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
  /** Replaces everything indexed for the item (its document and its segments). */
  put(doc: SearchDocumentT, segments: SegmentDocumentT[]): Promise<void>;
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
  /** The item version the index holds for an item, if any. */
  indexedVersion(itemId: string): Promise<string | undefined>;
  /** A page of the item catalogue (keyset paging; access and kind inside the query). */
  listItems(request: ListRequest): Promise<ListPage>;
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
