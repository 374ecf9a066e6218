import t from 'tap';
import type { SearchAnnotationPageT, Search1AnnotationListT } from '../../schemas/iiif-search.ts';
import { pageCanvasId, pageImageServiceId } from '../../services/iiif/ids.ts';
import { ORG_A, startTestApi, type TestApi } from '../helpers/api.ts';
import { addDocument, lineOf, type FixtureDocument } from '../search/document-fixture.ts';
import { iiifErrors } from './validate.ts';

/**
 * IIIF for multi-page documents: a manifest with one canvas per page (paged, the PDF outline as ranges, a thumbnail
 * per canvas, tiles through the page's level-0 image service) and Content Search over its OCR words (a box per
 * match, in canvas pixels), read from derivatives written as the document job writes them.
 */

const PUBLIC_URL = 'https://archive.ciku.test';
const FILE = 'survey.pdf';

/** Page 1: a text layer, tiled. Pages 2 and 3: OCR'd at 1240×1754 (page 3 in traditional script). */
const SURVEY: Omit<FixtureDocument, 'id' | 'access'> = {
  title: '御窑厂遗址考古调查报告',
  file: FILE,
  pages: [
    {
      page: 1,
      text: '第一章 调查经过。龙珠阁一带地层清楚。',
      source: 'text-layer',
      tiles: { width: 2480, height: 3508 },
    },
    {
      page: 2,
      text: '龙珠阁北侧发现\n明代青花瓷片堆积',
      source: 'ocr',
      confidence: 87,
      width: 1240,
      height: 1754,
      // Tesseract's runs, not the query's words: 青花瓷片 spans two of them and starts inside the second.
      lines: [
        lineOf(['龙珠阁', '北侧发现'], 100, 300, 340),
        lineOf(['明代青', '花瓷片', '堆积'], 100, 400, 440),
      ],
    },
    {
      page: 3,
      text: '鎮窯燒成',
      source: 'ocr',
      confidence: 80,
      width: 1240,
      height: 1754,
      lines: [lineOf(['鎮窯', '燒成'], 200, 600, 650, 50)],
    },
  ],
  outline: [
    { title: '第一章 调查经过', page: 1, level: 1 },
    { title: '1.1 地层', page: 2, level: 2 },
    { title: '没有页码的书签', level: 1 },
    { title: '第二章 窑业', page: 3, level: 1 },
  ],
};

const IDS = { survey: 'AD-IIIF-SURVEY', restricted: 'AD-IIIF-RESTR', gone: 'AD-IIIF-GONE' } as const;

async function archive(): Promise<{ api: TestApi; version: string }> {
  const api = await startTestApi(t, { publicUrl: PUBLIC_URL });
  await addDocument(api, { ...SURVEY, id: IDS.survey, access: { level: 'public' } });
  await addDocument(api, {
    ...SURVEY,
    id: IDS.restricted,
    access: { level: 'restricted', organisation: ORG_A },
  });
  await addDocument(api, { ...SURVEY, id: IDS.gone, access: { level: 'public' } });
  const del = await api.app.inject({
    method: 'DELETE',
    url: `/v1/items/${IDS.gone}`,
    headers: api.auth.admin,
  });
  if (del.statusCode !== 200) throw new Error(del.body);
  await api.indexer.upsertItem(IDS.gone);
  const head = await api.app.inject({ url: `/v1/items/${IDS.survey}`, headers: api.auth.admin });
  return { api, version: head.json<{ version: string }>().version };
}

const ready = archive();
/** The parts of a manifest these tests read. */
interface Body {
  id: string;
  service?: unknown;
}
interface Canvas {
  id: string;
  width: number;
  height: number;
  label: unknown;
  thumbnail?: { id: string }[];
  items: { items: { body: Body }[] }[];
}
interface Range {
  id: string;
  type: 'Range' | 'Canvas';
  label?: { zh?: string[] };
  items?: Range[];
}
interface Manifest {
  behavior?: string[];
  items: Canvas[];
  structures?: Range[];
  service?: { type?: string }[];
}

