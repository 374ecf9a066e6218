import { promises as fs } from 'node:fs';
import t from 'tap';
import type { Search1AnnotationListT, SearchAnnotationPageT, TermPageT } from '../../schemas/iiif-search.ts';
import { canvasId } from '../../services/iiif/ids.ts';
import { unmark } from '../../services/iiif/search.ts';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';
import { sharedPath } from '../helpers/env.ts';
import { CUES, LAPI_CUE, TRANSCRIPT_VTT } from '../helpers/portal-data.ts';

/**
 * IIIF Content Search 2.0 at /iiif/{id}/search (and AutoCompleteService2 at /iiif/{id}/autocomplete) over real
 * transcripts: uploaded WebVTT, segmented by the workers, indexed by the embedded engine, searched through the API.
 */

const PUBLIC_URL = 'https://archive.ciku.test';
const IDS = {
  /** The portal's interview (8 cues, 拉坯 in cue 3) with an audio file. */
  interview: 'OH-SEARCH-AV',
  /** A transcript without media, 拉坯 in each of its 120 cues (more hits than a page). */
  many: 'OH-SEARCH-MANY',
  restricted: 'OH-SEARCH-RESTR',
  gone: 'OH-SEARCH-GONE',
} as const;
const MANY = 120;
/** Fastify writes the parameters back with a space and adds the charset: the same media type. */
const LD_JSON = /^application\/ld\+json; ?profile="http:\/\/iiif\.io\/api\/search\/2\/context\.json"/;
const AUDIO = 'interview.wav';

const vttTime = (s: number) =>
  `00:${String(Math.floor(s / 60)).padStart(2, '0')}:${(s % 60).toFixed(3).padStart(6, '0')}`;
const manyVtt = `WEBVTT\n\n${Array.from(
  { length: MANY },
  (_, n) => `${vttTime(n * 2)} --> ${vttTime(n * 2 + 1.5)}\n第${n + 1}遍拉坯，手要稳。\n`,
).join('\n')}`;

async function archive(): Promise<TestApi> {
  const api = await startTestApi(t, { publicUrl: PUBLIC_URL });
  await startWorkersFor(t, api);
  const as = api.auth.admin;
  const create = async (id: string, level: string) => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: as,
      payload: { id, kind: 'oral_history', metadata: { title: id }, access: { level } },
    });
    if (res.statusCode !== 201) throw new Error(`creating ${id}: ${res.body}`);
  };
  const put = async (id: string, name: string, body: Buffer | string, role?: string) => {
    const res = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/${id}/files/${encodeURIComponent(name)}${role ? `?role=${role}` : ''}`,
      headers: as,
      payload: body,
    });
    if (res.statusCode !== 201) throw new Error(`uploading ${name} to ${id}: ${res.body}`);
  };
  const audio = sharedPath('fixtures/av/testaudio-one.wav');
  if (audio === undefined) throw new Error('needs ../shared/fixtures/av/testaudio-one.wav');
  await create(IDS.interview, 'public');
  await put(IDS.interview, AUDIO, await fs.readFile(audio));
  await put(IDS.interview, 'interview.vtt', TRANSCRIPT_VTT, 'transcript');
  await create(IDS.many, 'public');
  await put(IDS.many, 'practice.vtt', manyVtt, 'transcript');
  await create(IDS.restricted, 'restricted');
  await put(IDS.restricted, 'restricted.vtt', TRANSCRIPT_VTT, 'transcript');
  await create(IDS.gone, 'public');
  await put(IDS.gone, 'gone.vtt', TRANSCRIPT_VTT, 'transcript');
  for (const [id, hits] of [
    [IDS.interview, 1],
    [IDS.many, MANY],
    [IDS.restricted, 1],
    [IDS.gone, 1],
  ] as const) {
    await until(
      async () => {
        const res = await api.app.inject({
          url: `/v1/search/segments?q=${encodeURIComponent('拉坯')}&item=${id}`,
          headers: as,
        });
        return res.json<{ total: number }>().total === hits ? true : undefined;
      },
      `the segments of ${id} in the index`,
      90_000,
    );
  }
  const del = await api.app.inject({ method: 'DELETE', url: `/v1/items/${IDS.gone}`, headers: as });
  if (del.statusCode !== 200) throw new Error(`deleting ${IDS.gone}: ${del.body}`);
  return api;
}

const ready = archive();

async function search(
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  body: SearchAnnotationPageT & { code?: string };
  headers: Record<string, unknown>;
}> {
  const api = await ready;
  const res = await api.app.inject({ url: path, headers });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

const q = (text: string) => encodeURIComponent(text);
const headOf = async (id: string) =>
  (await (await ready).app.inject({ url: `/v1/items/${id}`, headers: (await ready).auth.admin })).json<{
    version: string;
  }>().version;

t.test('a word of the transcript is found at its cue, on the canvas of the item’s audio', async (t) => {
  const { status, body, headers } = await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}`);
  t.equal(status, 200);
  t.match(headers['content-type'], LD_JSON);
  t.equal(headers['access-control-allow-origin'], '*', 'anyone may read it: shared across origins');
  t.match(headers['cache-control'], /^public/);
  const cue = CUES[LAPI_CUE];
  const canvas = canvasId(PUBLIC_URL, IDS.interview, await headOf(IDS.interview), AUDIO);
  t.equal(body.items.length, 1);
  const [anno] = body.items;
  t.equal(anno!.target, `${canvas}#t=${cue.start},${cue.end}`);
  t.same(anno!.body, { type: 'TextualBody', value: cue.text, format: 'text/plain', language: 'zh' });
  const highlight = body.annotations?.[0]?.items[0];
  t.equal(highlight?.motivation, 'highlighting');
  t.equal(highlight?.target.source, anno!.id, 'the highlight points at the matching annotation');
  t.same(highlight?.target.selector, [
    { type: 'TextQuoteSelector', prefix: '然后学', exact: '拉坯', suffix: '，手要稳，转盘要匀。' },
  ]);
  t.equal(body.partOf.total, 1);
  t.notOk(body.next, 'one page');
  t.notOk(body.ignored, 'nothing ignored');
});

