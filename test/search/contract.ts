import type { Test } from 'tap';
import type { Access } from '../../schemas/item.ts';
import type { SearchFiltersT } from '../../schemas/search.ts';
import { canRead, readScope, type Principal, type ReadScope } from '../../services/archive/access.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { buildDocuments, type TranscriptSegments } from '../../services/search/documents.ts';
import { compareKeys } from '../../services/search/catalogue.ts';
import {
  listSorts,
  type ChangesRequest,
  type ListRequest,
  type ListSort,
  type SearchIndex,
  type SearchRequest,
} from '../../services/search/search-index.ts';

/**
 * The SearchIndex contract: every engine (sqlite here, Meilisearch when MEILI_URL is set) passes these. Items are
 * small hand-written records in the archive's own shapes, built into documents by the same code the indexer uses.
 */

export function item(
  id: string,
  kind: ItemView['kind'],
  metadata: Record<string, unknown>,
  access: Access = { level: 'public' },
  options: { version?: string; media?: boolean } = {},
): ItemView {
  return {
    id,
    kind,
    version: options.version ?? 'v1',
    created: '2026-01-01T00:00:00Z',
    updated: '2026-01-01T00:00:00Z',
    access,
    metadata,
    files: options.media
      ? [{ name: 'a.jpg', role: 'original', size: 1, digests: { sha512: 'x' }, added_in: 'v1' }]
      : [],
  };
}

export const sample: { item: ItemView; transcripts?: TranscriptSegments[] }[] = [
  {
    item: item('P-1', 'ich_project', {
      title: '景德镇手工制瓷技艺',
      code: 'Ⅷ-7',
      category: '传统技艺',
      level: '国家级',
      batch: 1,
      date: '2006',
      region: '江西省景德镇市',
      province: '江西省',
      description: '景德镇手工制瓷技艺包括拉坯、利坯、施釉、青花绘画与柴窑烧成，待处理的坯体要晾干。',
    }),
  },
  {
    item: item('P-2', 'ich_project', {
      title: '宜兴紫砂陶制作技艺',
      code: 'Ⅷ-8',
      category: '传统技艺',
      level: '国家级',
      batch: 1,
      date: '2006',
      province: '江苏省',
      description: '紫砂壶以宜兴丁蜀镇的紫砂泥制成，不施釉。',
    }),
  },
  {
    item: item('P-3', 'ich_project', {
      title: '昆曲',
      category: '传统戏剧',
      level: '国家级',
      batch: 1,
      date: '2006',
      province: '江苏省',
      description: '昆曲发源于苏州昆山，以曲词典雅著称。',
    }),
  },
  {
    item: item(
      'I-1',
      'inheritor',
      {
        title: '涂金水',
        name: '涂金水',
        gender: '男',
        birth_year: 1950,
        category: '传统技艺',
        level: '国家级',
        province: '江西省',
        region: '江西省景德镇市',
        ich_projects: ['景德镇手工制瓷技艺'],
        biography: '涂金水，景德镇人，擅长青花料的配制与烧窑。',
      },
      { level: 'public' },
    ),
  },
  {
    item: item(
      'C-1',
      'collection_object',
      {
        title: '清乾隆青花缠枝莲纹瓶',
        museum: '景德镇中国陶瓷博物馆',
        period: '清',
        date: '1750',
        kiln: '御窑厂',
        glaze: ['青花'],
        description: '景德鎮御窯廠燒造，青花發色濃艷。',
      },
      { level: 'restricted' },
      { media: true },
    ),
  },
  {
    item: item(
      'C-2',
      'collection_object',
      { title: '明成化斗彩鸡缸杯', museum: '景德镇御窑博物馆', period: '明', date: '1470' },
      { level: 'private', organisation: '景德镇御窑博物馆' },
      { media: true },
    ),
  },
  {
    item: item(
      'C-3',
      'collection_object',
      { title: '粉彩过枝桃纹盘', museum: '景德镇御窑博物馆', period: '清', date: '1730' },
      { level: 'public', embargo_until: '2999-01-01' },
      { media: true },
    ),
  },
  {
    item: item('S-1', 'heritage_site', {
      title: '湖田窑址',
      site_type: '窑址',
      region: '珠山区',
      coordinates: { lat: 29.2636, lon: 117.2337 },
      period: '宋',
    }),
  },
  {
    item: item('S-2', 'heritage_site', {
      title: '高岭土矿遗址',
      site_type: '窑址',
      region: '浮梁县',
      coordinates: { lat: 29.6, lon: 117.52 },
    }),
  },
  {
    item: item('O-1', 'oral_history', {
      title: '老窑工口述：烧窑的一天',
      interviewee: '涂金水',
      recorded_at: '2021-05-03',
      place: '景德镇',
    }),
    transcripts: [
      {
        file: 'interview.vtt',
        segments: [
          { start: 0, end: 4.5, speaker: '采访者', text: '您是哪一年开始学烧窑的？' },
          { start: 4.5, end: 12, speaker: '涂金水', text: '十四岁就跟师傅满窑，那时候用的是松柴。' },
          { start: 12, end: 20, speaker: '涂金水', text: '看火候全凭眼睛，青花的发色就看这一下。' },
        ],
      },
    ],
  },
];

