import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import type { DerivePayload } from '../../schemas/jobs.ts';
import type { DocumentTextT } from '../../schemas/technical.ts';
import { imageSize, rasterizeSvg } from '../../services/adapters/image.ts';
import { readAll } from '../../services/archive/blob-store.ts';
import { expectedKinds } from '../../services/archive/derivatives.ts';
import { loadConfig } from '../../services/config.ts';
import type { DocumentTools, OcrEngine, PdfInfo } from '../../workers/document-ports.ts';
import { MIN_TEXT_LAYER_CHARACTERS, usableTextLayer } from '../../workers/derive-document.job.ts';
import { jobLimits } from '../../workers/job-deps.ts';
import { planRederive } from '../../workers/rederive.ts';
import { createDocumentTools } from '../../services/adapters/document-tools.ts';
import { buildPdf, cer, renderTestPage } from '../helpers/document-fixtures.ts';
import { agent, workerHarness, type Harness } from '../helpers/workers.ts';
import { tempDir } from '../helpers/env.ts';

// Real poppler + Tesseract runs beside other suites on two cores: past tap's default 30 s per file.
t.setTimeout(300_000);

const SENTENCE = '景德镇青花瓷的釉色温润如玉，窑工在龙窑中烧成了这批瓷器。';

/** A fake that refuses every method it does not implement (a call there is a bug in the job). */
function refusing<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_, key) => () => Promise.reject(new Error(`fake ${name}.${String(key)} not implemented`)),
  });
}

interface Calls {
  text: [number, number][];
  render: { page: number; dpi: number }[];
  ocr: { path: string; languages: readonly string[] }[];
}

/**
 * Fake poppler/Tesseract: a PDF of `pages` pages whose text layer is `layer[n-1]`, rendered as blank PNGs of an
 * A4 page at the dpi asked for (so the job's previews and tiles are made by the real image adapter).
 */
function fakeTools(
  t: { teardown(fn: () => unknown): void },
  doc: { info: Partial<PdfInfo> & { pages: number }; layer: (n: number) => string },
  ocr?: OcrEngine['recognise'],
): { tools: DocumentTools; calls: Calls } {
  const calls: Calls = { text: [], render: [], ocr: [] };
  const blanks = tempDir(t, 'ciku-fake-render-');
  const making = new Map<string, Promise<void>>();
  const tools: DocumentTools = {
    pdf: {
      info: async () => ({
        encrypted: false,
        version: '1.7',
        page_width: 595,
        page_height: 842,
        ...doc.info,
      }),
      outline: async () => [{ title: '第一章 窑址', page: 1, level: 1 }],
      text: async (_file, first, last) => {
        calls.text.push([first, last]);
        return Array.from({ length: last - first + 1 }, (_, i) => doc.layer(first + i));
      },
      render: async (_file, page, outDir, opts) => {
        calls.render.push({ page, dpi: opts.dpi });
        const width = Math.round((595 / 72) * opts.dpi);
        const height = Math.round((842 / 72) * opts.dpi);
        // One blank per size, copied: rasterising an A4 page at 300 dpi per page would be most of the test's time.
        // Made once per size (a promise shared by pages rendered at once: a file still being written is no blank).
        const blank = path.join(blanks, `${width}x${height}.png`);
        let made = making.get(blank);
        if (!made) {
          made = rasterizeSvg(
            `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/></svg>`,
            blank,
            'png',
          ).then(() => undefined);
          making.set(blank, made);
        }
        await made;
        const out = path.join(outDir, `page-${page}.png`);
        await fs.copyFile(blank, out);
        return { path: out, width, height };
      },
    },
    ocr: {
      recognise:
        ocr ??
        (async (opts) => {
          calls.ocr.push({ path: opts.path, languages: opts.languages });
          const size = await imageSize(opts.path);
          return {
            text: `OCR ${SENTENCE}`,
            hocr: `<html><body><p class="ocr_par">${SENTENCE}</p></body></html>`,
            confidence: 87.25,
            width: size.width,
            height: size.height,
            languages: opts.languages.join('+'),
            vertical: false,
          };
        }),
    },
    office: refusing('office'),
    listZip: () => Promise.reject(new Error('fake listZip not implemented')),
    ocrLanguagesFor: (language) => (language === 'zh-Hant' ? ['chi_tra', 'eng'] : ['chi_sim', 'eng']),
  };
  return { tools, calls };
}