t.test(
  'a traditional-script query finds the simplified transcript, and marks the simplified words',
  async (t) => {
    const { body } = await search(`/iiif/${IDS.interview}/search?q=${q('學徒')}`);
    t.same(
      body.items.map((a) => a.body.value),
      [CUES[0].text],
    );
    t.equal(body.items[0]!.target.split('#')[1], `t=${CUES[0].start},${CUES[0].end}`);
    t.same(
      body.annotations?.[0]?.items.map((h) => h.target.selector[0]!.exact),
      ['学徒'],
    );
  },
);

t.test('an item without media is searched on its transcript’s canvas, a page at a time', async (t) => {
  const version = await headOf(IDS.many);
  const base = `${PUBLIC_URL}/iiif/${IDS.many}/search?q=${q('拉坯')}`;
  const first = (await search(`/iiif/${IDS.many}/search?q=${q('拉坯')}`)).body;
  t.equal(first.id, `${base}&page=1`);
  t.same(first.partOf, {
    id: base,
    type: 'AnnotationCollection',
    total: MANY,
    first: { id: `${base}&page=1`, type: 'AnnotationPage' },
    last: { id: `${base}&page=3`, type: 'AnnotationPage' },
  });
  t.same(first.next, { id: `${base}&page=2`, type: 'AnnotationPage' });
  t.notOk(first.prev);
  t.equal(first.startIndex, 0);
  t.equal(first.items.length, 50);
  t.ok(
    first.items.every((a) =>
      a.target.startsWith(`${canvasId(PUBLIC_URL, IDS.many, version, 'practice.vtt')}#t=`),
    ),
    'the transcript file’s canvas',
  );
  const next = (await search(new URL(first.next!.id).pathname + new URL(first.next!.id).search)).body;
  t.equal(next.startIndex, 50);
  t.same(next.prev, { id: `${base}&page=1`, type: 'AnnotationPage' });
  const last = (await search(`/iiif/${IDS.many}/search?q=${q('拉坯')}&page=3`)).body;
  t.equal(last.items.length, MANY - 100);
  t.notOk(last.next, 'the last page has no next');
  const targets = new Set([...first.items, ...next.items, ...last.items].map((a) => a.target));
  t.equal(targets.size, MANY, 'every cue once across the pages');
});