/**
 * A national project titled exactly 景德镇手工制瓷技艺 with a short record, a title that starts with it, and
 * inheritors whose titles have it in the middle and whose long biographies repeat it (what bm25 alone favours).
 */
export function titleRankingSample(): { item: ItemView }[] {
  const craft = '景德镇手工制瓷技艺';
  const out: { item: ItemView }[] = [
    {
      item: item('T-EXACT', 'ich_project', {
        title: craft,
        code: 'Ⅷ-7',
        category: '传统技艺',
        level: '国家级',
        // A national record reads like one: a description of its own words, the name said once.
        description:
          '第一批国家级非物质文化遗产代表性项目，包括拉坯、利坯、画坯、施釉、满窑与烧窑等七十二道工序。'.repeat(
            6,
          ),
      }),
    },
    {
      item: item('T-START', 'archive_document', {
        title: `${craft}·满窑工序记录`,
        description: `满窑是${craft}的一道工序。`,
      }),
    },
    {
      item: item('T-KILN', 'archive_document', {
        title: '满窑技艺口述整理',
        description: '窑工讲述装坯入窑的要领：匣钵的排列、火路的留法与不同釉色的位置。'.repeat(30),
      }),
    },
  ];
  const names = [
    '胡长青',
    '黄德昌',
    '黄承德',
    '杨秀英',
    '张丽华',
    '陈丽华',
    '赵玉珍',
    '王志明',
    '周承德',
    '吴德昌',
    '李国华',
    '刘桂兰',
    '孙春生',
  ];
  names.forEach((name, i) => {
    out.push({
      item: item(`T-IN-${String(i).padStart(2, '0')}`, 'inheritor', {
        title: `${name}（${craft}·满窑技艺）`,
        name,
        ich_projects: [craft],
        biography: `${name}，${craft}代表性传承人。`.repeat(12) + `精通满窑技艺，传承${craft}五十余年。`,
      }),
    });
  });
  return out;
}

export async function load(index: SearchIndex, entries = sample): Promise<void> {
  for (const e of entries) {
    const { doc, segments } = buildDocuments(e.item, e.transcripts ?? []);
    await index.put(doc, segments);
  }
}

export const all: ReadScope = { all: true };

export function req(q: string, more: Partial<SearchRequest> = {}): SearchRequest {
  return { q, filters: {}, facets: [], sort: 'relevance', page: 1, limit: 20, scope: all, ...more };
}

async function ids(index: SearchIndex, q: string, more: Partial<SearchRequest> = {}): Promise<string[]> {
  return (await index.search(req(q, more))).hits.map((h) => h.id);
}

const principals: [string, Principal][] = [
  ['admin', { role: 'admin' }],
  ['archivist', { role: 'archivist' }],
  ['contributor (御窑博物馆)', { role: 'contributor', organisation: '景德镇御窑博物馆' }],
  ['contributor (other)', { role: 'contributor', organisation: '别的博物馆' }],
  ['researcher', { role: 'researcher' }],
  ['anonymous', { role: 'anonymous' }],
];

