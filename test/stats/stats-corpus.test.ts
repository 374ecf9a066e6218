import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import type { Access } from '../../schemas/item.ts';
import { corpusDir, corpusItems } from '../../scripts/corpus/ich-corpus.ts';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { readScope, type Principal } from '../../services/archive/access.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { createStatsService, type StatsAnswer, type StatTable } from '../../services/stats/stats.ts';
import { skipUnlessShared, tempDir } from '../helpers/env.ts';
import { fill } from '../search/relevance.ts';

/**
 * The statistics over the national ICH lists (../shared/corpus): every count equals the one computed here from the
 * CSV files themselves (not from the item mapping the archive was filled with), zero rows included; anonymous
 * counts equal the search facets anonymous gets; hidden items added later move no public number.
 */

type Row = Record<string, string>;
const csv = (file: string) =>
  parse<Row>(readFileSync(path.join(corpusDir, file)), { columns: true, skip_empty_lines: true });

// Written out here, not imported: the test checks the definitions' zero rows, it does not share them.
const CATEGORIES = [
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
];
const NUMERALS = ['Ⅰ', 'Ⅱ', 'Ⅲ', 'Ⅳ', 'Ⅴ', 'Ⅵ', 'Ⅶ', 'Ⅷ', 'Ⅸ', 'Ⅹ'];
const LEVELS = ['国家级', '省级', '市级', '县级'];
const ZONE = ['珠山区', '昌江区', '浮梁县', '乐平市', '昌南新区'];
const AGE = ['80+', '70-79', '60-69', '40-59', 'under-40'];

/** The access the corpus items get (by their row in their own file), as the ich-corpus mapping calls it. */
function accessFor(_id: string, i: number): Access {
  if (i % 5 === 1) return { level: 'restricted' };
  if (i % 7 === 2) return { level: 'private', organisation: '某博物馆' };
  if (i % 11 === 3) return { level: 'public', embargo_until: '2999-12-31' };
  return { level: 'public' };
}
const anonymousMay = (i: number) => i % 5 !== 1 && i % 7 !== 2 && i % 11 !== 3;

