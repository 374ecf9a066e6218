import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Principal } from '../../services/archive/access.ts';
import { mayBatch } from '../../services/batch/batches.ts';
import { ORG_A, startTestApi } from '../helpers/api.ts';
import { batchEnv } from '../helpers/batch.ts';

/**
 * An API with batch workers and, in organisation A's drop folder, a two-row manifest (one good row, one without a
 * title). Contributors name sources relative to their organisation's folder, staff relative to the drop folder.
 */
async function batchApi(t: Test) {
  const api = await startTestApi(t, { batchWorkers: true });
  const drop = api.dropDir!;
  const src = path.join(drop, 'organisations', ORG_A, 'museum-a');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), '甲\n');
  fs.writeFileSync(
    path.join(src, 'manifest.csv'),
    'id,kind,title,files,access\napi-1,collection_object,青花梅瓶,a.txt,public\napi-2,collection_object,,,public\n',
  );
  const post = (auth: Record<string, string>, body: unknown) =>
    api.app.inject({ method: 'POST', url: '/v1/batches', headers: auth, payload: body as object });
  return { api, drop, post };
}

/** Organisation A's contributor starts the batch; it is followed until it stops running. */
async function finishedBatch(t: Test) {
  const { api, post } = await batchApi(t);
  const started = await post(api.auth.contributorA, { source: 'museum-a' });
  t.equal(started.statusCode, 202);
  const id = started.json<{ id: string }>().id;
  let view: { status: string };
  for (;;) {
    view = (await api.app.inject({ url: `/v1/batches/${id}`, headers: api.auth.contributorA })).json<{
      status: string;
    }>();
    if (view.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { api, started, id, view };
}

t.test('starting a batch needs a key, and a researcher may not start one', async (t) => {
  const { api, post } = await batchApi(t);
  t.equal((await post(api.auth.anonymous, { source: 'museum-a' })).statusCode, 401);
  t.equal((await post(api.auth.researcher, { source: 'museum-a' })).statusCode, 403);
});

t.test('a batch source outside the drop folder, or missing, answers a coded 400', async (t) => {
  const { api, post } = await batchApi(t);
  for (const source of ['../', '/etc', 'museum-a/../../x', 'nothere']) {
    const r = await post(api.auth.archivist, { source });
    t.equal(r.statusCode, 400, `source ${source} refused`);
    t.equal(r.json<{ code: string }>().code, 'CIKU_ERR_BATCH_SOURCE');
  }
});

t.test('a link in the drop folder to a folder outside it is no batch source', async (t) => {
  const { api, drop, post } = await batchApi(t);
  fs.symlinkSync('/etc', path.join(drop, 'etc-link'));
  t.equal(
    (await post(api.auth.archivist, { source: 'etc-link' })).json<{ code: string }>().code,
    'CIKU_ERR_BATCH_SOURCE',
    'no links out',
  );
});

t.test('a dry run counts the rows and names its manifest, without a server path', async (t) => {
  const { api, drop, post } = await batchApi(t);
  const dry = await post(api.auth.archivist, { source: `organisations/${ORG_A}/museum-a`, dry_run: true });
  t.equal(dry.statusCode, 200);
  t.match(dry.json(), {
    status: 'dry-run',
    counts: { total: 2, failed: 1 },
    source: { path: `organisations/${ORG_A}/museum-a/manifest.csv` },
  });
  t.notMatch(dry.body, drop, 'no server path in the answer');
});

t.test(
  "a contributor's batch answers 202 with its Location, runs every row and ingests into the contributor's organisation",
  async (t) => {
    const { api, started, id, view } = await finishedBatch(t);
    t.equal(started.headers.location, `/v1/batches/${id}`);
    t.match(view, { status: 'finished', counts: { total: 2, done: 2, ingested: 1, failed: 1 } });
    const item = await api.items.get('api-1');
    t.equal(item.access.organisation, api.orgA, "a contributor's batch belongs to its organisation");
  },
);

t.test("a finished batch's report is a CSV with a line per manifest row", async (t) => {
  const { api, id } = await finishedBatch(t);
  const report = await api.app.inject({ url: `/v1/batches/${id}/report`, headers: api.auth.admin });
  t.equal(report.statusCode, 200);
  t.match(report.headers['content-type'], /text\/csv/);
  t.match(report.body, /^\uFEFFrow,item,status,version,reason\r\n1,api-1,ingested,v1,\r\n2,api-2,failed,,/);
});

t.test('a batch answers 404 to another organisation and to the public, as an unknown one does', async (t) => {
  const { api, id } = await finishedBatch(t);
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
});

t.test('the queue dashboard is for admins only, and others get a plain 404', async (t) => {
  const { api } = await batchApi(t);
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
