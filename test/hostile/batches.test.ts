import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { BatchView } from '../../schemas/batch.ts';
import { ORG_A, ORG_B } from '../helpers/api.ts';
import { apiBatches, oxumOf, writeBag } from '../helpers/batch.ts';
import { projectRoot, tempDir } from '../helpers/env.ts';
import { hostileEnv } from './harness.ts';

/**
 * Hostile batches: sources that climb out of the drop folder or into another organisation's, manifests whose rows
 * name files outside their folder or items of others, and bags that lie. Every refusal is a coded 4xx (or a failed
 * row in the report), nothing outside reaches the archive, and no report tells a contributor about the canary.
 */
const refused = (s: number) => s >= 400 && s < 500;

t.test('hostile batch sources, rows and bags', async (t) => {
  const h = await hostileEnv(t, 'batch paths and bags', { batchWorkers: true });
  const { api } = h;
  const b = apiBatches(api);
  const drop = api.dropDir!;
  const own = b.orgFolder(ORG_A);
  const other = b.orgFolder(ORG_B);
  const outside = tempDir(t, 'ciku-outside-');
  const secret = 'SECRET-OUTSIDE-THE-DROP-FOLDER';
  fs.writeFileSync(path.join(outside, 'secret.txt'), `${secret}\n`);
  fs.writeFileSync(path.join(other, 'theirs.csv'), 'id,kind,title\nb-row,media,乙馆\n');
  fs.symlinkSync(outside, path.join(own, 'link-out'));
  fs.symlinkSync(other, path.join(own, 'link-to-b'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(own, 'secret-link.csv'));
  // No answer, view, warning or report line shows a path of the server (a caller's folder is its root).
  const serverPaths = [drop, fs.realpathSync(drop), api.root, outside, projectRoot, os.tmpdir()];
  const pathLeaks: string[] = [];
  const probe = async (...args: Parameters<typeof h.probe>) => {
    const res = await h.probe(...args);
    const text = `${JSON.stringify(res.headers)}\n${res.body}`;
    for (const p of serverPaths)
      if (text.includes(p)) pathLeaks.push(`${args[0]} → ${res.statusCode}: ${res.body.slice(0, 200)}`);
    return res;
  };
  const checkView = (label: string, v: BatchView) => {
    const text = JSON.stringify(v);
    for (const p of serverPaths) if (text.includes(p)) pathLeaks.push(`${label}: ${text.slice(0, 200)}`);
  };

  // Sources: every one refused with a coded 4xx, for the contributor; staff only where it is really outside.
  const sources = [
    '../',
    '..',
    '../../etc/passwd',
    '/etc/passwd',
    outside,
    'link-out',
    'link-out/secret.txt',
    'link-to-b/theirs.csv',
    'secret-link.csv',
    `../${ORG_B}/theirs.csv`,
    `../../organisations/${ORG_B}/theirs.csv`,
    'organisations',
    'no-such-source',
    'x\u0000y',
    'a'.repeat(4096),
    '%2e%2e/%2e%2e',
    '.',
    '',
  ];
  for (const source of sources) {
    await probe(
      `contributor source ${JSON.stringify(source).slice(0, 40)}`,
      'contributorA',
      {
        method: 'POST',
        url: '/v1/batches',
        payload: { source },
      },
      { ok: refused },
    );
  }
  for (const source of [
    '../',
    '/etc/passwd',
    outside,
    '../../etc',
    `organisations/${ORG_A}/link-out/secret.txt`,
  ]) {
    await probe(
      `staff source ${JSON.stringify(source).slice(0, 40)}`,
      'archivist',
      {
        method: 'POST',
        url: '/v1/batches',
        payload: { source },
      },
      { ok: refused },
    );
  }
  for (const role of ['researcher', 'anonymous'] as const) {
    await probe(
      `${role} starts a batch`,
      role,
      { method: 'POST', url: '/v1/batches', payload: { source: 'x.csv' } },
      { ok: refused },
    );
  }
  const bodies: unknown[] = [
    { source: 'x.csv', mapping: { columns: { __proto__: 'title' } } },
    { source: 'x.csv', mapping: JSON.parse('{"__proto__":{"polluted":1}}') as object },
    { source: 'x.csv', kind: 'painting' },
    { source: 'x.csv', access: { level: 'secret' } },
    { source: 'x.csv', access: { level: 'public', embargo_until: '2099-99-99' } },
    { source: 'x.csv', dry_run: 'yes' },
    { source: 'x.csv', unknown: 1 },
    { source: 7 },
  ];
  for (const body of bodies) {
    await probe(
      `batch body ${JSON.stringify(body).slice(0, 60)}`,
      'contributorA',
      { method: 'POST', url: '/v1/batches', payload: body as object },
      { ok: refused },
    );
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted');

  // Rows that name files outside, items of others, the canary.
  const rows = path.join(own, 'rows');
  fs.mkdirSync(rows);
  fs.writeFileSync(path.join(rows, 'ok.txt'), '甲馆\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(rows, 'link.txt'));
  fs.writeFileSync(
    path.join(rows, 'manifest.csv'),
    [
      'id,kind,title,files,organisation',
      'r-ok,archive_document,好的,ok.txt,',
      'r-up,archive_document,上级,../../../secret.txt,',
      `r-abs,archive_document,绝对,${path.join(outside, 'secret.txt')},`,
      'r-link,archive_document,链接,link.txt,',
      `${h.canaryItem},oral_history,接管,ok.txt,`,
      `r-org,archive_document,换馆,ok.txt,${ORG_B}`,
      'r-dir,archive_document,目录,.,',
      '__proto__,archive_document,原型,ok.txt,',
      'r-twice,archive_document,两次,ok.txt;ok.txt,',
    ].join('\n'),
  );
  const started = await probe(
    'a manifest of hostile rows',
    'contributorA',
    { method: 'POST', url: '/v1/batches', payload: { source: 'rows' } },
    { ok: (s) => s === 202 || s === 200 },
  );
  const view = await b.finished(api.auth.contributorA, started.json<BatchView>().id);
  checkView('the hostile rows’ view', view);
  const report = await probe(
    'its report',
    'contributorA',
    { url: `/v1/batches/${view.id}/report` },
    { ok: (s) => s === 200 },
  );
  const lines = report.body
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/)
    .slice(1);
  const canaryLine = lines.find((l) => l.startsWith('5,'));
  t.equal(
    canaryLine,
    `5,${h.canaryItem},failed,,id ${h.canaryItem} is already taken by an item this batch may not change`,
    'the canary row is a taken id: no kind, no version, no deletion',
  );
  t.same(
    lines.filter((l) => /,(ingested|updated),/.test(l)).map((l) => l.split(',')[1]),
    ['r-ok', 'r-org'],
    `only the honest rows ingested:\n${report.body}`,
  );
  for (const id of ['r-up', 'r-abs', 'r-link', 'r-dir']) {
    const res = await api.app.inject({ url: `/v1/items/${id}`, headers: api.auth.archivist });
    t.equal(res.statusCode, 404, `${id} ingested nothing`);
  }
  for (const id of ['r-ok', 'r-org']) {
    const created = await api.app.inject({ url: `/v1/items/${id}`, headers: api.auth.archivist });
    t.equal(
      created.json<{ access: { organisation?: string } }>().access.organisation,
      ORG_A,
      `${id} belongs to the contributor’s organisation, whatever its row says`,
    );
  }

  // Bags that lie.
  const files = { 'a.txt': '包的内容\n' };
  // Each bag is refused whole, or (an unknown manifest algorithm is ignored with a warning; ids and labels are
  // only text) ingested as a new item of the contributor's own.
  const bags: [string, (dir: string) => void][] = [
    ['an Oxum larger than the payload', (d) => writeBag(d, files, ['Payload-Oxum: 999.1'])],
    ['an Oxum counting more files', (d) => writeBag(d, files, ['Payload-Oxum: 13.2'])],
    [
      'a manifest digest that does not match',
      (d) => {
        writeBag(d, files, [`Payload-Oxum: ${oxumOf(files)}`]);
        fs.writeFileSync(path.join(d, 'data', 'a.txt'), '改过的内容\n');
      },
    ],
    [
      'a payload file linked outside',
      (d) => {
        writeBag(d, files);
        fs.rmSync(path.join(d, 'data', 'a.txt'));
        fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(d, 'data', 'a.txt'));
      },
    ],
    [
      'manifest and fetch.txt lines naming absolute paths',
      (d) => {
        writeBag(d, files);
        fs.appendFileSync(
          path.join(d, 'manifest-sha256.txt'),
          `${'0'.repeat(64)}  ${path.join(outside, 'secret.txt')}\n`,
        );
        fs.writeFileSync(path.join(d, 'fetch.txt'), `http://evil.example/x 10 ${path.join(drop, 'x.txt')}\n`);
      },
    ],
    [
      'a manifest line climbing out',
      (d) => {
        writeBag(d, files);
        fs.appendFileSync(path.join(d, 'manifest-sha256.txt'), `${'0'.repeat(64)}  data/../../secret.txt\n`);
      },
    ],
    [
      'fetch.txt naming a URL',
      (d) => {
        writeBag(d, files);
        fs.writeFileSync(path.join(d, 'fetch.txt'), 'http://evil.example/x 10 data/b.txt\n');
      },
    ],
    [
      'no bagit.txt',
      (d) => {
        writeBag(d, files);
        fs.rmSync(path.join(d, 'bagit.txt'));
      },
    ],
    [
      'a bagit.txt of version 9.9',
      (d) => {
        writeBag(d, files);
        fs.writeFileSync(
          path.join(d, 'bagit.txt'),
          'BagIt-Version: 9.9\nTag-File-Character-Encoding: UTF-8\n',
        );
      },
    ],
    [
      'a manifest-constructor.txt',
      (d) => {
        writeBag(d, files);
        fs.writeFileSync(path.join(d, 'manifest-constructor.txt'), `${'0'.repeat(64)}  data/a.txt\n`);
      },
    ],
    [
      'External-Identifier naming the canary',
      (d) => writeBag(d, files, [`External-Identifier: ${h.canaryItem}`]),
    ],
    ['External-Identifier climbing', (d) => writeBag(d, files, ['External-Identifier: ../../canary'])],
    ['a __proto__ bag-info label', (d) => writeBag(d, files, ['__proto__: x', 'constructor: y'])],
  ];
  let n = 0;
  for (const [what, make] of bags) {
    n += 1;
    const dir = path.join(own, `bag-${n}`);
    make(dir);
    const res = await probe(
      `bag: ${what}`,
      'contributorA',
      { method: 'POST', url: '/v1/batches', payload: { source: `bag-${n}`, kind: 'archive_document' } },
      { ok: (s) => s < 500 },
    );
    if (res.statusCode >= 400) continue;
    const v = await b.finished(api.auth.contributorA, res.json<BatchView>().id);
    checkView(`bag view: ${what}`, v);
    const rep = await probe(
      `bag report: ${what}`,
      'contributorA',
      { url: `/v1/batches/${v.id}/report` },
      { ok: (s) => s === 200 },
    );
    if (!/manifest-constructor|climbing|__proto__/.test(what))
      t.equal(
        v.counts.ingested + v.counts.updated,
        0,
        `${what}: nothing ingested (${rep.body.split('\r\n')[1] ?? ''})`,
      );
  }
  // Nothing from outside the drop folder reached the archive: search every item's files as staff.
  for await (const id of api.items.list()) {
    const item = await api.items.get(id);
    if (item.tombstone) continue;
    for (const f of item.files) {
      const bytes = await api.items.readFileBytes(id, f.name);
      t.notOk(bytes.toString('utf8').includes(secret), `${id}/${f.name} holds nothing from outside`);
    }
  }
  // Another organisation's batches are not visible.
  const theirs = await api.app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: api.auth.contributorB,
    payload: { source: 'theirs.csv', dry_run: true },
  });
  t.ok(theirs.statusCode === 200 || theirs.statusCode === 202, theirs.body);
  const id = theirs.json<BatchView>().id;
  await probe(
    'another organisation’s batch',
    'contributorA',
    { url: `/v1/batches/${id}` },
    { ok: (s) => s === 404 },
  );
  await probe(
    'another organisation’s report',
    'contributorA',
    { url: `/v1/batches/${id}/report` },
    { ok: (s) => s === 404 },
  );
  for (const bad of ['../x', 'b-00000000000000-000000', '%00', 'x'.repeat(300)]) {
    await probe(
      `batch id ${bad.slice(0, 20)}`,
      'contributorA',
      { url: `/v1/batches/${encodeURIComponent(bad)}` },
      { ok: refused },
    );
  }
  t.ok(fs.existsSync(drop), 'the drop folder is still there');
  t.same(pathLeaks, [], 'no answer, view or report showed a server path');
  await h.report(t);
});
