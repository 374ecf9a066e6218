import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import t from 'tap';
import {
  describeViolations,
  launchBrowser,
  seriousAxeViolations,
  skipUnlessChromium,
} from '../helpers/browser.ts';
import { projectRoot, skipUnlessShared } from '../helpers/env.ts';
import { CUES, ICH_TITLE, IDS, LAPI_CUE, startPortal, TITLES, type Portal } from '../helpers/portal-data.ts';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const TILE = /\/derivatives\/iiif\/.+\/default\.jpg/;
const SCREENSHOTS = path.join(projectRoot, 'docs', 'screenshots');
const MANIFEST = path.join(projectRoot, 'dist', 'web', 'assets', 'manifest.json');
/** Generous: the condition is what is tested, not how fast a loaded machine meets it. */
const WAIT_MS = 20_000;

const skip = skipUnlessChromium() || skipUnlessShared('fixtures/images/canon-dslr.jpg');

/**
 * Waits for `expression` (evaluated in the page) to be truthy; false when it is not within `ms`. Polled from here
 * with page.evaluate (the DevTools protocol, which the pages' CSP does not govern): waitForFunction with a string
 * evaluates it inside the page, which `script-src 'self'` rightly refuses.
 */
async function becomes(page: Page, expression: string, ms = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await page.evaluate<unknown>(expression)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const currentTime = (page: Page) => page.evaluate<number>("document.querySelector('#media').currentTime");
const currentCue = (page: Page) =>
  page.evaluate<number>(
    "[...document.querySelectorAll('.cue')].findIndex((c) => c.getAttribute('aria-current') === 'true')",
  );
const near = (seconds: number) =>
  `(() => { const m = document.querySelector('#media'); return m && m.readyState >= 1 && Math.abs(m.currentTime - ${seconds}) < 0.5; })()`;

t.test('the public portal, read in Chromium', { skip }, async (t) => {
  // The browser first, so that its teardown (closing every connection it holds) runs before the server's.
  const { context } = await launchBrowser(t);
  const portal: Portal = await startPortal(t, { listen: true });
  const noClient = fs.existsSync(MANIFEST)
    ? false
    : `SKIPPED: the portal client is not built (scripts/build-client.ts writes ${path.relative(projectRoot, MANIFEST)})`;
  const noPlayer = noClient || (portal.hasMedia ? false : (portal.noMediaWhy ?? 'no media'));
  const interview = `/items/${IDS.interview}`;

  /** A new page at `url` whose script errors are collected (and checked by `noScriptErrors`). */
  async function open(t: Test, url: string, ctx: BrowserContext = context) {
    const page = await ctx.newPage();
    t.teardown(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      // CSP refusals and failed module loads are reported on the console, not as page errors.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(msg.text());
    });
    await page.goto(`${portal.origin}${url}`);
    return { page, noScriptErrors: () => t.same(errors, [], 'no script errors on the page') };
  }

  const hitTitles = (page: Page) => page.locator('.hits .hit h3 a').allTextContents();
  const hitCount = (page: Page) => page.locator('.hits > li.hit').count();

  t.test('a search typed on the home page finds 青花, 景德鎮 and jingdezhen, marked', async (t) => {
    for (const [q, known] of [
      ['青花', TITLES[IDS.bowl]!],
      ['景德鎮', ICH_TITLE],
      ['jingdezhen', ICH_TITLE],
    ] as const) {
      const { page, noScriptErrors } = await open(t, '/');
      await page.locator('#q').fill(q);
      await page.locator('#q').press('Enter');
      await page.waitForURL(/\/search\?/);
      t.equal(new URL(page.url()).searchParams.get('q'), q, `${q}: the URL holds the query`);
      const titles = await hitTitles(page);
      t.ok(titles.includes(known), `${q}: “${known}” is among the hits (${titles.join(' | ')})`);
      t.ok((await page.locator('.hits .hit h3 mark').count()) > 0, `${q}: a <mark> in the hits' titles`);
      noScriptErrors();
    }
  });

  t.test('two facets narrow the results, and Back returns to one', async (t) => {
    const { page } = await open(t, `/search?q=${encodeURIComponent('青花')}`);
    const all = await hitCount(page);
    await page.locator('#facet-museum + ul a', { hasText: '景德镇中国陶瓷博物馆' }).click();
    await page.waitForURL(/museum=/);
    const one = await hitCount(page);
    t.ok(one > 0 && one < all, `a museum narrows ${all} hits to ${one}`);
    await page.locator('#facet-period + ul a', { hasText: '清' }).click();
    await page.waitForURL(/period=/);
    const url = new URL(page.url());
    t.same(url.searchParams.getAll('museum'), ['景德镇中国陶瓷博物馆'], 'the URL holds the museum');
    t.same(url.searchParams.getAll('period'), ['清'], 'and the period');
    t.equal(url.searchParams.get('q'), '青花', 'and still the query');
    const two = await hitCount(page);
    t.ok(two > 0 && two < one, `a period narrows ${one} hits to ${two}`);
    t.same(await hitTitles(page), [TITLES[IDS.plate]], 'the plate alone (青花, the first museum, 清)');
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has('period'));
    t.same(new URL(page.url()).searchParams.getAll('museum'), ['景德镇中国陶瓷博物馆'], 'back to one filter');
    t.equal(await hitCount(page), one, 'with its count');
  });

  t.test(
    'the zoom viewer opens on the scan and zooming in loads IIIF tiles',
    { skip: noClient },
    async (t) => {
      const page = await context.newPage();
      t.teardown(() => page.close());
      const tiles: { url: string; status: number; at: number }[] = [];
      page.on('response', (res) => {
        if (TILE.test(res.url())) tiles.push({ url: res.url(), status: res.status(), at: Date.now() });
      });
      await page.goto(`${portal.origin}/items/${IDS.image}`);
      await page.locator('[data-zoom-in]').waitFor({ state: 'visible', timeout: WAIT_MS });
      t.pass('the viewer shows its controls');
      const opened = await becomes(
        page,
        '!!document.querySelector("[data-zoom] .openseadragon-container, [data-zoom] canvas")',
      );
      t.ok(opened, 'OpenSeadragon is drawing into the viewer');
      const before = Date.now();
      await page.locator('[data-zoom-in]').click();
      await page.locator('[data-zoom-in]').click();
      const deadline = Date.now() + WAIT_MS;
      while (!tiles.some((x) => x.at >= before) && Date.now() < deadline) await page.waitForTimeout(100);
      t.ok(
        tiles.some((x) => x.at >= before),
        `tiles were requested after zooming in (${tiles.length} in all)`,
      );
      t.same(
        tiles.filter((x) => x.status !== 200).map((x) => `${x.status} ${x.url}`),
        [],
        'every tile request was answered 200',
      );
    },
  );

  t.test(
    'a moment link from the search results starts the interview at its cue',
    { skip: noPlayer },
    async (t) => {
      const { page, noScriptErrors } = await open(t, `/search?q=${encodeURIComponent('拉坯')}`);
      const link = page.locator('.moments a[href*="?t="]').first();
      t.match(
        await link.getAttribute('href'),
        new RegExp(`^/items/${IDS.interview}\\?t=`),
        'it links the interview',
      );
      await link.click();
      await page.waitForURL(/\/items\/.+\?t=/);
      const start = CUES[LAPI_CUE].start;
      const there = await becomes(page, near(start));
      t.ok(there, `the player is at ${start} s (it is at ${await currentTime(page)} s)`);
      noScriptErrors();
    },
  );

  t.test(
    'a cue link seeks the player, and playing moves the current cue on',
    { skip: noPlayer },
    async (t) => {
      const { page, noScriptErrors } = await open(t, interview);
      await becomes(page, "document.querySelector('#media').readyState >= 1");
      const cue = 5;
      await page.locator(`#cue-${cue} .cue-time`).click();
      const there = await becomes(page, near(CUES[cue].start));
      t.ok(there, `the player is at ${CUES[cue].start} s (it is at ${await currentTime(page)} s)`);
      const marked = await becomes(
        page,
        `document.querySelector('#cue-${cue}')?.getAttribute('aria-current') === 'true'`,
      );
      t.ok(marked, `cue ${cue} is aria-current after the seek (current: ${await currentCue(page)})`);
      const from = await currentCue(page);
      await page.evaluate(
        "(async () => { const m = document.querySelector('#media'); m.muted = true; await m.play(); })()",
      );
      const moved = await becomes(
        page,
        `[...document.querySelectorAll('.cue')].findIndex((c) => c.getAttribute('aria-current') === 'true') > ${from}`,
      );
      t.ok(moved, `a later cue became current while playing (from ${from} to ${await currentCue(page)})`);
      t.equal(await page.locator('.cue[aria-current="true"]').count(), 1, 'exactly one cue is current');
      noScriptErrors();
    },
  );

  t.test(
    'searching inside the transcript marks the hits and steps through them',
    { skip: noPlayer },
    async (t) => {
      const { page, noScriptErrors } = await open(t, interview);
      await page.locator('#tq').fill('青花');
      await page.locator('#tq').press('Enter');
      const counted = await becomes(
        page,
        "document.querySelector('[data-hit-count]').textContent.trim() !== ''",
      );
      t.ok(counted, `the hit count is shown (“${await page.locator('[data-hit-count]').textContent()}”)`);
      const hits = await page.locator('mark.hit').count();
      t.ok(hits >= 2, `${hits} marked hits (青花 is in two cues)`);
      const index = () =>
        page.evaluate<number>(
          "[...document.querySelectorAll('mark.hit')].findIndex((m) => m.classList.contains('current'))",
        );
      const first = await index();
      t.ok(first >= 0, 'one hit is the current one');
      await page.locator('[data-next]').click();
      const moved = await becomes(
        page,
        `[...document.querySelectorAll('mark.hit')].findIndex((m) => m.classList.contains('current')) !== ${first}`,
      );
      t.ok(moved, `Next moves .current on (from ${first} to ${await index()})`);
      t.equal(await page.locator('mark.hit.current').count(), 1, 'one current hit');
      noScriptErrors();
    },
  );

  t.test('the language switch turns the page to English and back to 中文', async (t) => {
    const { page } = await open(t, interview);
    t.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'Chinese by default');
    await page.locator('.lang-switch a[lang=en]').click();
    await page.waitForURL(/lang=en/);
    t.equal(await page.getAttribute('html', 'lang'), 'en', 'html[lang=en]');
    t.equal(
      (await page.locator('nav a[href="/search"]').first().textContent())?.trim(),
      'Search',
      'English UI',
    );
    t.match(page.url(), new RegExp(`/items/${IDS.interview}`), 'on the same page');
    await page.locator('.lang-switch a[lang="zh-CN"]').click();
    await page.waitForURL(/lang=zh-CN/);
    t.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'html[lang=zh-CN] again');
    t.equal(
      (await page.locator('nav a[href="/search"]').first().textContent())?.trim(),
      '检索',
      'Chinese UI',
    );
  });

  t.test('the player is reached from the top of the page with the keyboard alone', async (t) => {
    const { page } = await open(t, interview);
    const reached =
      "(() => { const a = document.activeElement; return !!a && (a.id === 'media' || a === document.querySelector('.cue-time')); })()";
    let presses = 0;
    let there = false;
    while (presses < 60 && !there) {
      await page.keyboard.press('Tab');
      presses += 1;
      there = await page.evaluate<boolean>(reached);
    }
    const where = await page.evaluate<string>(
      "(() => { const a = document.activeElement; return a ? `${a.tagName.toLowerCase()}#${a.id}.${a.className}` : 'nothing'; })()",
    );
    t.ok(
      there,
      `the media element or the first cue link has focus after ${presses} Tab presses (focus: ${where})`,
    );
  });

  t.test('no serious or critical accessibility violations (axe)', async (t) => {
    const pages: [string, string][] = [
      ['home', '/'],
      ['search results', `/search?q=${encodeURIComponent('青花')}`],
      ['oral history', interview],
      ['collection object', `/items/${IDS.image}`],
      ['ICH project', `/items/${IDS.ich}`],
      ['inheritor', `/items/${IDS.inheritorA}`],
      ['the player at a moment', `${interview}?t=${CUES[LAPI_CUE].start}`],
    ];
    for (const [name, url] of pages) {
      const { page } = await open(t, url);
      await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
      const violations = await seriousAxeViolations(page);
      if (violations.length > 0) t.comment(`axe on ${name} (${url}):\n${describeViolations(violations)}`);
      t.same(violations, [], `${name}: no serious or critical violations\n${describeViolations(violations)}`);
      await page.close();
    }
  });

  // Unstyled pages are not what the README should show: without the built client, the committed ones are kept.
  t.test('screenshots for the README', { skip: noClient }, async (t) => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const shots: [string, string, { width: number; height: number }][] = [
      ['home', '/', { width: 1280, height: 900 }],
      ['search', `/search?q=${encodeURIComponent('青花')}`, { width: 1280, height: 900 }],
      ['item-image', `/items/${IDS.image}`, { width: 1280, height: 900 }],
      ['interview', interview, { width: 1280, height: 900 }],
      ['search-phone', `/search?q=${encodeURIComponent('青花')}`, { width: 390, height: 844 }],
    ];
    for (const [name, url, size] of shots) {
      const page = await context.newPage();
      await page.setViewportSize(size);
      await page.goto(`${portal.origin}${url}`);
      await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file });
      await page.close();
      t.ok(fs.statSync(file).size > 10_000, `docs/screenshots/${name}.png written`);
    }
  });
});
