import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { createDocumentTools } from '../../services/adapters/document-tools.ts';
import { createPdfTools, parseOutlineXml, pdfaFromXmp } from '../../services/adapters/pdf.ts';
import type { DocumentTools } from '../../workers/document-ports.ts';
import { buildPdf, convertWithLibreOffice } from '../helpers/document-fixtures.ts';
import { tempDir } from '../helpers/env.ts';

const has = (cmd: string) => {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const noPoppler = has('pdfinfo') ? false : 'needs poppler-utils (pdfinfo, pdftotext, pdftoppm, pdftohtml)';
const noSoffice = has('soffice') ? false : 'needs LibreOffice (soffice)';

t.test('createDocumentTools answers the DocumentTools port the derive-document job takes', async (t) => {
  const tools: DocumentTools = createDocumentTools();
  t.same(tools.ocrLanguagesFor('zh-Hant'), ['chi_tra', 'eng']);
  t.type(tools.listZip, 'function');
});

t.test('pdfaFromXmp reads part and conformance as attributes or elements', async (t) => {
  t.equal(pdfaFromXmp('<x pdfaid:part="2" pdfaid:conformance="B"/>'), '2b');
  t.equal(pdfaFromXmp('<pdfaid:part>1</pdfaid:part><pdfaid:conformance>A</pdfaid:conformance>'), '1a');
  t.equal(pdfaFromXmp('<pdfaid:part>4</pdfaid:part>'), '4');
  t.equal(pdfaFromXmp('<x:xmpmeta/>'), undefined);
});

t.test('parseOutlineXml flattens nested outlines with levels, pages and unescaped titles', async (t) => {
  const xml =
    '<outline><item page="1">A &amp; B</item><outline><item page="2"><b>二</b></item></outline>' +
    '<item>no page</item></outline>';
  t.same(parseOutlineXml(xml, 10), [
    { title: 'A & B', level: 1, page: 1 },
    { title: '二', level: 2, page: 2 },
    { title: 'no page', level: 1 },
  ]);
  t.equal(parseOutlineXml(xml, 2).length, 2, 'bounded at max');
});

t.test(
  'pdf tools on a PDF with bookmarks, a text layer and PDF/A metadata',
  { skip: noPoppler },
  async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'bookmarks.pdf');
    await fs.writeFile(
      file,
      buildPdf({
        pages: [{ text: ['Page one', 'celadon'] }, { text: ['Page two'] }, { text: ['Page three'] }],
        outline: [
          { title: '第一章 景德镇', page: 1, children: [{ title: 'Kilns', page: 2 }] },
          { title: 'End', page: 3 },
        ],
        pdfa: '2b',
        title: '瓷器档案',
      }),
    );
    const pdf = createPdfTools();
    const info = await pdf.info(file, {});
    t.match(info, { pages: 3, version: '1.7', pdfa: '2b', title: '瓷器档案', encrypted: false });
    t.equal(info.page_width, 595);
    t.equal(info.page_height, 842);
    t.same(await pdf.outline(file, { max: 100 }), [
      { title: '第一章 景德镇', level: 1, page: 1 },
      { title: 'Kilns', level: 2, page: 2 },
      { title: 'End', level: 1, page: 3 },
    ]);
    t.same(await pdf.text(file, 1, 3, {}), ['Page one\nceladon', 'Page two', 'Page three']);
    t.same(await pdf.text(file, 2, 3, {}), ['Page two', 'Page three'], 'a range answers only its pages');
    t.same(await pdf.text(file, 3, 5, {}), ['Page three', '', ''], 'pages past the end are empty');
    const r = await pdf.render(file, 2, dir, { dpi: 72, maxSide: 2000 });
    t.same({ width: r.width, height: r.height }, { width: 595, height: 842 });
    await t.rejects(pdf.render(file, 7, dir, { dpi: 72, maxSide: 100 }), {
      code: 'CIKU_ERR_REQUEST_INVALID',
    });
    const capped = await pdf.render(file, 1, dir, { dpi: 300, maxSide: 400 });
    t.equal(Math.max(capped.width, capped.height), 400, 'the long side is capped at maxSide');
    t.ok((await fs.stat(capped.path)).size > 0);
  },
);

t.test('a PDF without bookmarks has an empty outline', { skip: noPoppler }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'plain.pdf');
  await fs.writeFile(file, buildPdf({ pages: [{ text: ['x'] }] }));
  t.same(await createPdfTools().outline(file, { max: 10 }), []);
  t.notOk((await createPdfTools().info(file, {})).pdfa, 'no PDF/A claim without XMP');
});

