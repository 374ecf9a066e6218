import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { writeStatsPdf } from '../../scripts/cli/commands/stats.ts';
import { createStatsService } from '../../services/stats/stats.ts';
import {
  describeViolations,
  launchBrowser,
  seriousAxeViolations,
  skipUnlessChromium,
} from '../helpers/browser.ts';
import { startTestApi } from '../helpers/api.ts';
import { projectRoot, tempDir } from '../helpers/env.ts';

/**
 * `/stats` and `/stats/report` read in Chromium, without JavaScript: charts (SVG) beside their tables and CSV
 * links, no serious accessibility violation, the report's numbered tables; and `ciku stats --pdf`'s PDF holds the
 * same tables (read back with pdftotext). The report's screenshot is kept under docs/screenshots/.
 */

const SCREENSHOTS = path.join(projectRoot, 'docs', 'screenshots');
const skip =
  skipUnlessChromium() ||
  (fs.existsSync('/usr/bin/pdftotext') ? false : 'SKIPPED: needs pdftotext (poppler-utils)');

t.test(
  'the statistics page and the printable report in Chromium, and the report as PDF',
  { skip },
  async (t) => {
    const { context } = await launchBrowser(t);
    const api = await startTestApi(t, { listen: true });
    const create = async (id: string, kind: string, metadata: Record<string, unknown>, level = 'public') => {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: api.auth.archivist,
        payload: { id, kind, metadata: { title: id, ...metadata }, access: { level } },
      });
      t.equal(res.statusCode, 201, res.body);
    };
    await create('p1', 'ich_project', { category: '传统技艺', level: '国家级', batch: 1, region: '珠山区' });
    await create('p2', 'ich_project', { category: '传统技艺', level: '省级', batch: 2, region: '浮梁县' });
    await create('p3', 'ich_project', { category: '民俗', level: '市级', batch: 3, region: '昌江区' });
    await create('h1', 'inheritor', {
      gender: '女',
      birth_year: 1950,
      level: '国家级',
      category: '传统技艺',
    });
    await create('h2', 'inheritor', { gender: '男', birth_year: 1990, level: '省级', category: '传统技艺' });
    await create('secret', 'ich_project', { category: '曲艺', level: '县级' }, 'restricted');

    const page = await context.newPage();
    t.teardown(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${api.url}/stats?year=2026`);
    t.equal(await page.locator('h1').textContent(), '统计');
    const chart = page.locator('#ich_projects_by_category svg.stat-chart');
    t.equal(await chart.locator('rect').count(), 10, 'a bar for each category');
    t.match(await chart.locator('text').allTextContents(), ['Ⅰ 民间文学', '0'], 'labelled, with its value');
    t.match(await chart.getAttribute('aria-label'), /非遗项目（按类别）/);
    t.equal(
      await page.locator('#ich_projects_by_category table tbody tr').count(),
      10,
      'the ten categories, zeros included',
    );
    const craft = page.locator('#ich_projects_by_category tbody tr', { hasText: '传统技艺' });
    t.match(await craft.textContent(), /Ⅷ传统技艺2/);
    const quyi = page.locator('#ich_projects_by_category tbody tr', { hasText: '曲艺' });
    t.match(await quyi.textContent(), /Ⅴ曲艺0/, 'the restricted project is not counted for anonymous');
    t.equal(
      await page.locator('#ich_projects_by_category a[download]').getAttribute('href'),
      '/v1/stats?format=csv&year=2026&table=ich_projects_by_category',
    );
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.setViewportSize({ width: 1000, height: 1400 });
    await page.locator('#section-ich').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'stats-page.png') });
    t.same(
      await page.locator('#ich_projects_by_category_level thead th').allTextContents(),
      ['编号', '类别', '国家级', '省级', '市级', '县级', '合计'],
      'the category × level table as a cross table',
    );
    const violations = await seriousAxeViolations(page);
    t.same(violations, [], describeViolations(violations));

    await page.goto(`${api.url}/stats?year=2026&lang=en`);
    t.equal(await page.locator('h1').textContent(), 'Statistics');

    await page.goto(`${api.url}/stats/report?year=2026&lang=zh-CN`);
    await page.emulateMedia({ media: 'print' });
    const captions = await page.locator('table caption').allTextContents();
    t.ok(captions.length >= 20, `${captions.length} numbered tables`);
    t.equal(captions[0], '表1　各类条目数量');
    t.ok(captions.includes('表2　非遗项目（按类别和级别）'), 'the category × level table, pivoted');
    const pivot = page.locator('table', { hasText: '非遗项目（按类别和级别）' });
    t.same(await pivot.locator('thead th').allTextContents(), [
      '编号',
      '类别',
      '国家级',
      '省级',
      '市级',
      '县级',
      '合计',
    ]);
    t.match(await pivot.locator('tbody tr', { hasText: '传统技艺' }).textContent(), /Ⅷ传统技艺11002/);
    t.equal(await page.locator('.site-header').isVisible(), false, 'print CSS hides the navigation');
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.setViewportSize({ width: 900, height: 1270 });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'stats-report.png'), fullPage: false });
    t.same(errors, []);

    // The PDF of `ciku stats --pdf`: the same numbers, as the staff see them.
    const stats = createStatsService({ search: api.search, blobs: api.blobs, clock: () => new Date() });
    const answer = await stats.compute({ role: 'admin' }, { year: 2026 });
    const file = path.join(tempDir(t), 'report.pdf');
    await writeStatsPdf(answer, { file, locale: 'zh-CN', role: 'admin', publicUrl: 'http://ciku.test' });
    t.equal(fs.readFileSync(file).subarray(0, 5).toString(), '%PDF-');
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    t.match(text, /景德镇陶瓷文化生态保护实验区 2026 年度自评统计表/);
    t.match(text, /表2\s+非遗项目（按类别和级别）/);
    t.match(text, /Ⅴ\s+曲艺\s+0\s+0\s+0\s+1\s+1/, 'staff count the restricted project');
    t.match(text, /Ⅷ\s+传统技艺\s+1\s+1\s+0\s+0\s+2/);
    t.match(text, /80岁及以上\s+0/);
    t.match(text, /70–79岁\s+1/);
  },
);
