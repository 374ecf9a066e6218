import { ichCategories, itemKinds, regions } from '../../schemas/item.ts';
import { AGE_BANDS, type StatKey, type StatQuery } from '../search/aggregate.ts';

/**
 * Every number the statistics give, defined once: what it counts (in words, for the reader of the JSON and of the
 * report) and its query (grouping fields and sums, which each engine compiles: services/search/sqlite-stats.ts,
 * meili-index.ts). Every query counts live items (never tombstoned ones) that the caller may read, created before
 * the end of the year asked for. Rows listed in `fixed` are always present, with 0 when nothing is counted; the
 * other groups follow by count, and the group of items without the field (key null) comes last.
 */

/** The ten national ICH categories and their numerals (国家级非物质文化遗产代表性项目名录). */
export const CATEGORY_CODES: Record<(typeof ichCategories)[number], string> = {
  民间文学: 'Ⅰ',
  传统音乐: 'Ⅱ',
  传统舞蹈: 'Ⅲ',
  传统戏剧: 'Ⅳ',
  曲艺: 'Ⅴ',
  '传统体育、游艺与杂技': 'Ⅵ',
  传统美术: 'Ⅶ',
  传统技艺: 'Ⅷ',
  传统医药: 'Ⅸ',
  民俗: 'Ⅹ',
};

/** The levels the item schemas allow, highest first. */
export const LEVELS = ['国家级', '省级', '市级', '县级'] as const;
export const SERIES = ['四有档案', '文物普查', '非遗', '保护工程', '公众参与'] as const;
export const GENDERS = ['男', '女'] as const;

export const statSections = [
  'items',
  'ich',
  'inheritors',
  'documents',
  'collections',
  'sites',
  'oral_history',
  'preservation',
  'growth',
] as const;
export type StatSection = (typeof statSections)[number];

export interface StatDefinition {
  id: string;
  section: StatSection;
  /** What is counted, in words. */
  definition: string;
  query: StatQuery;
  /** The key columns' names (one per `query.by` field; a category gets its numeral column before it). */
  columns: string[];
  /** The names of the measures: the count, then one per sum. */
  measures: string[];
  /** Rows always shown. */
  fixed?: (year: number) => StatKey[][];
}

const one = (values: readonly StatKey[]) => () => values.map((v) => [v]);
const categories = one(ichCategories);
const levels = one(LEVELS);
const zone = one(regions);
const months = (year: number) =>
  Array.from({ length: 12 }, (_, m) => [`${year}-${String(m + 1).padStart(2, '0')}`]);
const range = (from: number, to: number) => one(Array.from({ length: to - from + 1 }, (_, i) => from + i));

