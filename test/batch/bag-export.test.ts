import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { createPackageService } from '../../services/app/packages.ts';
import { validateBag } from '../../services/batch/bagit.ts';
import { ORG_A, startTestApi } from '../helpers/api.ts';
import { batchEnv, headOf } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

const run = promisify(execFile);

t.test(
  'a bag of ours validates, checks with sha512sum -c, and imports back with ciku batch as the same items',
  async (t) => {
    const api = await startTestApi(t);
    const put = async (id: string, name: string, body: string | Buffer) => {
      const res = await api.app.inject({
        method: 'PUT',
        url: `/v1/items/${id}/files/${encodeURIComponent(name)}`,
        headers: api.auth.archivist,
        payload: body,
      });
      if (res.statusCode !== 201) throw new Error(res.body);
    };
    const create = async (id: string, kind: string, metadata: object, access: object) => {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: api.auth.archivist,
        payload: { id, kind, metadata, access },
      });
      if (res.statusCode !== 201) throw new Error(res.body);
    };
    await create(
      'bag-obj',
      'collection_object',
      { title: '青花缠枝莲纹梅瓶', museum: ORG_A, glaze: ['青花', '釉里红'], dimensions: '高 30 cm' },
      { level: 'restricted', organisation: ORG_A, embargo_until: '2030-01-01' },
    );
    await put('bag-obj', 'notes.txt', '梅瓶的记录。\n'.repeat(8000));
    await put('bag-obj', '说明 第一.txt', '第一版\n');
    await put('bag-obj', '说明 第一.txt', '第二版\n');
    await create(
      'bag-oral',
      'oral_history',
      { title: '口述', interviewee: '王锡良', duration: 12.5 },
      { level: 'public' },
    );
    await put('bag-oral', 'talk.vtt', 'WEBVTT\n\n00:00.000 --> 00:01.000\n青花\n');

    const packages = createPackageService({ items: api.items, clock: () => new Date() });
    const dir = path.join(tempDir(t, 'ciku-bag-out-'), 'bag');
    const result = await packages.writeBag(dir, ['bag-obj', 'bag-oral'], { allVersions: true });
    t.equal(result.items, 2);

    const report = await validateBag(dir);
    t.ok(report.valid, report.errors.join('; '));
    t.equal(report.version, '1.0');
    t.same(report.warnings, []);
    const sums = await run('sha512sum', ['-c', '--quiet', 'manifest-sha512.txt'], { cwd: dir });
    t.equal(sums.stdout, '', 'payload manifest checks');
    await run('sha512sum', ['-c', '--quiet', 'tagmanifest-sha512.txt'], { cwd: dir });
    const premis = fs.readFileSync(path.join(dir, 'data/items/bag-obj/premis.xml'), 'utf8');
    t.match(premis, '<eventType>ingestion</eventType>');
    t.ok(
      fs.existsSync(path.join(dir, 'data/items/bag-obj/versions/v3/files/说明 第一.txt')),
      'every version with --all-versions',
    );
    t.equal(
      fs.readFileSync(path.join(dir, 'data/items/bag-obj/versions/v3/files/说明 第一.txt'), 'utf8'),
      '第一版\n',
    );
    t.equal(fs.readFileSync(path.join(dir, 'data/items/bag-obj/files/说明 第一.txt'), 'utf8'), '第二版\n');
    t.throws(() => fs.readdirSync(path.join(dir, 'data/items/bag-obj/versions/v9')));

    // Into a fresh archive, through the batch pipeline.
    const env = await batchEnv(t);
    const { view } = await env.batches.start(dir, { by: 'test' });
    const done = await env.finished(view.id);
    t.same([done.counts.ingested, done.counts.failed], [2, 0], JSON.stringify(done.counts));
    for (const id of ['bag-obj', 'bag-oral']) {
      const before = await headOf(api.items, id);
      const after = await headOf(env.items, id);
      t.same(after.metadata, before.metadata, `${id}: same metadata`);
      t.same(after.access, before.access, `${id}: same access`);
      const files = (h: typeof before) =>
        h.files
          .map((f) => ({ name: f.name, role: f.role, size: f.size, sha512: f.digests.sha512 }))
          .sort((a, b) => (a.name < b.name ? -1 : 1));
      t.same(files(after), files(before), `${id}: same files, same digests`);
    }
    await t.rejects(
      packages.writeBag(dir, ['bag-obj']),
      { code: 'CIKU_ERR_REQUEST_INVALID' },
      'never into a folder that has files',
    );
  },
);

t.test(
  'GET /v1/items/:id/package sends staff the bag as a tar that tar unpacks into a valid bag',
  async (t) => {
    const api = await startTestApi(t);
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.archivist,
      payload: {
        id: 'pkg-1',
        kind: 'archive_document',
        metadata: { title: '档案' },
        access: { level: 'restricted' },
      },
    });
    t.equal(res.statusCode, 201);
    const name = '第 1 页：一个很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长的文件名.txt';
    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/pkg-1/files/${encodeURIComponent(name)}`,
      headers: api.auth.archivist,
      payload: '正文\n',
    });
    t.equal(put.statusCode, 201);
    const tarred = await api.app.inject({
      url: '/v1/items/pkg-1/package?all_versions=true',
      headers: api.auth.admin,
    });
    t.equal(tarred.statusCode, 200);
    t.equal(tarred.headers['content-type'], 'application/x-tar');
    const dir = tempDir(t, 'ciku-pkg-');
    fs.writeFileSync(path.join(dir, 'bag.tar'), tarred.rawPayload);
    await run('tar', ['-xf', 'bag.tar'], { cwd: dir });
    const bag = path.join(dir, 'pkg-1-bag');
    const report = await validateBag(bag);
    t.ok(report.valid, report.errors.join('; '));
    await run('sha512sum', ['-c', '--quiet', 'manifest-sha512.txt'], { cwd: bag });
    t.equal(
      fs.readFileSync(path.join(bag, 'data/items/pkg-1/files', name), 'utf8'),
      '正文\n',
      'a long UTF-8 name survives',
    );
    const researcher = await api.app.inject({ url: '/v1/items/pkg-1/package', headers: api.auth.researcher });
    t.equal(researcher.statusCode, 403, 'researchers may read the item but not take its package');
    const anonymous = await api.app.inject({ url: '/v1/items/pkg-1/package' });
    t.equal(anonymous.statusCode, 404, 'the restricted item does not exist for anonymous');
  },
);
