import { Type, type Static, type TSchema } from '@sinclair/typebox';
import './formats.ts';

/**
 * Item kinds and their descriptive metadata (DESIGN.md "Data model"): Dublin Core for every kind plus the kind's
 * own fields. Only `title` is required. Unknown keys are refused (`additionalProperties: false`), so a typo in a
 * field name is an error, not silently kept data.
 */
const Text = (max = 4000) => Type.String({ maxLength: max });
const TextOrList = (max = 4000) => Type.Union([Text(max), Type.Array(Text(max), { maxItems: 200 })]);
const Year = Type.Integer({ minimum: -3000, maximum: 3000 });
/**
 * ISO 8601 date or partial date (YYYY, YYYY-MM, YYYY-MM-DD), or an EDTF-like range YYYY/YYYY: the pattern gives the
 * shape, the format (schemas/formats.ts) that the days exist and a range runs forwards.
 */
const ymd = '-?\\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01]))?)?';
const DateText = Type.String({ pattern: `^${ymd}(/${ymd})?$`, format: 'ciku-partial-date', maxLength: 40 });
const Ref = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });

export const dublinCore = {
  title: Type.String({ minLength: 1, maxLength: 1000 }),
  creator: Type.Optional(TextOrList(500)),
  subject: Type.Optional(TextOrList(500)),
  description: Type.Optional(Text(200_000)),
  publisher: Type.Optional(TextOrList(500)),
  contributor: Type.Optional(TextOrList(500)),
  date: Type.Optional(DateText),
  type: Type.Optional(Text(200)),
  format: Type.Optional(Text(200)),
  identifier: Type.Optional(TextOrList(500)),
  source: Type.Optional(TextOrList(1000)),
  language: Type.Optional(TextOrList(50)),
  relation: Type.Optional(TextOrList(1000)),
  coverage: Type.Optional(TextOrList(1000)),
  rights: Type.Optional(Text(4000)),
};

export const regions = ['珠山区', '昌江区', '浮梁县', '乐平市', '昌南新区'] as const;
export const ichCategories = [
  '民间文学',
  '传统音乐',
  '传统舞蹈',
  '传统戏剧',
  '曲艺',
  '传统体育、游艺与杂技',
  '传统美术',
  '传统技艺',
  '传统医药',
  '民俗',
] as const;
const Level = Type.Union(['国家级', '省级', '市级', '县级'].map((l) => Type.Literal(l)));
const Category = Type.Union(ichCategories.map((c) => Type.Literal(c)));

const kindFields = {
  oral_history: {
    interviewee: Type.Optional(Text(200)),
    interviewee_ref: Type.Optional(Ref),
    interviewer: Type.Optional(TextOrList(200)),
    recorded_at: Type.Optional(DateText),
    place: Type.Optional(Text(500)),
    duration: Type.Optional(Type.Number({ minimum: 0 })),
    dialect: Type.Optional(Text(100)),
    consent: Type.Optional(Text(2000)),
  },
  archive_document: {
    reference_code: Type.Optional(Text(200)),
    fonds: Type.Optional(Text(500)),
    year: Type.Optional(Year),
    retention: Type.Optional(Text(100)),
    series: Type.Optional(
      Type.Union(['四有档案', '文物普查', '非遗', '保护工程', '公众参与'].map((s) => Type.Literal(s))),
    ),
    pages: Type.Optional(Type.Integer({ minimum: 0 })),
    ocr_text: Type.Optional(Text(2_000_000)),
  },
  collection_object: {
    museum: Type.Optional(Text(500)),
    accession_number: Type.Optional(Text(200)),
    object_name: Type.Optional(Text(500)),
    period: Type.Optional(Text(200)),
    kiln: Type.Optional(Text(200)),
    ware_type: Type.Optional(Text(200)),
    glaze: Type.Optional(TextOrList(200)),
    decoration: Type.Optional(TextOrList(200)),
    material: Type.Optional(Text(200)),
    dimensions: Type.Optional(Text(500)),
  },
  inheritor: {
    name: Type.Optional(Text(200)),
    gender: Type.Optional(Text(10)),
    birth_year: Type.Optional(Year),
    ethnicity: Type.Optional(Text(50)),
    level: Type.Optional(Level),
    ich_projects: Type.Optional(Type.Array(Text(300), { maxItems: 50 })),
    project_codes: Type.Optional(Type.Array(Text(50), { maxItems: 50 })),
    category: Type.Optional(Category),
    region: Type.Optional(Text(200)),
    province: Type.Optional(Text(100)),
    batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 })),
    biography: Type.Optional(Text(100_000)),
  },
  ich_project: {
    code: Type.Optional(Text(50)),
    name: Type.Optional(Text(300)),
    category: Type.Optional(Category),
    level: Type.Optional(Level),
    batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 })),
    region: Type.Optional(Text(200)),
    province: Type.Optional(Text(100)),
    protection_unit: Type.Optional(Text(500)),
  },
  heritage_site: {
    site_type: Type.Optional(Text(100)),
    coordinates: Type.Optional(
      Type.Object(
        {
          lat: Type.Number({ minimum: -90, maximum: 90 }),
          lon: Type.Number({ minimum: -180, maximum: 180 }),
        },
        { additionalProperties: false },
      ),
    ),
    period: Type.Optional(Text(200)),
    protection_status: Type.Optional(Text(200)),
    region: Type.Optional(Text(200)),
  },
  media: {
    media_type: Type.Optional(Type.Union(['photo', 'video', 'audio'].map((m) => Type.Literal(m)))),
    event: Type.Optional(Text(500)),
    place: Type.Optional(Text(500)),
  },
} as const;