/** A document item holding one (fake) PDF: the bytes only need to be stored, the fake tools never read them. */
async function addPdf(h: Harness, id: string, options: { kind?: string; language?: string } = {}) {
  const body = Buffer.from(`%PDF-1.7\n% ${id}\n%%EOF\n`);
  const item = await h.items.create(
    {
      id,
      kind: options.kind ?? 'archive_document',
      metadata: { title: id, ...(options.language ? { language: options.language } : {}) },
      access: { level: 'public' },
      files: [{ name: 'scan.pdf', body, mediaType: 'application/pdf' }],
    },
    agent,
  );
  const f = item.files[0]!;
  const payload: DerivePayload = {
    itemId: id,
    version: item.version,
    file: f.name,
    sha512: f.digests.sha512,
    mediaType: 'application/pdf',
  };
  return payload;
}

async function readText(h: Harness, sha512: string): Promise<DocumentTextT> {
  return JSON.parse(
    (await readAll(await h.derivatives.open(sha512, 'text.json'), 1e8)).toString('utf8'),
  ) as DocumentTextT;
}

function harnessWith(h: Harness, tools: DocumentTools, document: Partial<ReturnType<typeof limits>> = {}) {
  h.deps.documents = tools;
  h.deps.limits = { ...h.deps.limits, document: { ...limits(), ...document } };
  // An index to tell: the job then chains index-item.
  h.deps.search = { upsertItem: async () => undefined };
}
const limits = () => jobLimits(loadConfig({}).worker).document;

t.test('the text-layer rule: enough letters or digits, not a font without a Unicode map', async (t) => {
  t.ok(usableTextLayer(SENTENCE), 'a Chinese sentence');
  t.ok(usableTextLayer('The kiln site at Hutian, excavated 1982.'));
  t.notOk(usableTextLayer(''), 'empty');
  t.notOk(usableTextLayer(' \n\f\t  '), 'whitespace only');
  t.notOk(usableTextLayer('— 12 —'), 'a page number');
  t.notOk(usableTextLayer('x'.repeat(MIN_TEXT_LAYER_CHARACTERS - 1)), 'one letter short');
  t.ok(usableTextLayer('x'.repeat(MIN_TEXT_LAYER_CHARACTERS)));
  t.notOk(usableTextLayer(`${'\uFFFD'.repeat(40)}${'瓷'.repeat(20)}`), 'mostly unmapped glyphs');
  t.notOk(usableTextLayer('\uE000'.repeat(100)), 'private-use glyphs');
});

