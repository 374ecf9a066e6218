import { Type, type Static } from '@sinclair/typebox';
import { AccessLevel, itemKinds } from './item.ts';

/**
 * Search documents (what an engine indexes), queries and answers. One document per item head, one per transcript
 * segment and one per page of a document (PDF, office file, OCR'd scan); an engine answers segments and pages under
 * their item's access block, so they are filtered by access inside the query exactly as items are.
 */

/** Facet fields that filter by a list of values (`kind=a&kind=b`). */
export const listFilterFields = [
  'kind',
  'category',
  'province',
  'region',
  'level',
  'batch',
  'museum',
  'period',
  'series',
] as const;
/** Single-valued fields an engine counts and filters on: the list filters, the year and `has_media`. */
export const facetFields = [...listFilterFields, 'year', 'has_media'] as const;
export type FacetField = (typeof facetFields)[number];
export type ListFilterField = (typeof listFilterFields)[number];

export const SearchDocument = Type.Object({
  id: Type.String(),
  kind: Type.Union(itemKinds.map((k) => Type.Literal(k))),
  /** The item version this document was built from. */
  version: Type.String(),
  title: Type.String(),
  /** Toneless pinyin of the title, for sorting by title. */
  title_sort: Type.String(),
  date: Type.Optional(Type.String()),
  year: Type.Optional(Type.Integer()),
  category: Type.Optional(Type.String()),
  province: Type.Optional(Type.String()),
  region: Type.Optional(Type.String()),
  level: Type.Optional(Type.String()),
  batch: Type.Optional(Type.Integer()),
  museum: Type.Optional(Type.String()),
  period: Type.Optional(Type.String()),
  series: Type.Optional(Type.String()),
  has_media: Type.Boolean(),
  geo: Type.Optional(Type.Object({ lat: Type.Number(), lon: Type.Number() })),
  access: Type.Object({
    level: AccessLevel,
    embargo_until: Type.Optional(Type.String()),
    organisation: Type.Optional(Type.String()),
  }),
  text: Type.Object({
    /** Short descriptive fields (creator, subject, names, codes, places …) joined by newlines. */
    meta: Type.String(),
    /** Long text: description, biography, OCR, and the transcripts' text. */
    body: Type.String(),
    /** Names and places also indexed as pinyin (with the title). */
    names: Type.String(),
  }),
});
export type SearchDocumentT = Static<typeof SearchDocument>;

export const SegmentDocument = Type.Object({
  item_id: Type.String(),
  file: Type.String(),
  n: Type.Integer({ minimum: 0 }),
  start: Type.Number(),
  end: Type.Number(),
  speaker: Type.Optional(Type.String()),
  text: Type.String(),
});
export type SegmentDocumentT = Static<typeof SegmentDocument>;

/** One page of a document file (the `text` derivative's PageText): its text and whether a machine read it. */
export const PageDocument = Type.Object({
  item_id: Type.String(),
  file: Type.String(),
  page: Type.Integer({ minimum: 1 }),
  /** Read by OCR (machine reading: a researcher must know), not the file's own text. */
  ocr: Type.Boolean(),
  /** Sheet or slide name when the page is one. */
  label: Type.Optional(Type.String()),
  text: Type.String(),
});
export type PageDocumentT = Static<typeof PageDocument>;

export const sortOrders = ['relevance', 'date', '-date', 'title'] as const;
export type SortOrder = (typeof sortOrders)[number];

export const MAX_QUERY_CHARS = 1000;
export const MAX_LIMIT = 100;
/** Deep paging past this many hits is refused: narrow the query instead. */
export const MAX_WINDOW = 10_000;

const List = Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 }));

/** Structured filters: values within a field are OR'ed, fields are AND'ed. */
export const SearchFilters = Type.Object({
  kind: List,
  category: List,
  province: List,
  region: List,
  level: List,
  batch: Type.Optional(Type.Array(Type.Integer(), { maxItems: 50 })),
  museum: List,
  period: List,
  series: List,
  year_from: Type.Optional(Type.Integer()),
  year_to: Type.Optional(Type.Integer()),
  has_media: Type.Optional(Type.Boolean()),
  /** Items (heritage sites) within `radius_km` of a point. */
  near: Type.Optional(
    Type.Object({ lat: Type.Number(), lon: Type.Number(), radius_km: Type.Number({ exclusiveMinimum: 0 }) }),
  ),
  /** Items inside a box: west, south, east, north (degrees). */
  bbox: Type.Optional(Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()])),
});
export type SearchFiltersT = Static<typeof SearchFilters>;

/** Pages of one document shown under an item hit: at most this many, best first. */
export const MAX_PAGES_PER_HIT = 3;

