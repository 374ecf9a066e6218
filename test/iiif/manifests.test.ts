import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rasterizeSvg } from '../../services/adapters/image.ts';
import { until } from '../helpers/api-workers.ts';
import { tempDir } from '../helpers/env.ts';
import { CUES, HIDDEN, ICH_TITLE, IDS, LAPI_CUE, startPortal } from '../helpers/portal-data.ts';
import { fixturesDir, iiifErrors } from './validate.ts';

/**
 * Manifests and collections over the portal's archive (an interview with its transcript, a 5184×3456 scan, a
 * restricted and a private object, a deleted one) plus a three-page document, a video with chapters, an audio
 * interview with a transcript, a heritage site and a record that changed access: every answer validates against
 * the Presentation 3 schema, has the shape of its cookbook recipe, and obeys the access decision.
 */
type Json = Record<string, unknown>;
const PUBLIC = 'http://ciku.test';

const portal = await startPortal(t, { listen: false });
const avOnly = { skip: portal.hasMedia ? false : (portal.noMediaWhy ?? 'no ffmpeg') };
const { api } = portal;
const admin = api.auth.admin;
const dir = tempDir(t, 'ciku-iiif-media-');

const EXTRA = {
  book: 'AD-BOOK-3P',
  video: 'ME-CHAPTERS',
  audio: 'OH-AUDIO',
  site: 'HS-HUTIAN',
  changed: 'CO-WAS-RESTRICTED',
  ich: 'ME-ICH-DEMO',
};