async function get(url: string, as: keyof TestApi['auth'] = 'anonymous') {
  const { api } = await ready;
  const res = await api.app.inject({ url, headers: api.auth[as] });
  return {
    status: res.statusCode,
    body: res.body,
    json: <T = Manifest>() => res.json<T>(),
    headers: res.headers,
  };
}

const canvas = async (page: number) =>
  pageCanvasId(PUBLIC_URL, IDS.survey, (await ready).version, FILE, page);

t.test(
  'a multi-page document gets a paged manifest: a canvas per page, outline ranges, thumbnails',
  async (t) => {
    const res = await get(`/iiif/${IDS.survey}/manifest`);
    t.equal(res.status, 200);
    const m = res.json();
    t.same(iiifErrors(m), [], 'validates against the Presentation 3 schema');
    t.same(m.behavior, ['paged']);
    const canvases = m.items;
    t.same(
      canvases.map((c) => c.id),
      [await canvas(1), await canvas(2), await canvas(3)],
    );
    t.same(
      canvases.map((c) => [c.width, c.height]),
      [
        [1240, 1754],
        [1240, 1754],
        [1240, 1754],
      ],
      'OCR pages: the render OCR read; a text-layer page: its PDF size (595×842 pt) at 150 dpi',
    );
    t.same(canvases[0]!.label, { zh: ['第 1 页'], en: ['Page 1'] });
    for (const c of canvases) t.match(c.thumbnail?.[0]?.id, new RegExp(`/pages/\\d/thumbnail\\?version=`));
    const service = pageImageServiceId(PUBLIC_URL, IDS.survey, (await ready).version, FILE, 1);
    const body1 = canvases[0]!.items[0]!.items[0]!.body;
    t.same(body1.service, [{ id: service, type: 'ImageService3', profile: 'level0' }], 'page 1 is tiled');
    const body2 = canvases[1]!.items[0]!.items[0]!.body;
    t.match(body2.id, /\/pages\/2\/preview\?version=v\d+$/, 'page 2 is painted by its preview');
    t.notOk(body2.service);
    const [whole] = m.structures ?? [];
    const outline = (r: Range): unknown => ({
      label: r.label?.zh?.[0],
      items: (r.items ?? []).map((i) => (i.type === 'Range' ? outline(i) : i.id)),
    });
    t.same(
      (whole?.items ?? []).map(outline),
      [
        {
          label: '第一章 调查经过',
          items: [await canvas(1), { label: '1.1 地层', items: [await canvas(2)] }],
        },
        { label: '第二章 窑业', items: [await canvas(3)] },
      ],
      'the outline as nested ranges; a bookmark reaching no page is left out',
    );
    t.ok(
      (m.service ?? []).some((s) => s.type === 'SearchService2'),
      'its text is searchable: the search service is announced',
    );
  },
);

