import { Type, type Static } from '@sinclair/typebox';

/** `GET /v1/stats` (services/stats/stats.ts): the query and the JSON answer. */
export const StatsQuerystring = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })),
    /** Counts as they stood at the end of this year (default: this year). */
    year: Type.Optional(Type.Integer({ minimum: 1900, maximum: 9999 })),
    /** With `format=csv`: only this table. */
    table: Type.Optional(Type.String({ pattern: '^[a-z0-9_]{1,64}$' })),
  },
  { additionalProperties: false },
);
export type StatsQuerystringT = Static<typeof StatsQuerystring>;

const Cell = Type.Union([Type.String(), Type.Number(), Type.Null()]);

export const StatTable = Type.Object({
  id: Type.String(),
  section: Type.String(),
  definition: Type.String(),
  columns: Type.Array(Type.String()),
  keys: Type.Integer({ minimum: 0 }),
  rows: Type.Array(Type.Array(Cell)),
  unavailable: Type.Optional(Type.String()),
});

export const StatsAnswer = Type.Object({
  year: Type.Integer(),
  as_of: Type.String(),
  generated_at: Type.String(),
  scope: Type.Union(['all', 'organisation', 'researcher', 'public'].map((s) => Type.Literal(s))),
  engine: Type.String(),
  tables: Type.Array(StatTable),
});
