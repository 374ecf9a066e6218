/**
 * `npm run bench:documents`: what our document adapters cost over the bare tools they run (issue 17, performance).
 *
 * 1. OCR: --pages test pages per class (clean, low resolution, rotated, noisy, vertical traditional) drawn from the
 *    shared ceramics corpus, read by our OCR engine (services/adapters/ocr.ts: preprocessing, tesseract, correction)
 *    and by bare `tesseract <png> - -l <the same languages>` (OMP_THREAD_LIMIT=1 both), --concurrency pages at a
 *    time on both sides. Pages/min each; ratio = ours ÷ bare pages/min (goal ≥ 0.9: ours takes ≤ 1/0.9 of bare's
 *    time). Our preprocessing time is reported apart. CER per class for both sides (bare here uses the item's
 *    languages, as the speed comparison does; the accuracy test compares with bare `-l chi_sim`).
 * 2. Text layer: a --text-pages PDF with a text layer, `pdf.text(1, n)` vs bare `pdftotext -layout file -`.
 * 3. Rendering: --render-pages pages at 150 dpi, `pdf.render` vs bare `pdftoppm -r 150 -f n -l n -png`.
 * Sides alternate ABBA over --rounds; the best round of each side is compared. Prints a table and writes JSON
 * (--out). Timings on a shared 2-core VM are noisy: read the ratios.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify, parseArgs } from 'node:util';
import { createDocumentTools } from '../../services/adapters/document-tools.ts';
import { createTesseractOcr } from '../../services/adapters/ocr.ts';
import {
  buildPdf,
  ceramicsSentences,
  cer,
  pageClasses,
  renderTestPages,
  type TestPage,
} from '../../test/helpers/document-fixtures.ts';

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    'text-pages': { type: 'string', default: '500' },
    'render-pages': { type: 'string', default: '20' },
    dir: { type: 'string', default: path.join(os.tmpdir(), 'ciku-bench-documents') },
    out: { type: 'string', default: 'bench-results/documents.json' },
  },
});
const PER_CLASS = Number(args.pages);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const TEXT_PAGES = Number(args['text-pages']);
const RENDER_PAGES = Number(args['render-pages']);

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Runs the two sides ABBA over the rounds; answers each side's best time and its last value. */
async function abba<A, B>(ours: () => Promise<A>, bare: () => Promise<B>) {
  const o: number[] = [];
  const b: number[] = [];
  let lastOurs: A | undefined;
  let lastBare: B | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['ours', 'bare'] : ['bare', 'ours'];
    for (const side of order) {
      if (side === 'ours') {
        const t = await timed(ours);
        o.push(t.ms);
        lastOurs = t.value;
      } else {
        const t = await timed(bare);
        b.push(t.ms);
        lastBare = t.value;
      }
    }
  }
  return { ours: Math.min(...o), bare: Math.min(...b), lastOurs: lastOurs!, lastBare: lastBare! };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function main() {
  const sentences = ceramicsSentences();
  if (!sentences) throw new Error('bench:documents needs ../shared/corpus (set CIKU_SHARED_DIR)');
  fs.rmSync(args.dir, { recursive: true, force: true });
  fs.mkdirSync(args.dir, { recursive: true });
  const pages = await renderTestPages(args.dir, sentences, PER_CLASS, pageClasses, 200);

  // 1. OCR
  let preprocessMs = 0;
  let tesseractMs = 0;
  const tools = createDocumentTools();
  const ocr = createTesseractOcr({
    terms: [],
    onTiming: (t) => {
      preprocessMs += t.preprocessMs;
      tesseractMs += t.tesseractMs;
    },
  });
  // The engine with the correction terms, as the job runs it (the timing hook is on a twin without terms, whose
  // reading is the same but for the correction pass: its cost is inside ours).
  const oursOcr = (p: TestPage) =>
    tools.ocr.recognise({ path: p.path, languages: p.languages, vertical: 'auto', dpi: p.dpi });
  const bareOcr = async (p: TestPage) =>
    (
      await run('tesseract', [p.path, '-', '-l', p.languages.join('+')], {
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
        maxBuffer: 64 * 1024 * 1024,
      })
    ).stdout;
  const ocrRun = await abba(
    () => mapLimit(pages, CONCURRENCY, oursOcr),
    () => mapLimit(pages, CONCURRENCY, bareOcr),
  );
  await mapLimit(pages, CONCURRENCY, (p) =>
    ocr.recognise({ path: p.path, languages: p.languages, vertical: 'auto', dpi: p.dpi }),
  );
  const perMin = (ms: number) => (pages.length / ms) * 60_000;
  const cerByClass: Record<string, { ours: number; bare: number; ratio: number }> = {};
  for (const cls of pageClasses) {
    const idx = pages.map((p, i) => (p.class === cls ? i : -1)).filter((i) => i >= 0);
    const mean = (f: (i: number) => number) => idx.reduce((s, i) => s + f(i), 0) / idx.length;
    const ours = mean((i) => cer(pages[i]!.truth, ocrRun.lastOurs[i]!.text));
    const bare = mean((i) => cer(pages[i]!.truth, ocrRun.lastBare[i]!));
    cerByClass[cls] = {
      ours: round(ours, 3),
      bare: round(bare, 3),
      ratio: round(bare === 0 ? 0 : ours / bare),
    };
  }
  const ocrResult = {
    pages: pages.length,
    concurrency: CONCURRENCY,
    ours_pages_per_min: round(perMin(ocrRun.ours), 1),
    bare_pages_per_min: round(perMin(ocrRun.bare), 1),
    speed_ratio: round(ocrRun.bare / ocrRun.ours),
    preprocess_share: round(preprocessMs / (preprocessMs + tesseractMs)),
    preprocess_ms_per_page: round(preprocessMs / pages.length, 0),
  };

  // 2. Text layer
  const textPdf = path.join(args.dir, 'text.pdf');
  const lines = sentences
    .slice(0, 30)
    .map((_, i) => `Line ${i} of a page with a text layer, ceramics archive.`);
  fs.writeFileSync(textPdf, buildPdf({ pages: [{ text: lines }], repeatTo: TEXT_PAGES }));
  const textRun = await abba(
    () => tools.pdf.text(textPdf, 1, TEXT_PAGES, {}),
    async () => (await run('pdftotext', ['-layout', textPdf, '-'], { maxBuffer: 256 * 1024 * 1024 })).stdout,
  );
  const textResult = {
    pages: TEXT_PAGES,
    ours_pages_per_s: round((TEXT_PAGES / textRun.ours) * 1000, 0),
    bare_pages_per_s: round((TEXT_PAGES / textRun.bare) * 1000, 0),
    speed_ratio: round(textRun.bare / textRun.ours),
    same_text: textRun.lastOurs.length === TEXT_PAGES && textRun.lastOurs[0]!.startsWith('Line 0'),
  };

  // 3. Rendering
  const renderDir = path.join(args.dir, 'render');
  fs.mkdirSync(renderDir, { recursive: true });
  const renderPages = Array.from({ length: RENDER_PAGES }, (_, i) => i + 1);
  const renderRun = await abba(
    () =>
      mapLimit(renderPages, CONCURRENCY, (n) =>
        tools.pdf.render(textPdf, n, renderDir, { dpi: 150, maxSide: 4000 }),
      ),
    () =>
      mapLimit(renderPages, CONCURRENCY, (n) =>
        run('pdftoppm', [
          '-png',
          '-singlefile',
          '-r',
          '150',
          '-f',
          `${n}`,
          '-l',
          `${n}`,
          textPdf,
          path.join(renderDir, `bare-${n}`),
        ]),
      ),
  );
  const renderResult = {
    pages: RENDER_PAGES,
    dpi: 150,
    ours_pages_per_s: round((RENDER_PAGES / renderRun.ours) * 1000, 1),
    bare_pages_per_s: round((RENDER_PAGES / renderRun.bare) * 1000, 1),
    speed_ratio: round(renderRun.bare / renderRun.ours),
  };

  const table = (title: string, r: Record<string, unknown>) => {
    process.stdout.write(
      `\n${title}\n| ${Object.keys(r).join(' | ')} |\n|${Object.keys(r)
        .map(() => '---')
        .join('|')}|\n`,
    );
    process.stdout.write(`| ${Object.values(r).map(String).join(' | ')} |\n`);
  };
  process.stdout.write(`best of ${ROUNDS} rounds (ABBA), ${os.cpus().length} cores\n`);
  table('OCR: our engine vs bare tesseract (same languages, same concurrency)', ocrResult);
  process.stdout.write(
    '\nCER per class (ours vs bare with the item languages)\n| class | ours | bare | ours/bare |\n|---|---|---|---|\n',
  );
  for (const [cls, c] of Object.entries(cerByClass))
    process.stdout.write(`| ${cls} | ${c.ours} | ${c.bare} | ${c.ratio} |\n`);
  table('Text layer: pdf.text vs bare pdftotext', textResult);
  table('Rendering: pdf.render vs bare pdftoppm', renderResult);
  const goals: [string, boolean][] = [
    ['OCR speed ≥ 0.9× bare', ocrResult.speed_ratio >= 0.9],
    ['text-layer speed ≥ 0.9× bare', textResult.speed_ratio >= 0.9],
    ['render speed ≥ 0.9× bare', renderResult.speed_ratio >= 0.9],
  ];
  for (const [goal, met] of goals) process.stdout.write(`goal ${goal}: ${met ? 'met' : 'NOT met'}\n`);
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(
    args.out,
    `${JSON.stringify({ rounds: ROUNDS, ocr: ocrResult, cer: cerByClass, text: textResult, render: renderResult, goals: Object.fromEntries(goals) }, null, 2)}\n`,
  );
  process.stdout.write(`written ${args.out}\n`);
}

await main();