t.test(
  'a PDF: text-layer pages kept and rendered at 150 dpi, pages without one OCR’d at 300 dpi with tiles',
  async (t) => {
    const h = await workerHarness(t);
    // Pages 1 and 3 have a text layer; 2 is a scan (nothing), 4 carries only a page number.
    const layer = (n: number) => (n === 2 ? '' : n === 4 ? '  — 4 —\f' : `第${n}页 ${SENTENCE}`);
    const { tools, calls } = fakeTools(t, { info: { pages: 4, title: '湖田窑址调查' }, layer });
    harnessWith(h, tools);
    const p = await addPdf(h, 'AD-MIXED', { language: 'zh-Hant' });
    t.same(await h.run('derive-document', p), { status: 'done' });

    t.same(
      calls.render.map((r) => [r.page, r.dpi]).sort((a, b) => a[0]! - b[0]!),
      [
        [1, 150],
        [2, 300],
        [3, 150],
        [4, 300],
      ],
      'every page rendered once, at the dpi it needs',
    );
    t.equal(calls.ocr.length, 2, 'only the two pages without a usable text layer are OCR’d');
    t.same(calls.ocr[0]!.languages, ['chi_tra', 'eng'], 'languages from the item’s language field');

    const text = await readText(h, p.sha512);
    t.same(
      text.pages.map((x) => [x.page, x.source]),
      [
        [1, 'text-layer'],
        [2, 'ocr'],
        [3, 'text-layer'],
        [4, 'ocr'],
      ],
    );
    t.equal(text.pages[0]!.text, `第1页 ${SENTENCE}`);
    t.equal(text.pages[1]!.confidence, 87.3, 'OCR confidence kept (one decimal)');
    t.match(text.pages[0], { width: 1240, height: 1754 }, 'a 150-dpi render’s size');
    t.match(text.pages[1], { width: 2479, height: 3508 }, 'the OCR’d render’s size (hOCR boxes are in it)');
    t.notOk('confidence' in text.pages[0]!, 'a text layer has no confidence');

    const record = (await h.derivatives.readRecord(p.sha512))!;
    t.match(record.technical, {
      type: 'document',
      format: 'PDF',
      format_version: '1.7',
      pages: 4,
      title: '湖田窑址调查',
      outline: [{ title: '第一章 窑址', page: 1, level: 1 }],
      text_pages: 2,
      ocr_pages: 2,
      ocr_languages: 'chi_tra+eng',
    });
    t.match(record.derivatives, {
      text: { status: 'ready', path: 'text.json', pages: 4 },
      pages: { status: 'ready', path: 'pages', pages: 4 },
      hocr: { status: 'ready', path: 'hocr', pages: 2 },
      thumbnail: { status: 'ready', path: 'pages/1/thumbnail.jpg', media_type: 'image/jpeg', width: 180 },
      preview: { status: 'ready', path: 'pages/1/preview.jpg', width: 1131, height: 1600 },
    });
    t.same(expectedKinds('application/pdf', record.technical).sort(), [
      'hocr',
      'pages',
      'preview',
      'text',
      'thumbnail',
    ]);
    const keys = (await h.derivatives.keys(p.sha512)).map((k) => k.slice(k.indexOf(p.sha512) + 129));
    t.ok(keys.includes('hocr/2.hocr') && keys.includes('hocr/4.hocr'), 'hOCR of the OCR’d pages');
    t.notOk(keys.includes('hocr/1.hocr'), 'no hOCR for a text-layer page');
    for (const n of [1, 2, 3, 4])
      t.ok(keys.includes(`pages/${n}/thumbnail.jpg`) && keys.includes(`pages/${n}/preview.jpg`));
    t.ok(keys.includes('pages/2/iiif/info.json'), 'a 300-dpi render (long side ≥ 3000) gets tiles');
    t.notOk(keys.includes('pages/1/iiif/info.json'), 'a 150-dpi render does not');
    const thumb = await readAll(await h.derivatives.open(p.sha512, 'pages/3/thumbnail.jpg'), 1e7);
    t.match(await imageSize(thumb), { format: 'jpeg', height: 256 });

    t.same(
      h.enqueued.map((e) => e.name),
      ['index-item'],
      'the item is re-indexed once the text is ready',
    );
    t.match(h.enqueued[0]!.payload, { itemId: 'AD-MIXED', version: 'v1' });
    t.ok(
      h.progress.some((x) => x.stage === 'page 4/4'),
      'per-page progress',
    );

    t.same(await h.run('derive-document', p), {
      status: 'skipped',
      detail: 'every derivative is already made',
    });
    t.equal(calls.render.length, 4, 'a second run renders nothing');
  },
);

t.test('OCR only where a page is a scan: a born-digital page with a few words keeps them', async (t) => {
  const h = await workerHarness(t);
  // 1: a full text layer; 2: a scan with a stray OCR'd page number; 3: a title page of four words, no image;
  // 4: nothing at all and no image (text drawn as curves): OCR'd too.
  const layer = (n: number) => (n === 1 ? `第1页 ${SENTENCE}` : n === 2 ? ' 2 ' : n === 3 ? '湖田窑址' : '');
  const { tools, calls } = fakeTools(t, { info: { pages: 4 }, layer });
  tools.pdf.imagePages = async () => new Set([2]);
  harnessWith(h, tools);
  const p = await addPdf(h, 'AD-BORN-DIGITAL');
  t.same(await h.run('derive-document', p), { status: 'done' });
  t.same(
    (await readText(h, p.sha512)).pages.map((x) => [x.page, x.source]),
    [
      [1, 'text-layer'],
      [2, 'ocr'],
      [3, 'text-layer'],
      [4, 'ocr'],
    ],
  );
  t.equal(calls.ocr.length, 2, 'the scanned page and the page without any text; not the title page');
});

