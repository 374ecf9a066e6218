import t from 'tap';
import type { StatsAnswer, StatTable } from '../../services/stats/stats.ts';
import { ORG_A, startTestApi } from '../helpers/api.ts';

/** `GET /v1/stats` over HTTP: what each caller counts, the CSV forms, and refused parameters. */

const row = (table: StatTable | undefined, key: string) => table?.rows.find((r) => r.includes(key));

t.test('GET /v1/stats counts per caller, as JSON and CSV', async (t) => {
  const api = await startTestApi(t);
  const create = async (id: string, access: Record<string, string>, metadata: Record<string, unknown>) => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.archivist,
      payload: { id, kind: 'collection_object', metadata: { title: id, ...metadata }, access },
    });
    t.equal(res.statusCode, 201, res.body);
  };
  await create('pub-1', { level: 'public' }, { museum: '景德镇中国陶瓷博物馆', period: '明' });
  await create('pub-2', { level: 'public' }, { museum: '景德镇中国陶瓷博物馆', period: '清' });
  await create('res-1', { level: 'restricted' }, { museum: '景德镇中国陶瓷博物馆', period: '明' });
  await create('org-1', { level: 'private', organisation: ORG_A }, { museum: ORG_A, period: '宋' });

  const stats = async (headers: Record<string, string>, qs = '') => {
    const res = await api.app.inject({ url: `/v1/stats${qs}`, headers });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    t.equal(res.headers['cache-control'], 'private, no-store');
    return res.json<StatsAnswer>();
  };
  const table = (a: StatsAnswer, id: string) => a.tables.find((x) => x.id === id);

  const anon = await stats(api.auth.anonymous);
  t.equal(anon.scope, 'public');
  t.same(row(table(anon, 'items_by_kind'), 'collection_object'), ['collection_object', 2]);
  t.same(row(table(anon, 'objects_by_period'), '明'), ['明', 1], 'the restricted object is not counted');
  t.notOk(row(table(anon, 'objects_by_period'), '宋'), 'nor the private one');
  t.notOk(table(anon, 'fixity_last_30_days'));

  const researcher = await stats(api.auth.researcher);
  t.same(row(table(researcher, 'objects_by_period'), '明'), ['明', 2]);
  const contributor = await stats(api.auth.contributorA);
  t.equal(contributor.scope, 'organisation');
  t.same(row(table(contributor, 'objects_by_period'), '宋'), ['宋', 1]);
  const other = await stats(api.auth.contributorB);
  t.notOk(row(table(other, 'objects_by_period'), '宋'), "another organisation's private item is not counted");
  const admin = await stats(api.auth.admin);
  t.same(row(table(admin, 'items_by_kind'), 'collection_object'), ['collection_object', 4]);
  t.same(table(admin, 'fixity_last_30_days')?.rows, [[0, 0, 0, 0, 0, 0]], 'no audit ran yet');

  const deleted = await api.app.inject({
    method: 'DELETE',
    url: '/v1/items/pub-2',
    headers: api.auth.archivist,
  });
  t.equal(deleted.statusCode < 300, true, deleted.body);
  const after = await stats(api.auth.admin);
  t.same(
    row(table(after, 'items_by_kind'), 'collection_object'),
    ['collection_object', 3],
    'a tombstone is not counted',
  );

  await api.indexer.reindexAll();
  const rebuilt = await stats(api.auth.admin);
  t.same(rebuilt.tables, after.tables, 'a reindex keeps every count');

  const past = await stats(api.auth.admin, '?year=2000');
  t.same(
    row(table(past, 'items_by_kind'), 'collection_object'),
    ['collection_object', 0],
    'nothing by the end of 2000',
  );
  t.equal(past.year, 2000);

  const one = await api.app.inject({ url: '/v1/stats?format=csv&table=objects_by_period' });
  t.equal(one.statusCode, 200);
  t.match(one.headers['content-type'], /^text\/csv/);
  t.equal(one.body, 'period,objects\r\n明,1\r\n');
  const all = await api.app.inject({ url: '/v1/stats?format=csv' });
  t.match(all.body, /^# items_by_kind\r\nkind,items\r\n/);
  t.match(all.body, /\r\n# ich_projects_by_category\r\ncode,category,projects\r\nⅠ,民间文学,0\r\n/);

  for (const qs of ['?year=abc', '?year=1200', '?format=xml', '?format=csv&table=nope', '?other=1']) {
    const res = await api.app.inject({ url: `/v1/stats${qs}` });
    t.equal(res.statusCode, 400, qs);
    t.match(res.json(), { code: 'CIKU_ERR_REQUEST_INVALID' }, qs);
  }
});
