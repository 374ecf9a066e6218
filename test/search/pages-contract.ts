import type { Test } from 'tap';
import type { PageTextT } from '../../schemas/technical.ts';
import { readScope, type Principal } from '../../services/archive/access.ts';
import type { ItemView } from '../../services/archive/items.ts';
import {
  buildDocuments,
  MAX_DOCUMENT_BODY_BYTES,
  type DocumentPages,
} from '../../services/search/documents.ts';
import type { PageRequest, SearchIndex } from '../../services/search/search-index.ts';
import { all, item, req } from './contract.ts';

/**
 * The page part of the SearchIndex contract (sqlite here, Meilisearch when MEILI_URL is set): documents' pages as
 * the indexer builds them from a `text` derivative, found by page, marked when OCR read them, under the item's
 * access exactly as transcript segments are.
 */

const ORG = '景德镇陶瓷档案馆';
const OTHER_ORG = '别的博物馆';

const page = (n: number, text: string, source: PageTextT['source'] = 'text-layer'): PageTextT => ({
  page: n,
  text,
  source,
});

/** A 3-page report (text layer), a scan OCR'd in traditional script, and a restricted organisation's file. */
export const documentSample: { item: ItemView; documents: DocumentPages[] }[] = [
  {
    item: item('D-1', 'archive_document', { title: '御窑厂遗址保护工程档案', series: '保护工程' }),
    documents: [
      {
        file: 'report.pdf',
        pages: [
          page(1, '第一章 工程概况。本工程位于珠山区。'),
          page(2, '第二章 龙珠阁北侧发现明代青花瓷片堆积层，编号T7。'),
          page(3, '第三章 结论与建议。'),
        ],
      },
    ],
  },
  {
    item: item('D-2', 'archive_document', { title: '窑工口述记录手稿' }),
    documents: [
      {
        file: 'scan.pdf',
        pages: [page(1, '空白'), page(2, '鎮窯燒成釉裏紅，火候最難把握。', 'ocr')],
      },
    ],
  },
  {
    item: item(
      'D-3',
      'archive_document',
      { title: '内部调查表' },
      { level: 'restricted', organisation: ORG },
    ),
    documents: [{ file: 'survey.docx', pages: [page(1, '调查发现匣钵残件三百余件。', 'extracted')] }],
  },
];

export async function loadDocuments(index: SearchIndex, entries = documentSample): Promise<void> {
  for (const e of entries) {
    const { doc, segments, pages } = buildDocuments(e.item, [], e.documents);
    await index.put(doc, segments, pages);
  }
}

const pagesReq = (q: string, more: Partial<PageRequest> = {}): PageRequest => ({
  q,
  page: 1,
  limit: 20,
  scope: all,
  ...more,
});

const now = new Date('2026-06-01T00:00:00Z');
const scopeOf = (p: Principal) => readScope(p, now);

