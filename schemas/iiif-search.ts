import { Type, type Static } from '@sinclair/typebox';
import { MAX_QUERY_CHARS, MAX_WINDOW } from './search.ts';

/**
 * IIIF Content Search 2.0 (https://iiif.io/api/search/2.0/): the request parameters and the answers of
 * `/iiif/{id}/search` and `/iiif/{id}/autocomplete`.
 */
export const SEARCH_CONTEXT = 'http://iiif.io/api/search/2/context.json';

/** Annotations per page of a search answer. */
export const SEARCH_PAGE_SIZE = 50;

/** The spec's parameters; `date` and `user` are accepted and reported in `ignored` (we keep neither per cue). */
const SpecParams = {
  q: Type.String({ maxLength: MAX_QUERY_CHARS, default: '' }),
  motivation: Type.Optional(Type.String({ maxLength: 1000 })),
  date: Type.Optional(Type.String({ maxLength: 1000 })),
  user: Type.Optional(Type.String({ maxLength: 1000 })),
};

// Other parameters are allowed (viewers add cache-busters): the spec asks servers to ignore what they do not know.
export const ContentSearchQuerystring = Type.Object({
  ...SpecParams,
  page: Type.Integer({ minimum: 1, maximum: MAX_WINDOW / SEARCH_PAGE_SIZE, default: 1 }),
});
export type ContentSearchQuerystringT = Static<typeof ContentSearchQuerystring>;

export const AutocompleteQuerystring = Type.Object({
  ...SpecParams,
  /** Fewest occurrences a term needs to be listed (the spec's optional `min`). */
  min: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
});
export type AutocompleteQuerystringT = Static<typeof AutocompleteQuerystring>;

const PageRef = Type.Object({ id: Type.String(), type: Type.Literal('AnnotationPage') });

export const TextQuoteSelector = Type.Object({
  type: Type.Literal('TextQuoteSelector'),
  prefix: Type.Optional(Type.String()),
  exact: Type.String(),
  suffix: Type.Optional(Type.String()),
});
export type TextQuoteSelectorT = Static<typeof TextQuoteSelector>;

/** A stretch of text that matched, on the canvas it belongs to (`#t=` for a cue, `#xywh=` for OCR words). */
export const MatchingAnnotation = Type.Object({
  id: Type.String(),
  type: Type.Literal('Annotation'),
  /** Transcripts (and OCR text) supplement the canvas the manifest paints: the same motivation here. */
  motivation: Type.Literal('supplementing'),
  body: Type.Object({
    type: Type.Literal('TextualBody'),
    value: Type.String(),
    format: Type.Literal('text/plain'),
    language: Type.String(),
  }),
  target: Type.String(),
});
export type MatchingAnnotationT = Static<typeof MatchingAnnotation>;

/** Where in a matching annotation's text the query matched (spec 4.3.2, match highlighting). */
export const HighlightingAnnotation = Type.Object({
  id: Type.String(),
  type: Type.Literal('Annotation'),
  motivation: Type.Literal('highlighting'),
  target: Type.Object({
    type: Type.Literal('SpecificResource'),
    source: Type.String(),
    selector: Type.Array(TextQuoteSelector),
  }),
});
export type HighlightingAnnotationT = Static<typeof HighlightingAnnotation>;

export const SearchAnnotationPage = Type.Object({
  '@context': Type.Literal(SEARCH_CONTEXT),
  id: Type.String(),
  type: Type.Literal('AnnotationPage'),
  partOf: Type.Object({
    id: Type.String(),
    type: Type.Literal('AnnotationCollection'),
    total: Type.Integer({ minimum: 0 }),
    first: PageRef,
    last: PageRef,
  }),
  next: Type.Optional(PageRef),
  prev: Type.Optional(PageRef),
  startIndex: Type.Integer({ minimum: 0 }),
  ignored: Type.Optional(Type.Array(Type.String())),
  items: Type.Array(MatchingAnnotation),
  annotations: Type.Optional(
    Type.Array(
      Type.Object({ type: Type.Literal('AnnotationPage'), items: Type.Array(HighlightingAnnotation) }),
    ),
  ),
});
export type SearchAnnotationPageT = Static<typeof SearchAnnotationPage>;

export const TermPage = Type.Object({
  '@context': Type.Literal(SEARCH_CONTEXT),
  id: Type.String(),
  type: Type.Literal('TermPage'),
  ignored: Type.Optional(Type.Array(Type.String())),
  items: Type.Array(
    Type.Object({ value: Type.String(), total: Type.Integer({ minimum: 1 }), language: Type.String() }),
  ),
});
export type TermPageT = Static<typeof TermPage>;

/** Content Search 1.0 (https://iiif.io/api/search/1.0/), the form Mirador 4 reads: `/iiif/{id}/search1`. */
export const SEARCH1_CONTEXT = 'http://iiif.io/api/search/1/context.json';
export const SEARCH1_PROFILE = 'http://iiif.io/api/search/1/search';

/**
 * A matching cue as an Open Annotation: its text, on the canvas with the time as a fragment selector (a viewer
 * finds the canvas in `on.full`; Mirador strips only `#xywh=` from a string target).
 */
export const Search1Annotation = Type.Object({
  '@id': Type.String(),
  '@type': Type.Literal('oa:Annotation'),
  motivation: Type.Literal('sc:painting'),
  resource: Type.Object({ '@type': Type.Literal('cnt:ContentAsText'), chars: Type.String() }),
  on: Type.Object({
    '@type': Type.Literal('oa:SpecificResource'),
    full: Type.String(),
    selector: Type.Object({ '@type': Type.Literal('oa:FragmentSelector'), value: Type.String() }),
  }),
});

export const Search1Hit = Type.Object({
  '@type': Type.Literal('search:Hit'),
  annotations: Type.Array(Type.String()),
  match: Type.String(),
  before: Type.String(),
  after: Type.String(),
});

export const Search1AnnotationList = Type.Object({
  '@context': Type.Literal(SEARCH1_CONTEXT),
  '@id': Type.String(),
  '@type': Type.Literal('sc:AnnotationList'),
  within: Type.Object({
    '@type': Type.Literal('sc:Layer'),
    total: Type.Integer({ minimum: 0 }),
    first: Type.String(),
    last: Type.String(),
    ignored: Type.Optional(Type.Array(Type.String())),
  }),
  next: Type.Optional(Type.String()),
  prev: Type.Optional(Type.String()),
  startIndex: Type.Integer({ minimum: 0 }),
  resources: Type.Array(Search1Annotation),
  hits: Type.Array(Search1Hit),
});
export type Search1AnnotationListT = Static<typeof Search1AnnotationList>;