async function create(id: string, kind: string, metadata: Json, level = 'public') {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: admin,
    payload: { id, kind, metadata, access: { level } },
  });
  if (res.statusCode !== 201) throw new Error(`${id}: ${res.body}`);
}
async function put(id: string, name: string, body: Buffer | string, role?: string) {
  const res = await api.app.inject({
    method: 'PUT',
    url: `/v1/items/${id}/files/${encodeURIComponent(name)}${role ? `?role=${role}` : ''}`,
    headers: admin,
    payload: body,
  });
  if (res.statusCode !== 201) throw new Error(`${id}/${name}: ${res.body}`);
}
async function scan(name: string, width: number, height: number, colour: string): Promise<Buffer> {
  const file = path.join(dir, name);
  await rasterizeSvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="${colour}"/><circle cx="${width / 2}" cy="${height / 2}" r="${height / 3}" fill="#fff"/></svg>`,
    file,
    { jpeg: 70 },
  );
  return fs.readFile(file);
}
function ffmpeg(args: string[], out: string): Buffer {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args, path.join(dir, out)], { stdio: 'ignore' });
  return readFileSync(path.join(dir, out));
}

await create(EXTRA.book, 'archive_document', {
  title: '湖田窑发掘记录（三页）',
  reference_code: 'JDZ-TEST-001',
  year: 1998,
});
for (const [i, colour] of ['#c9b79c', '#b7a58a', '#a59378'].entries())
  await put(EXTRA.book, `page-${i + 1}.jpg`, await scan(`page-${i + 1}.jpg`, 2000, 3000, colour));

await create(EXTRA.site, 'heritage_site', {
  title: '湖田窑遗址',
  site_type: '窑址',
  coordinates: { lat: 29.2736, lon: 117.2152 },
  rights: 'https://creativecommons.org/licenses/by/4.0/',
});
await put(EXTRA.site, 'site.jpg', await scan('site.jpg', 800, 600, '#8aa36b'));

await create(EXTRA.ich, 'media', {
  title: '手工制瓷技艺展示',
  subject: [ICH_TITLE],
  rights: '景德镇市非遗保护中心保留所有权利',
});
await put(EXTRA.ich, 'show.jpg', await scan('show.jpg', 800, 600, '#1f3f8f'));

// Restricted while it held its first picture, public from v3 on: v2 (with the picture) must stay hidden.
await create(
  EXTRA.changed,
  'collection_object',
  { title: '曾受限的瓷片', museum: '景德镇御窑博物馆' },
  'restricted',
);
await put(EXTRA.changed, 'shard.jpg', await scan('shard.jpg', 600, 400, '#a3262a'));
const opened = await api.app.inject({
  method: 'PATCH',
  url: `/v1/items/${EXTRA.changed}`,
  headers: admin,
  payload: { access: { level: 'public' } },
});
if (opened.statusCode !== 200) throw new Error(opened.body);

if (portal.hasMedia) {
  await fs.writeFile(
    path.join(dir, 'chapters.txt'),
    ';FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=开窑\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=4000\ntitle=出窑\n',
  );
  await create(EXTRA.video, 'media', { title: '开窑仪式（分章）', media_type: 'video', date: '2024-10-18' });
  await put(
    EXTRA.video,
    'kaiyao.mp4',
    ffmpeg(
      [
        ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15:duration=4'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=500:duration=4'],
        ...['-i', path.join(dir, 'chapters.txt'), '-map_metadata', '2', '-map_chapters', '2'],
        ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
        ...['-c:a', 'aac', '-movflags', '+faststart', '-shortest'],
      ],
      'kaiyao.mp4',
    ),
  );
  await create(EXTRA.audio, 'oral_history', {
    title: '余师傅谈看火',
    interviewee: '余师傅',
    recorded_at: '2023-11-02',
  });
  await put(
    EXTRA.audio,
    'kanhuo.m4a',
    ffmpeg(
      ['-f', 'lavfi', '-i', 'sine=frequency=300:duration=8', '-c:a', 'aac', '-b:a', '64k'],
      'kanhuo.m4a',
    ),
  );
  await put(
    EXTRA.audio,
    'kanhuo.vtt',
    'WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n<v 余师傅>看火要看火焰的颜色。\n\n00:00:03.500 --> 00:00:07.000\n<v 记录员>颜色怎么分？\n',
    'transcript',
  );
}

const waitFor = [
  EXTRA.book,
  EXTRA.site,
  EXTRA.ich,
  EXTRA.changed,
  ...(portal.hasMedia ? [EXTRA.video, EXTRA.audio] : []),
];
for (const id of waitFor) {
  await until(
    async () => {
      const res = await api.app.inject({ url: `/v1/items/${id}`, headers: admin });
      const files = res.json<{
        files: { derivatives?: Record<string, { status: string; reason?: string }> }[];
      }>().files;
      const all = files.flatMap((f) => Object.values(f.derivatives ?? {}));
      const failed = all.find((d) => d.status === 'failed');
      if (failed) throw new Error(`${id}: ${failed.reason ?? 'failed'}`);
      return all.length > 0 && all.every((d) => d.status === 'ready') ? true : undefined;
    },
    `the derivatives of ${id}`,
    180_000,
  );
}
await until(
  async () => {
    const res = await api.app.inject({ url: `/v1/search?limit=100`, headers: admin });
    const ids = new Set(res.json<{ hits: { id: string }[] }>().hits.map((h) => h.id));
    return waitFor.every((id) => ids.has(id)) ? true : undefined;
  },
  'the new items in the search index',
  60_000,
);

async function get(url: string, headers: Record<string, string> = {}) {
  return api.app.inject({ url, headers });
}
async function manifest(id: string, headers: Record<string, string> = {}): Promise<Json> {
  const res = await get(`/iiif/${encodeURIComponent(id)}/manifest`, headers);
  if (res.statusCode !== 200) throw new Error(`${id}: ${res.statusCode} ${res.body}`);
  return res.json<Json>();
}
const cookbook = (file: string): Json =>
  JSON.parse(readFileSync(path.join(fixturesDir, 'cookbook', file), 'utf8')) as Json;

/**
 * Whether `ours` has the structure of `recipe`: every key the recipe has (ours may add more), the same `type`,
 * `motivation`, `behavior` and `profile` family, numbers where it has numbers, nesting alike; ids, labels and
 * languages are ours. Arrays: each recipe element against ours at the same place (or our last, if ours is shorter).
 */
function shapeDiffs(recipe: unknown, ours: unknown, at = ''): string[] {
  if (Array.isArray(recipe)) {
    if (!Array.isArray(ours) || ours.length === 0) return [`${at}: an array with items expected`];
    return recipe.flatMap((r, i) => shapeDiffs(r, ours[Math.min(i, ours.length - 1)], `${at}[${i}]`));
  }
  if (typeof recipe === 'object' && recipe !== null) {
    if (typeof ours !== 'object' || ours === null || Array.isArray(ours))
      return [`${at}: an object expected`];
    const o = ours as Json;
    return Object.entries(recipe).flatMap(([k, v]) => {
      if (!(k in o)) return [`${at}.${k}: missing`];
      if (['label', 'summary', 'value'].includes(k))
        return typeof o[k] === 'object' ? [] : [`${at}.${k}: a language map expected`];
      if (['type', 'motivation', 'behavior'].includes(k))
        return JSON.stringify(o[k]) === JSON.stringify(v)
          ? []
          : [`${at}.${k}: ${JSON.stringify(o[k])} ≠ ${JSON.stringify(v)}`];
      if (
        k === 'id' ||
        k === 'target' ||
        k === 'language' ||
        k === 'format' ||
        k === 'profile' ||
        k === '@context'
      )
        return typeof o[k] === typeof v ? [] : [`${at}.${k}: a ${typeof v} expected`];
      return shapeDiffs(v, o[k], `${at}.${k}`);
    });
  }
  return typeof ours === typeof recipe ? [] : [`${at}: a ${typeof recipe} expected, got ${typeof ours}`];
}

/** Every id and URL in a document, to check they all start at the public origin. */
function urls(doc: unknown): string[] {
  if (Array.isArray(doc)) return doc.flatMap(urls);
  if (typeof doc === 'object' && doc !== null)
    return Object.entries(doc).flatMap(([k, v]) => (k === 'id' && typeof v === 'string' ? [v] : urls(v)));
  return [];
}

t.test(
  'an image manifest has the shape of recipe 0005: a canvas painted through our Image API service',
  async (t) => {
    const m = await manifest(IDS.image);
    t.same(iiifErrors(m), [], 'validates');
    t.same(shapeDiffs(cookbook('0005-image-service__manifest.json'), m), [], 'the shape of 0005');
    const canvas = (m.items as Json[])[0]!;
    t.match(
      canvas,
      { width: 5184, height: 3456 },
      'the canvas has the scan’s size from its technical metadata',
    );
    const body = ((canvas.items as Json[])[0]!.items as Json[])[0]!.body as Json;
    const service = (body.service as Json[])[0]!;
    t.equal(service.type, 'ImageService3');
    const { version } = (await get(`/v1/items/${IDS.image}`)).json<{ version: string }>();
    t.equal(
      service.id,
      `${PUBLIC}/v1/items/${IDS.image}/versions/${version}/files/${encodeURIComponent('青花缠枝莲纹梅瓶.jpg')}/derivatives/iiif`,
      'the versioned image service of ids.ts',
    );
    t.equal(body.id, `${String(service.id)}/full/max/0/default.jpg`);
    t.same(m.label, { zh: ['青花缠枝莲纹梅瓶'] }, 'label in Chinese only (we have no English title)');
    const pairs = m.metadata as { label: { zh: string[]; en: string[] }; value: Json }[];
    const museum = pairs.find((p) => p.label.en[0] === 'Museum');
    t.same(museum?.label, { zh: ['收藏机构'], en: ['Museum'] }, 'field labels from the portal catalogues');
    t.same(museum?.value, { zh: ['景德镇中国陶瓷博物馆'] });
    t.match(
      m.provider,
      [{ type: 'Agent', label: { zh: ['景德镇中国陶瓷博物馆'] } }],
      'the contributing museum',
    );
    t.match(m.homepage, [{ id: `${PUBLIC}/items/${IDS.image}`, type: 'Text', format: 'text/html' }]);
    t.match(m.seeAlso, [{ id: `${PUBLIC}/v1/items/${IDS.image}`, format: 'application/json' }]);
    t.match(m.thumbnail, [{ type: 'Image', id: /derivatives\/thumbnail/ }]);
    t.notOk('rights' in m, 'no rights URI where we have none');
    t.match(m.requiredStatement, { label: { en: ['Attribution'] }, value: { zh: [/景德镇中国陶瓷博物馆/] } });
    t.notOk('service' in m, 'no search service without a transcript');
  },
);

t.test('a three-page document is a paged book with the shape of recipe 0009', async (t) => {
  const m = await manifest(EXTRA.book);
  t.same(iiifErrors(m), [], 'validates');
  t.same(shapeDiffs(cookbook('0009-book-1__manifest.json'), m), [], 'the shape of 0009');
  t.same(m.behavior, ['paged']);
  const canvases = m.items as Json[];
  t.equal(canvases.length, 3, 'one canvas per scan');
  t.same(
    canvases.map((c) => c.label),
    [1, 2, 3].map((n) => ({ zh: [`第 ${n} 页`], en: [`Page ${n}`] })),
  );
  t.match(canvases[0], { width: 2000, height: 3000 });
  t.equal(m.navDate, '1998-01-01T00:00:00Z', 'navDate from the year');
});

t.test(
  'the interview (video + transcript) has the shape of recipe 0219: a supplementing WebVTT in zh',
  avOnly,
  async (t) => {
    const m = await manifest(IDS.interview);
    t.same(iiifErrors(m), [], 'validates');
    t.same(shapeDiffs(cookbook('0219-using-caption-file__manifest.json'), m), [], 'the shape of 0219');
    const canvas = (m.items as Json[])[0]!;
    t.match(canvas, { width: 480, height: 270 });
    t.ok(Math.abs(Number(canvas.duration) - 30) < 0.5, 'duration from the technical metadata');
    const body = ((canvas.items as Json[])[0]!.items as Json[])[0]!.body as Json;
    t.match(body, { type: 'Video', format: 'video/mp4', id: /derivatives\/proxy\?version=v\d+$/ });
    const caption = ((canvas.annotations as Json[])[0]!.items as Json[])[0]!;
    t.match(caption, {
      motivation: 'supplementing',
      target: canvas.id,
      body: {
        type: 'Text',
        format: 'text/vtt',
        language: 'zh',
        id: `${PUBLIC}/items/${IDS.interview}/captions.vtt?file=interview.vtt`,
      },
    });
    const vtt = await get(`/items/${IDS.interview}/captions.vtt?file=interview.vtt`);
    t.equal(vtt.statusCode, 200, 'the captions the annotation points at are served');
    t.match(vtt.body, CUES[LAPI_CUE].text);
    t.match(canvas.placeholderCanvas, {
      type: 'Canvas',
      items: [{ items: [{ body: { id: /derivatives\/poster/ } }] }],
    });
    t.same(
      m.service,
      [
        { id: `${PUBLIC}/iiif/${IDS.interview}/search`, type: 'SearchService2' },
        {
          '@id': `${PUBLIC}/iiif/${IDS.interview}/search1`,
          '@type': 'SearchService1',
          profile: 'http://iiif.io/api/search/1/search',
        },
      ],
      'Content Search 2.0, and 1.0 for viewers that read only 1.0 (Mirador 4)',
    );
    // A Range per speaker turn: 王师傅, 访谈人, 王师傅 ×3 (merged), 访谈人, 王师傅 ×2, 访谈人.
    const top = (m.structures as Json[])[0]!;
    const ranges = top.items as { label: { zh: string[] }; items: { id: string }[] }[];
    t.equal(ranges.length, 6, 'one range per speaker turn');
    t.match(ranges[0]!.label.zh[0], /^王师傅：我十四岁进厂/);
    t.equal(ranges[1]!.items[0]!.id, `${String(canvas.id)}#t=3.5,6.9`);
    t.equal(m.navDate, '2023-05-12T00:00:00Z', 'navDate from the recording date');
  },
);

