import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { scanDropZone } from '../../services/batch/drop-zone.ts';
import { batchEnv, headOf, testAgent } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

t.test('the drop-zone scan starts a batch per new entry, once; a changed entry is new again', async (t) => {
  const env = await batchEnv(t);
  const drop = tempDir(t);
  fs.mkdirSync(path.join(drop, 'museum-scans'));
  fs.writeFileSync(path.join(drop, 'museum-scans', 'a.txt'), '甲\n');
  fs.writeFileSync(
    path.join(drop, 'museum-scans', 'manifest.csv'),
    'id,kind,title,files\ndz-1,archive_document,甲,a.txt\n',
  );
  fs.writeFileSync(path.join(drop, 'records.csv'), 'id,kind,title\ndz-2,inheritor,乙\n');
  fs.writeFileSync(path.join(drop, 'notes.doc'), 'not a source');
  const deps = { batches: env.batches, blobs: env.blobs };
  const first = await scanDropZone(deps, drop, { settleMs: 0 });
  t.same(
    first.started.map((s) => s.entry),
    ['museum-scans', 'records.csv'],
  );
  for (const s of first.started)
    t.equal((await env.finished(s.batch)).counts.ingested, 1, `${s.entry} ingested`);
  const second = await scanDropZone(deps, drop, { settleMs: 0 });
  t.same(second.started, [], 'nothing picked up twice');
  t.same(
    second.skipped.map((s) => s.reason),
    ['already picked up', 'already picked up'],
  );
  fs.writeFileSync(path.join(drop, 'records.csv'), 'id,kind,title\ndz-2,inheritor,乙（修订）\n');
  const third = await scanDropZone(deps, drop, { settleMs: 0 });
  t.same(
    third.started.map((s) => s.entry),
    ['records.csv'],
    'the re-delivered file is new',
  );
  t.equal((await env.finished(third.started[0]!.batch)).counts.updated, 1);
  const young = await scanDropZone(deps, drop, { settleMs: 3_600_000 });
  t.same(young.started, [], 'entries still settling wait for the next scan');
});

t.test(
  "an organisation folder's sources run as a contributor of that organisation, never as staff",
  async (t) => {
    const env = await batchEnv(t);
    const drop = tempDir(t);
    const orgA = '景德镇中国陶瓷博物馆';
    const orgB = '景德镇御窑博物馆';
    await env.items.create(
      {
        id: 'dz-b',
        kind: 'inheritor',
        metadata: { title: '乙馆', biography: '乙馆的传记' },
        access: { level: 'private', organisation: orgB },
      },
      testAgent,
    );
    await env.items.create(
      { id: 'dz-staff', kind: 'inheritor', metadata: { title: '内部' }, access: { level: 'private' } },
      testAgent,
    );
    const before = [await headOf(env.items, 'dz-b'), await headOf(env.items, 'dz-staff')];
    // Spelt NFD on disk (copied from a Mac): still organisation A's folder.
    const folder = path.join(drop, 'organisations', orgA.normalize('NFD'));
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(
      path.join(folder, 'records.csv'),
      'id,kind,title,access\ndz-b,inheritor,甲,public\ndz-staff,inheritor,甲,public\ndz-a,inheritor,甲,public\n',
    );
    fs.symlinkSync(path.join(drop, 'organisations', orgA), path.join(drop, 'organisations', 'link-to-a'));
    const scan = await scanDropZone({ batches: env.batches, blobs: env.blobs }, drop, { settleMs: 0 });
    t.same(
      scan.started.map((s) => s.entry),
      [`organisations/${orgA.normalize('NFD')}/records.csv`],
      'the organisation folder scanned, not as one of staff’s sources',
    );
    t.match(scan.skipped, [{ entry: 'organisations/link-to-a', reason: /not an organisation folder/ }]);
    const done = await env.finished(scan.started[0]!.batch);
    t.same([done.counts.ingested, done.counts.failed], [1, 2]);
    t.equal((await env.items.get('dz-a')).access.organisation, orgA, "the new item is the organisation's");
    t.same(
      [await headOf(env.items, 'dz-b'), await headOf(env.items, 'dz-staff')],
      before,
      'others unchanged',
    );
    const report = await env.batches.reportCsv(scan.started[0]!.batch);
    t.match(report, /dz-b,failed,,id dz-b is already taken by an item this batch may not change/);
    t.match(report, /dz-staff,failed,,id dz-staff is already taken by an item this batch may not change/);
  },
);
