import t from 'tap';
import { skipUnlessShared } from '../helpers/env.ts';
import { HIDDEN, IDS, PUBLIC_IDS, startPortal, TITLES, type Portal } from '../helpers/portal-data.ts';

const MAX_PAGES = 400;

interface Crawled {
  pages: Map<string, string>;
  /** Item ids linked from the pages (`/items/<id>…`). */
  itemIds: Set<string>;
  /** Pages that did not answer 200, with their status. */
  failures: string[];
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function links(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*?\bhref="([^"]*)"/g)].map((m) => decode(m[1]!));
}

/** The portal pages a link leads to (same origin, `/`, `/search…`, `/items/…`), without the fragment. */
function pageOf(href: string, origin: string): string | undefined {
  const url = new URL(href, `${origin}/`);
  if (url.origin !== origin) return undefined;
  const p = url.pathname;
  if (p !== '/' && p !== '/search' && !/^\/items\/[^/]+$/.test(p)) return undefined;
  return `${p}${url.search}`;
}

function itemIdOf(pageUrl: string): string | undefined {
  const m = /^\/items\/([^/?]+)/.exec(pageUrl);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

/** Breadth-first from `/` through `<a href>` links, as the reader the headers make; thumbnails once per item. */
async function crawl(portal: Portal, headers: Record<string, string>): Promise<Crawled> {
  const { app } = portal.api;
  const pages = new Map<string, string>();
  const itemIds = new Set<string>();
  const failures: string[] = [];
  const queue = ['/'];
  const seen = new Set(queue);
  while (queue.length > 0 && pages.size < MAX_PAGES) {
    const url = queue.shift()!;
    const res = await app.inject({ url, headers });
    if (res.statusCode !== 200) {
      failures.push(`${url} → ${res.statusCode}`);
      continue;
    }
    pages.set(url, res.body);
    for (const href of links(res.body)) {
      const next = pageOf(href, portal.origin);
      if (next === undefined) continue;
      const id = itemIdOf(next);
      if (id !== undefined) itemIds.add(id);
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  for (const id of itemIds) {
    const thumb = await app.inject({ url: `/items/${encodeURIComponent(id)}/thumbnail`, headers });
    if (thumb.statusCode !== 200) failures.push(`/items/${id}/thumbnail → ${thumb.statusCode}`);
    else if (!/^image\//.test(String(thumb.headers['content-type'])))
      failures.push(`/items/${id}/thumbnail is ${String(thumb.headers['content-type'])}`);
  }
  return { pages, itemIds, failures };
}

/** The words that would betray a hidden item: its id, title, marker and the facet values only it carries. */
function betrayals(which: 'restricted' | 'private'): string[] {
  const h = HIDDEN[which];
  return [h.id, h.title, h.marker, h.museum, h.period === '元' ? '>元<' : h.period];
}

function homeCounts(html: string): { total: number | undefined; kinds: Record<string, number> } {
  const kinds: Record<string, number> = {};
  for (const m of html.matchAll(/href="\/search\?kind=([a-z_]+)"[^>]*>\s*<span class="count">(\d+)<\/span>/g))
    kinds[m[1]!] = Number(m[2]);
  const holdings = /<h2 id="holdings">[^<]*<\/h2>\s*<p>[^<\d]*(\d+)/.exec(html);
  return { total: holdings ? Number(holdings[1]) : undefined, kinds };
}

t.test(
  'a crawl of the portal shows each reader what they may read, and nothing else',
  { skip: skipUnlessShared('fixtures/images/canon-dslr.jpg') },
  async (t) => {
    const portal = await startPortal(t, { listen: false });
    const { app } = portal.api;
    const researcher = { cookie: `ciku_session=${portal.researcherKey}` };

    const anon = await crawl(portal, {});
    const who = await crawl(portal, researcher);

    t.test('the anonymous crawl reaches the item pages, search pages and thumbnails', async (t) => {
      t.ok(anon.pages.size >= 20, `crawled ${anon.pages.size} pages`);
      t.same(anon.failures, [], 'every linked page and thumbnail answers 200');
      for (const id of PUBLIC_IDS) t.ok(anon.itemIds.has(id), `${id} is linked from some page`);
      t.ok(
        [...anon.pages.keys()].some((u) => u.startsWith('/search?') && u.includes('museum=')),
        'facet links were followed',
      );
    });

    t.test('no page an anonymous reader sees names the restricted or the private item', async (t) => {
      for (const which of ['restricted', 'private'] as const) {
        for (const word of betrayals(which)) {
          const leaks = [...anon.pages].filter(([, body]) => body.includes(word)).map(([u]) => u);
          t.same(leaks, [], `the ${which} item's “${word}” is on no anonymous page`);
        }
      }
    });

    t.test('every item linked for an anonymous reader is one the API lets them read', async (t) => {
      for (const id of anon.itemIds) {
        const res = await app.inject({ url: `/v1/items/${encodeURIComponent(id)}` });
        t.equal(res.statusCode, 200, `GET /v1/items/${id} anonymously`);
      }
    });

    t.test('the researcher sees the restricted item, marked, but never the private one', async (t) => {
      t.same(who.failures, [], 'every page and thumbnail the researcher reaches answers 200');
      const r = HIDDEN.restricted;
      const seenOn = [...who.pages].filter(([, body]) => body.includes(r.title)).map(([u]) => u);
      t.ok(seenOn.length > 0, 'the restricted title is on some page the researcher reaches');
      t.ok(who.itemIds.has(r.id), 'its item page is linked');
      const page = who.pages.get(`/items/${r.id}`);
      t.ok(page, 'its item page was crawled');
      t.match(page ?? '', /class="badge[^"]*"/, 'its item page marks it with a .badge');
      const hits = [...who.pages]
        .filter(([u]) => u.startsWith('/search'))
        .flatMap(([, body]) => body.split('<li class="hit">').slice(1))
        .filter((hit) => hit.includes(`href="/items/${r.id}"`));
      t.ok(hits.length > 0, 'it is a hit on some search page');
      t.ok(
        hits.every((hit) => /class="badge[^"]*"/.test(hit.split('</li>')[0] ?? '')),
        'each of its hits carries a .badge',
      );
      for (const word of betrayals('private')) {
        const leaks = [...who.pages].filter(([, body]) => body.includes(word)).map(([u]) => u);
        t.same(leaks, [], `the private item's “${word}” is on no page the researcher sees`);
      }
    });

    t.test('the counts on the home page are the search totals of that reader', async (t) => {
      for (const [name, pageHeaders, apiHeaders] of [
        ['anonymous', {}, {}],
        ['researcher', researcher, portal.api.auth.researcher],
      ] as const) {
        const home = homeCounts((await app.inject({ url: '/', headers: pageHeaders })).body);
        const res = await app.inject({ url: '/v1/search?facets=kind&limit=1', headers: apiHeaders });
        const answer = res.json<{ total: number; facets: { kind: Record<string, number> } }>();
        const kinds = Object.fromEntries(Object.entries(answer.facets.kind).filter(([, n]) => n > 0));
        t.equal(home.total, answer.total, `${name}: the total on the home page`);
        t.same(home.kinds, kinds, `${name}: the count of each kind on the home page`);
      }
      const anonTotal = homeCounts(anon.pages.get('/') ?? '').total ?? 0;
      const whoTotal = homeCounts(who.pages.get('/') ?? '').total ?? 0;
      t.equal(whoTotal, anonTotal + 1, 'the researcher counts one item more (the restricted one)');
    });

    t.test('the sitemap lists the public items and only those', async (t) => {
      const res = await app.inject({ url: '/sitemap.xml' });
      t.equal(res.statusCode, 200);
      const listed = [...res.body.matchAll(/<loc>[^<]*\/items\/([^<]+)<\/loc>/g)].map((m) =>
        decodeURIComponent(m[1]!),
      );
      t.same(
        listed.sort(),
        [...PUBLIC_IDS].sort(),
        'every public item, no restricted, private or deleted one',
      );
    });

    t.test('the private item is not found by anonymous readers or researchers, and not named', async (t) => {
      const p = HIDDEN.private;
      for (const [name, headers] of [
        ['anonymous', {}],
        ['researcher', researcher],
      ] as const) {
        const res = await app.inject({ url: `/items/${p.id}`, headers });
        t.equal(res.statusCode, 404, `${name}: /items/${p.id} → 404`);
        t.notOk(
          res.body.includes(p.title) || res.body.includes(p.marker),
          `${name}: no title in the 404 page`,
        );
        t.match(String(res.headers['content-type']), /text\/html/, `${name}: a page, not JSON`);
      }
    });

    t.test('a deleted item answers 410 Gone', async (t) => {
      const res = await app.inject({ url: `/items/${IDS.gone}` });
      t.equal(res.statusCode, 410);
      t.match(String(res.headers['content-type']), /text\/html/);
      t.notOk(anon.itemIds.has(IDS.gone), 'it is linked from no page');
      t.ok(TITLES[IDS.gone], 'the deleted item had a title');
    });
  },
);
