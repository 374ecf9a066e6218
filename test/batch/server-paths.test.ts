import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { BatchView } from '../../schemas/batch.ts';
import { withoutServerPaths } from '../../services/batch/drop-folder.ts';
import { ORG_A, ORG_B, startTestApi } from '../helpers/api.ts';
import { apiBatches, batchEnv, writeBag } from '../helpers/batch.ts';
import { projectRoot, tempDir } from '../helpers/env.ts';

/**
 * What a caller reads of a batch — a 400's message, a view's warnings and refusal, every report line — shows paths
 * relative to its folder, never a server path (the reviewer's repro: a contributor's `{source: "empty"}` answered
 * `/tmp/ciku-drop-…/organisations/景德镇中国陶瓷博物馆/empty is neither a BagIt bag…`).
 */
t.test('no refusal, warning or report line of a batch carries a server path', async (t) => {
  const api = await startTestApi(t, { batchWorkers: true });
  const b = apiBatches(api);
  const drop = api.dropDir!;
  const own = b.orgFolder(ORG_A);
  const serverPaths = [drop, fs.realpathSync(drop), api.root, projectRoot, os.tmpdir()];
  const seen: string[] = [];
  const check = (what: string, text: string) => {
    seen.push(what);
    const shown = serverPaths.filter((p) => text.includes(p));
    t.same(shown, [], `${what}: no server path in ${JSON.stringify(text.slice(0, 300))}`);
  };
  const refusal = async (
    what: string,
    auth: Record<string, string>,
    body: Record<string, unknown>,
    wanted: { status: number; message?: string },
  ) => {
    const res = await b.post(auth, body);
    t.equal(res.statusCode, wanted.status, `${what}: ${res.statusCode}`);
    if (wanted.message !== undefined) t.equal(res.json<{ message: string }>().message, wanted.message);
    check(what, res.body);
  };

  fs.mkdirSync(path.join(own, 'empty'));
  fs.writeFileSync(path.join(own, 'x.bin'), 'x');
  await refusal(
    'a contributor’s folder that is no source',
    api.auth.contributorA,
    { source: 'empty' },
    {
      status: 400,
      message:
        'empty is neither a BagIt bag (no bagit.txt) nor a folder with manifest.csv / manifest.jsonl / manifest.ndjson',
    },
  );
  await refusal(
    'its whole folder',
    api.auth.contributorA,
    { source: '.' },
    { status: 400, message: "source must be a path inside your organisation's folder" },
  );
  await refusal(
    'a file that is no source',
    api.auth.contributorA,
    { source: 'x.bin' },
    { status: 400, message: 'x.bin: expected a folder, a bag, a .csv or a .jsonl file' },
  );
  await refusal(
    'staff naming the same folder',
    api.auth.archivist,
    { source: `organisations/${ORG_A}/empty` },
    {
      status: 400,
      message: `organisations/${ORG_A}/empty is neither a BagIt bag (no bagit.txt) nor a folder with manifest.csv / manifest.jsonl / manifest.ndjson`,
    },
  );
  await refusal(
    'another organisation’s folder',
    api.auth.contributorA,
    { source: `../${ORG_B}` },
    { status: 400 },
  );
  await refusal('an organisation with no folder', api.auth.contributorB, { source: '.' }, { status: 400 });
  await refusal('an absolute source', api.auth.archivist, { source: path.join(drop, 'x') }, { status: 400 });

  // Rows: an absolute file path, a file climbing out, a missing file; a bag whose manifest names absolute paths.
  const rows = path.join(own, 'rows');
  fs.mkdirSync(rows);
  fs.writeFileSync(path.join(rows, 'ok.txt'), '好\n');
  fs.writeFileSync(
    path.join(rows, 'manifest.csv'),
    [
      'id,kind,title,files',
      `p-abs,archive_document,绝对,${path.join(rows, 'ok.txt')}`,
      'p-up,archive_document,上级,../../../../etc/passwd',
      'p-none,archive_document,没有,nothing.txt',
      'p-ok,archive_document,好,ok.txt',
    ].join('\n'),
  );
  const bag = writeBag(path.join(own, 'bag-abs'), { 'a.txt': '包\n' });
  fs.appendFileSync(
    path.join(bag, 'manifest-sha256.txt'),
    `${'0'.repeat(64)}  ${path.join(bag, 'data', 'a.txt')}\n`,
  );
  fs.writeFileSync(path.join(bag, 'fetch.txt'), `http://example.org/b 2 ${path.join(drop, 'b.txt')}\n`);

  const started = await b.post(api.auth.contributorA, { source: 'rows' });
  t.equal(started.statusCode, 202);
  check('the started view', started.body);
  const view = await b.finished(api.auth.contributorA, started.json<BatchView>().id);
  const report = await api.app.inject({
    url: `/v1/batches/${view.id}/report`,
    headers: api.auth.contributorA,
  });
  check('the manifest’s report', report.body);
  check('its view', JSON.stringify(view));
  const reasons = new Map((await b.report(view.id)).map((r) => [r.item, r.reason]));
  t.equal(reasons.get('p-abs'), 'file …/ok.txt: must be a path relative to the manifest');
  t.equal(reasons.get('p-up'), 'file ../../../../etc/passwd: climbs out of the manifest folder');
  t.equal(reasons.get('p-none'), 'file nothing.txt: is missing');
  t.equal(reasons.get('p-ok'), '', 'the honest row ingested');

  const bagRun = await b.post(api.auth.contributorA, { source: 'bag-abs' });
  check('the invalid bag’s view', bagRun.body);
  t.match(bagRun.json(), { refused: /manifest-sha256\.txt line 2: "…\/a\.txt" is an absolute path/ });
  t.match(bagRun.json(), { refused: /fetch\.txt line 1: "…\/b\.txt" is an absolute path/ });
  const bagView = await api.app.inject({
    url: `/v1/batches/${bagRun.json<BatchView>().id}/report`,
    headers: api.auth.contributorA,
  });
  check('the invalid bag’s report', bagView.body);
  t.comment(`checked ${seen.length} answers, views and reports for server paths`);
});