t.test(
  'an audio interview with a transcript is 0219 as Sound: no size, a duration, the WebVTT',
  avOnly,
  async (t) => {
    const m = await manifest(EXTRA.audio);
    t.same(iiifErrors(m), [], 'validates');
    const recipe = JSON.parse(
      JSON.stringify(cookbook('0219-using-caption-file__manifest.json'))
        .replace(/"(height|width)":\d+,?/g, '')
        .replace(/,}/g, '}')
        .replace(/"Video"/g, '"Sound"'),
    ) as Json;
    t.same(shapeDiffs(recipe, m), [], 'the shape of 0219 for sound');
    const canvas = (m.items as Json[])[0]!;
    t.notOk('width' in canvas || 'height' in canvas, 'a sound canvas has no size');
    t.notOk('placeholderCanvas' in canvas, 'and no poster');
    t.match(((canvas.items as Json[])[0]!.items as Json[])[0], { body: { type: 'Sound' } });
  },
);

t.test(
  'a video with chapters has the table of contents of recipe 0026: a Range per chapter at #t=',
  avOnly,
  async (t) => {
    const m = await manifest(EXTRA.video);
    t.same(iiifErrors(m), [], 'validates');
    const recipe = cookbook('0026-toc-opera__manifest.json');
    // 0026 nests acts inside the opera; one act (a Range of Ranges of canvas fragments) is our whole-video range.
    const act = ((recipe.structures as Json[])[0]!.items as Json[])[0]!;
    t.same(shapeDiffs({ ...recipe, structures: [act] }, m), [], 'the shape of 0026');
    const canvas = (m.items as Json[])[0]!;
    const ranges = (m.structures as Json[])[0]!.items as { label: Json; items: { id: string }[] }[];
    t.same(
      ranges.map((r) => r.label),
      [{ none: ['开窑'] }, { none: ['出窑'] }],
      'labelled by the chapters’ titles',
    );
    t.same(
      ranges.map((r) => r.items[0]!.id),
      [`${String(canvas.id)}#t=0,2`, `${String(canvas.id)}#t=2,4`],
    );
  },
);