export function contract(t: Test, name: string, open: (t: Test) => Promise<SearchIndex>): void {
  t.test(`${name}: Chinese matching`, async (t) => {
    const index = await open(t);
    await load(index);
    t.same(await ids(index, '景德镇手工制瓷技艺'), ['P-1', 'I-1'], 'a project name: the project first');
    t.ok((await ids(index, '处理')).includes('P-1'), 'a two-character infix (处理 in 待处理)');
    t.ok((await ids(index, '窑')).includes('S-1'), 'a single character');
    t.ok((await ids(index, '景德鎮御窯廠')).includes('C-1'), 'traditional query, traditional record');
    t.ok((await ids(index, '御窑厂')).includes('C-1'), 'simplified query, traditional record');
    t.ok((await ids(index, '景德鎮手工製瓷技藝')).includes('P-1'), 'traditional query, simplified record');
    t.ok((await ids(index, 'ＶＩＩＩ－７')).includes('P-1'), 'full-width Latin and Roman numerals fold');
    t.same((await ids(index, 'Tu Jinshui'))[0], 'I-1', 'a pinyin name');
    t.ok((await ids(index, 'jingdezhen')).includes('P-1'), 'pinyin of a place');
    t.same(await ids(index, '量子计算机'), [], 'nothing for what is not there');
    t.same(await ids(index, 'jingdian'), [], 'pinyin is not used for Chinese and finds no 经典/景点 here');
    t.notOk((await ids(index, '景点')).includes('P-1'), 'a Chinese query does not match by sound');
    t.same(await ids(index, '紫砂 宜兴'), ['P-2'], 'words anywhere in the record, AND');
    t.same(await ids(index, '紫砂 昆曲'), [], 'AND: no record has both');
    t.same(
      (await ids(index, '涂金水')).sort(),
      ['I-1', 'O-1'],
      'a run must occur as written while it occurs…',
    );
    t.ok(
      (await ids(index, '景德镇的青花')).includes('P-1'),
      '…and is relaxed to its words when it occurs nowhere',
    );
  });

  t.test(`${name}: a title that is the query ranks first, then titles that start with it`, async (t) => {
    const index = await open(t);
    await load(index, titleRankingSample());
    const first = async (q: string) => (await ids(index, q))[0];
    t.equal(await first('景德镇手工制瓷技艺'), 'T-EXACT', 'the record titled exactly the query is hit 1');
    t.equal(await first('景德鎮手工製瓷技藝'), 'T-EXACT', 'also for the query in traditional script');
    t.equal(await first('  景德镇手工制瓷技艺 '), 'T-EXACT', 'and with spaces around it');
    const top = await ids(index, '景德镇手工制瓷技艺');
    t.equal(top.indexOf('T-START'), 1, 'a title that starts with the query comes next');
    t.ok(
      top.slice(2).every((id) => id.startsWith('T-IN-')),
      'then the titles that have it in the middle',
    );
    t.equal(
      await first('满窑技艺'),
      'T-KILN',
      'a title that starts with the query beats one that has it in the middle',
    );
  });

  t.test(`${name}: highlights`, async (t) => {
    const index = await open(t);
    await load(index);
    const res = await index.search(req('青花', { filters: { kind: ['collection_object'] } }));
    const hit = res.hits.find((h) => h.id === 'C-1');
    t.ok(hit, 'found');
    t.equal(hit!.highlights.title, '清乾隆<mark>青花</mark>缠枝莲纹瓶');
    t.match(hit!.highlights.text, /<mark>青花<\/mark>發色/, 'traditional text marked for a simplified query');
    const esc = await index.search(req('紫砂'));
    t.notMatch(JSON.stringify(esc.hits), /<(?!\/?mark>)/, 'only <mark> tags in highlights');
  });

  t.test(`${name}: filters, facets, sorting, paging`, async (t) => {
    const index = await open(t);
    await load(index);
    const f = (filters: SearchFiltersT) => ids(index, '', { filters, sort: 'title' });
    t.same((await f({ kind: ['heritage_site'] })).sort(), ['S-1', 'S-2']);
    t.same((await f({ category: ['传统戏剧'] })).sort(), ['P-3']);
    t.same((await f({ province: ['江苏省'] })).sort(), ['P-2', 'P-3']);
    t.same((await f({ region: ['珠山区'] })).sort(), ['S-1']);
    t.same((await f({ museum: ['景德镇御窑博物馆'] })).sort(), ['C-2', 'C-3']);
    t.same((await f({ period: ['清'] })).sort(), ['C-1', 'C-3']);
    t.same((await f({ batch: [1], level: ['国家级'], kind: ['ich_project'] })).sort(), ['P-1', 'P-2', 'P-3']);
    t.same((await f({ year_from: 1700, year_to: 1800 })).sort(), ['C-1', 'C-3']);
    t.same((await f({ has_media: true })).sort(), ['C-1', 'C-2', 'C-3']);
    t.same(await f({ near: { lat: 29.27, lon: 117.23, radius_km: 5 } }), ['S-1'], 'within 5 km of 湖田');
    t.same((await f({ near: { lat: 29.27, lon: 117.23, radius_km: 50 } })).sort(), ['S-1', 'S-2']);
    t.same(await f({ bbox: [117.4, 29.5, 117.6, 29.7] }), ['S-2'], 'bounding box');
    t.same(await f({ kind: [] }), [], 'an empty value list matches nothing');

    const faceted = await index.search(req('景德镇', { facets: ['kind', 'category', 'has_media'] }));
    t.equal(faceted.total, faceted.hits.length);
    const kinds = Object.values(faceted.facets.kind ?? {}).reduce((a, b) => a + b, 0);
    t.equal(kinds, faceted.total, 'kind counts add up to the total');
    t.same(faceted.facets.category, { 传统技艺: 2 }, 'category counts');

    const byDate = await ids(index, '', { filters: { kind: ['collection_object'] }, sort: 'date' });
    t.same(byDate, ['C-2', 'C-3', 'C-1'], 'date ascending');
    t.same(await ids(index, '', { filters: { kind: ['collection_object'] }, sort: '-date' }), [
      'C-1',
      'C-3',
      'C-2',
    ]);
    const titles = await ids(index, '', { filters: { kind: ['ich_project'] }, sort: 'title' });
    t.same(titles, ['P-1', 'P-3', 'P-2'], 'title by pinyin: jing… kun… yi…');
    const p1 = await index.search(req('', { sort: 'title', limit: 3, page: 1 }));
    const p2 = await index.search(req('', { sort: 'title', limit: 3, page: 2 }));
    t.equal(p1.total, sample.length);
    t.same(new Set([...p1.hits, ...p2.hits].map((h) => h.id)).size, 6, 'pages do not overlap');
  });

  t.test(`${name}: access is applied inside the engine (hits, totals, facets, segments)`, async (t) => {
    const index = await open(t);
    await load(index);
    const now = new Date('2026-06-01T00:00:00Z');
    for (const [label, p] of principals) {
      const scope = readScope(p, now);
      const visible = sample.filter((e) => canRead(p, e.item.access, now)).map((e) => e.item.id);
      const res = await index.search(
        req('', { scope, facets: ['kind', 'museum'], limit: 100, sort: 'title' }),
      );
      t.same(res.hits.map((h) => h.id).sort(), visible.sort(), `${label}: exactly the readable items`);
      t.equal(res.total, visible.length, `${label}: total`);
      const museums = Object.values(res.facets.museum ?? {}).reduce((a, b) => a + b, 0);
      const wantMuseums = sample.filter((e) => visible.includes(e.item.id) && e.item.metadata.museum).length;
      t.equal(museums, wantMuseums, `${label}: facet counts`);
    }
    const anon = readScope({ role: 'anonymous' }, now);
    t.notOk(
      (await ids(index, '青花', { scope: anon })).includes('C-1'),
      'restricted item hidden from anonymous',
    );
    t.ok((await ids(index, '青花', { scope: readScope({ role: 'researcher' }, now) })).includes('C-1'));
    const embargoLifted = readScope({ role: 'anonymous' }, new Date('3000-01-01T00:00:00Z'));
    t.ok((await ids(index, '粉彩', { scope: embargoLifted })).includes('C-3'), 'embargo ends on its date');
    t.same(await ids(index, '粉彩', { scope: anon }), [], 'embargoed: hidden before');
  });

  t.test(`${name}: transcript segments with timecodes, grouped by item`, async (t) => {
    const index = await open(t);
    await load(index);
    const seg = await index.searchSegments({ q: '烧窑', page: 1, limit: 10, scope: all });
    t.same(
      seg.items.map((i) => i.id),
      ['O-1'],
    );
    t.same(
      seg.items[0]!.segments.map((s) => [s.start, s.end, s.speaker]),
      [[0, 4.5, '采访者']],
      'the moment the word is spoken',
    );
    t.equal(seg.items[0]!.segments[0]!.text, '您是哪一年开始学<mark>烧窑</mark>的？');
    const bySpeaker = await index.searchSegments({
      q: '窑',
      speaker: '涂金水',
      page: 1,
      limit: 10,
      scope: all,
    });
    t.same(
      bySpeaker.items[0]!.segments.map((s) => s.start),
      [4.5],
    );
    const inItem = await index.searchSegments({ q: '青花', item: 'O-1', page: 1, limit: 10, scope: all });
    t.same(
      inItem.items[0]!.segments.map((s) => s.start),
      [12],
    );
    t.equal(
      (await index.searchSegments({ q: '青花', item: 'P-1', page: 1, limit: 10, scope: all })).total,
      0,
    );
    // The interview itself is found by what is said in it, with its moments.
    const res = await index.search(req('松柴'));
    t.same(
      res.hits.map((h) => h.id),
      ['O-1'],
    );
    t.same(
      res.hits[0]!.moments?.map((m) => m.start),
      [4.5],
      'moments attached to the hit',
    );
    // Access: the same item made private disappears from segment search for anonymous.
    const hidden = { ...sample.find((e) => e.item.id === 'O-1')! };
    hidden.item = { ...hidden.item, access: { level: 'private' } };
    await load(index, [hidden]);
    const anon = readScope({ role: 'anonymous' }, new Date());
    t.equal((await index.searchSegments({ q: '烧窑', page: 1, limit: 10, scope: anon })).total, 0);
  });

  t.test(`${name}: writes replace, removes remove, versions are recorded`, async (t) => {
    const index = await open(t);
    await load(index);
    const before = await index.stats();
    t.equal(before.documents, sample.length);
    t.equal(await index.count(), sample.length, 'count agrees with stats');
    t.equal(before.segments, 3);
    await load(index);
    t.same(await index.stats(), before, 'putting the same items again changes nothing');
    const changed = item('P-3', 'ich_project', { title: '昆曲（苏州）', category: '传统戏剧' }, undefined, {
      version: 'v2',
    });
    await load(index, [{ item: changed }]);
    t.equal(await index.indexedVersion('P-3'), 'v2');
    t.same(await ids(index, '昆曲'), ['P-3'], 'one document per item, the new one');
    t.notSame((await index.stats()).contentHash, before.contentHash, 'the content hash notices');
    await index.remove('O-1');
    t.same(await ids(index, '松柴'), []);
    t.equal((await index.stats()).segments, 0, 'segments went with their item');
    t.equal(await index.indexedVersion('O-1'), undefined);
    t.equal(await index.count(), sample.length - 1, 'count after a removal');
    await index.remove('NOT-THERE');
  });

  t.test(`${name}: a rebuild is invisible until committed, then replaces the index at once`, async (t) => {
    const index = await open(t);
    await load(index);
    const rebuild = await index.rebuild();
    const { doc, segments } = buildDocuments(item('N-1', 'media', { title: '新的记录' }));
    await rebuild.put(doc, segments);
    t.same(await ids(index, '新的记录'), [], 'not visible while building');
    t.equal((await index.stats()).documents, sample.length, 'the live index is whole meanwhile');
    await rebuild.commit();
    t.same(await ids(index, '新的记录'), ['N-1'], 'visible after commit');
    t.equal((await index.stats()).documents, 1, 'the old content is gone');
    const aborted = await index.rebuild();
    await aborted.put(buildDocuments(item('N-2', 'media', { title: '不要的' })).doc, []);
    await aborted.abort();
    t.same(await ids(index, '', { sort: 'title' }), ['N-1'], 'an aborted rebuild changes nothing');
  });

  t.test(`${name}: any input string is a valid query`, async (t) => {
    const index = await open(t);
    await load(index);
    const hostile = [
      '"',
      '""',
      '*',
      '景德镇*',
      'NEAR(青花 瓷, 2)',
      'a OR b',
      'NOT 青花',
      '-青花',
      '青花 AND',
      '"unbalanced',
      '(',
      ')',
      '{title}: 青花',
      'title:青花',
      '^青花',
      '青花'.repeat(300),
      'x'.repeat(10_000),
      '🏺 青花 🏺',
      '\u0000青花\u0000',
      '\ud800青花\udfff',
      '\\',
      "'; DROP TABLE docs; --",
      ' ',
      '',
    ];
    for (const q of hostile) {
      const res = await index.search(req(q));
      t.ok(res.total >= 0, `search ${JSON.stringify(q.slice(0, 20))}`);
      await index.searchSegments({ q, page: 1, limit: 5, scope: all });
    }
    t.same((await index.search(req('\u0000青花\u0000'))).total, (await index.search(req('青花'))).total);
    t.ok((await index.search(req('NEAR(青花 瓷, 2)'))).total >= 0);
    t.equal((await index.stats()).documents, sample.length, 'the index survived');
  });
}

