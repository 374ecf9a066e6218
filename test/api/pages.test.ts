import t from 'tap';
import type { DocumentTextT, PageTextT } from '../../schemas/technical.ts';
import { imageSize } from '../../services/adapters/image.ts';
import { newItem, startTestApi, type TestApi } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';
import { buildPdf } from '../helpers/document-fixtures.ts';

const LINES = [
  ['Report on the Hutian kiln site, Jingdezhen.', 'Survey of the dragon kilns, season one.'],
  ['Qingbai porcelain sherds were found in every trench.'],
  ['The glaze is pale blue where it pools.'],
];

async function uploadPdf(api: TestApi, id: string, level: string): Promise<string> {
  await newItem(api, id, 'archive_document', level);
  const name = encodeURIComponent('湖田窑报告.pdf');
  const up = await api.app.inject({
    method: 'PUT',
    url: `/v1/items/${id}/files/${name}`,
    headers: api.auth.archivist,
    payload: buildPdf({ pages: LINES.map((text) => ({ text })) }),
  });
  if (up.statusCode !== 201) throw new Error(up.body);
  return name;
}

/** Waits until the item view says every derivative of its file is ready (as the archivist sees it). */
async function ready(api: TestApi, id: string) {
  return until(async () => {
    const res = await api.app.inject({ url: `/v1/items/${id}`, headers: api.auth.archivist });
    const f = res.json<{ files: { derivatives?: Record<string, { status: string; reason?: string }> }[] }>()
      .files[0]!;
    const d = Object.values(f.derivatives ?? {});
    if (d.some((x) => x.status === 'failed')) throw new Error(`a derivative failed: ${JSON.stringify(f)}`);
    return d.length > 0 && d.every((x) => x.status === 'ready') ? f : undefined;
  }, `the derivatives of ${id}`);
}

t.test('a document’s pages and text are served through the access decision', async (t) => {
  const api = await startTestApi(t);
  await startWorkersFor(t, api);
  const name = await uploadPdf(api, 'AD-PAGES', 'public');
  const hidden = await uploadPdf(api, 'AD-HIDDEN', 'restricted');
  const view = await ready(api, 'AD-PAGES');
  t.same(
    Object.keys(view.derivatives!).sort(),
    ['pages', 'preview', 'text', 'thumbnail'],
    'the item view lists them',
  );
  await ready(api, 'AD-HIDDEN');
  const base = `/v1/items/AD-PAGES/files/${name}`;

  const thumb = await api.app.inject({ url: `${base}/pages/2/thumbnail` });
  t.equal(thumb.statusCode, 200);
  t.equal(thumb.headers['content-type'], 'image/jpeg');
  t.match(await imageSize(thumb.rawPayload), { format: 'jpeg', height: 256 });
  t.equal(thumb.headers['cache-control'], 'public, max-age=86400', 'public pages cached publicly');
  t.equal(thumb.headers['access-control-allow-origin'], '*');
  const again = await api.app.inject({
    url: `${base}/pages/2/thumbnail`,
    headers: { 'if-none-match': String(thumb.headers.etag) },
  });
  t.equal(again.statusCode, 304, 'ETag revalidation');
  const preview = await api.app.inject({ url: `${base}/pages/3/preview?version=v2` });
  t.equal(preview.statusCode, 200, 'a version named');
  t.match(await imageSize(preview.rawPayload), { height: 1600 });
  const past = await api.app.inject({ url: `${base}/pages/4/preview` });
  t.match(
    { s: past.statusCode, b: past.json<unknown>() },
    { s: 404, b: { code: 'CIKU_ERR_DERIVATIVE_NOT_FOUND' } },
  );
  const noTiles = await api.app.inject({ url: `${base}/pages/1/iiif/info.json` });
  t.match(
    { s: noTiles.statusCode, b: noTiles.json<unknown>() },
    { s: 404, b: { code: 'CIKU_ERR_DERIVATIVE_NOT_FOUND' } },
    'a 150-dpi page render has no tiles',
  );
  const badIiif = await api.app.inject({ url: `${base}/pages/1/iiif/..%2Frecord.json` });
  t.equal(badIiif.statusCode, 400, 'only IIIF requests under iiif/');
  const noHocr = await api.app.inject({ url: `${base}/pages/1/hocr` });
  t.equal(noHocr.statusCode, 404, 'nothing was OCR’d: no hOCR');

  const text = await api.app.inject({ url: `${base}/text` });
  t.equal(text.statusCode, 200);
  const doc = text.json<DocumentTextT>();
  t.same(
    doc.pages.map((p) => [p.page, p.source]),
    [
      [1, 'text-layer'],
      [2, 'text-layer'],
      [3, 'text-layer'],
    ],
  );
  t.ok(doc.pages[1]!.text.includes(LINES[1]![0]!), 'page 2’s own text');
  const one = await api.app.inject({ url: `${base}/text?page=3` });
  t.equal(one.statusCode, 200);
  t.match(one.json<PageTextT>(), { page: 3, source: 'text-layer', text: /pale blue/ });
  const none = await api.app.inject({ url: `${base}/text?page=9` });
  t.equal(none.statusCode, 404);

  const h = `/v1/items/AD-HIDDEN/files/${hidden}`;
  for (const url of [`${h}/pages/1/thumbnail`, `${h}/pages/1/preview`, `${h}/text`, `${h}/text?page=1`]) {
    const anon = await api.app.inject({ url });
    t.match(
      { s: anon.statusCode, b: anon.json<unknown>() },
      { s: 404, b: { code: 'CIKU_ERR_ITEM_NOT_FOUND' } },
      `anonymous: ${url.slice(h.length)} of a restricted item is 404`,
    );
    const staff = await api.app.inject({ url, headers: api.auth.archivist });
    t.equal(staff.statusCode, 200, `archivist: ${url.slice(h.length)} served`);
    if (!url.includes('text')) t.equal(staff.headers['cache-control'], 'private, max-age=3600');
    t.equal(staff.headers['access-control-allow-origin'], undefined, 'not shared across origins');
  }

  const docs = await api.app.inject({ url: '/docs/json' });
  const paths = Object.keys(docs.json<{ paths: Record<string, unknown> }>().paths);
  for (const p of [
    '/v1/items/{id}/files/{name}/pages/{page}/thumbnail',
    '/v1/items/{id}/files/{name}/pages/{page}/iiif/{*}',
    '/v1/items/{id}/files/{name}/text',
  ])
    t.ok(
      paths.some((x) => x === p || x === p.replace('/{*}', '/*')),
      `OpenAPI lists ${p}`,
    );
});