t.test('a 100,000-page PDF: info, a page range and one render stay cheap', { skip: noPoppler }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'huge.pdf');
  await fs.writeFile(file, buildPdf({ pages: [{ text: ['Same page'] }], repeatTo: 100_000 }));
  const pdf = createPdfTools();
  t.equal((await pdf.info(file, {})).pages, 100_000);
  t.same(await pdf.text(file, 99_999, 100_000, {}), ['Same page', 'Same page']);
  const r = await pdf.render(file, 50_000, dir, { dpi: 36, maxSide: 1000 });
  t.equal(r.height, 421);
});

t.test('bombs and broken PDFs fail with a coded reason', { skip: noPoppler }, async (t) => {
  const dir = tempDir(t);
  const pdf = createPdfTools({ maxPixels: 50_000_000 });
  const huge = path.join(dir, 'huge-page.pdf');
  await fs.writeFile(huge, buildPdf({ pages: [{ width: 100_000, height: 100_000, text: ['x'] }] }));
  t.match(await pdf.info(huge, {}), { pages: 1, page_width: 100_000, page_height: 100_000 });
  await t.rejects(pdf.render(huge, 1, dir, { dpi: 150, maxSide: 2000 }), {
    code: 'CIKU_ERR_MEDIA_TOO_LARGE',
  });
  const lying = path.join(dir, 'declares-100000.pdf');
  await fs.writeFile(lying, buildPdf({ pages: [{ text: ['x'] }], declaredCount: 100_000 }));
  await t.rejects(pdf.info(lying, {}), { code: 'CIKU_ERR_MEDIA_UNREADABLE' });
  const garbage = path.join(dir, 'garbage.pdf');
  await fs.writeFile(garbage, '%PDF-1.4\nnot really a pdf\n');
  await t.rejects(pdf.info(garbage, {}), { code: 'CIKU_ERR_MEDIA_UNREADABLE' });
  await t.rejects(pdf.text(garbage, 1, 1, {}), { code: 'CIKU_ERR_MEDIA_UNREADABLE' });
  await t.rejects(pdf.render(garbage, 1, dir, { dpi: 72, maxSide: 100 }), {
    code: 'CIKU_ERR_MEDIA_UNREADABLE',
  });
});

t.test('an abort kills poppler and answers CIKU_ERR_UNAVAILABLE', { skip: noPoppler }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'huge.pdf');
  await fs.writeFile(file, buildPdf({ pages: [{ text: ['Same page'] }], repeatTo: 100_000 }));
  const pdf = createPdfTools();
  const ac = new AbortController();
  const running = pdf.text(file, 1, 100_000, { signal: ac.signal });
  ac.abort();
  await t.rejects(running, { code: 'CIKU_ERR_UNAVAILABLE' });
  await t.rejects(
    pdf.info(file, { signal: ac.signal }),
    { code: 'CIKU_ERR_UNAVAILABLE' },
    'not started when aborted',
  );
});

t.test('the text layer of a LibreOffice PDF, page by page', { skip: noPoppler || noSoffice }, async (t) => {
  const dir = tempDir(t);
  const html = path.join(dir, 'pages.html');
  const phrases = ['景德镇手工制瓷技艺', '青花釉里红瓷器', '湖田窑遗址'];
  await fs.writeFile(
    html,
    `<html><head><meta charset="utf-8"></head><body>${phrases
      .map((p, i) => `<p${i ? ' style="page-break-before: always"' : ''}>${p}</p>`)
      .join('')}</body></html>`,
  );
  const file = await convertWithLibreOffice(html, 'pdf', dir, { infilter: 'HTML (StarWriter)' });
  const pdf = createPdfTools();
  t.equal((await pdf.info(file, {})).pages, 3);
  const pages = await pdf.text(file, 1, 3, {});
  t.same(
    pages.map((p) => p.replace(/\s+/g, '')),
    phrases,
  );
});

t.test('imagePages names the pages that draw a scan, not the text pages', { skip: noPoppler }, async (t) => {
  const dir = tempDir(t, 'ciku-pdf-images-');
  const { data, info } = await sharp({
    create: { width: 120, height: 170, channels: 3, background: { r: 200, g: 200, b: 200 } },
  })
    .toColourspace('b-w')
    .jpeg()
    .toBuffer({ resolveWithObject: true });
  const file = path.join(dir, 'mixed.pdf');
  await fs.writeFile(
    file,
    buildPdf({
      pages: [
        { text: ['A born-digital page'] },
        { jpeg: { data, width: info.width, height: info.height } },
        { text: ['Another text page'] },
      ],
    }),
  );
  t.same([...(await createPdfTools().imagePages(file, {}))], [2]);
});