export function pagesContract(t: Test, name: string, open: (t: Test) => Promise<SearchIndex>): void {
  t.test(`${name}: a phrase is found on its page, and the item hit names that page`, async (t) => {
    const index = await open(t);
    await loadDocuments(index);
    const found = await index.searchPages(pagesReq('青花瓷片'));
    t.equal(found.total, 1);
    t.same(
      found.items.map((i) => [i.id, i.pages.map((p) => [p.file, p.page, p.ocr])]),
      [['D-1', [['report.pdf', 2, false]]]],
      'page 2 of the report, not read by OCR',
    );
    t.match(found.items[0]!.pages[0]!.snippet, /<mark>青花瓷片<\/mark>/);
    const hits = await index.search(req('青花瓷片'));
    t.same(
      hits.hits.map((h) => h.id),
      ['D-1'],
      'the item is found by its document’s text',
    );
    t.same(
      hits.hits[0]!.pages?.map((p) => [p.file, p.page, p.ocr]),
      [['report.pdf', 2, false]],
    );
    const other = await index.search(req('御窑厂遗址'));
    t.notOk(other.hits[0]?.pages, 'a hit on the title alone carries no pages');
  });

  t.test(
    `${name}: OCR text is marked as such, and traditional script folds onto a simplified query`,
    async (t) => {
      const index = await open(t);
      await loadDocuments(index);
      const found = await index.searchPages(pagesReq('釉里红'));
      t.same(
        found.items.map((i) => [i.id, i.pages.map((p) => [p.page, p.ocr])]),
        [['D-2', [[2, true]]]],
      );
      t.match(
        found.items[0]!.pages[0]!.snippet,
        /<mark>釉裏紅<\/mark>/,
        'the page’s own characters are marked',
      );
      const hit = (await index.search(req('釉里红'))).hits.find((h) => h.id === 'D-2');
      t.same(
        hit?.pages?.map((p) => [p.page, p.ocr]),
        [[2, true]],
      );
    },
  );

  t.test(`${name}: pages of one item, of one file`, async (t) => {
    const index = await open(t);
    await loadDocuments(index);
    t.equal((await index.searchPages(pagesReq('第二章', { item: 'D-1' }))).total, 1);
    t.equal((await index.searchPages(pagesReq('第二章', { item: 'D-2' }))).total, 0);
    t.equal((await index.searchPages(pagesReq('第二章', { item: 'D-1', file: 'report.pdf' }))).total, 1);
    t.equal((await index.searchPages(pagesReq('第二章', { item: 'D-1', file: 'other.pdf' }))).total, 0);
    const paged = await index.searchPages(pagesReq('章', { item: 'D-1', limit: 2 }));
    t.equal(paged.total, 3, 'every page that has the word counts');
    t.equal(paged.items[0]!.pages.length, 2, 'a page of results holds `limit` pages');
  });

  t.test(`${name}: a restricted item’s pages are scoped as the item is`, async (t) => {
    const index = await open(t);
    await loadDocuments(index);
    const ids = async (p: Principal) =>
      (await index.searchPages(pagesReq('匣钵', { scope: scopeOf(p) }))).items.map((i) => i.id);
    t.same(await ids({ role: 'anonymous' }), [], 'anonymous: none');
    t.same(await ids({ role: 'contributor', organisation: OTHER_ORG }), [], 'another organisation: none');
    t.same(await ids({ role: 'contributor', organisation: ORG }), ['D-3'], 'its organisation: found');
    t.same(await ids({ role: 'researcher' }), ['D-3'], 'a researcher: found');
    const anonymous = await index.search(req('匣钵', { scope: scopeOf({ role: 'anonymous' }) }));
    t.equal(anonymous.total, 0, 'nor the item, for anonymous');
    await index.remove('D-3');
    t.equal((await index.searchPages(pagesReq('匣钵'))).total, 0, 'a removed item’s pages are gone with it');
  });

  t.test(
    `${name}: the item body holds the documents' text up to its cap; every page stays searchable`,
    async (t) => {
      const index = await open(t);
      // Pages of 1,000 three-byte characters: the cap falls inside the document, the last page is past it.
      const filler = '档'.repeat(1000);
      const count = Math.ceil(MAX_DOCUMENT_BODY_BYTES / 3000) + 2;
      const pages = Array.from({ length: count }, (_, i) => page(i + 1, filler));
      pages.push(page(count + 1, '末页记载了景德镇陶瓷大学的校址。'));
      const big = {
        item: item('D-BIG', 'archive_document', { title: '长卷' }),
        documents: [{ file: 'big.pdf', pages }],
      };
      await loadDocuments(index, [big]);
      const { doc } = buildDocuments(big.item, [], big.documents);
      t.ok(Buffer.byteLength(doc.text.body) <= MAX_DOCUMENT_BODY_BYTES, 'the body is capped');
      t.equal((await index.search(req('陶瓷大学'))).total, 0, 'past the cap the item body does not hold it');
      const found = await index.searchPages(pagesReq('陶瓷大学'));
      t.same(
        found.items.map((i) => [i.id, i.pages.map((p) => p.page)]),
        [['D-BIG', [count + 1]]],
      );
    },
  );
}
