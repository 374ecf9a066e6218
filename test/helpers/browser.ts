import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** tap's `skip` option for a test that needs Chromium: false when it is installed, else the reason. */
export function skipUnlessChromium(): false | string {
  return fs.existsSync(CHROMIUM)
    ? false
    : 'SKIPPED: Chromium is not installed (scripts/setup-debian.sh installs it)';
}

/**
 * Headless Chromium with a fresh profile of its own, closed (and its profile removed) at teardown. No network of
 * its own (component updates, sync, background fetches): the only requests are the test's.
 */
export async function launchBrowser(t: {
  teardown(fn: () => unknown): void;
}): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      // The archive's readers: Accept-Language zh-CN (Chromium's own default, en-US, would make every page English).
      locale: 'zh-CN',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(close);
  return { context, close };
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

const require = createRequire(import.meta.url);

/** axe-core run on the page as it is now (WCAG 2.1 A/AA and best practice): its serious and critical violations. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  const content = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // The pages' CSP (script-src 'self') refuses an inline <script> (page.addScriptTag({ content })), and the browser
  // keeps that CSP on purpose (a client module breaking it must show). Evaluated through the DevTools protocol, the
  // same source is not subject to the page's CSP.
  await page.evaluate(content);
  // A string, not a function: axe is a global of the page, unknown to this (DOM-less) TypeScript project.
  const result = await page.evaluate<{
    violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
  }>("axe.run({ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] })");
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact ?? '',
      help: v.help,
      targets: v.nodes.map((n) => n.target.map(String).join(' ')),
    }));
}

/** Violations as lines for an assertion message: id, impact, what, where. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.targets.slice(0, 8).join(', ')}`)
    .join('\n');
}
