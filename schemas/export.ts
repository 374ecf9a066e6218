import { Type, type Static } from '@sinclair/typebox';
import { SearchQuerystring } from './search.ts';

/**
 * `GET /v1/search/export`: a search's every hit (the caller may read) as CSV or JSON Lines. The same parameters as
 * `/v1/search` except paging (an export starts at the first hit), plus the format, the columns and a row cap.
 */
export const exportColumns = [
  'id',
  'kind',
  'title',
  'year',
  'version',
  'access',
  'embargo_until',
  'url',
  'title_highlight',
  'highlight',
] as const;
export type ExportColumn = (typeof exportColumns)[number];
export const defaultExportColumns: ExportColumn[] = ['id', 'kind', 'title', 'year', 'url', 'highlight'];

const { page: _page, limit: _limit, facets: _facets, ...searchParams } = SearchQuerystring.properties;

export const ExportQuerystring = Type.Object(
  {
    ...searchParams,
    format: Type.Union([Type.Literal('csv'), Type.Literal('jsonl')], { default: 'csv' }),
    /** Comma-separated, in the order wanted (default id,kind,title,year,url,highlight). */
    columns: Type.Optional(Type.String({ maxLength: 500 })),
    /** At most this many rows (never more than the caller's role may export). */
    max: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type ExportQuerystringT = Static<typeof ExportQuerystring>;
