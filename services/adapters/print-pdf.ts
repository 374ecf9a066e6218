import { chromium } from 'playwright-core';

/**
 * Printing to PDF through headless Chromium (the one module that drives it outside the tests and the portal
 * bench): a complete HTML document, its stylesheet given as text (the document is set as content, so it loads
 * nothing from a server), printed with the document's own print CSS and page size.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface PrintOptions {
  html: string;
  /** CSS added to the document before printing (the portal's stylesheet). */
  css?: string;
  file: string;
  executablePath?: string;
}

export async function printPdf(options: PrintOptions): Promise<void> {
  const browser = await chromium.launch({
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    headless: true,
    // No network of its own (updates, sync, background fetches): the document is all it reads.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    await page.setContent(options.html, { waitUntil: 'load' });
    if (options.css !== undefined) await page.addStyleTag({ content: options.css });
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: options.file, preferCSSPageSize: true, printBackground: true });
  } finally {
    await browser.close();
  }
}
