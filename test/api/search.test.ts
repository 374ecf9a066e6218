import t, { type Test } from 'tap';
import { newItem, startTestApi } from '../helpers/api.ts';
import type { SearchAnswerT, SegmentAnswerT } from '../../schemas/search.ts';

/** GET /v1/search and /v1/search/segments through the API: parameters, coded refusals, hostile input. */

/**
 * A fresh API whose index holds a heritage site with coordinates, an ICH project, a restricted object and a plain
 * item, plus the helpers the tests below ask it with.
 */
async function searchable(t: Test) {
  const api = await startTestApi(t);
  const create = async (id: string, kind: string, metadata: Record<string, unknown>, level = 'public') => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.archivist,
      payload: { id, kind, metadata, access: { level } },
    });
    t.equal(res.statusCode, 201, res.body);
    await api.indexer.upsertItem(id);
  };
  await create('site-hutian', 'heritage_site', {
    title: '湖田窑址',
    region: '珠山区',
    coordinates: { lat: 29.2636, lon: 117.2337 },
  });
  await create('proj-jdz', 'ich_project', { title: '景德镇手工制瓷技艺', category: '传统技艺', batch: 1 });
  await create('obj-1', 'collection_object', { title: '青花瓷瓶', date: '1750' }, 'restricted');
  await newItem(api, 'plain-1');
  await api.indexer.upsertItem('plain-1');

  const get = async (url: string, headers = api.auth.anonymous) => api.app.inject({ url, headers });
  const search = async (qs: string, headers = api.auth.anonymous) => {
    const res = await get(`/v1/search?${qs}`, headers);
    t.equal(res.statusCode, 200, `${qs}: ${res.body.slice(0, 200)}`);
    return res.json<SearchAnswerT>();
  };
  return { api, get, search };
}

t.test('a traditional-character query finds a simplified record, and so does its pinyin', async (t) => {
  const { search } = await searchable(t);
  t.same(
    (await search(`q=${encodeURIComponent('景德鎮')}`)).hits.map((h) => h.id),
    ['proj-jdz'],
  );
  t.same(
    (await search('q=jingdezhen')).hits.map((h) => h.id),
    ['proj-jdz'],
    'pinyin',
  );
});

t.test('a filter given several values matches any of them', async (t) => {
  const { search } = await searchable(t);
  t.same((await search('kind=heritage_site&kind=ich_project&sort=title')).total, 2, 'repeated filter values');
});

t.test('near and bbox find a site by its coordinates', async (t) => {
  const { search } = await searchable(t);
  t.same(
    (await search('near=29.27,117.23,5')).hits.map((h) => h.id),
    ['site-hutian'],
    'near',
  );
  t.same(
    (await search('bbox=117,29,118,30')).hits.map((h) => h.id),
    ['site-hutian'],
    'bbox',
  );
});

t.test('a numeric metadata field filters exactly', async (t) => {
  const { search } = await searchable(t);
  t.same(
    (await search('batch=1')).hits.map((h) => h.id),
    ['proj-jdz'],
  );
});

t.test('anonymous facets count only what the public may see, one facet for each asked', async (t) => {
  const { search } = await searchable(t);
  const faceted = await search('facets=kind,category&facets=has_media');
  t.same(faceted.facets.kind, { collection_object: 1, heritage_site: 1, ich_project: 1 }, 'anonymous facets');
  t.same(Object.keys(faceted.facets).sort(), ['category', 'has_media', 'kind']);
});

t.test('a researcher finds a restricted record, highlighted, and the public does not', async (t) => {
  const { api, search } = await searchable(t);
  const staff = await search(`q=${encodeURIComponent('青花')}`, api.auth.researcher);
  t.same(
    staff.hits.map((h) => h.id),
    ['obj-1'],
    'researcher sees the restricted object',
  );
  t.equal(staff.hits[0]!.highlights.title, '<mark>青花</mark>瓷瓶');
  t.equal((await search(`q=${encodeURIComponent('青花')}`)).total, 0, 'anonymous does not');
});

t.test('bad search parameters answer a coded 400', async (t) => {
  const { get } = await searchable(t);
  const refused = async (qs: string, why: string) => {
    const res = await get(`/v1/search?${qs}`);
    t.equal(res.statusCode, 400, `${why}: ${res.body.slice(0, 200)}`);
    t.equal(res.json<{ code: string }>().code, 'CIKU_ERR_REQUEST_INVALID', why);
  };
  await refused('facets=colour', 'unknown facet');
  await refused('sort=random', 'unknown sort');
  await refused('limit=1000', 'limit over 100');
  await refused('page=0', 'page 0');
  await refused('page=200&limit=100', 'deep paging past 10,000');
  await refused(`q=${'x'.repeat(1001)}`, 'query over 1,000 characters');
  await refused('near=91,0,1', 'latitude out of range');
  await refused('near=abc', 'malformed near');
  await refused('bbox=1,2,3', 'bbox with three numbers');
  await refused('year_from=abc', 'non-numeric year');
  await refused('colour=blue', 'unknown parameter');
});

t.test('hostile query text answers 200 or a coded 400 on both search paths, never 500', async (t) => {
  const { get } = await searchable(t);
  const hostile = [
    '%22',
    '%22%22%22',
    '*',
    'NEAR(%E9%9D%92%E8%8A%B1%20%E7%93%B7%2C%202)',
    'a%20OR%20b',
    '-%E9%9D%92',
    '%28%28%28',
    '%7Btitle%7D%3A%20x',
    '%00',
    '%ED%A0%80', // a lone surrogate, UTF-8-encoded (invalid UTF-8)
    '%FF%FE',
    '%F0%9F%8F%BA',
    '%',
    '%E9%9D',
    encodeURIComponent("'; DROP TABLE docs; --"),
    encodeURIComponent('\\'),
  ];
  for (const q of hostile) {
    for (const path of ['/v1/search', '/v1/search/segments']) {
      const res = await get(`${path}?q=${q}`);
      t.ok([200, 400].includes(res.statusCode), `${path} q=${q} → ${res.statusCode}`);
      if (res.statusCode === 400) t.match(res.json<{ code: string }>().code, /^CIKU_ERR_/);
    }
  }
});

t.test('segment search in an item without transcripts answers no segments', async (t) => {
  const { get } = await searchable(t);
  const seg = await get('/v1/search/segments?q=x&item=proj-jdz');
  t.same(seg.json<SegmentAnswerT>().items, [], 'no transcripts: no segments');
});

t.test('readiness checks the search engine', async (t) => {
  const { get } = await searchable(t);
  const ready = await get('/readyz');
  t.equal(
    ready.json<{ checks: Record<string, { ok: boolean }> }>().checks.search?.ok,
    true,
    'readyz checks search',
  );
});
