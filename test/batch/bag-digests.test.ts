import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { validateBag } from '../../services/batch/bagit.ts';
import { ingestRow } from '../../services/batch/ingest-row.ts';
import { planBatch } from '../../services/batch/sources.ts';
import type { BatchRow } from '../../schemas/batch.ts';
import { stagingLeft } from '../helpers/api.ts';
import { batchEnv, headOf, testAgent, writeBag } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

const sha512 = (s: string | Buffer) => createHash('sha512').update(s).digest('hex');
const MISMATCH =
  /^[^ ]+: its bytes have sha512 [0-9a-f]{128}, not the expected [0-9a-f]{128}: nothing was stored$/;

/** The report's rows of a finished batch. */
async function reportRows(env: Awaited<ReturnType<typeof batchEnv>>, id: string) {
  return parse<Record<string, string>>((await env.batches.reportCsv(id)).replace(/^\uFEFF/, ''), {
    columns: true,
  });
}

/** Rewrites a file in place: same inode, still a regular file inside its folder, other bytes. */
function rewriteInPlace(file: string, body: string): void {
  const before = fs.statSync(file).ino;
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, body, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (fs.statSync(file).ino !== before) throw new Error('not rewritten in place');
}

t.test(
  "bag validation gives every payload file the sha512 of the bytes that matched its manifests, whatever the manifests' algorithm",
  async (t) => {
    const files = { 'a.txt': '青花缠枝莲纹\n', 'sub/b.txt': '釉里红\n' };
    const bag = writeBag(path.join(tempDir(t), 'bag'), files); // a sha256 manifest only
    const report = await validateBag(bag);
    t.ok(report.valid, 'the bag is valid');
    t.same(
      report.payload.map((p) => [p.path, p.sha512]),
      [
        ['data/a.txt', sha512(files['a.txt'])],
        ['data/sub/b.txt', sha512(files['sub/b.txt'])],
      ],
    );
    // A bag whose payload holds a manifest: its rows' files carry the digests too.
    const withRows = writeBag(path.join(tempDir(t), 'rows-bag'), {
      'manifest.csv': 'id,kind,title,files\nr-1,archive_document,甲,a.txt\n',
      'a.txt': files['a.txt'],
    });
    const plan = await planBatch(withRows);
    t.same(
      plan.rows.map((r) => r.plan?.files.map((f) => [f.name, f.sha512])),
      [[['a.txt', sha512(files['a.txt'])]]],
    );
  },
);

t.test(
  'a bag payload file rewritten in place after planning fails its row, and nothing of it is stored',
  async (t) => {
    const env = await batchEnv(t, { workers: false });
    const bag = writeBag(path.join(tempDir(t), 'bag'), { 'a.txt': '原来的字节\n', 'b.txt': '另一件\n' }, [
      'External-Identifier: bag-rewritten',
    ]);
    const { view, plan } = await env.batches.start(bag, { by: 'test' });
    t.equal(view.status, 'running', 'the bag was valid when planned');
    t.same(
      plan.rows[0]?.plan?.files.map((f) => [f.name, f.sha512]),
      [
        ['a.txt', sha512('原来的字节\n')],
        ['b.txt', sha512('另一件\n')],
      ],
      'each planned file carries the sha512 the validation computed',
    );
    // After validation, before the row: the same regular file, inside the bag, other bytes (same length or not).
    rewriteInPlace(path.join(bag, 'data', 'a.txt'), '换掉的字节!\n');
    await env.startWorkers();
    const done = await env.finished(view.id);
    t.match(done.counts, { total: 1, failed: 1, ingested: 0 });
    const [row] = await reportRows(env, view.id);
    t.match(row, { item: 'bag-rewritten', status: 'failed', version: '' });
    t.match(row?.reason, MISMATCH, `the reason says so: ${row?.reason}`);
    t.match(row?.reason, /^a\.txt: /, 'and names the file');
    await t.rejects(env.items.get('bag-rewritten'), { code: 'CIKU_ERR_ITEM_NOT_FOUND' }, 'no item made');
    t.same(await stagingLeft(env.blobs), [], 'nothing left in staging');
  },
);

t.test(
  "an update from a bag whose payload changed after planning leaves the item's head, metadata and files as they were",
  async (t) => {
    const env = await batchEnv(t, { workers: false });
    await env.items.create(
      {
        id: 'bag-held',
        kind: 'archive_document',
        metadata: { title: '第一版' },
        access: { level: 'private' },
        files: [{ name: 'a.txt', body: Buffer.from('第一版\n') }],
      },
      testAgent,
    );
    const before = await headOf(env.items, 'bag-held');
    const bag = writeBag(path.join(tempDir(t), 'bag'), { 'a.txt': '第二版\n' }, [
      'External-Identifier: bag-held',
      'Title: 第二版',
    ]);
    const { view } = await env.batches.start(bag, { by: 'test' });
    rewriteInPlace(path.join(bag, 'data', 'a.txt'), '被改过的第二版\n');
    await env.startWorkers();
    t.match((await env.finished(view.id)).counts, { failed: 1, updated: 0 });
    t.match((await reportRows(env, view.id))[0]?.reason, MISMATCH);
    t.same(await headOf(env.items, 'bag-held'), before, 'the item did not change');
  },
);

t.test(
  'a row with a planned digest is skipped when the item holds those bytes, without reading the file again; a row without one reads it',
  async (t) => {
    const env = await batchEnv(t, { workers: false });
    const held = '已经在档案里的字节\n';
    await env.items.create(
      {
        id: 'held',
        kind: 'archive_document',
        metadata: { title: '已有' },
        access: { level: 'private' },
        files: [{ name: 'a.txt', body: Buffer.from(held) }],
      },
      testAgent,
    );
    const dir = tempDir(t);
    // On disk now: other bytes than the plan saw (the plan's digest is of what the item holds).
    fs.writeFileSync(path.join(dir, 'a.txt'), '别的字节\n');
    const row = (file: BatchRow['files'][number]): BatchRow => ({
      row: 1,
      id: 'held',
      kind: 'archive_document',
      access: { level: 'private' },
      named_access: [],
      metadata: { title: '已有' },
      files: [file],
    });
    const ctx = { agent: testAgent, principal: { role: 'archivist' as const }, root: dir };
    const file = { path: path.join(dir, 'a.txt'), name: 'a.txt', role: 'original' as const };
    const planned = await ingestRow(env, 'b-test-000001', row({ ...file, sha512: sha512(held) }), ctx);
    t.match(planned, { status: 'skipped', version: 'v1' }, 'the planned digest decides: already held');
    const unplanned = await ingestRow(env, 'b-test-000001', row(file), ctx);
    t.match(unplanned, { status: 'updated', version: 'v2' }, 'without one, the bytes on disk decide');
    t.equal(
      (await env.items.get('held')).files[0]?.digests.sha512,
      sha512('别的字节\n'),
      'and those bytes were stored',
    );
  },
);