t.test('parameters we do not act on are listed in ignored; motivation filters', async (t) => {
  const { body } = await search(
    `/iiif/${IDS.interview}/search?q=${q('拉坯')}&user=${q('https://example.org/u/1')}&date=${q('2020-01-01T00:00:00Z/2021-01-01T00:00:00Z')}&cachebust=1`,
  );
  t.same(body.ignored, ['date', 'user']);
  t.equal(body.items.length, 1, 'ignored parameters do not restrict');
  t.notMatch(body.id, /user|date|cachebust/, 'the answer’s id drops what it ignored');
  const supplementing = (
    await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}&motivation=supplementing`)
  ).body;
  t.equal(supplementing.items.length, 1);
  t.match(supplementing.id, /motivation=supplementing/);
  t.notOk(supplementing.ignored, 'motivation is implemented, not ignored');
  const painting = (await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}&motivation=painting`)).body;
  t.same(painting.items, [], 'no transcript cue paints its canvas');
  t.equal(painting.partOf.total, 0);
});

t.test('a restricted item’s search is 404 to anonymous and answers a researcher, privately', async (t) => {
  const api = await ready;
  const path = `/iiif/${IDS.restricted}/search?q=${q('拉坯')}`;
  const hidden = await search(path);
  t.equal(hidden.status, 404);
  t.equal(hidden.body.code, 'CIKU_ERR_ITEM_NOT_FOUND', 'as if it did not exist, not an empty page');
  const seen = await search(path, api.auth.researcher);
  t.equal(seen.status, 200);
  t.equal(seen.body.items.length, 1);
  t.notOk(seen.headers['access-control-allow-origin'], 'no CORS for what anonymous may not read');
  t.match(seen.headers['cache-control'], /^private/);
  const complete = await api.app.inject({ url: `/iiif/${IDS.restricted}/autocomplete?q=${q('拉坯')}` });
  t.equal(complete.statusCode, 404, 'autocomplete too');
});

t.test('the 1.0 view finds the same cue, with the same access decision', async (t) => {
  const api = await ready;
  const res = await api.app.inject({ url: `/iiif/${IDS.interview}/search1?q=${q('拉坯')}` });
  t.equal(res.statusCode, 200);
  t.match(
    res.headers['content-type'],
    /^application\/ld\+json; ?profile="http:\/\/iiif\.io\/api\/search\/1\/context\.json"/,
  );
  t.equal(res.headers['access-control-allow-origin'], '*');
  const body = res.json<Search1AnnotationListT>();
  const cue = CUES[LAPI_CUE];
  t.equal(body.within.total, 1);
  t.same(
    body.resources.map((r) => [r.on.full, r.on.selector.value, r.resource.chars]),
    [
      [
        canvasId(PUBLIC_URL, IDS.interview, await headOf(IDS.interview), AUDIO),
        `t=${cue.start},${cue.end}`,
        cue.text,
      ],
    ],
  );
  t.match(body.hits, [{ annotations: [body.resources[0]!['@id']], match: '拉坯' }]);
  const hidden = await api.app.inject({ url: `/iiif/${IDS.restricted}/search1?q=${q('拉坯')}` });
  t.equal(hidden.statusCode, 404, 'a restricted item is hidden from anonymous here too');
  const gone = await api.app.inject({ url: `/iiif/${IDS.gone}/search1?q=${q('拉坯')}` });
  t.equal(gone.statusCode, 410);
});

t.test('a deleted item’s search is 410', async (t) => {
  const { status, body } = await search(`/iiif/${IDS.gone}/search?q=${q('拉坯')}`);
  t.equal(status, 410);
  t.equal(body.code, 'CIKU_ERR_ITEM_DELETED');
});

t.test('an item’s search never answers another item’s cues', async (t) => {
  const api = await ready;
  const { body } = await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}`, api.auth.admin);
  t.equal(body.partOf.total, 1, 'the other items all say 拉坯 too');
  t.ok(body.items.every((a) => a.target.startsWith(`${PUBLIC_URL}/iiif/${IDS.interview}/`)));
  const none = await search(`/iiif/${IDS.interview}/search?q=${q('第7遍')}`, api.auth.admin);
  t.same(none.body.items, [], 'words only another item’s transcript has');
});

t.test('ids start at the public URL whatever the Host header says', async (t) => {
  const { body, headers } = await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}`, {
    host: 'evil.example',
    'x-forwarded-host': 'evil.example',
  });
  const { '@context': _context, ...rest } = body;
  const ids = JSON.stringify(rest).match(/https?:\/\/[^"#?/]+/g) ?? [];
  t.ok(ids.length > 5);
  t.same([...new Set(ids)], [PUBLIC_URL]);
  t.match(headers['content-type'], LD_JSON);
});