export const STAT_DEFINITIONS: StatDefinition[] = [
  {
    id: 'items_by_kind',
    section: 'items',
    definition: 'Items by kind.',
    query: { source: 'items', by: ['kind'] },
    columns: ['kind'],
    measures: ['items'],
    fixed: one(itemKinds),
  },
  {
    id: 'ich_projects_by_category',
    section: 'ich',
    definition: 'ICH project records (sub-items) by national category (numerals Ⅰ–Ⅹ).',
    query: { source: 'items', kind: 'ich_project', by: ['category'] },
    columns: ['category'],
    measures: ['projects'],
    fixed: categories,
  },
  {
    id: 'ich_projects_by_level',
    section: 'ich',
    definition: 'ICH project records by level of the list they are on.',
    query: { source: 'items', kind: 'ich_project', by: ['level'] },
    columns: ['level'],
    measures: ['projects'],
    fixed: levels,
  },
  {
    id: 'ich_projects_by_category_level',
    section: 'ich',
    definition: 'ICH project records by national category and level (every pair, 0 included).',
    query: { source: 'items', kind: 'ich_project', by: ['category', 'level'] },
    columns: ['category', 'level'],
    measures: ['projects'],
    fixed: () => ichCategories.flatMap((c) => LEVELS.map((l) => [c, l])),
  },
  {
    id: 'ich_projects_by_batch',
    section: 'ich',
    definition: 'ICH project records by batch of the list.',
    query: { source: 'items', kind: 'ich_project', by: ['batch'] },
    columns: ['batch'],
    measures: ['projects'],
    fixed: range(1, 5),
  },
  {
    id: 'ich_projects_by_region',
    section: 'ich',
    definition: "ICH project records by region (the zone's districts always shown).",
    query: { source: 'items', kind: 'ich_project', by: ['region'] },
    columns: ['region'],
    measures: ['projects'],
    fixed: zone,
  },
  {
    id: 'ich_projects_by_province',
    section: 'ich',
    definition: 'ICH project records by province.',
    query: { source: 'items', kind: 'ich_project', by: ['province'] },
    columns: ['province'],
    measures: ['projects'],
  },
  {
    id: 'inheritors_by_level',
    section: 'inheritors',
    definition: 'Inheritors by level.',
    query: { source: 'items', kind: 'inheritor', by: ['level'] },
    columns: ['level'],
    measures: ['inheritors'],
    fixed: levels,
  },
  {
    id: 'inheritors_by_batch',
    section: 'inheritors',
    definition: 'Inheritors by batch of naming.',
    query: { source: 'items', kind: 'inheritor', by: ['batch'] },
    columns: ['batch'],
    measures: ['inheritors'],
    fixed: range(1, 6),
  },
  {
    id: 'inheritors_by_category',
    section: 'inheritors',
    definition: 'Inheritors by the national category of their project.',
    query: { source: 'items', kind: 'inheritor', by: ['category'] },
    columns: ['category'],
    measures: ['inheritors'],
    fixed: categories,
  },
  {
    id: 'inheritors_by_age',
    section: 'inheritors',
    definition: 'Inheritors by age at the end of the year (year − birth year); null: no birth year recorded.',
    query: { source: 'items', kind: 'inheritor', by: ['age_band'] },
    columns: ['age_band'],
    measures: ['inheritors'],
    fixed: one(AGE_BANDS),
  },
  {
    id: 'inheritors_by_gender',
    section: 'inheritors',
    definition: 'Inheritors by gender.',
    query: { source: 'items', kind: 'inheritor', by: ['gender'] },
    columns: ['gender'],
    measures: ['inheritors'],
    fixed: one(GENDERS),
  },
  {
    id: 'inheritors_by_ethnicity',
    section: 'inheritors',
    definition: 'Inheritors by ethnicity (民族).',
    query: { source: 'items', kind: 'inheritor', by: ['ethnicity'] },
    columns: ['ethnicity'],
    measures: ['inheritors'],
  },
  {
    id: 'inheritors_by_region',
    section: 'inheritors',
    definition: "Inheritors by region (the zone's districts always shown).",
    query: { source: 'items', kind: 'inheritor', by: ['region'] },
    columns: ['region'],
    measures: ['inheritors'],
    fixed: zone,
  },
  {
    id: 'inheritors_by_province',
    section: 'inheritors',
    definition: 'Inheritors by province.',
    query: { source: 'items', kind: 'inheritor', by: ['province'] },
    columns: ['province'],
    measures: ['inheritors'],
  },
  {
    id: 'documents_by_series',
    section: 'documents',
    definition: 'Archive documents by series.',
    query: { source: 'items', kind: 'archive_document', by: ['series'] },
    columns: ['series'],
    measures: ['documents'],
    fixed: one(SERIES),
  },
  {
    id: 'documents_by_year',
    section: 'documents',
    definition: 'Archive documents by the year they are of (their year, else their date).',
    query: { source: 'items', kind: 'archive_document', by: ['year'] },
    columns: ['year'],
    measures: ['documents'],
  },
  {
    id: 'objects_by_museum',
    section: 'collections',
    definition: 'Collection objects by museum.',
    query: { source: 'items', kind: 'collection_object', by: ['museum'] },
    columns: ['museum'],
    measures: ['objects'],
  },
  {
    id: 'objects_by_period',
    section: 'collections',
    definition: 'Collection objects by period or dynasty.',
    query: { source: 'items', kind: 'collection_object', by: ['period'] },
    columns: ['period'],
    measures: ['objects'],
  },
  {
    id: 'objects_by_ware_type',
    section: 'collections',
    definition: 'Collection objects by ware type (器型).',
    query: { source: 'items', kind: 'collection_object', by: ['ware_type'] },
    columns: ['ware_type'],
    measures: ['objects'],
  },
  {
    id: 'sites_by_type',
    section: 'sites',
    definition: 'Heritage sites by type.',
    query: { source: 'items', kind: 'heritage_site', by: ['site_type'] },
    columns: ['site_type'],
    measures: ['sites'],
  },
  {
    id: 'sites_by_protection',
    section: 'sites',
    definition: 'Heritage sites by protection status.',
    query: { source: 'items', kind: 'heritage_site', by: ['protection_status'] },
    columns: ['protection_status'],
    measures: ['sites'],
  },
  {
    id: 'oral_history',
    section: 'oral_history',
    definition:
      'Oral-history interviews, the hours recorded (sum of their durations) and how many have a time-coded transcript file.',
    query: { source: 'items', kind: 'oral_history', by: [], sums: ['seconds', 'transcribed'] },
    columns: [],
    measures: ['interviews', 'recorded_seconds', 'with_transcript'],
  },
  {
    id: 'files_by_kind',
    section: 'preservation',
    definition: "Files of the items' current versions and their bytes, by item kind.",
    query: { source: 'files', by: ['kind'], sums: ['bytes'] },
    columns: ['kind'],
    measures: ['files', 'bytes'],
    fixed: one(itemKinds),
  },
  {
    id: 'files_by_format',
    section: 'preservation',
    definition: 'Files and bytes by detected format (media type); null: not identified.',
    query: { source: 'files', by: ['media_type'], sums: ['bytes'] },
    columns: ['media_type'],
    measures: ['files', 'bytes'],
  },
  {
    id: 'documents_ocr',
    section: 'preservation',
    definition: 'Archive documents, and those with OCR text.',
    query: { source: 'items', kind: 'archive_document', by: [], sums: ['ocr'] },
    columns: [],
    measures: ['documents', 'with_ocr'],
  },
  {
    id: 'growth_by_month',
    section: 'growth',
    definition:
      'Items added per month (by their first version) and the bytes their current versions hold; every month of the year shown.',
    query: { source: 'items', by: ['created_month'], sums: ['bytes'] },
    columns: ['month'],
    measures: ['items', 'bytes'],
    fixed: months,
  },
];