export type ItemKind = keyof typeof kindFields;
export const itemKinds = Object.keys(kindFields) as ItemKind[];

export const metadataSchemas = Object.fromEntries(
  itemKinds.map((kind) => [
    kind,
    Type.Object({ ...dublinCore, ...kindFields[kind] }, { additionalProperties: false }),
  ]),
) as unknown as { [K in ItemKind]: TSchema };

export const AccessLevel = Type.Union([
  Type.Literal('public'),
  Type.Literal('restricted'),
  Type.Literal('private'),
]);
export const Access = Type.Object(
  {
    level: AccessLevel,
    embargo_until: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', format: 'date' })),
    organisation: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type Access = Static<typeof Access>;

export const FileRole = Type.Union([
  Type.Literal('original'),
  Type.Literal('transcript'),
  Type.Literal('supplement'),
]);
export type FileRole = Static<typeof FileRole>;

/**
 * What format identification read from a file's bytes (services/archive/pronom.ts): a format name, its version where
 * the bytes state it (`%PDF-1.7`, `GIF89a`, a JFIF or BWF version field, ODF's `office:version`), the PRONOM
 * identifier where our table has one, and for text the encoding it decodes in. Absent on files stored before
 * identification was recorded, and on bytes nothing identified (those carry a warning event instead).
 */
export const FileFormat = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    puid: Type.Optional(Type.String({ pattern: '^(x-)?fmt/[0-9]{1,5}$' })),
    charset: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  },
  { additionalProperties: false },
);
export type FileFormat = Static<typeof FileFormat>;

export const FileRecord = Type.Object({
  name: Type.String(),
  role: FileRole,
  size: Type.Integer({ minimum: 0 }),
  digests: Type.Object({ sha512: Type.String(), sha256: Type.Optional(Type.String()) }),
  media_type: Type.Optional(Type.String()),
  format: Type.Optional(FileFormat),
  added_in: Type.String(),
});
export type FileRecord = Static<typeof FileRecord>;

export const Tombstone = Type.Object({
  at: Type.String(),
  by: Type.String(),
  reason: Type.Optional(Type.String()),
});

/** The record kept in each object at `ciku/item.json`. */
export const ItemRecord = Type.Object({
  id: Type.String(),
  kind: Type.Union(itemKinds.map((k) => Type.Literal(k))),
  access: Access,
  metadata: Type.Record(Type.String(), Type.Unknown()),
  files: Type.Record(Type.String(), Type.Omit(FileRecord, ['name'])),
  tombstone: Type.Optional(Tombstone),
});
export type ItemRecord = Static<typeof ItemRecord>;

/**
 * An item version as the archive gives it (services/archive/items.ts `ItemView`): the record with its files listed
 * by name and the version's number and dates. The API's answer (schemas/api.ts `ItemView`) is this with each
 * file's technical metadata and derivatives beside it.
 */
export const StoredItem = Type.Object({
  id: Type.String(),
  kind: Type.Union(itemKinds.map((k) => Type.Literal(k))),
  version: Type.String(),
  created: Type.String(),
  updated: Type.String(),
  access: Access,
  metadata: Type.Record(Type.String(), Type.Unknown()),
  files: Type.Array(FileRecord),
  tombstone: Type.Optional(Tombstone),
});
export type StoredItem = Static<typeof StoredItem>;

export const ItemId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });
