import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page, Response } from 'playwright-core';
import t from 'tap';
import { meanColour, rasterizeSvg } from '../../services/adapters/image.ts';
import { launchBrowser, skipUnlessChromium } from '../helpers/browser.ts';
import { until } from '../helpers/api-workers.ts';
import { skipUnlessShared, tempDir } from '../helpers/env.ts';
import { CUES, IDS, LAPI_CUE, startPortal } from '../helpers/portal-data.ts';

/**
 * A real viewer opens our manifests: Mirador 4 (its UMD bundle) on a test page of its own origin in Chromium,
 * reading manifests, tiles, media and search answers from a listening portal across origins (CORS, as a museum's
 * viewer would). The viewer page is ours; the archive is reached only through what Mirador fetches.
 *
 * The viewer's origin is a second loopback server, not a routed made-up host: Chromium's private network access
 * checks refuse a page from a (seemingly) public origin fetching from 127.0.0.1.
 */

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const require = createRequire(import.meta.url);

/** Mirador's UMD bundle: CIKU_MIRADOR_JS when set, else the installed package's `require` entry. */
function miradorBundle(): string | undefined {
  const given = process.env.CIKU_MIRADOR_JS;
  if (given !== undefined && given !== '') return fs.existsSync(given) ? given : undefined;
  try {
    // The package exports only `.` (its `require` condition is dist/mirador.min.js), not the file's own path.
    const found = require.resolve('mirador');
    return path.basename(found) === 'mirador.min.js' ? found : undefined;
  } catch {
    return undefined;
  }
}

const MIRADOR_JS = miradorBundle();
const skip =
  skipUnlessChromium() ||
  skipUnlessShared('fixtures/images/canon-dslr.jpg') ||
  (MIRADOR_JS === undefined ? 'SKIPPED: mirador is not installed (npm ci installs it)' : false);

const TILE = /\/derivatives\/iiif\/.+\/default\.jpg$/;
/** Generous: the condition is what is tested, not how fast a loaded machine meets it. */
const WAIT_MS = 30_000;

const BOOK = 'AD-MIRADOR-3P';
/** One colour per page (RGB), so that what Mirador draws tells which page it shows. */
const PAGE_COLOURS = [
  [200, 40, 40],
  [40, 160, 60],
  [40, 70, 200],
] as const;

/** Polls `what` until it is truthy; false when it is not within `ms`. */
async function becomes(what: () => Promise<unknown>, ms = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The viewer's own origin: `/mirador.min.js`, and at `/?manifest=…&panel=…` the test page. */
async function startViewer(t: Test, bundle: Buffer): Promise<string> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    if (url.pathname === '/mirador.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
      return;
    }
    const manifest = url.searchParams.get('manifest');
    if (url.pathname !== '/' || manifest === null) {
      res.writeHead(404).end();
      return;
    }
    const html = viewerPage(manifest, url.searchParams.get('panel') ?? undefined);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The test page: Mirador with one window on `manifestId`, its side panel open on `panel` when given. */
function viewerPage(manifestId: string, panel: string | undefined): string {
  const config = {
    id: 'm',
    language: 'en',
    windows: [{ id: 'w', manifestId }],
    window: {
      allowClose: false,
      allowMaximize: false,
      sideBarOpen: panel !== undefined,
      sideBarPanel: panel ?? 'info',
      defaultView: 'single',
    },
    workspace: { type: 'mosaic', allowNewWindows: false },
    workspaceControlPanel: { enabled: false },
  };
  // `<` escaped: the JSON sits inside a <script>.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mirador</title></head>
<body style="margin:0"><div id="m" style="position:absolute;inset:0"></div>
<script src="/mirador.min.js"></script>
<script>window.miradorInstance = Mirador.viewer(${json});</script></body></html>`;
}

async function scan(dir: string, name: string, [r, g, b]: readonly number[]): Promise<Buffer> {
  const file = path.join(dir, name);
  await rasterizeSvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="1600"><rect width="1200" height="1600" fill="rgb(${r},${g},${b})"/></svg>`,
    file,
    { jpeg: 90 },
  );
  return fs.promises.readFile(file);
}

/** The channel (0 red, 1 green, 2 blue) that stands out most in a mean colour. */
const dominant = (rgb: number[]) =>
  rgb.length < 3 ? -1 : rgb.slice(0, 3).indexOf(Math.max(...rgb.slice(0, 3)));

t.test('Mirador 4 opens our manifests in Chromium', { skip }, async (t) => {
  const started = performance.now();
  // The browser first, so that its teardown (closing every connection it holds) runs before the server's.
  const { context } = await launchBrowser(t);
  const portal = await startPortal(t, { listen: true });
  const { api, origin } = portal;
  t.comment(`portal ready after ${Math.round(performance.now() - started)} ms`);
  const viewer = await startViewer(t, await fs.promises.readFile(MIRADOR_JS!));

  // A three-page document: three scans of an archive_document make a paged manifest, one canvas per scan.
  const dir = tempDir(t, 'ciku-mirador-');
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.admin,
    payload: {
      id: BOOK,
      kind: 'archive_document',
      metadata: { title: '湖田窑发掘记录（三页）', reference_code: 'JDZ-MIR-001', year: 1998 },
      access: { level: 'public' },
    },
  });
  if (created.statusCode !== 201) throw new Error(`creating ${BOOK}: ${created.body}`);
  for (const [i, colour] of PAGE_COLOURS.entries()) {
    const res = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/${BOOK}/files/page-${i + 1}.jpg`,
      headers: api.auth.admin,
      payload: await scan(dir, `page-${i + 1}.jpg`, colour),
    });
    if (res.statusCode !== 201) throw new Error(`uploading page ${i + 1}: ${res.body}`);
  }
  await until(
    async () => {
      const res = await api.app.inject({ url: `/iiif/${BOOK}/manifest` });
      return res.statusCode === 200 && res.json<{ items: unknown[] }>().items.length === 3 ? true : undefined;
    },
    'the three-page manifest',
    90_000,
  );
  t.comment(`book ready after ${Math.round(performance.now() - started)} ms`);

  /**
   * A page with Mirador on `manifestId`. Every answer from the archive is kept; `archiveFailures` lists those that
   * failed (≥ 400, or no answer at all), and `noScriptErrors` checks the page threw nothing.
   */
  async function mirador(t: Test, manifestId: string, panel?: string) {
    const page = await context.newPage();
    t.teardown(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const answers: Response[] = [];
    const failures: string[] = [];
    page.on('response', (res) => {
      if (!res.url().startsWith(`${origin}/`)) return;
      answers.push(res);
      if (res.status() >= 400) failures.push(`${res.status()} ${res.url()}`);
    });
    page.on('requestfailed', (req) => {
      // A media element drops its request once it has what it needs: not a failure of the archive.
      if (req.url().startsWith(`${origin}/`) && req.resourceType() !== 'media')
        failures.push(`${req.failure()?.errorText ?? 'failed'} ${req.url()}`);
    });
    const qs = new URLSearchParams({ manifest: manifestId, ...(panel === undefined ? {} : { panel }) });
    await page.goto(`${viewer}/?${qs.toString()}`);
    return {
      page,
      answers,
      noArchiveFailures: () => t.same(failures, [], 'every request to the archive was answered'),
      noScriptErrors: () => t.same(errors, [], 'no script errors on the page'),
    };
  }

  const canvasCount = (page: Page) =>
    page.evaluate<string | null>("document.querySelector('.mirador-canvas-count')?.textContent ?? null");

  /** The mean colour of the middle of what OpenSeadragon shows (a fitted page covers it; its margins do not). */
  async function shown(page: Page): Promise<number[]> {
    const box = await page.locator('.openseadragon-canvas').first().boundingBox();
    if (!box) return [];
    const clip = { x: box.x + box.width / 2 - 20, y: box.y + box.height / 2 - 20, width: 40, height: 40 };
    return meanColour(await page.screenshot({ clip }));
  }

  t.test('an image manifest opens and its first canvas is drawn from our Image API tiles', async (t) => {
    const { page, answers, noArchiveFailures, noScriptErrors } = await mirador(
      t,
      `${origin}/iiif/${IDS.image}/manifest`,
    );
    const tiles = () => answers.filter((r) => TILE.test(new URL(r.url()).pathname));
    t.ok(
      await becomes(async () => tiles().some((r) => r.status() === 200)),
      'Mirador requests our tiles and they are answered',
    );
    t.ok(
      answers.some((r) => r.url().endsWith('/derivatives/iiif/info.json') && r.status() === 200),
      'it read the image service’s info.json first',
    );
    t.same(
      tiles()
        .filter((r) => r.status() !== 200)
        .map((r) => r.url()),
      [],
      'every tile it asked for is answered 200',
    );
    t.ok(await becomes(async () => (await canvasCount(page)) === '1 of 1'), 'one canvas, the first shown');
    noArchiveFailures();
    noScriptErrors();
  });

  t.test('a three-page document shows its first page and turns to the next', async (t) => {
    const { page, noArchiveFailures, noScriptErrors } = await mirador(t, `${origin}/iiif/${BOOK}/manifest`);
    t.ok(
      await becomes(async () => (await canvasCount(page)) === '1 of 3'),
      'three canvases, the first shown',
    );
    let colour: number[] = [];
    const showsPage = (n: number) => async () => dominant((colour = await shown(page))) === n;
    t.ok(await becomes(showsPage(0)), `the first page is drawn (mean colour ${colour.join(',')})`);
    await page.getByRole('button', { name: 'Next item' }).click();
    t.ok(await becomes(async () => (await canvasCount(page)) === '2 of 3'), 'the navigation moves to page 2');
    t.ok(await becomes(showsPage(1)), `the second page is drawn (mean colour ${colour.join(',')})`);
    noArchiveFailures();
    noScriptErrors();
  });

  const noMedia = portal.hasMedia ? false : (portal.noMediaWhy ?? 'no media');
  t.test(
    'an interview’s canvas plays in Mirador’s video player from our proxy',
    { skip: noMedia },
    async (t) => {
      const { page, noArchiveFailures, noScriptErrors } = await mirador(
        t,
        `${origin}/iiif/${IDS.interview}/manifest`,
      );
      const src = () => page.evaluate<string>("document.querySelector('video')?.currentSrc ?? ''");
      t.ok(await becomes(async () => (await src()) !== ''), 'Mirador renders a <video> with a source');
      const proxy = new URL(await src());
      t.equal(proxy.origin, origin, 'from the archive');
      t.match(proxy.pathname, /\/derivatives\/proxy$/, 'our proxy');
      await page.evaluate(
        "(() => { const v = document.querySelector('video'); v.muted = true; return v.play(); })()",
      );
      let at = 0;
      t.ok(
        await becomes(
          async () => (at = await page.evaluate<number>("document.querySelector('video').currentTime")) > 1,
        ),
        `it plays: currentTime grows (at ${at} s)`,
      );
      noArchiveFailures();
      noScriptErrors();
    },
  );

  t.test('its search panel finds a word of the transcript through our Content Search', async (t) => {
    const { page, answers, noArchiveFailures, noScriptErrors } = await mirador(
      t,
      `${origin}/iiif/${IDS.interview}/manifest`,
      'search',
    );
    const input = page.getByLabel('search terms');
    await input.waitFor({ timeout: WAIT_MS });
    await input.fill('拉坯');
    await input.press('Enter');
    const searched = () =>
      answers.find((r) => new URL(r.url()).pathname === `/iiif/${IDS.interview}/search1`);
    t.ok(
      await becomes(async () => searched() !== undefined),
      'Mirador asks our Content Search (1.0) service',
    );
    t.equal(searched()!.status(), 200);
    t.equal(new URL(searched()!.url()).searchParams.get('q'), '拉坯');
    const cue = CUES[LAPI_CUE].text;
    const [before] = cue.split('拉坯');
    const hit = `[...document.querySelectorAll('li')].find((li) => li.querySelector('strong')?.textContent.trim() === '拉坯')`;
    t.ok(
      await becomes(() => page.evaluate<boolean>(`Boolean(${hit})`)),
      'the panel lists a hit with 拉坯 marked',
    );
    const text = await page.evaluate<string>(`${hit}.textContent`);
    t.match(text, before!, 'with the words of the cue before it');
    t.notOk(
      await page.evaluate<boolean>("document.body.innerText.includes('No results found')"),
      'no “no results” message',
    );
    noArchiveFailures();
    noScriptErrors();
  });
});