/** A page of a document where the words are: its highlighted snippet, and whether its text came from OCR. */
export const PageHit = Type.Object({
  file: Type.String(),
  page: Type.Integer({ minimum: 1 }),
  /** HTML-escaped text around the first match, the matched words in `<mark>`. */
  snippet: Type.String(),
  /** The page was read by OCR: its text is machine reading and may hold misread characters. */
  ocr: Type.Boolean(),
  label: Type.Optional(Type.String()),
});
export type PageHitT = Static<typeof PageHit>;

export const SearchHit = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  version: Type.String(),
  title: Type.String(),
  year: Type.Optional(Type.Integer()),
  /** The item's access level (for marking what anonymous readers do not see). */
  access: Type.Optional(AccessLevel),
  /** The item's embargo date, when it has one (until then only staff and its organisation read it). */
  embargo_until: Type.Optional(Type.String()),
  /** HTML-escaped text with the matched words in `<mark>`. */
  highlights: Type.Object({ title: Type.String(), text: Type.Optional(Type.String()) }),
  /** For interviews: the moments the words are spoken. */
  moments: Type.Optional(
    Type.Array(
      Type.Object({
        file: Type.String(),
        start: Type.Number(),
        end: Type.Number(),
        speaker: Type.Optional(Type.String()),
        text: Type.String(),
      }),
    ),
  ),
  /** For documents: the pages the words are on (best first, at most MAX_PAGES_PER_HIT). */
  pages: Type.Optional(Type.Array(PageHit)),
});
export type SearchHitT = Static<typeof SearchHit>;

export const SearchAnswer = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
  hits: Type.Array(SearchHit),
  facets: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer())),
});
export type SearchAnswerT = Static<typeof SearchAnswer>;

export const SegmentHit = Type.Object({
  file: Type.String(),
  start: Type.Number(),
  end: Type.Number(),
  speaker: Type.Optional(Type.String()),
  text: Type.String(),
});
export const SegmentAnswer = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      kind: Type.String(),
      title: Type.String(),
      segments: Type.Array(SegmentHit),
    }),
  ),
});
export type SegmentAnswerT = Static<typeof SegmentAnswer>;

/** Page hits grouped by item (best first), each group's pages in file and page order. */
export const PageAnswer = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      kind: Type.String(),
      title: Type.String(),
      pages: Type.Array(PageHit),
    }),
  ),
});
export type PageAnswerT = Static<typeof PageAnswer>;

// Query strings of the search routes (and of the pages built on them).

const Strings = Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 }));
const Q = Type.String({ maxLength: MAX_QUERY_CHARS, default: '' });
const Paging = {
  page: Type.Integer({ minimum: 1, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 20 }),
};

/** `GET /v1/search` (and the portal's search page): the whole state of a search, as a query string. */
export const SearchQuerystring = Type.Object(
  {
    q: Q,
    kind: Strings,
    category: Strings,
    province: Strings,
    region: Strings,
    level: Strings,
    batch: Type.Optional(Type.Array(Type.Integer(), { maxItems: 50 })),
    museum: Strings,
    period: Strings,
    series: Strings,
    year_from: Type.Optional(Type.Integer({ minimum: -3000, maximum: 3000 })),
    year_to: Type.Optional(Type.Integer({ minimum: -3000, maximum: 3000 })),
    has_media: Type.Optional(Type.Boolean()),
    near: Type.Optional(
      Type.String({
        pattern: '^-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?,\\d{1,5}(\\.\\d+)?$',
        maxLength: 80,
      }),
    ),
    bbox: Type.Optional(
      Type.String({
        pattern: '^-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?,-?\\d{1,3}(\\.\\d+)?$',
        maxLength: 120,
      }),
    ),
    facets: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 20 })),
    sort: Type.Union(
      sortOrders.map((s) => Type.Literal(s)),
      { default: 'relevance' },
    ),
    ...Paging,
  },
  { additionalProperties: false },
);

/** `GET /v1/search/segments`: moments in transcripts. */
export const SegmentQuerystring = Type.Object(
  {
    q: Q,
    item: Type.Optional(Type.String({ maxLength: 200 })),
    speaker: Type.Optional(Type.String({ maxLength: 200 })),
    ...Paging,
  },
  { additionalProperties: false },
);

/** `GET /v1/search/pages`: pages of documents (`page` is the page of results, as everywhere). */
export const PageQuerystring = Type.Object(
  {
    q: Q,
    item: Type.Optional(Type.String({ maxLength: 200 })),
    file: Type.Optional(Type.String({ maxLength: 1000 })),
    ...Paging,
  },
  { additionalProperties: false },
);
export type PageQuerystringT = Static<typeof PageQuerystring>;
export type SearchQuerystringT = Static<typeof SearchQuerystring>;
export type SegmentQuerystringT = Static<typeof SegmentQuerystring>;
