import t from 'tap';
import type { PageAnswerT, SearchAnswerT } from '../../schemas/search.ts';
import { ORG_A, startTestApi, type TestApi } from '../helpers/api.ts';
import { addDocument, lineOf } from './document-fixture.ts';

/**
 * Search inside documents through the API: the indexer reads each file's `text` derivative (written here as the
 * document job writes it), the embedded engine indexes its pages, and `/v1/search` and `/v1/search/pages` answer
 * them under the caller's read scope.
 */

const IDS = {
  report: 'AD-PAGES-REPORT',
  scan: 'AD-PAGES-SCAN',
  restricted: 'AD-PAGES-RESTR',
  gone: 'AD-PAGES-GONE',
} as const;

async function archive(): Promise<TestApi> {
  const api = await startTestApi(t);
  await addDocument(api, {
    id: IDS.report,
    title: '御窑厂遗址保护工程档案',
    access: { level: 'public' },
    file: 'report.pdf',
    pages: [
      { page: 1, text: '第一章 工程概况。', source: 'text-layer' },
      { page: 2, text: '第二章 龙珠阁北侧发现明代青花瓷片堆积层。', source: 'text-layer' },
      { page: 3, text: '第三章 结论。', source: 'text-layer' },
    ],
  });
  await addDocument(api, {
    id: IDS.scan,
    title: '窑工手稿',
    access: { level: 'public' },
    file: 'scan.pdf',
    pages: [
      {
        page: 1,
        text: '鎮窯燒成釉裏紅',
        source: 'ocr',
        confidence: 88,
        width: 1240,
        height: 1754,
        lines: [lineOf(['鎮窯', '燒成', '釉裏紅'], 100, 200, 240)],
      },
    ],
  });
  await addDocument(api, {
    id: IDS.restricted,
    title: '内部会议纪要',
    access: { level: 'restricted', organisation: ORG_A },
    file: 'minutes.pdf',
    // An office file's text, as extraction gives it (one page per rendered page).
    pages: [{ page: 1, text: '会议决定修缮匣钵墙并登记残件。', source: 'extracted' }],
  });
  await addDocument(api, {
    id: IDS.gone,
    title: '已撤回的档案',
    access: { level: 'public' },
    file: 'gone.pdf',
    pages: [{ page: 1, text: '撤回的档案里写着匣钵墙。', source: 'text-layer' }],
  });
  const del = await api.app.inject({
    method: 'DELETE',
    url: `/v1/items/${IDS.gone}`,
    headers: api.auth.admin,
  });
  if (del.statusCode !== 200) throw new Error(`deleting ${IDS.gone}: ${del.body}`);
  // What the index job of the tombstone version does.
  await api.indexer.upsertItem(IDS.gone);
  return api;
}

const ready = archive();
const q = (s: string) => encodeURIComponent(s);

async function get<T>(
  url: string,
  as: keyof TestApi['auth'] = 'anonymous',
): Promise<{ status: number; body: T }> {
  const api = await ready;
  const res = await api.app.inject({ url, headers: api.auth[as] });
  return { status: res.statusCode, body: res.json<T>() };
}

t.test('a phrase of a PDF page is found on that page, in the page search and on the item hit', async (t) => {
  const pages = await get<PageAnswerT>(`/v1/search/pages?q=${q('青花瓷片')}&item=${IDS.report}`);
  t.equal(pages.status, 200);
  t.equal(pages.body.total, 1);
  t.same(
    pages.body.items.map((i) => [i.id, i.pages.map((p) => [p.file, p.page, p.ocr])]),
    [[IDS.report, [['report.pdf', 2, false]]]],
  );
  t.match(pages.body.items[0]!.pages[0]!.snippet, '明代<mark>青花瓷片</mark>堆积层');
  const hits = await get<SearchAnswerT>(`/v1/search?q=${q('青花瓷片')}`);
  t.same(
    hits.body.hits.map((h) => [h.id, h.pages?.map((p) => p.page)]),
    [[IDS.report, [2]]],
  );
  const inFile = await get<PageAnswerT>(
    `/v1/search/pages?q=${q('第二章')}&item=${IDS.report}&file=other.pdf`,
  );
  t.equal(inFile.body.total, 0, 'another file of the item has no such page');
});

t.test(
  'OCR text is marked as machine reading, and a simplified query finds traditional OCR text',
  async (t) => {
    const pages = await get<PageAnswerT>(`/v1/search/pages?q=${q('釉里红')}`);
    t.same(
      pages.body.items.map((i) => [i.id, i.pages.map((p) => [p.page, p.ocr])]),
      [[IDS.scan, [[1, true]]]],
    );
    const hits = await get<SearchAnswerT>(`/v1/search?q=${q('釉里红')}`);
    t.equal(hits.body.hits[0]?.pages?.[0]?.ocr, true);
  },
);

t.test('extracted office text finds its item', async (t) => {
  const hits = await get<SearchAnswerT>(`/v1/search?q=${q('修缮匣钵墙')}`, 'researcher');
  t.same(
    hits.body.hits.map((h) => h.id),
    [IDS.restricted],
  );
});

t.test(
  'a restricted item’s pages answer only to those who may read it; a deleted item’s to nobody',
  async (t) => {
    const url = `/v1/search/pages?q=${q('匣钵墙')}`;
    const ids = async (as: keyof TestApi['auth']) =>
      (await get<PageAnswerT>(url, as)).body.items.map((i) => i.id);
    t.same(await ids('anonymous'), [], 'anonymous');
    t.same(await ids('contributorB'), [], 'a contributor of another organisation');
    t.same(await ids('contributorA'), [IDS.restricted], 'a contributor of its organisation');
    t.same(await ids('admin'), [IDS.restricted], 'admin: the deleted item is gone for everyone');
    const inItem = await get<PageAnswerT>(`/v1/search/pages?q=${q('匣钵墙')}&item=${IDS.restricted}`);
    t.same(inItem.body, { total: 0, page: 1, limit: 20, items: [] }, 'naming the item shows nothing either');
    const hits = await get<SearchAnswerT>(`/v1/search?q=${q('匣钵墙')}`, 'contributorB');
    t.equal(hits.body.total, 0);
  },
);

t.test('the page search refuses what is not a search', async (t) => {
  const bad = await get<{ code: string }>(`/v1/search/pages?q=x&limit=0`);
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'CIKU_ERR_REQUEST_INVALID');
});

t.test('hostile parameters of the page search answer 200 or 400, never a failure', async (t) => {
  for (const p of [
    'q=' + encodeURIComponent('" OR 1=1 --'),
    'q=' + encodeURIComponent('pages_fts MATCH *'),
    'q=a&item=../x',
    `q=a&file=${'f'.repeat(1001)}`,
    'q=a&file=' + encodeURIComponent('../../record.json'),
    'q=a&page=0',
    'q=a&page=10001&limit=100',
    'q=a&limit=101',
    'q[$ne]=x',
    'q=a&unknown=1',
  ]) {
    const res = await get<{ code?: string }>(`/v1/search/pages?${p}`);
    t.ok(res.status === 200 || res.status === 400, `${p.slice(0, 40)}: ${res.status}`);
    if (res.status === 400) t.equal(res.body.code, 'CIKU_ERR_REQUEST_INVALID');
  }
});