t.test('a 100-page PDF reads its text layer in chunks, never the whole document at once', async (t) => {
  const h = await workerHarness(t);
  const { tools, calls } = fakeTools(t, { info: { pages: 100 }, layer: (n) => `page ${n}: ${SENTENCE}` });
  harnessWith(h, tools, { pageConcurrency: 3 });
  const p = await addPdf(h, 'AD-LONG');
  await h.run('derive-document', p);
  t.same(calls.text, [
    [1, 32],
    [33, 64],
    [65, 96],
    [97, 100],
  ]);
  t.equal(calls.ocr.length, 0);
  const text = await readText(h, p.sha512);
  t.same(
    text.pages.map((x) => x.page),
    Array.from({ length: 100 }, (_, i) => i + 1),
    'pages in order whatever order they finished in',
  );
  t.equal(text.pages[99]!.text, `page 100: ${SENTENCE}`);
});

t.test('bounds: too many pages or an absurd page size fail cleanly before any render', async (t) => {
  for (const [label, info] of [
    ['100,000 pages', { pages: 100_000 }],
    ['a 100,000 × 100,000-point page', { pages: 1, page_width: 100_000, page_height: 100_000 }],
  ] as const) {
    const h = await workerHarness(t);
    const { tools, calls } = fakeTools(t, { info, layer: () => SENTENCE });
    harnessWith(h, tools);
    const p = await addPdf(h, 'AD-BOMB');
    await t.rejects(h.run('derive-document', p), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' }, label);
    t.same(calls.render, [], `${label}: nothing rendered`);
    t.same(calls.text, [], `${label}: no text read`);
    const record = (await h.derivatives.readRecord(p.sha512))!;
    for (const kind of ['text', 'pages', 'thumbnail', 'preview']) {
      t.equal(record.derivatives[kind]!.status, 'failed', `${label}: ${kind} failed`);
      t.match(record.derivatives[kind]!.reason, /^media-limits-exceeded: /);
    }
    const { missing } = await h.derivatives.missingKinds(p.sha512, 'application/pdf');
    t.same(missing, [], `${label}: a verdict, not something rederive --missing queues again`);
  }
  const h = await workerHarness(t);
  const { tools } = fakeTools(t, { info: { pages: 11 }, layer: () => SENTENCE });
  harnessWith(h, tools, { maxPages: 10 });
  const p = await addPdf(h, 'AD-ELEVEN');
  await t.rejects(h.run('derive-document', p), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
  t.match(
    (await h.derivatives.readRecord(p.sha512))!.derivatives.text!.reason,
    /11 pages, above the limit of 10/,
  );
});

t.test('the time budget stops a document’s tools and records why', async (t) => {
  const h = await workerHarness(t);
  const hanging: OcrEngine['recognise'] = (opts) =>
    new Promise((_, reject) => {
      const stop = () => reject(new Error('tesseract was stopped'));
      if (opts.signal?.aborted) stop();
      opts.signal?.addEventListener('abort', stop);
    });
  const { tools } = fakeTools(t, { info: { pages: 1 }, layer: () => '' }, hanging);
  harnessWith(h, tools, { timeLimitS: 1 });
  const p = await addPdf(h, 'AD-SLOW');
  await t.rejects(h.run('derive-document', p), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
  t.match((await h.derivatives.readRecord(p.sha512))!.derivatives.text, {
    status: 'failed',
    reason: /^media-limits-exceeded: the document took longer than its 1 s budget/,
  });
});

t.test('text past the character bound is cut with a warning, not failed', async (t) => {
  const h = await workerHarness(t);
  const { tools } = fakeTools(t, { info: { pages: 3 }, layer: () => 'x'.repeat(600) });
  harnessWith(h, tools, { maxCharacters: 1000 });
  const p = await addPdf(h, 'AD-WORDY');
  await h.run('derive-document', p);
  const text = await readText(h, p.sha512);
  t.same(
    text.pages.map((x) => x.text.length),
    [600, 400, 0],
  );
  const record = (await h.derivatives.readRecord(p.sha512))!;
  t.match(record.warnings, [/text cut at 1000 characters/]);
  t.equal(record.technical?.type === 'document' && record.technical.characters, 1000);
});

/** A scan of `kind`, its derive-image run for real (the hand-off is derive-image's last step). */
async function scanItem(h: Harness, t: Test, id: string, kind: string) {
  const file = path.join(tempDir(t), 'page.png');
  await rasterizeSvg(
    '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="1700"><rect width="100%" height="100%" fill="#fff"/><text x="100" y="200" font-size="80">瓷</text></svg>',
    file,
    'png',
  );
  const item = await h.items.create(
    {
      id,
      kind,
      metadata: { title: id },
      access: { level: 'public' },
      files: [{ name: 'page.png', body: await fs.readFile(file), mediaType: 'image/png' }],
    },
    agent,
  );
  const f = item.files[0]!;
  const p: DerivePayload = {
    itemId: id,
    version: item.version,
    file: f.name,
    sha512: f.digests.sha512,
    mediaType: 'image/png',
  };
  t.same(await h.run('derive-image', p), { status: 'done' });
  return p;
}

t.test(
  'a scan of an archive document: derive-image hands it over, OCR merges text + hOCR into its record',
  async (t) => {
    const h = await workerHarness(t);
    const { tools, calls } = fakeTools(t, { info: { pages: 1 }, layer: () => '' });
    harnessWith(h, tools);
    const p = await scanItem(h, t, 'AD-SCAN', 'archive_document');
    const handed = h.enqueued.filter((e) => e.name === 'derive-document');
    t.equal(handed.length, 1, 'derive-image queued derive-document');
    t.same(handed[0]!.payload, p, 'for the same file and digest');
    const before = (await h.derivatives.readRecord(p.sha512))!;

    t.same(await h.run('derive-document', p), { status: 'done' });
    t.equal(calls.render.length, 0, 'a scan is not rendered');
    t.equal(calls.ocr.length, 1);
    t.match(
      await imageSize(calls.ocr[0]!.path),
      { width: 1200, height: 1700 },
      'the original at its own resolution',
    );
    const after = (await h.derivatives.readRecord(p.sha512))!;
    t.same(after.technical, before.technical, 'the image’s technical metadata untouched');
    for (const kind of ['thumbnail', 'preview'])
      t.same(after.derivatives[kind], before.derivatives[kind], `${kind} kept as derive-image made it`);
    t.match(after.derivatives, {
      text: { status: 'ready', path: 'text.json', pages: 1 },
      hocr: { status: 'ready', path: 'hocr', pages: 1 },
    });
    const text = await readText(h, p.sha512);
    t.match(text.pages, [{ page: 1, source: 'ocr', width: 1200, height: 1700, text: `OCR ${SENTENCE}` }]);
    t.same((await h.derivatives.missingKinds(p.sha512, 'image/png')).missing, [], 'nothing missing after');
    t.same(
      expectedKinds('image/png', after.technical, after.derivatives),
      ['thumbnail', 'preview', 'text', 'hocr'],
      'an OCR’d image expects its text from now on',
    );
    t.match(h.enqueued.at(-1), { name: 'index-item', payload: { itemId: 'AD-SCAN' } });

    // A re-run of derive-image (rederive) does not hand over again, nor drop the OCR kinds from the record.
    await h.run('derive-image', { ...p, force: true, kinds: ['thumbnail'] });
    t.equal(h.enqueued.filter((e) => e.name === 'derive-document').length, 1);
    t.equal((await h.derivatives.readRecord(p.sha512))!.derivatives.text?.status, 'ready');

    // The hOCR lost: rederive --missing queues derive-document for it, not derive-image.
    await h.blobs.deletePrefix(h.derivatives.keyOf(p.sha512, 'hocr/'));
    const plan = [];
    for await (const e of planRederive(h, { missing: true })) plan.push(e);
    t.match(plan, [{ name: 'derive-document', payload: { itemId: 'AD-SCAN', kinds: ['hocr'] } }]);
  },
);

t.test('a photograph of a collection object is not OCR’d', async (t) => {
  const h = await workerHarness(t);
  const { tools } = fakeTools(t, { info: { pages: 1 }, layer: () => '' });
  harnessWith(h, tools);
  const p = await scanItem(h, t, 'CO-PHOTO', 'collection_object');
  t.same(
    h.enqueued.map((e) => e.name),
    ['index-item'],
    'no derive-document',
  );
  t.same(expectedKinds('image/png', (await h.derivatives.readRecord(p.sha512))!.technical), [
    'thumbnail',
    'preview',
  ]);
});

t.test('rederive --missing finds a document’s lost pages and text', async (t) => {
  const h = await workerHarness(t);
  const { tools } = fakeTools(t, { info: { pages: 2 }, layer: (n) => `${n} ${SENTENCE}` });
  harnessWith(h, tools);
  const p = await addPdf(h, 'AD-LOST');
  await h.run('derive-document', p);
  const none = [];
  for await (const e of planRederive(h, { missing: true })) none.push(e);
  t.same(none, [], 'a complete document queues nothing');
  await h.blobs.deletePrefix(h.derivatives.keyOf(p.sha512, 'pages/'));
  await h.blobs.deletePrefix(h.derivatives.keyOf(p.sha512, 'text.json'));
  const plan = [];
  for await (const e of planRederive(h, { missing: true })) plan.push(e);
  t.match(plan, [
    {
      name: 'derive-document',
      payload: { itemId: 'AD-LOST', kinds: ['text', 'pages', 'thumbnail', 'preview'] },
    },
  ]);
  t.same(await h.run('derive-document', plan[0]!.payload), { status: 'done' });
  t.same((await h.derivatives.missingKinds(p.sha512, 'application/pdf')).missing, [], 'made again');
});

// ---------------------------------------------------------------------------------------------------------------
// With the real tools: poppler, Tesseract, libvips

/** The real document tools, with OCR calls counted (a text-layer page must never reach Tesseract). */
function realTools(t: Test): { tools: DocumentTools; ocrCalls: () => number } {
  const real = createDocumentTools({ tmpDir: tempDir(t, 'ciku-doc-tools-') });
  let calls = 0;
  const tools: DocumentTools = {
    ...real,
    ocr: {
      recognise: (opts) => {
        calls += 1;
        return real.ocr.recognise(opts);
      },
    },
  };
  return { tools, ocrCalls: () => calls };
}

async function addPdfBytes(h: Harness, id: string, body: Buffer, language?: string): Promise<DerivePayload> {
  const item = await h.items.create(
    {
      id,
      kind: 'archive_document',
      metadata: { title: id, ...(language ? { language } : {}) },
      access: { level: 'public' },
      files: [{ name: 'document.pdf', body, mediaType: 'application/pdf' }],
    },
    agent,
  );
  const f = item.files[0]!;
  return {
    itemId: id,
    version: item.version,
    file: f.name,
    sha512: f.digests.sha512,
    mediaType: 'application/pdf',
  };
}

const LINES = [
  [
    'The Hutian kiln site lies east of Jingdezhen.',
    'Its dragon kilns fired qingbai porcelain for centuries.',
  ],
  ['Blue and white ware was painted with cobalt under the glaze.', 'Potters threw each bowl on the wheel.'],
];

t.test('real tools: a PDF with a text layer gives its pages’ text, and is not OCR’d', async (t) => {
  const h = await workerHarness(t);
  const { tools, ocrCalls } = realTools(t);
  harnessWith(h, tools);
  const pdf = buildPdf({
    pages: LINES.map((text) => ({ text })),
    outline: [
      { title: '湖田窑', page: 1 },
      { title: 'Blue and white', page: 2 },
    ],
    title: '湖田窑址调查报告',
  });
  const p = await addPdfBytes(h, 'AD-TEXT', pdf);
  t.same(await h.run('derive-document', p), { status: 'done' });
  t.equal(ocrCalls(), 0, 'no page went to Tesseract');
  const text = await readText(h, p.sha512);
  t.equal(text.pages.length, 2);
  for (const [i, lines] of LINES.entries()) {
    t.equal(text.pages[i]!.source, 'text-layer');
    for (const line of lines) t.ok(text.pages[i]!.text.includes(line), `page ${i + 1} holds “${line}”`);
  }
  t.match(text.pages[0], { width: 1240, height: 1755 }, 'an A4 page rendered at 150 dpi');
  const record = (await h.derivatives.readRecord(p.sha512))!;
  t.match(record.technical, {
    type: 'document',
    format: 'PDF',
    format_version: '1.7',
    pages: 2,
    title: '湖田窑址调查报告',
    outline: [
      { title: '湖田窑', page: 1, level: 1 },
      { title: 'Blue and white', page: 2, level: 1 },
    ],
    text_pages: 2,
    ocr_pages: 0,
  });
  t.notOk('hocr' in record.derivatives, 'nothing OCR’d, no hOCR');
  const preview = await readAll(await h.derivatives.open(p.sha512, 'pages/2/preview.jpg'), 1e7);
  t.match(await imageSize(preview), { format: 'jpeg', width: 1130, height: 1600 });
});

/**
 * An image-only PDF of test pages, each a one-channel JPEG at its own resolution (the DeviceGray image the page
 * declares: a three-channel JPEG there is drawn as stripes).
 */
async function scannedPdf(
  pages: { path: string; width: number; height: number; dpi: number }[],
): Promise<Buffer> {
  const specs = [];
  for (const page of pages) {
    const { data, info } = await sharp(page.path)
      .toColourspace('b-w')
      .jpeg({ quality: 90 })
      .toBuffer({ resolveWithObject: true });
    specs.push({
      width: (page.width / page.dpi) * 72,
      height: (page.height / page.dpi) * 72,
      jpeg: { data, width: info.width, height: info.height },
    });
  }
  return buildPdf({ pages: specs });
}

t.test('real tools: an image-only PDF is OCR’d page by page', async (t) => {
  const h = await workerHarness(t);
  const { tools, ocrCalls } = realTools(t);
  harnessWith(h, tools);
  const dir = tempDir(t);
  const sentences = [
    ['景德镇的青花瓷以钴料在坯上绘画，再施透明釉，入窑高温烧成。'],
    ['湖田窑是宋元时期景德镇最重要的窑场，烧造青白瓷。'],
    ['传统制瓷技艺包括拉坯、利坯、画坯、施釉和烧窑。'],
  ];
  const pages = [];
  for (const [i, s] of sentences.entries())
    pages.push(
      await renderTestPage(dir, `page-${i + 1}`, {
        class: 'clean',
        sentences: s,
        fontPt: 16,
        charsPerLine: 16,
      }),
    );
  const p = await addPdfBytes(h, 'AD-SCANS', await scannedPdf(pages), 'zh-CN');
  t.same(await h.run('derive-document', p), { status: 'done' });
  t.equal(ocrCalls(), 3, 'each page without a text layer OCR’d once');
  const text = await readText(h, p.sha512);
  for (const [i, page] of pages.entries()) {
    const got = text.pages[i]!;
    t.equal(got.source, 'ocr', `page ${i + 1} marked as machine reading`);
    t.ok((got.confidence ?? 0) > 30, `page ${i + 1}: confidence ${got.confidence}`);
    const error = cer(page.truth, got.text);
    t.ok(
      error < 0.6,
      `page ${i + 1}: character error rate ${error.toFixed(3)} (read “${got.text.replace(/\s+/g, '')}”)`,
    );
  }
  const record = (await h.derivatives.readRecord(p.sha512))!;
  t.match(record.technical, { ocr_pages: 3, text_pages: 0, ocr_languages: 'chi_sim+eng' });
  t.match(record.derivatives.hocr, { status: 'ready', pages: 3 });
  const hocr = (await readAll(await h.derivatives.open(p.sha512, 'hocr/2.hocr'), 1e7)).toString('utf8');
  t.match(hocr, /ocrx_word/, 'hOCR with word boxes');
  t.equal(
    await h.derivatives.stat(p.sha512, 'pages/1/iiif/info.json'),
    undefined,
    'a render under 3000 px has no tiles (its preview is the whole page)',
  );
  for (const [i, phrase] of ['景德镇的青花', '烧造青白瓷', '传统制瓷技艺'].entries())
    t.ok(text.pages[i]!.text.includes(phrase), `page ${i + 1} read as “…${phrase}…”: the right page`);
});

t.test('real tools: bombs fail cleanly and fast, with the reason recorded', async (t) => {
  const dir = tempDir(t);
  const bombs: [string, Buffer, RegExp][] = [
    [
      'a PDF of 100,000 pages',
      buildPdf({ pages: [{}], repeatTo: 100_000 }),
      /100000 pages, above the limit of 2000/,
    ],
    [
      'a page of 100,000 × 100,000 points',
      buildPdf({ pages: [{ width: 100_000, height: 100_000 }] }),
      /100000 × 100000 points/,
    ],
  ];
  for (const [label, bytes, reason] of bombs) {
    const h = await workerHarness(t);
    const { tools } = realTools(t);
    harnessWith(h, tools);
    await fs.writeFile(path.join(dir, 'bomb.pdf'), bytes);
    const p = await addPdfBytes(h, 'AD-BOMB', bytes);
    const started = performance.now();
    await t.rejects(h.run('derive-document', p), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' }, label);
    const ms = performance.now() - started;
    t.comment(`${label}: refused in ${ms.toFixed(0)} ms`);
    const record = (await h.derivatives.readRecord(p.sha512))!;
    t.match(record.derivatives.text, { status: 'failed', reason }, `${label}: the reason recorded`);
    t.notOk(
      (await h.derivatives.keys(p.sha512)).some((k) => k.includes('/pages/')),
      `${label}: no page rendered`,
    );
  }
});