/** key → count, zero for each fixed key, null for an empty value. */
function count(rows: Row[], key: (r: Row) => string | number | null, fixed: (string | number)[] = []) {
  const out = new Map<string, number>(fixed.map((k) => [JSON.stringify([k]), 0]));
  for (const r of rows) {
    const k = JSON.stringify([key(r)]);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const blank = (s: string | undefined) => (s === undefined || s === '' ? null : s);

/** A table as key → count (the first measure), the numeral column left out. */
function counts(table: StatTable): Map<string, number> {
  const skip = table.columns.indexOf('code');
  const keys = table.keys - (skip >= 0 ? 1 : 0);
  return new Map(
    table.rows.map((r) => {
      const cells = r.filter((_, i) => i !== skip);
      return [JSON.stringify(cells.slice(0, keys)), cells[keys] as number];
    }),
  );
}

function table(answer: StatsAnswer, id: string): StatTable {
  const found = answer.tables.find((x) => x.id === id);
  if (!found) throw new Error(`no table ${id}`);
  return found;
}

function age(r: Row): string | null {
  if (!r.birth_year) return null;
  const a = 2026 - Number(r.birth_year);
  return a >= 80 ? '80+' : a >= 70 ? '70-79' : a >= 60 ? '60-69' : a >= 40 ? '40-59' : 'under-40';
}

/** Every table the test can recompute from the CSV rows it is given (those the caller may read). */
function expected(projects: Row[], inheritors: Row[]): Record<string, Map<string, number>> {
  const catLevel = new Map<string, number>();
  for (const c of CATEGORIES) for (const l of LEVELS) catLevel.set(JSON.stringify([c, l]), 0);
  for (const r of projects) {
    const k = JSON.stringify([r.category, '国家级']);
    catLevel.set(k, catLevel.get(k)! + 1);
  }
  return {
    ich_projects_by_category: count(projects, (r) => r.category!, CATEGORIES),
    ich_projects_by_level: count(projects, () => '国家级', LEVELS),
    ich_projects_by_category_level: catLevel,
    ich_projects_by_batch: count(projects, (r) => Number(r.batch_no), [1, 2, 3, 4, 5]),
    ich_projects_by_region: count(projects, (r) => blank(r.declaring_region_or_unit), ZONE),
    ich_projects_by_province: count(projects, (r) => blank(r.province)),
    inheritors_by_level: count(inheritors, () => '国家级', LEVELS),
    inheritors_by_batch: count(inheritors, (r) => Number(r.batch_no), [1, 2, 3, 4, 5, 6]),
    inheritors_by_category: count(inheritors, (r) => r.category!, CATEGORIES),
    inheritors_by_age: count(inheritors, age, AGE),
    inheritors_by_gender: count(inheritors, (r) => blank(r.gender), ['男', '女']),
    inheritors_by_ethnicity: count(inheritors, (r) => blank(r.ethnicity)),
    inheritors_by_region: count(inheritors, (r) => blank(r.region), ZONE),
    inheritors_by_province: count(inheritors, (r) => blank(r.province)),
  };
}

const admin: Principal = { role: 'admin' };
const anon: Principal = { role: 'anonymous' };

t.test(
  'the statistics of the national lists equal the counts computed from the CSV files',
  { skip: skipUnlessShared('corpus/ich_national_projects.csv') },
  async (t) => {
    const projects = csv('ich_national_projects.csv');
    const inheritors = csv('ich_national_inheritors.csv');
    t.equal(projects.length, 3610);
    t.equal(inheritors.length, 3995);
    const clock = () => new Date('2026-12-03T00:00:00Z');
    const search = createSqliteIndex({ dir: tempDir(t), clock });
    t.teardown(() => search.close());
    const items = corpusItems({ access: accessFor });
    for (const it of items) await search.putItem(it);
    await fill(search, items);
    const stats = createStatsService({ search, blobs: await createFsBlobStore(tempDir(t)), clock });

    const all = await stats.compute(admin, { year: 2026 });
    t.equal(all.scope, 'all');
    for (const [id, want] of Object.entries(expected(projects, inheritors)))
      t.same(Object.fromEntries(counts(table(all, id))), Object.fromEntries(want), `admin: ${id}`);
    t.same(
      table(all, 'ich_projects_by_category').rows.map((r) => r[0]),
      NUMERALS,
      'the ten categories in order, each with its numeral',
    );
    t.equal(counts(table(all, 'ich_projects_by_category_level')).size, 40, 'every category × level pair');
    const kinds = counts(table(all, 'items_by_kind'));
    t.equal(kinds.get('["ich_project"]'), 3610);
    t.equal(kinds.get('["inheritor"]'), 3995);
    t.equal(kinds.get('["oral_history"]'), 0, 'a kind with no item shows 0');
    const growth = counts(table(all, 'growth_by_month'));
    t.equal(growth.get('["2026-01"]'), 7605);
    t.equal(growth.get('["2026-12"]'), 0);
    t.equal(growth.size, 12);

    const before = await stats.compute(admin, { year: 2025 });
    t.equal(
      counts(table(before, 'items_by_kind')).get('["ich_project"]'),
      0,
      'nothing existed by the end of 2025',
    );

    const pub = await stats.compute(anon, { year: 2026 });
    t.equal(pub.scope, 'public');
    const visibleP = projects.filter((_, i) => anonymousMay(i));
    const visibleI = inheritors.filter((_, i) => anonymousMay(i));
    t.ok(visibleP.length < 3000 && visibleI.length < 3300, 'many records are hidden from anonymous');
    for (const [id, want] of Object.entries(expected(visibleP, visibleI)))
      t.same(Object.fromEntries(counts(table(pub, id))), Object.fromEntries(want), `anonymous: ${id}`);
    t.notOk(
      pub.tables.some((x) => x.id.startsWith('fixity')),
      'the store-wide fixity numbers are for staff only',
    );

    // What anonymous finds through search facets, field by field.
    const scope = readScope(anon, clock());
    const pairs: [string, 'ich_project' | 'inheritor', 'category' | 'level' | 'batch' | 'province'][] = [
      ['ich_projects_by_category', 'ich_project', 'category'],
      ['ich_projects_by_level', 'ich_project', 'level'],
      ['ich_projects_by_batch', 'ich_project', 'batch'],
      ['ich_projects_by_province', 'ich_project', 'province'],
      ['inheritors_by_category', 'inheritor', 'category'],
      ['inheritors_by_batch', 'inheritor', 'batch'],
      ['inheritors_by_province', 'inheritor', 'province'],
    ];
    for (const [id, kind, field] of pairs) {
      const answer = await search.search({
        q: '',
        filters: { kind: [kind] },
        facets: [field],
        sort: 'relevance',
        page: 1,
        limit: 1,
        scope,
      });
      const fromStats = Object.fromEntries(
        [...counts(table(pub, id))]
          .filter(([k, n]) => n > 0 && (JSON.parse(k) as unknown[])[0] !== null)
          .map(([k, n]) => [String((JSON.parse(k) as unknown[])[0]), n]),
      );
      t.same(fromStats, answer.facets[field], `anonymous ${id} = the search facet ${field}`);
    }

    // Hidden items of every kind, with files, added: no public number moves, the staff's do.
    const hidden: ItemView[] = [
      { level: 'restricted' as const },
      { level: 'private' as const, organisation: '某博物馆' },
      { level: 'public' as const, embargo_until: '2999-01-01' },
    ].flatMap((access, a) =>
      (
        [
          'ich_project',
          'inheritor',
          'oral_history',
          'archive_document',
          'collection_object',
          'heritage_site',
        ] as const
      ).map((kind, k): ItemView => ({
        id: `hidden-${a}-${k}`,
        kind,
        version: 'v1',
        created: '2026-06-01T00:00:00.000Z',
        updated: '2026-06-01T00:00:00.000Z',
        access,
        metadata: {
          title: '隐',
          category: '民俗',
          level: '省级',
          region: '珠山区',
          gender: '女',
          birth_year: 1930,
          series: '非遗',
          museum: '某博物馆',
          duration: 3600,
        },
        files: [
          {
            name: 'a.tif',
            role: 'original',
            size: 1000,
            digests: { sha512: 'x' },
            media_type: 'image/tiff',
            added_in: 'v1',
          },
        ],
      })),
    );
    for (const it of hidden) await search.putItem(it);
    const pubAfter = await stats.compute(anon, { year: 2026 });
    t.same(pubAfter.tables, pub.tables, 'hidden items move no public number');
    const allAfter = await stats.compute(admin, { year: 2026 });
    t.equal(counts(table(allAfter, 'ich_projects_by_level')).get('["省级"]'), 3, 'staff count them');
    t.equal(counts(table(allAfter, 'growth_by_month')).get('["2026-06"]'), 18);
    const files = counts(table(allAfter, 'files_by_format'));
    t.equal(files.get('["image/tiff"]'), 18);
    const own = await stats.compute({ role: 'contributor', organisation: '某博物馆' }, { year: 2026 });
    t.equal(own.scope, 'organisation');
    t.equal(
      counts(table(own, 'ich_projects_by_level')).get('["省级"]'),
      1,
      "a contributor counts its organisation's private item, not the others'",
    );
  },
);
