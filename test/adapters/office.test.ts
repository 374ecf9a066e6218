import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createOfficeAdapter, decodeText, dropRtfUnicodeFallbacks } from '../../services/adapters/office.ts';
import { createPdfTools } from '../../services/adapters/pdf.ts';
import { convertWithLibreOffice, GB_PHRASE, officeFixtures } from '../helpers/document-fixtures.ts';
import { tempDir } from '../helpers/env.ts';

const has = (cmd: string) => {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const noTools = has('soffice') && has('pdftotext') ? false : 'needs LibreOffice (soffice) and poppler-utils';

const T = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  rtf: 'application/rtf',
  doc: 'application/msword',
};

/** Fixed sentences (not the shared corpus): office text needs no shared data. */
const sentences = [
  '景德镇手工制瓷技艺是国家级非物质文化遗产。',
  '青花瓷以钴料在坯上绘画，施透明釉后高温一次烧成。',
  '湖田窑遗址位于景德镇市东南。',
  '釉里红以铜为着色剂，烧成难度极高。',
  '镇窑又称蛋形窑，以松柴为燃料。',
];

const squash = (s: string) => s.replace(/\s+/g, '');
const office = createOfficeAdapter({ pdf: createPdfTools() });

/** The LibreOffice conversions are made once for the whole file (2–5 s each). */
const fixturesDir = tempDir(t, 'ciku-office-fixtures-');
let made: ReturnType<typeof officeFixtures> | undefined;
const fixtures = () => (made ??= officeFixtures(fixturesDir, sentences));

t.test('decodeText reads UTF-8 and falls back to GB18030', async (t) => {
  t.equal(decodeText(Buffer.from('\ufeff青花瓷')), '青花瓷', 'a BOM is dropped');
  t.equal(decodeText(Buffer.from('beb0b5c2d5f2', 'hex')), '景德镇');
});

t.test('dropRtfUnicodeFallbacks drops the fallback after each \\uN under \\uc1', async (t) => {
  t.equal(dropRtfUnicodeFallbacks("{\\rtf1 \\u26223\\'3f\\u24503\\'3f}"), '{\\rtf1 \\u26223 \\u24503 }');
  t.equal(dropRtfUnicodeFallbacks('{\\rtf1 \\u26223?x}'), '{\\rtf1 \\u26223 x}');
  t.equal(
    dropRtfUnicodeFallbacks('{\\rtf1\\uc0 \\u26223 x}'),
    '{\\rtf1\\uc0 \\u26223 x}',
    'uc0: nothing to drop',
  );
});

t.test('text of the office formats, with sheets and slides as pages', { skip: noTools }, async (t) => {
  const fx = await fixtures();
  for (const [ext, format] of [
    ['docx', 'DOCX'],
    ['odt', 'ODT'],
    ['rtf', 'RTF'],
  ] as const) {
    const r = await office.extractText(fx[ext], T[ext], { maxCharacters: 100_000 });
    t.equal(r.format, format);
    t.equal(r.pages.length, 1, `${format}: one page`);
    t.ok(squash(r.pages[0]!.text).includes(sentences[0]!), `${format} holds its first sentence`);
    t.ok(squash(r.pages[0]!.text).includes(sentences[1]!), `${format} holds its second sentence`);
    t.notMatch(r.pages[0]!.text, /\?/, `${format}: no fallback characters`);
    t.equal(r.truncated, false);
    t.equal(r.characters, r.pages[0]!.text.length);
  }
  for (const [ext, format] of [
    ['xlsx', 'XLSX'],
    ['ods', 'ODS'],
  ] as const) {
    const r = await office.extractText(fx[ext], T[ext], { maxCharacters: 100_000 });
    t.equal(r.format, format);
    t.same(r.sheets, ['kilns'], `${format}: the sheet names`);
    t.equal(r.pages[0]!.label, 'kilns');
    t.ok(squash(r.pages[0]!.text).includes(squash(sentences[3]!)), `${format} holds the cell text`);
    t.match(r.pages[0]!.text, /名称\t描述/, `${format}: cells of a row by tabs`);
  }
  for (const [ext, format] of [
    ['pptx', 'PPTX'],
    ['odp', 'ODP'],
  ] as const) {
    const r = await office.extractText(fx[ext], T[ext], { maxCharacters: 100_000 });
    t.equal(r.format, format);
    t.equal(r.pages[0]!.label, '1', `${format}: slides are pages`);
    t.ok(squash(r.pages.map((p) => p.text).join('')).includes(sentences[0]!), `${format} holds the text`);
  }
  const txt = await office.extractText(fx.txt, 'text/plain; charset=utf-8', { maxCharacters: 100_000 });
  t.equal(txt.format, 'Text');
  t.equal(txt.pages[0]!.text, `${sentences[0]}\n${sentences[1]}\n`);
  const gb = await office.extractText(fx.gbTxt, 'text/plain', { maxCharacters: 100_000 });
  t.equal(gb.pages[0]!.text.trim(), GB_PHRASE, 'GB18030 text is decoded');
  const csv = await office.extractText(fx.csv, 'text/csv', { maxCharacters: 100_000 });
  t.equal(csv.format, 'CSV');
  t.match(csv.pages[0]!.text, /^名称,描述\n青花瓷,/);
});