t.test('a heritage site has navPlace (a GeoJSON point) and a CC licence as rights', async (t) => {
  const m = await manifest(EXTRA.site);
  t.same(iiifErrors(m), [], 'validates');
  t.same(m['@context'], [
    'http://iiif.io/api/extension/navplace/context.json',
    'http://iiif.io/api/presentation/3/context.json',
  ]);
  t.match(m.navPlace, {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [117.2152, 29.2736] } }],
  });
  t.equal(
    m.rights,
    'http://creativecommons.org/licenses/by/4.0/',
    'the licence URI, as http: (the spec’s form)',
  );
  const text = await manifest(EXTRA.ich);
  t.notOk('rights' in text, 'rights text is not a URI…');
  t.same(
    text.requiredStatement,
    {
      label: { zh: ['权利'], en: ['Rights'] },
      value: { zh: ['景德镇市非遗保护中心保留所有权利'] },
    },
    '…it is the required statement',
  );
});

t.test('a record with nothing to show has no manifest (404), and is in no collection', async (t) => {
  for (const id of [IDS.ich, IDS.inheritorA, HIDDEN.private.id]) {
    const res = await get(`/iiif/${id}/manifest`, admin);
    t.equal(res.statusCode, 404, id);
    t.equal(res.json<{ code: string }>().code, 'CIKU_ERR_IIIF_NO_MEDIA');
  }
  const c = (await get('/iiif/collection/inheritor', admin)).json<Json>();
  t.same(c.items, [], 'no inheritor has a picture or a recording');
});