/** A catalogue item: `n` seconds after a fixed start, of a kind and access, at a version. */
export function listed(
  id: string,
  kind: ItemView['kind'],
  access: Access,
  seconds: number,
  version = 'v1',
): ItemView {
  const at = new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString().replace('.000Z', 'Z');
  return { ...item(id, kind, { title: id }, access, { version }), created: at, updated: at };
}

/** 40 items: mostly private, a few public, restricted, embargoed and of organisation 御窑; kinds mixed. */
function catalogueSample(): ItemView[] {
  const kinds: ItemView['kind'][] = ['media', 'collection_object', 'heritage_site', 'inheritor'];
  const out: ItemView[] = [];
  for (let i = 0; i < 40; i++) {
    const access: Access =
      i % 10 === 1
        ? { level: 'public' }
        : i % 10 === 4
          ? { level: 'restricted' }
          : i % 10 === 7
            ? { level: 'public', embargo_until: i < 20 ? '2001-01-01' : '2999-01-01' }
            : i % 10 === 9
              ? { level: 'private', organisation: '景德镇御窑博物馆' }
              : { level: 'private' };
    // Ids out of step with time (and some updated in the same second): the orders differ.
    const id = `L-${String((i * 17) % 40).padStart(2, '0')}`;
    out.push(listed(id, kinds[i % kinds.length]!, access, Math.floor(i / 2) * 60));
  }
  return out;
}

