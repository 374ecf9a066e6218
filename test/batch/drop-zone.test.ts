import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { scanDropZone } from '../../services/batch/drop-zone.ts';
import { batchEnv } from '../helpers/batch.ts';
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