t.test('Accept: application/json is answered as plain JSON', async (t) => {
  const { headers, body } = await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}`, {
    accept: 'application/json',
  });
  t.match(headers['content-type'], /^application\/json/);
  t.equal(body.type, 'AnnotationPage');
});

t.test('a query past 1000 characters and a page past the window are coded 400s', async (t) => {
  const long = await search(`/iiif/${IDS.interview}/search?q=${q('瓷'.repeat(1001))}`);
  t.equal(long.status, 400);
  t.equal(long.body.code, 'CIKU_ERR_REQUEST_INVALID');
  for (const page of ['0', '201', 'x']) {
    const bad = await search(`/iiif/${IDS.interview}/search?q=a&page=${page}`);
    t.equal(bad.body.code, 'CIKU_ERR_REQUEST_INVALID', `page=${page}`);
  }
});

t.test('the answer has the shape of the spec’s paged example, with match highlighting', async (t) => {
  const { body } = await search(`/iiif/${IDS.interview}/search?q=${q('拉坯')}`);
  t.same(Object.keys(body).sort(), [
    '@context',
    'annotations',
    'id',
    'items',
    'partOf',
    'startIndex',
    'type',
  ]);
  t.equal(body['@context'], 'http://iiif.io/api/search/2/context.json');
  t.equal(body.type, 'AnnotationPage');
  t.same(Object.keys(body.partOf).sort(), ['first', 'id', 'last', 'total', 'type']);
  const [anno] = body.items;
  t.same(Object.keys(anno!).sort(), ['body', 'id', 'motivation', 'target', 'type']);
  t.equal(anno!.type, 'Annotation');
  t.equal(
    anno!.motivation,
    'supplementing',
    'a transcript cue supplements the AV canvas, as in the manifest',
  );
  t.equal(typeof anno!.target, 'string');
  t.equal(body.annotations!.length, 1, 'one AnnotationPage of extra annotations');
  const extra = body.annotations![0]!;
  t.equal(extra.type, 'AnnotationPage');
  t.same(Object.keys(extra.items[0]!).sort(), ['id', 'motivation', 'target', 'type']);
  t.same(Object.keys(extra.items[0]!.target).sort(), ['selector', 'source', 'type']);
  t.equal(extra.items[0]!.target.type, 'SpecificResource');
  const ids = [...body.items.map((a) => a.id), ...extra.items.map((a) => a.id)];
  t.equal(new Set(ids).size, ids.length, 'every annotation has its own id');
});

t.test('autocomplete offers the transcript’s words that begin with q', async (t) => {
  const api = await ready;
  const res = await api.app.inject({ url: `/iiif/${IDS.interview}/autocomplete?q=${q('青花')}&user=x` });
  t.equal(res.statusCode, 200);
  const page = res.json<TermPageT>();
  t.equal(page.type, 'TermPage');
  t.equal(page['@context'], 'http://iiif.io/api/search/2/context.json');
  t.equal(page.id, `${PUBLIC_URL}/iiif/${IDS.interview}/autocomplete?q=${q('青花')}`);
  t.same(page.ignored, ['user']);
  t.same(
    page.items.map((i) => i.value),
    ['青花'],
  );
  t.equal(page.items[0]!.total, 2, 'cues 4 and 5');
  const many = (
    await api.app.inject({ url: `/iiif/${IDS.many}/autocomplete?q=${q('拉')}&min=2` })
  ).json<TermPageT>();
  t.same(
    many.items.map((i) => i.value),
    ['拉坯'],
    'a one-character prefix completes to the word',
  );
});

t.test('the engine’s marked HTML becomes plain text with the marked ranges', async (t) => {
  t.same(unmark('A &amp; B &lt;<mark>釉</mark><mark>色</mark>&gt; &quot;x&#39; <mark>青花</mark>'), {
    text: 'A & B <釉色> "x\' 青花',
    marks: [
      [7, 9],
      [15, 17],
    ],
  });
  t.same(unmark('no marks'), { text: 'no marks', marks: [] });
});
