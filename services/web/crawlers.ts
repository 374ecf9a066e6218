import { anonymous } from '../archive/access.ts';
import type { Application } from '../app/application.ts';
import { itemPath } from './page-context.ts';

/** A sitemap file holds at most this many URLs (sitemaps.org). */
const SITEMAP_MAX_URLS = 50_000;

export function robotsTxt(publicUrl: string): string {
  return [
    'User-agent: *',
    'Allow: /',
    // Result pages are endless combinations of one archive; the item pages (in the sitemap) are what to index.
    'Disallow: /search',
    'Disallow: /login',
    'Disallow: /v1/search',
    `Sitemap: ${publicUrl}/sitemap.xml`,
    '',
  ].join('\n');
}

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** How long a built sitemap is served before it is built again (crawlers come rarely; a build reads the catalogue). */
const SITEMAP_TTL_MS = 10 * 60_000;

/**
 * The sitemap, built at most once per SITEMAP_TTL_MS and by one request at a time (the others wait for it): a burst
 * of `/sitemap.xml` requests over a large archive costs one catalogue walk, not one each.
 */
export function cachedSitemap(app: Application, publicUrl: string, clock: () => Date) {
  let built: { at: number; xml: Promise<string> } | undefined;
  return (): Promise<string> => {
    const now = clock().getTime();
    if (built === undefined || now - built.at > SITEMAP_TTL_MS) {
      const xml = sitemapXml(app, publicUrl);
      built = { at: now, xml };
      // A failed build is not kept: the next request tries again.
      xml.catch(() => {
        if (built?.xml === xml) built = undefined;
      });
    }
    return built.xml;
  };
}

/** The item pages anyone may read right now (the catalogue, read as anonymous), with their last change. */
export async function sitemapXml(app: Application, publicUrl: string): Promise<string> {
  const urls: string[] = [`<url><loc>${xml(`${publicUrl}/`)}</loc></url>`];
  let cursor: string | undefined;
  do {
    const page = await app.items.list(anonymous, {
      sort: 'id',
      limit: 200,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const item of page.items) {
      urls.push(
        `<url><loc>${xml(`${publicUrl}${itemPath(item.id)}`)}</loc><lastmod>${item.updated.slice(0, 10)}</lastmod></url>`,
      );
    }
    cursor = page.next;
  } while (cursor !== undefined && urls.length < SITEMAP_MAX_URLS);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls
    .slice(0, SITEMAP_MAX_URLS)
    .join('\n')}\n</urlset>\n`;
}