function expectedOrder(items: ItemView[], sort: ListSort): string[] {
  const key = (i: ItemView) => ({ updated: Date.parse(i.updated), id: i.id });
  return [...items].sort((a, b) => compareKeys(sort, key(a), key(b))).map((i) => i.id);
}

/** Every page of a list, following `next`; fails the test on a page short of `limit` that is not the last. */
async function allPages(
  t: Test,
  index: SearchIndex,
  request: Omit<ListRequest, 'after'>,
): Promise<ItemView[]> {
  const seen: ItemView[] = [];
  let after: ListRequest['after'];
  for (let pages = 0; pages < 100; pages++) {
    const page = await index.listItems({ ...request, ...(after ? { after } : {}) });
    seen.push(...page.items);
    if (!page.next) return seen;
    if (page.items.length !== request.limit) t.fail(`a page of ${page.items.length}, not ${request.limit}`);
    after = page.next;
  }
  throw new Error('no last page');
}

export function catalogueContract(t: Test, name: string, open: (t: Test) => Promise<SearchIndex>): void {
  t.test(
    `${name}: the catalogue pages by keyset in each order, with access and kind inside the query`,
    async (t) => {
      const index = await open(t);
      const items = catalogueSample();
      for (const i of items) await index.putItem(i);
      const now = new Date('2026-06-01T00:00:00Z');
      let pages = 0;
      for (const [label, p] of principals) {
        const scope = readScope(p, now);
        for (const sort of listSorts) {
          for (const kind of [undefined, 'collection_object'] as const) {
            const visible = items.filter(
              (i) => canRead(p, i.access, now) && (kind === undefined || i.kind === kind),
            );
            const got = await allPages(t, index, { scope, sort, limit: 3, ...(kind ? { kind } : {}) });
            pages++;
            t.same(
              got.map((i) => i.id),
              expectedOrder(visible, sort),
              `${label}, sort=${sort}${kind ? `, kind=${kind}` : ''}: exactly the readable items, in order, full pages`,
            );
          }
        }
      }
      const anon = readScope({ role: 'anonymous' }, now);
      const first = await index.listItems({ scope: anon, sort: 'id', limit: 2 });
      t.equal(first.items.length, 2, 'a full page although most items are hidden');
      t.same(
        first.items[0],
        items.find((i) => i.id === first.items[0]!.id),
        'the item view as written',
      );
      t.comment(`${pages} lists paged`);
    },
  );

  t.test(
    `${name}: an embargoed item is listed from its embargo day on, to the callers its level allows`,
    async (t) => {
      const index = await open(t);
      // Around today (the engine's own clock, which a sweep may follow) and around fixed days, levels mixed.
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const dates = [day(-400), day(-1), day(0), day(1), day(30), '2026-02-01', '2999-01-01'];
      const items: ItemView[] = [];
      dates.forEach((embargo_until, i) => {
        items.push(listed(`E-${i}p`, 'media', { level: 'public', embargo_until }, i * 60));
        items.push(listed(`E-${i}r`, 'inheritor', { level: 'restricted', embargo_until }, i * 60 + 1));
        items.push(
          listed(
            `E-${i}o`,
            'media',
            { level: 'private', organisation: '景德镇御窑博物馆', embargo_until },
            i * 60 + 2,
          ),
        );
      });
      items.push(listed('E-open', 'media', { level: 'public' }, 999));
      for (const i of items) await index.putItem(i);
      let lists = 0;
      for (const offset of [-2, -1, 0, 1, 2, 31]) {
        const now = new Date(Date.now() + offset * 86_400_000);
        for (const at of [now, new Date('2026-01-31T12:00:00Z'), new Date('2026-02-01T00:00:00Z')]) {
          for (const [label, p] of principals) {
            const scope = readScope(p, at);
            for (const sort of listSorts) {
              const got = await allPages(t, index, { scope, sort, limit: 2 });
              lists++;
              const want = expectedOrder(
                items.filter((i) => canRead(p, i.access, at)),
                sort,
              );
              if (JSON.stringify(got.map((i) => i.id)) !== JSON.stringify(want))
                t.same(
                  got.map((i) => i.id),
                  want,
                  `${label} on ${scope.all ? 'any day' : scope.today}, sort=${sort}`,
                );
            }
          }
        }
      }
      t.pass(`${lists} lists, each exactly the items readable on its day`);
    },
  );

  t.test(`${name}: a catalogue row never goes back to an older version`, async (t) => {
    const index = await open(t);
    const all = readScope({ role: 'admin' }, new Date());
    const v = (n: number, extra: Partial<ItemView> = {}) => ({
      ...listed('R-1', 'media', { level: 'public' }, n * 60, `v${n}`),
      ...extra,
    });
    await index.putItem(v(3));
    await index.putItem(v(2));
    await index.putItem(v(1));
    t.equal(await index.cataloguedVersion('R-1'), 'v3', 'v3 kept when v2 and v1 arrive late');
    t.same(
      (await index.listItems({ scope: all, sort: 'id', limit: 10 })).items.map((i) => i.version),
      ['v3'],
    );
    await index.putItem(v(10));
    await index.putItem(v(9));
    t.equal(await index.cataloguedVersion('R-1'), 'v10', 'versions compare as numbers (v10 after v9)');
    await index.putItem(v(11, { tombstone: { at: '2026-01-01T00:00:00Z', by: 'test' } }));
    await index.putItem(v(10));
    t.equal(await index.cataloguedVersion('R-1'), 'v11', 'a tombstone is not undone by a late write');
    t.same(
      (await index.listItems({ scope: all, sort: 'updated', limit: 10 })).items,
      [],
      'tombstones are not listed',
    );
    await index.forgetItem('R-1');
    t.equal(await index.cataloguedVersion('R-1'), undefined, 'a purged item is forgotten');
    t.equal((await index.stats()).catalogue.items, 0);
  });

  t.test(
    `${name}: listChanges gives every row (tombstones, every level) by (updated, id), in a range, by keyset`,
    async (t) => {
      const index = await open(t);
      const items = catalogueSample();
      const gone = {
        ...listed('L-gone', 'media', { level: 'public' }, 125, 'v2'),
        tombstone: { at: 'x', by: 'test' },
      };
      for (const i of [...items, gone]) await index.putItem(i);
      const every = [...items, gone];
      const pagesOf = async (request: Omit<ChangesRequest, 'after' | 'limit'>) => {
        const seen: ItemView[] = [];
        let after: ChangesRequest['after'];
        for (let n = 0; n < 100; n++) {
          const page = await index.listChanges({ ...request, limit: 4, ...(after ? { after } : {}) });
          seen.push(...page.items);
          if (!page.next) return seen;
          t.equal(page.items.length, 4, 'full pages');
          after = page.next;
        }
        throw new Error('no last page');
      };
      t.same(
        (await pagesOf({})).map((i) => i.id),
        expectedOrder(every, 'updated'),
        'all rows, in order',
      );
      const fromMs = Date.UTC(2026, 0, 1) + 120_000;
      const untilMs = Date.UTC(2026, 0, 1) + 540_000;
      const inRange = every.filter(
        (i) => Date.parse(i.updated) >= fromMs && Date.parse(i.updated) <= untilMs,
      );
      t.same(
        (await pagesOf({ fromMs, untilMs })).map((i) => i.id),
        expectedOrder(inRange, 'updated'),
        'a range, inclusive',
      );
      const media = every.filter((i) => i.kind === 'media');
      t.same(
        (await pagesOf({ kind: 'media' })).map((i) => i.id),
        expectedOrder(media, 'updated'),
        'one kind',
      );
      t.same(
        (await pagesOf({})).find((i) => i.id === 'L-gone'),
        gone,
        'the tombstone as written',
      );
      const heads = await index.listChangeHeads({ limit: 100 });
      t.same(
        heads.rows.map((h) => [h.id, h.version, h.kind, h.access, h.deleted]),
        expectedOrder(every, 'updated').map((id) => {
          const i = every.find((x) => x.id === id)!;
          return [i.id, i.version, i.kind, i.access, i.tombstone !== undefined];
        }),
        'heads: the same rows with their access',
      );
    },
  );

  t.test(`${name}: a rebuild replaces the catalogue and keeps the commits made while it ran`, async (t) => {
    const index = await open(t);
    const all = readScope({ role: 'admin' }, new Date());
    const rebuild = await index.rebuild();
    await rebuild.putItem(listed('B-1', 'media', { level: 'public' }, 60));
    await rebuild.putItem(listed('B-2', 'media', { level: 'public' }, 120));
    // A commit lands in the live catalogue meanwhile (B-2 at a later version, and a new B-3).
    await index.putItem(listed('B-2', 'media', { level: 'public' }, 180, 'v2'));
    await index.putItem(listed('B-3', 'media', { level: 'public' }, 240));
    t.same(
      (await index.listItems({ scope: all, sort: 'id', limit: 10 })).items.map((i) => i.id),
      ['B-2', 'B-3'],
      'the live catalogue answers while the rebuild runs',
    );
    await rebuild.commit();
    const after = (await index.listItems({ scope: all, sort: 'id', limit: 10 })).items;
    t.same(
      after.map((i) => `${i.id}@${i.version}`),
      ['B-1', 'B-2@v2', 'B-3'].map((x) => (x.includes('@') ? x : `${x}@v1`)),
      'the rebuilt rows, and the commits made during the rebuild where newer',
    );
    const stats = await index.stats();
    t.equal(stats.catalogue.items, 3, 'stats count the catalogue');
  });
}
