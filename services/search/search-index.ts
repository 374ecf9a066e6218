import type { ReadScope } from '../archive/access.ts';
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

/** The write side an index and a rebuild share. */
export interface IndexWriter {
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
}

/** The search port: `sqlite` (embedded default) and `meilisearch` implement it and pass one contract suite. */
export interface SearchIndex extends IndexWriter {
  readonly engine: 'sqlite' | 'meilisearch';
  search(request: SearchRequest): Promise<SearchAnswerT>;
  searchSegments(request: SegmentRequest): Promise<SegmentAnswerT>;
  /** The item version the index holds for an item, if any. */
  indexedVersion(itemId: string): Promise<string | undefined>;
  /** Every document's content hashed: for comparing indexes (reads them all). */
  stats(): Promise<IndexStats>;
  /** How many item documents the index holds (cheap). */
  count(): Promise<number>;
  rebuild(): Promise<IndexRebuild>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