t.test(
  'a planned file the system refuses to open when its row runs (a socket now) fails its row by its name, with no server path',
  async (t) => {
    const env = await batchEnv(t, { workers: false });
    const src = tempDir(t);
    fs.writeFileSync(path.join(src, 'sock.txt'), '会被换成套接字\n');
    fs.writeFileSync(
      path.join(src, 'manifest.csv'),
      'id,kind,title,files\np-sock,archive_document,套接字,sock.txt\n',
    );
    const principal = { role: 'contributor' as const, organisation: ORG_A };
    const { view } = await env.batches.start(src, { by: 'test', principal, within: src });
    // After planning, before its row runs: the file becomes a socket (open(2) answers ENXIO, naming the path).
    fs.rmSync(path.join(src, 'sock.txt'));
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(src, 'sock.txt'), resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await env.startWorkers();
    await env.finished(view.id);
    const report = await env.batches.reportCsv(view.id);
    t.match(report, /p-sock,failed,,file sock\.txt cannot be read: it is not a regular file/);
    t.notMatch(report, src, 'no server path');
  },
);

t.test(
  'text from below the planner and the row job has its server paths shown relative to the caller’s folder',
  async (t) => {
    const root = '/srv/ciku/drop/organisations/景德镇中国陶瓷博物馆';
    t.equal(
      withoutServerPaths(`EACCES: permission denied, open '${root}/scans/a.tif'`, root),
      "EACCES: permission denied, open 'scans/a.tif'",
    );
    t.equal(withoutServerPaths(`${root} is not a source.`, root), '. is not a source.');
    t.equal(
      withoutServerPaths('ENOSPC: no space left, write /var/lib/ciku/staging/x', root),
      'ENOSPC: no space left, write x',
    );
    const plain =
      'a.tif is image/tiff, md5/sha1 listed 2025/01/02, see http://example.org/x and ./data/a.txt: manifest.csv / manifest.jsonl';
    t.equal(
      withoutServerPaths(plain, root),
      plain,
      'media types, lists, dates, URLs and relative paths stay',
    );
  },
);