t.test('text is cut at maxCharacters and says so', { skip: noTools }, async (t) => {
  const fx = await fixtures();
  const r = await office.extractText(fx.docx, T.docx, { maxCharacters: 10 });
  t.equal(r.characters, 10);
  t.equal(r.truncated, true);
  t.equal(r.pages[0]!.text, sentences[0]!.slice(0, 10));
});

t.test('an old binary Word file is read through LibreOffice', { skip: noTools }, async (t) => {
  const dir = tempDir(t);
  const fx = await fixtures();
  const doc = await convertWithLibreOffice(fx.txt, 'doc', dir);
  const r = await office.extractText(doc, T.doc, { maxCharacters: 100_000 });
  t.equal(r.format, 'DOC');
  t.ok(squash(r.pages.map((p) => p.text).join('')).includes(sentences[1]!));
});

t.test('toPdf makes a PDF LibreOffice headless (its own profile per call)', { skip: noTools }, async (t) => {
  const dir = tempDir(t);
  const fx = await fixtures();
  const out = path.join(dir, 'out');
  // Two at once: each has its own profile, so neither locks the other out.
  const [a, b] = await Promise.all([
    office.toPdf(fx.docx, T.docx, path.join(out, 'a'), { timeoutMs: 120_000 }),
    office.toPdf(fx.xlsx, T.xlsx, path.join(out, 'b'), { timeoutMs: 120_000 }),
  ]);
  const pdf = createPdfTools();
  t.ok(squash((await pdf.text(a, 1, 1, {}))[0]!).includes(sentences[0]!), 'the DOCX PDF has its text');
  t.ok(squash((await pdf.text(b, 1, 1, {}))[0]!).includes('青花瓷'), 'the XLSX PDF has its cells');
});

t.test('toPdf answers CIKU_ERR_UNAVAILABLE when the worker aborts it', { skip: noTools }, async (t) => {
  const dir = tempDir(t);
  const fx = await fixtures();
  const ac = new AbortController();
  const running = office.toPdf(fx.docx, T.docx, path.join(dir, 'x'), {
    timeoutMs: 120_000,
    signal: ac.signal,
  });
  // Killed if soffice has started, not started if not: the same retryable answer either way.
  await new Promise((r) => setImmediate(r));
  ac.abort();
  await t.rejects(running, { code: 'CIKU_ERR_UNAVAILABLE' });
});

t.test('unknown types and broken files answer coded errors', async (t) => {
  const dir = tempDir(t);
  const broken = path.join(dir, 'broken.docx');
  await fs.writeFile(broken, 'PK\u0003\u0004 this is not really a docx');
  await t.rejects(office.extractText(broken, T.docx, { maxCharacters: 100 }), {
    code: 'CIKU_ERR_MEDIA_UNREADABLE',
  });
  await t.rejects(office.extractText(broken, 'image/png', { maxCharacters: 100 }), {
    code: 'CIKU_ERR_MEDIA_UNSUPPORTED',
  });
  const small = createOfficeAdapter({ pdf: createPdfTools(), maxBytes: 10 });
  await t.rejects(small.extractText(broken, T.docx, { maxCharacters: 100 }), {
    code: 'CIKU_ERR_MEDIA_TOO_LARGE',
  });
});