t.test('a page’s image service answers its info.json and tiles under the item’s access', async (t) => {
  const { version } = await ready;
  const service = pageImageServiceId(PUBLIC_URL, IDS.survey, version, FILE, 1);
  const path = service.slice(PUBLIC_URL.length);
  const info = await get(`${path}/info.json`);
  t.equal(info.status, 200);
  t.equal(
    info.json<{ id: string; width: number }>().id,
    service,
    'the id is the versioned service the manifest names',
  );
  t.equal(info.json<{ id: string; width: number }>().width, 2480);
  t.equal(info.headers['access-control-allow-origin'], '*');
  const tile = await get(`${path}/0,0,512,512/512,512/0/default.jpg`);
  t.equal(tile.status, 200);
  t.equal(tile.body, 'tile');
  t.equal((await get(`${path}/0,0,512,512/9,9/0/default.jpg`)).status, 400, 'not a pre-made size');
  const untiled = pageImageServiceId(PUBLIC_URL, IDS.survey, version, FILE, 2).slice(PUBLIC_URL.length);
  t.equal((await get(`${untiled}/info.json`)).json<{ code: string }>().code, 'CIKU_ERR_DERIVATIVE_NOT_FOUND');
  const beyond = pageImageServiceId(PUBLIC_URL, IDS.survey, version, FILE, 9).slice(PUBLIC_URL.length);
  t.equal((await get(beyond)).status, 404);
  const { api } = await ready;
  const restrictedHead = (
    await api.app.inject({ url: `/v1/items/${IDS.restricted}`, headers: api.auth.admin })
  ).json<{ version: string }>().version;
  const hidden = `/iiif/${IDS.restricted}/${restrictedHead}/files/${FILE}/pages/1/image/info.json`;
  t.equal((await get(hidden)).status, 404, 'a restricted item’s page is hidden from anonymous');
  t.equal((await get(hidden, 'contributorB')).status, 404, 'and from another organisation');
  t.equal((await get(hidden, 'contributorA')).status, 200, 'its organisation reads it');
});

t.test('Content Search answers boxes around the OCR words, in canvas pixels', async (t) => {
  const res = await get(`/iiif/${IDS.survey}/search?q=${encodeURIComponent('青花瓷片')}`);
  t.equal(res.status, 200);
  const page = res.json<SearchAnnotationPageT>();
  // 明代青 100–220, 花瓷片 230–350 (40 px a character): the match starts inside the first run.
  t.same(
    page.items.map((a) => a.target),
    [`${await canvas(2)}#xywh=100,400,250,40`],
  );
  t.equal(page.items[0]!.body.value, '明代青花瓷片堆积', 'the OCR line as read');
  t.same(page.annotations?.[0]?.items[0]?.target.selector, [
    { type: 'TextQuoteSelector', prefix: '明代', exact: '青花瓷片', suffix: '堆积' },
  ]);
  t.equal(page.partOf.total, 1);
  const trad = (
    await get(`/iiif/${IDS.survey}/search?q=${encodeURIComponent('镇窑')}`)
  ).json<SearchAnnotationPageT>();
  t.same(
    trad.items.map((a) => a.target),
    [`${await canvas(3)}#xywh=200,600,100,50`],
    'a simplified query boxes the traditional OCR words',
  );
  const layer = (
    await get(`/iiif/${IDS.survey}/search?q=${encodeURIComponent('地层')}`)
  ).json<SearchAnnotationPageT>();
  t.same(
    layer.items.map((a) => a.target),
    [await canvas(1)],
    'a text-layer page (no boxes): the page canvas',
  );
  const v1 = (
    await get(`/iiif/${IDS.survey}/search1?q=${encodeURIComponent('青花瓷片')}`)
  ).json<Search1AnnotationListT>();
  t.same(v1.resources[0]?.on, {
    '@type': 'oa:SpecificResource',
    full: await canvas(2),
    selector: { '@type': 'oa:FragmentSelector', value: 'xywh=100,400,250,40' },
  });
});

t.test('Content Search on a document follows the item’s access', async (t) => {
  const q = encodeURIComponent('青花瓷片');
  t.equal((await get(`/iiif/${IDS.restricted}/search?q=${q}`)).status, 404, 'hidden from anonymous');
  t.equal((await get(`/iiif/${IDS.restricted}/search?q=${q}`, 'contributorB')).status, 404);
  const own = (
    await get(`/iiif/${IDS.restricted}/search?q=${q}`, 'contributorA')
  ).json<SearchAnnotationPageT>();
  t.equal(own.items.length, 1, 'its organisation finds the box');
  t.equal((await get(`/iiif/${IDS.gone}/search?q=${q}`)).status, 410, 'a deleted item');
  t.equal((await get(`/iiif/${IDS.gone}/manifest`)).status, 410);
});
