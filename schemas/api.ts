import { Technical } from './technical.ts';
import { Type, type Static } from '@sinclair/typebox';
import { PremisEvent } from './event.ts';
import { FileRecord, FileRole, StoredItem, itemKinds } from './item.ts';

/** Request and response shapes of the REST API (`/v1`). */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ pattern: '^CIKU_ERR_' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'Error' },
);

/** The coded 4xx answers a route may give, for its response schemas. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  410: ErrorBody,
  412: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  416: ErrorBody,
};

export const ItemIdParam = Type.Object({ id: Type.String({ maxLength: 200 }) });
export const FileParams = Type.Object({
  id: Type.String({ maxLength: 200 }),
  name: Type.String({ maxLength: 2000 }),
});
export const VersionQuery = Type.Object({
  version: Type.Optional(Type.String({ pattern: '^v[1-9][0-9]{0,8}$' })),
});

/** A file of an item version, with what the workers read and made from its bytes. */
export const ItemFileView = Type.Composite([
  FileRecord,
  Type.Object({
    technical: Type.Optional(Technical),
    warnings: Type.Optional(Type.Array(Type.String())),
    derivatives: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({
          status: Type.Union([Type.Literal('ready'), Type.Literal('pending'), Type.Literal('failed')]),
          reason: Type.Optional(Type.String()),
        }),
      ),
    ),
  }),
]);

/** An item version as the API answers it: the archive's item (schemas/item.ts StoredItem), files with derivatives. */
export const ItemView = Type.Composite(
  [Type.Omit(StoredItem, ['files']), Type.Object({ files: Type.Array(ItemFileView) })],
  { $id: 'Item' },
);
export type ItemViewT = Static<typeof ItemView>;

export const CreateItemBody = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 128 })),
    kind: Type.String({ maxLength: 64 }),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    access: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type CreateItemBody = Static<typeof CreateItemBody>;

export const PatchItemBody = Type.Object(
  {
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    access: Type.Optional(Type.Unknown()),
    rename: Type.Optional(
      Type.Array(Type.Object({ from: Type.String(), to: Type.String() }, { additionalProperties: false }), {
        maxItems: 1000,
      }),
    ),
    remove: Type.Optional(Type.Array(Type.String(), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type PatchItemBody = Static<typeof PatchItemBody>;

export const ItemList = Type.Object({
  items: Type.Array(ItemView),
  /** The cursor of the next page (absent on the last one). */
  next: Type.Optional(Type.String()),
});

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  /** `next` of the previous page (opaque; valid for the same `sort`). */
  cursor: Type.Optional(Type.String({ maxLength: 400 })),
  kind: Type.Optional(Type.Union(itemKinds.map((k) => Type.Literal(k)))),
  /** `id` (default: stable under concurrent writes), `updated` (oldest change first), `-updated` (newest first). */
  sort: Type.Optional(
    Type.Union([Type.Literal('id'), Type.Literal('updated'), Type.Literal('-updated')], { default: 'id' }),
  ),
});

export type ListQueryT = Static<typeof ListQuery>;

export const VersionList = Type.Object({
  versions: Type.Array(
    Type.Object({
      version: Type.String(),
      created: Type.String(),
      message: Type.String(),
      user: Type.Object({ name: Type.String(), address: Type.String() }),
    }),
  ),
});

export const EventList = Type.Object({ events: Type.Array(PremisEvent) });

export const UploadResult = Type.Object({
  item: ItemView,
  files: Type.Array(ItemFileView),
  /** true when the content was already in the item and no new version was made. */
  existing: Type.Boolean(),
});

/** `ok`, or `starting` while `ciku start` prepares the archive (recovery, demo data, the first index build). */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('starting')]),
  stage: Type.Optional(Type.String()),
  progress: Type.Optional(Type.Object({ done: Type.Integer(), total: Type.Integer() })),
});
export type HealthT = Static<typeof Health>;
export const Ready = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Record(
    Type.String(),
    Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) }),
  ),
});

export const RoleFileQuery = Type.Object({
  role: Type.Optional(FileRole),
});
