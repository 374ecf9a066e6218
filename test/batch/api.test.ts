import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Principal } from '../../services/archive/access.ts';
import { mayBatch } from '../../services/batch/batches.ts';
import { ORG_A, startTestApi } from '../helpers/api.ts';
import { batchEnv } from '../helpers/batch.ts';

t.test('POST /v1/batches + GET /v1/batches/:id + report, confined to the drop folder, by role', async (t) => {
  const api = await startTestApi(t, { batchWorkers: true });
  const drop = api.dropDir!;
  // Organisation A's folder: its contributors' sources are named relative to it, staff's relative to the drop folder.
  const src = path.join(drop, 'organisations', ORG_A, 'museum-a');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), '甲\n');
  fs.writeFileSync(
    path.join(src, 'manifest.csv'),
    'id,kind,title,files,access\napi-1,collection_object,青花梅瓶,a.txt,public\napi-2,collection_object,,,public\n',
  );
  const post = (auth: Record<string, string>, body: unknown) =>
    api.app.inject({ method: 'POST', url: '/v1/batches', headers: auth, payload: body as object });

  t.equal((await post(api.auth.anonymous, { source: 'museum-a' })).statusCode, 401);
  t.equal((await post(api.auth.researcher, { source: 'museum-a' })).statusCode, 403);
  for (const source of ['../', '/etc', 'museum-a/../../x', 'nothere']) {
    const r = await post(api.auth.archivist, { source });
    t.equal(r.statusCode, 400, `source ${source} refused`);
    t.equal(r.json<{ code: string }>().code, 'CIKU_ERR_BATCH_SOURCE');
  }
  fs.symlinkSync('/etc', path.join(drop, 'etc-link'));
  t.equal(
    (await post(api.auth.archivist, { source: 'etc-link' })).json<{ code: string }>().code,
    'CIKU_ERR_BATCH_SOURCE',
    'no links out',
  );

  const dry = await post(api.auth.archivist, { source: `organisations/${ORG_A}/museum-a`, dry_run: true });
  t.equal(dry.statusCode, 200);
  t.match(dry.json(), {
    status: 'dry-run',
    counts: { total: 2, failed: 1 },
    source: { path: `organisations/${ORG_A}/museum-a/manifest.csv` },
  });
  t.notMatch(dry.body, drop, 'no server path in the answer');

  const started = await post(api.auth.contributorA, { source: 'museum-a' });
  t.equal(started.statusCode, 202);
  const id = started.json<{ id: string }>().id;
  t.equal(started.headers.location, `/v1/batches/${id}`);
  let view: { status: string };
  for (;;) {
    view = (await api.app.inject({ url: `/v1/batches/${id}`, headers: api.auth.contributorA })).json<{
      status: string;
    }>();
    if (view.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.match(view, { status: 'finished', counts: { total: 2, done: 2, ingested: 1, failed: 1 } });
  const item = await api.items.get('api-1');
  t.equal(item.access.organisation, api.orgA, "a contributor's batch belongs to its organisation");

  const report = await api.app.inject({ url: `/v1/batches/${id}/report`, headers: api.auth.admin });
  t.equal(report.statusCode, 200);
  t.match(report.headers['content-type'], /text\/csv/);
  t.match(report.body, /^\uFEFFrow,item,status,version,reason\r\n1,api-1,ingested,v1,\r\n2,api-2,failed,,/);
  t.equal(
    (await api.app.inject({ url: `/v1/batches/${id}`, headers: api.auth.contributorB })).statusCode,
    404,
    'not another organisation',
  );
  t.equal((await api.app.inject({ url: `/v1/batches/${id}`, headers: api.auth.anonymous })).statusCode, 404);
  t.equal(
    (await api.app.inject({ url: '/v1/batches/b-nothing-here', headers: api.auth.admin })).statusCode,
    404,
  );

  // The queue dashboard: admins only; others get a plain 404.
  t.equal((await api.app.inject({ url: '/admin/queues', headers: api.auth.admin })).statusCode, 200);
  t.equal((await api.app.inject({ url: '/admin/queues', headers: api.auth.archivist })).statusCode, 404);
  t.equal(
    (await api.app.inject({ url: '/admin/queues/api/queues', headers: api.auth.anonymous })).statusCode,
    404,
  );
});

t.test(
  'one rule says who may batch, for the routes as for starting a batch: staff, and contributors acting for an organisation',
  async (t) => {
    const table: [Principal, boolean][] = [
      [{ role: 'admin' }, true],
      [{ role: 'archivist' }, true],
      [{ role: 'contributor', organisation: ORG_A }, true],
      [{ role: 'contributor' }, false],
      [{ role: 'researcher' }, false],
      [{ role: 'anonymous' }, false],
    ];
    for (const [p, may] of table) t.equal(mayBatch(p), may, JSON.stringify(p));
    // Starting a batch refuses whom the rule refuses, before anything is read.
    const env = await batchEnv(t, { workers: false });
    for (const [p, may] of table.filter(([, m]) => !m))
      await t.rejects(
        env.batches.start('/nonexistent', { by: 'test', principal: p }),
        { code: 'CIKU_ERR_FORBIDDEN' },
        `${JSON.stringify(p)} may ${may ? '' : 'not '}start one`,
      );
  },
);
