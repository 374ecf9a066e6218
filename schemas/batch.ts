import { Type, type Static } from '@sinclair/typebox';
import { Access, FileRole, ItemId } from './item.ts';

/** The parts of an access block a row can name. */
export const NamedAccessPart = Type.Union([
  Type.Literal('level'),
  Type.Literal('embargo_until'),
  Type.Literal('organisation'),
]);
export type NamedAccessPart = Static<typeof NamedAccessPart>;

/**
 * A batch row as planned from its source (manifest, CSV, bag) and carried by its row job: what it says of the item,
 * with its files as absolute local paths the planner checked to lie inside the source folder (the row job checks
 * the opened files again) and, where the source proves their bytes (a bag), the sha512 they must have. A row names
 * only some of an item: `metadata` holds the fields it names (merged into an existing item, as PATCH does),
 * `named_access` the parts of `access` its own cells give (only those change an existing item); `access` as a whole
 * is what a new item gets.
 */
export const BatchRow = Type.Object(
  {
    row: Type.Integer({ minimum: 1 }),
    id: ItemId,
    kind: Type.String({ maxLength: 50 }),
    access: Access,
    named_access: Type.Array(NamedAccessPart, { maxItems: 3, uniqueItems: true }),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    files: Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 1, maxLength: 8192 }),
          name: Type.String({ minLength: 1 }),
          role: FileRole,
          /**
           * The sha512 the file's bytes had when the plan read them (a bag's payload, checked against its
           * manifests): the row stores the file only if its bytes still have it. Absent where the source gives no
           * digest (manifest and CSV rows): those bytes are taken as they are when the row runs.
           */
          sha512: Type.Optional(Type.String({ pattern: '^[0-9a-f]{128}$' })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);
export type BatchRow = Static<typeof BatchRow>;

export const BatchId = Type.String({ pattern: '^b-[0-9a-z-]{6,80}$' });

/**
 * Whom a batch acts for and where its files are, recorded when it starts and read by every row job: the
 * principal's role and organisation (services/archive/access.ts), and the real path of the source folder.
 */
export const BatchContext = Type.Object(
  {
    principal: Type.Object(
      {
        role: Type.Union(
          (['admin', 'archivist', 'contributor', 'researcher', 'anonymous'] as const).map((r) =>
            Type.Literal(r),
          ),
        ),
        organisation: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    root: Type.String({ minLength: 1, maxLength: 8192 }),
  },
  { additionalProperties: false },
);
export type BatchContext = Static<typeof BatchContext>;

/** What happened to a row: `ingested` (new item), `updated` (new version), `skipped` (already so), `failed`. */
export const rowStatuses = ['ingested', 'updated', 'skipped', 'failed'] as const;
export type RowStatus = (typeof rowStatuses)[number];

export const BatchCounts = Type.Object({
  total: Type.Integer(),
  done: Type.Integer(),
  ingested: Type.Integer(),
  updated: Type.Integer(),
  skipped: Type.Integer(),
  failed: Type.Integer(),
  bytes: Type.Integer(),
});
export type BatchCounts = Static<typeof BatchCounts>;

export const BatchView = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('dry-run')]),
  source: Type.Object({ type: Type.String(), path: Type.String(), encoding: Type.Optional(Type.String()) }),
  created: Type.String(),
  finished: Type.Optional(Type.String()),
  by: Type.String(),
  counts: BatchCounts,
  warnings: Type.Array(Type.String()),
  /** Set when the whole source was refused (an invalid bag, an unreadable manifest): nothing was ingested. */
  refused: Type.Optional(Type.String()),
  report: Type.String({ description: 'where the per-row CSV report is served' }),
});
export type BatchView = Static<typeof BatchView>;

/** `POST /v1/batches` (and the workspace's batch form). */
export const StartBatchBody = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "a bag, a folder with a manifest, or a CSV / JSON-lines file: relative to the drop folder (admins, archivists) or to the organisation's folder in it, organisations/<organisation>/ (contributors)",
    }),
    dry_run: Type.Optional(Type.Boolean()),
    kind: Type.Optional(Type.String({ maxLength: 50 })),
    access: Type.Optional(Access),
    mapping: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type StartBatchBodyT = Static<typeof StartBatchBody>;