t.test('access: restricted 404 to anonymous, 200 to a researcher (never shared); deleted 410', async (t) => {
  const anon = await get(`/iiif/${HIDDEN.restricted.id}/manifest`);
  t.equal(anon.statusCode, 404);
  t.equal(anon.json<{ code: string }>().code, 'CIKU_ERR_ITEM_NOT_FOUND', 'as if it did not exist');
  t.notOk(anon.body.includes(HIDDEN.restricted.marker));
  const researcher = await get(`/iiif/${HIDDEN.restricted.id}/manifest`, api.auth.researcher);
  t.equal(researcher.statusCode, 200);
  t.same(iiifErrors(researcher.json()), []);
  t.notOk(researcher.headers['access-control-allow-origin'], 'no CORS for what anonymous may not read');
  t.match(researcher.headers['cache-control'], /^private/);
  const open = await get(`/iiif/${IDS.image}/manifest`, api.auth.researcher);
  t.equal(open.headers['access-control-allow-origin'], '*', 'CORS for a public item, whoever asks');
  t.match(open.headers['cache-control'], /^public/);
  t.match(
    open.headers['content-type'],
    /^application\/ld\+json; ?profile="http:\/\/iiif\.io\/api\/presentation\/3\/context\.json"/,
    'JSON-LD with the Presentation 3 profile',
  );
  const json = await get(`/iiif/${IDS.image}/manifest`, { accept: 'application/json' });
  t.match(json.headers['content-type'], /^application\/json/, 'plain JSON when asked for');
  for (const who of ['anonymous', 'researcher', 'admin'] as const) {
    const gone = await get(`/iiif/${IDS.gone}/manifest`, api.auth[who]);
    t.equal(gone.statusCode, 410, `deleted: 410 to ${who}`);
    t.equal(gone.json<{ code: string }>().code, 'CIKU_ERR_ITEM_DELETED');
  }
});

