import { execFileSync } from 'node:child_process';
import t from 'tap';
import { createExportService, exportRowLimits } from '../../services/app/exports.ts';
import type { SearchRequest } from '../../services/search/search-index.ts';
import type { SearchAnswerT } from '../../schemas/search.ts';
import { startTestApi, type TestApi } from '../helpers/api.ts';

/** Python's csv module reads the export (BOM stripped by utf-8-sig): rows as lists. */
function pythonCsv(bytes: Buffer): string[][] {
  const out = execFileSync(
    'python3',
    [
      '-c',
      'import csv,sys,json,io; print(json.dumps(list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")))))',
    ],
    { input: bytes },
  );
  return JSON.parse(out.toString('utf8')) as string[][];
}

async function archive(t: Parameters<typeof startTestApi>[0]): Promise<TestApi> {
  const api = await startTestApi(t);
  const items: [string, string, string, object][] = [];
  for (let i = 0; i < 45; i++)
    items.push([`qh-${i}`, 'collection_object', `青花瓷 ${i} 号, "梅瓶"\n第二行`, { level: 'public' }]);
  items.push(['qh-res', 'collection_object', '青花 restricted', { level: 'restricted' }]);
  items.push(['qh-priv', 'collection_object', '青花 private', { level: 'private' }]);
  items.push(['other', 'collection_object', '粉彩', { level: 'public' }]);
  for (const [id, kind, title, access] of items) {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.archivist,
      payload: { id, kind, metadata: { title, description: '一件青花的描述 <b>' }, access },
    });
    if (res.statusCode !== 201) throw new Error(res.body);
    await api.indexer.upsertItem(id);
  }
  return api;
}

/** Every hit of /v1/search for q, page by page, as the caller. */
async function apiHits(api: TestApi, q: string, headers: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const res = await api.app.inject({
      url: `/v1/search?q=${encodeURIComponent(q)}&limit=20&page=${page}`,
      headers,
    });
    const body = res.json<SearchAnswerT>();
    ids.push(...body.hits.map((h) => h.id));
    if (ids.length >= body.total) return ids;
  }
}

t.test(
  'a CSV export of 青花 opens with Python csv and matches the API hits, for anonymous and researchers',
  async (t) => {
    const api = await archive(t);
    for (const role of ['anonymous', 'researcher'] as const) {
      const res = await api.app.inject({
        url: '/v1/search/export?q=青花&format=csv',
        headers: api.auth[role],
      });
      t.equal(res.statusCode, 200);
      t.match(res.headers['content-type'], 'text/csv; charset=utf-8');
      t.match(res.headers['content-disposition'], 'attachment; filename=ciku-search.csv');
      t.same([...res.rawPayload.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
      const rows = pythonCsv(res.rawPayload);
      t.same(rows[0], ['id', 'kind', 'title', 'year', 'url', 'highlight']);
      const ids = rows.slice(1).map((r) => r[0]);
      t.same(ids, await apiHits(api, '青花', api.auth[role]), `${role}: the same hits in the same order`);
      t.equal(ids.includes('qh-res'), role === 'researcher', 'restricted only for researchers');
      t.notOk(ids.includes('qh-priv'), 'never a private item');
      const row = rows.find((r) => r[0] === 'qh-3')!;
      t.equal(row[2], '青花瓷 3 号, "梅瓶"\n第二行', 'commas, quotes and line breaks survive');
      t.equal(row[4], 'http://ciku.test/items/qh-3');
      t.match(row[5], '【青花】', 'the highlight, matches marked');
    }
  },
);

t.test('JSON Lines with chosen columns, a row cap, and a bad column refused', async (t) => {
  const api = await archive(t);
  const res = await api.app.inject({
    url: '/v1/search/export?q=青花&format=jsonl&columns=title,id,access&max=7',
  });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], 'application/x-ndjson');
  const lines = res.body
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 7);
  t.same(Object.keys(lines[0]!), ['title', 'id', 'access']);
  t.equal(lines[0]!.access, 'public');
  const bad = await api.app.inject({ url: '/v1/search/export?q=青花&columns=id,secret' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json<{ code: string }>().code, 'CIKU_ERR_REQUEST_INVALID');
  const badFormat = await api.app.inject({ url: '/v1/search/export?q=青花&format=xlsx' });
  t.equal(badFormat.statusCode, 400);
});

t.test('the row limit follows the role', async (t) => {
  // An engine that always has another full page: only the limit stops the export.
  const asked: SearchRequest[] = [];
  const search = {
    search: (r: SearchRequest): Promise<SearchAnswerT> => {
      asked.push(r);
      const hits = Array.from({ length: r.limit }, (_, i) => ({
        id: `x${(r.page - 1) * r.limit + i}`,
        kind: 'media',
        version: 'v1',
        title: 't',
        highlights: { title: 't' },
      }));
      return Promise.resolve({ total: 10_000_000, page: r.page, limit: r.limit, hits, facets: {} });
    },
  };
  const service = createExportService({ search, clock: () => new Date(), publicUrl: 'http://x.test' });
  const count = async (role: 'anonymous' | 'researcher', max?: number) => {
    let n = 0;
    for await (const _ of service.hits(
      { role },
      { q: '', sort: 'relevance', format: 'csv', ...(max ? { max } : {}) },
    ))
      n++;
    return n;
  };
  t.equal(await count('anonymous'), exportRowLimits.anonymous);
  t.equal(await count('researcher', 25_000), 25_000);
  t.same(asked[0]!.scope, {
    all: false,
    levels: ['public'],
    today: asked[0]!.scope.all ? '' : asked[0]!.scope.today,
  });
});
