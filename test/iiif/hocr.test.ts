import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import t from 'tap';
import { findInHocr, parseHocr, scaleBox } from '../../services/iiif/hocr.ts';
import { tempDir } from '../helpers/env.ts';
import { hocrOf, lineOf } from '../search/document-fixture.ts';

/** hOCR words and boxes: the shape the fixtures write, and what Tesseract 5 itself writes for a rendered page. */

const run = promisify(execFile);

function tesseractWith(lang: string): false | string {
  try {
    const langs = execFileSync('tesseract', ['--list-langs'], { encoding: 'utf8' });
    return langs.split('\n').includes(lang) ? false : `tesseract has no ${lang} model`;
  } catch {
    return 'tesseract is not installed';
  }
}

t.test('words are read line by line with their boxes; entities and inline tags are text', async (t) => {
  const page = parseHocr(
    hocrOf({
      page: 1,
      text: '',
      source: 'ocr',
      width: 800,
      height: 600,
      lines: [lineOf(['龙珠阁', 'A&B'], 10, 20, 60), lineOf(['窑'], 10, 100, 140)],
    }).replace('>龙珠阁<', '><strong>龙珠阁</strong><'),
  );
  t.equal(page.width, 800);
  t.equal(page.height, 600);
  t.same(
    page.lines.map((l) => l.map((w) => [w.text, w.bbox])),
    [
      [
        ['龙珠阁', [10, 20, 130, 60]],
        ['A&B', [140, 20, 260, 60]],
      ],
      [['窑', [10, 100, 50, 140]]],
    ],
  );
});

t.test('a match across words is the union of their boxes; the longer needle wins', async (t) => {
  const page = parseHocr(
    hocrOf({
      page: 1,
      text: '',
      source: 'ocr',
      width: 1000,
      height: 1000,
      lines: [lineOf(['明代青', '花瓷片', '堆积'], 100, 400, 440)],
    }),
  );
  const found = findInHocr(page, ['青花瓷片', '青花', '瓷片']);
  t.same(
    found.map((m) => [m.line.slice(m.mark[0], m.mark[1]), m.box]),
    [['青花瓷片', { x: 100, y: 400, w: 250, h: 40 }]],
  );
  t.same(findInHocr(page, ['龙珠']), [], 'nothing where the words are not');
});

t.test('boxes scale from the hOCR pixels onto a canvas of another size, inside it', async (t) => {
  t.same(
    scaleBox({ x: 100, y: 50, w: 201, h: 40 }, { width: 1000, height: 500 }, { width: 500, height: 250 }),
    { x: 50, y: 25, w: 101, h: 20 },
  );
  t.same(
    scaleBox({ x: 990, y: 0, w: 50, h: 10 }, { width: 1000, height: 1000 }, { width: 1000, height: 1000 }),
    {
      x: 990,
      y: 0,
      w: 10,
      h: 10,
    },
  );
});

t.test(
  'Tesseract’s own hOCR of a rendered Chinese page gives the box of a query phrase',
  { skip: tesseractWith('chi_sim') },
  async (t) => {
    const dir = tempDir(t, 'ciku-hocr-');
    const png = path.join(dir, 'page.png');
    // Two lines at 64 px (Noto Sans CJK from Debian): 景德镇青花瓷片堆积 from x=100 on the band y≈60–150.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="300">
      <rect width="100%" height="100%" fill="white"/>
      <text x="100" y="120" font-family="Noto Sans CJK SC" font-size="64">景德镇青花瓷片堆积</text>
      <text x="100" y="220" font-family="Noto Sans CJK SC" font-size="64">窑址调查报告</text></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(png);
    const { stdout } = await run('tesseract', [png, 'stdout', '-l', 'chi_sim', 'hocr'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const page = parseHocr(stdout);
    t.same([page.width, page.height], [1000, 300], 'the page box is the image');
    t.equal(page.lines.length, 2, 'two lines');
    const [match, ...more] = findInHocr(page, ['青花瓷片', '青花', '瓷片']);
    t.same(more, [], 'one match');
    t.equal(match?.line.slice(match.mark[0], match.mark[1]), '青花瓷片');
    // 64 px a character from x=100: 青 starts at 292, 片 ends at 548; the band is the first line's.
    const b = match!.box;
    t.ok(b.x >= 280 && b.x <= 330, `starts at 青 (x=${b.x})`);
    t.ok(b.x + b.w >= 540 && b.x + b.w <= 600, `ends after 片 (x1=${b.x + b.w})`);
    t.ok(b.y >= 40 && b.y + b.h <= 170, `on the first line (y ${b.y}…${b.y + b.h})`);
  },
);