t.test('an earlier version that was restricted stays hidden after the item is made public', async (t) => {
  const versions = (await get(`/v1/items/${EXTRA.changed}/versions`, admin)).json<{
    versions: { version: string }[];
  }>().versions;
  t.equal(versions.length, 3, 'v1 created, v2 the picture, v3 made public');
  const head = await get(`/iiif/${EXTRA.changed}/manifest`);
  t.equal(head.statusCode, 200, 'the head is public');
  t.same(iiifErrors(head.json()), []);
  const v2 = await get(`/iiif/${EXTRA.changed}/v2/manifest`);
  t.equal(v2.statusCode, 404, 'v2 (restricted when it was made) is hidden from anonymous');
  t.equal(v2.json<{ code: string }>().code, 'CIKU_ERR_VERSION_NOT_FOUND');
  const v2r = await get(`/iiif/${EXTRA.changed}/v2/manifest`, api.auth.researcher);
  t.equal(v2r.statusCode, 200, 'a researcher may read it');
  const doc = v2r.json<Json>();
  t.same(iiifErrors(doc), []);
  t.equal(doc.id, `${PUBLIC}/iiif/${EXTRA.changed}/v2/manifest`, 'the version’s own id');
  t.match((doc.items as Json[])[0]!.id, `/iiif/${EXTRA.changed}/v2/canvas/`, 'its canvases carry v2');
  t.notOk(v2r.headers['access-control-allow-origin'], 'not shared: anonymous may not read v2');
  const v3 = await get(`/iiif/${EXTRA.changed}/v3/manifest`);
  t.equal(v3.statusCode, 200);
  t.equal(v3.headers['access-control-allow-origin'], '*');
});

t.test('every id comes from the public URL, whatever Host the request names', async (t) => {
  const hostile = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
  for (const url of [
    `/iiif/${IDS.image}/manifest`,
    `/iiif/${EXTRA.book}/manifest`,
    ...(portal.hasMedia ? [`/iiif/${IDS.interview}/manifest`] : []),
    '/iiif/collection/collection_object',
  ]) {
    const res = await get(url, hostile);
    t.equal(res.statusCode, 200, url);
    t.notOk(res.body.includes('evil.example'), `${url}: the Host header is nowhere`);
    const ids = urls(res.json());
    t.ok(
      ids.length >= 3 && ids.every((u) => u.startsWith(`${PUBLIC}/`) || u === PUBLIC),
      `${url}: ${ids.length} ids`,
    );
  }
});

t.test('collections list only what the caller may read, and validate', async (t) => {
  const ids = async (name: string, who: 'anonymous' | 'researcher' | 'admin') => {
    const res = await get(`/iiif/collection/${encodeURIComponent(name)}`, api.auth[who]);
    t.equal(res.statusCode, 200, `${name} as ${who}`);
    const doc = res.json<Json>();
    t.same(iiifErrors(doc), [], `${name} as ${who} validates`);
    t.equal(res.headers['access-control-allow-origin'], who === 'anonymous' ? '*' : undefined);
    return (doc.items as { id: string }[]).map((i) =>
      decodeURIComponent(i.id.replace(/^.*\/iiif\/|\/manifest$/g, '')),
    );
  };
  const anonObjects = await ids('collection_object', 'anonymous');
  t.ok(
    anonObjects.includes(IDS.image) && anonObjects.includes(EXTRA.changed),
    'the public objects with pictures',
  );
  t.notOk(anonObjects.includes(HIDDEN.restricted.id), 'not the restricted one');
  t.notOk(anonObjects.includes(IDS.gone), 'nor the deleted one');
  t.notOk(anonObjects.includes(IDS.bowl), 'nor a record without a picture');
  t.ok((await ids('collection_object', 'researcher')).includes(HIDDEN.restricted.id), 'a researcher sees it');
  t.same(
    await ids(`museum:${HIDDEN.restricted.museum}`, 'anonymous'),
    [],
    'a museum of restricted items is empty',
  );
  t.same(await ids(`museum:${HIDDEN.restricted.museum}`, 'researcher'), [HIDDEN.restricted.id]);
  t.same(await ids('museum:景德镇中国陶瓷博物馆', 'anonymous'), [IDS.image]);
  t.same(await ids(`ich:Ⅷ-5`, 'anonymous'), [EXTRA.ich], 'the items naming the project');
  const top = (await get('/iiif/collection/document_archive')).json<{ code: string }>();
  t.equal(top.code, 'CIKU_ERR_IIIF_COLLECTION_NOT_FOUND', 'an unknown name');
  t.equal((await get('/iiif/collection/ich:NOPE-1')).statusCode, 404, 'an unknown project');
  t.equal((await get('/iiif/collection/museum:x?page=abc')).statusCode, 400, 'a page that is not a number');
  const label = (await get('/iiif/collection/oral_history')).json<Json>().label;
  t.match(label, { zh: ['口述史'], en: [String] }, 'labelled by the kind in both languages');
});
