import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ORG_A, ORG_B, startTestApi } from '../helpers/api.ts';
import { apiBatches, headOf, testAgent, writeBag } from '../helpers/batch.ts';

/** The one wording of a row about an item the batch may not change (services/batch/ingest-row.ts `idTaken`). */
const taken = (id: string) => `id ${id} is already taken by an item this batch may not change`;

t.test(
  "a contributor's batch naming another organisation's item, or a staff-only one — by manifest, CSV mapping or bag — fails those rows as taken ids and changes nothing of them",
  async (t) => {
    const api = await startTestApi(t, { batchWorkers: true });
    const b = apiBatches(api);
    // Organisation B's item: private, two versions, a file; and a private item of no organisation (staff only).
    await api.items.create(
      {
        id: 'b-owned',
        kind: 'collection_object',
        metadata: { title: '乙馆藏品', description: '乙馆的说明' },
        access: { level: 'private', organisation: ORG_B },
        files: [{ name: 'a.txt', body: Buffer.from('乙馆第一版\n') }],
      },
      testAgent,
    );
    await api.items.update('b-owned', { metadata: { title: '乙馆藏品（二）' } }, testAgent);
    await api.items.create(
      {
        id: 'staff-only',
        kind: 'collection_object',
        metadata: { title: '内部' },
        access: { level: 'private' },
      },
      testAgent,
    );
    const before = { b: await headOf(api.items, 'b-owned'), staff: await headOf(api.items, 'staff-only') };

    const own = b.orgFolder(ORG_A);
    // A manifest folder with a file per row.
    fs.mkdirSync(path.join(own, 'takeover'));
    fs.writeFileSync(path.join(own, 'takeover', 'x.txt'), '甲馆的字节\n');
    fs.writeFileSync(
      path.join(own, 'takeover', 'manifest.csv'),
      'id,kind,title,files,access\nb-owned,collection_object,归甲馆,x.txt,public\nstaff-only,collection_object,归甲馆,x.txt,public\n',
    );
    // A CSV alone, ids from a mapping template.
    const mapping = { kind: 'collection_object', id: '{num}', columns: { name: 'title' } };
    fs.writeFileSync(path.join(own, 'records.csv'), 'num,name\nb-owned,归甲馆\nstaff-only,归甲馆\n');
    // Bags whose External-Identifier names the items.
    writeBag(path.join(own, 'bag-b'), { 'y.txt': '甲馆的包\n' }, ['External-Identifier: b-owned']);
    writeBag(path.join(own, 'bag-staff'), { 'y.txt': '甲馆的包\n' }, ['External-Identifier: staff-only']);

    const runs = [
      await b.run(api.auth.contributorA, { source: 'takeover' }),
      await b.run(api.auth.contributorA, { source: 'records.csv', mapping }),
      await b.run(api.auth.contributorA, { source: 'bag-b', kind: 'collection_object' }),
      await b.run(api.auth.contributorA, { source: 'bag-staff', kind: 'collection_object' }),
    ];
    for (const { view, rows } of runs) {
      t.equal(view.counts.failed, view.counts.total, `${view.source.path}: every row failed`);
      for (const r of rows) {
        t.equal(r.status, 'failed');
        t.equal(r.reason, taken(r.item!), `${view.source.path} row ${r.row}: the taken-id wording`);
        t.equal(r.version, '', 'no version reported');
      }
    }
    t.same(await headOf(api.items, 'b-owned'), before.b, "B's item: same head, access, metadata, files");
    t.same(await headOf(api.items, 'staff-only'), before.staff, 'the staff-only item unchanged');
    for (const url of [
      '/v1/items/b-owned',
      '/v1/items/b-owned?version=v1',
      '/v1/items/b-owned/files/a.txt?version=v1',
    ])
      t.equal(
        (await api.app.inject({ url, headers: api.auth.contributorA })).statusCode,
        404,
        `contributor A still cannot read ${url}`,
      );
  },
);

t.test(
  'a row about an item the caller may not read or change says what every such row says: no kind, no version, no deletion',
  async (t) => {
    const api = await startTestApi(t, { batchWorkers: true });
    const b = apiBatches(api);
    await api.items.create(
      {
        id: 'hidden-oh',
        kind: 'oral_history',
        metadata: { title: '口述' },
        access: { level: 'private', organisation: ORG_B },
      },
      testAgent,
    );
    await api.items.update('hidden-oh', { metadata: { title: '口述（二）' } }, testAgent);
    await api.items.create(
      {
        id: 'b-public',
        kind: 'collection_object',
        metadata: { title: '公开' },
        access: { level: 'public', organisation: ORG_B },
      },
      testAgent,
    );
    await api.items.create(
      {
        id: 'a-deleted',
        kind: 'collection_object',
        metadata: { title: '已删' },
        access: { level: 'private', organisation: ORG_A },
      },
      testAgent,
    );
    await api.items.delete('a-deleted', testAgent, 'takedown');
    const own = b.orgFolder(ORG_A);
    const csv =
      'id,kind,title\nhidden-oh,collection_object,甲\nb-public,collection_object,甲\na-deleted,collection_object,甲\n';
    fs.writeFileSync(path.join(own, 'rows.csv'), csv);
    const { rows } = await b.run(api.auth.contributorA, { source: 'rows.csv' });
    t.equal(rows.length, 3);
    for (const r of rows) {
      t.equal(r.reason, taken(r.item!), `${r.item}: the taken-id wording`);
      t.notMatch(
        r.reason!.replace(r.item!, ''),
        /oral_history|delet|\bv\d+\b/,
        `${r.item}: no kind, deletion or version`,
      );
      t.equal(r.version, '');
    }
    // Staff may know: an archivist's batch is told the item was deleted.
    fs.writeFileSync(path.join(api.dropDir!, 'staff.csv'), csv);
    const staff = await b.run(api.auth.archivist, { source: 'staff.csv' });
    t.match(staff.rows.find((r) => r.item === 'a-deleted')?.reason, /was deleted/);
    t.match(staff.rows.find((r) => r.item === 'hidden-oh')?.reason, /exists as a oral_history/);
  },
);

t.test(
  "a row changes only what it names: other fields, the item's access and its organisation stay; re-running it skips",
  async (t) => {
    const api = await startTestApi(t, { batchWorkers: true });
    const b = apiBatches(api);
    const access = { level: 'restricted' as const, embargo_until: '2030-01-01', organisation: ORG_A };
    await api.items.create(
      {
        id: 'keep-1',
        kind: 'archive_document',
        metadata: { title: '旧标题', description: '保留的说明', creator: ['甲'] },
        access,
      },
      testAgent,
    );
    const drop = api.dropDir!;
    fs.writeFileSync(path.join(drop, 'title.csv'), 'id,kind,title\nkeep-1,archive_document,新标题\n');
    const first = await b.run(api.auth.archivist, { source: 'title.csv', access: { level: 'public' } });
    t.match(first.rows[0], { status: 'updated', version: 'v2' });
    let item = await api.items.get('keep-1');
    t.same(
      item.metadata,
      { title: '新标题', description: '保留的说明', creator: ['甲'] },
      'unnamed fields kept',
    );
    t.same(item.access, access, "the batch's default access applies to new items only");

    const again = await b.run(api.auth.archivist, { source: 'title.csv' });
    t.match(again.rows[0], { status: 'skipped', version: 'v2' }, 'only what the row names is compared');

    // A contributor of the organisation names a level: the level changes, embargo and organisation stay.
    fs.writeFileSync(
      path.join(b.orgFolder(ORG_A), 'level.csv'),
      `id,kind,title,access,organisation\nkeep-1,archive_document,新标题,public,${ORG_B}\n`,
    );
    const level = await b.run(api.auth.contributorA, { source: 'level.csv' });
    t.match(level.rows[0], { status: 'updated', version: 'v3' });
    item = await api.items.get('keep-1');
    t.same(
      item.access,
      { ...access, level: 'public' },
      "a contributor's row keeps the item in its organisation",
    );

    // An archivist's row may move it to another organisation.
    fs.writeFileSync(
      path.join(drop, 'move.csv'),
      `id,kind,title,organisation\nkeep-1,archive_document,新标题,${ORG_B}\n`,
    );
    await b.run(api.auth.archivist, { source: 'move.csv' });
    t.equal((await api.items.get('keep-1')).access.organisation, ORG_B, 'staff reassign');
  },
);

t.test("a contributor batches only from its organisation's folder in the drop folder", async (t) => {
  const api = await startTestApi(t, { batchWorkers: true });
  const b = apiBatches(api);
  const drop = api.dropDir!;
  const csv = 'id,kind,title\nwhere-1,archive_document,甲\n';
  fs.writeFileSync(path.join(drop, 'staff.csv'), csv);
  fs.writeFileSync(path.join(b.orgFolder(ORG_B), 'b.csv'), csv);
  const own = b.orgFolder(ORG_A);
  fs.symlinkSync(path.join(drop, 'organisations', ORG_B), path.join(own, 'to-b'));
  fs.symlinkSync(path.join(drop, 'staff.csv'), path.join(own, 'staff-link.csv'));
  for (const source of [
    'staff.csv',
    `../${ORG_B}/b.csv`,
    '../../staff.csv',
    'to-b/b.csv',
    'staff-link.csv',
    `organisations/${ORG_B}/b.csv`,
    path.join(drop, 'staff.csv'),
  ]) {
    const r = await b.post(api.auth.contributorA, { source, dry_run: true });
    t.equal(r.statusCode, 400, `${source} refused`);
    t.equal(r.json<{ code: string }>().code, 'CIKU_ERR_BATCH_SOURCE');
    t.notMatch(r.body, drop, 'no server path in the answer');
  }
  fs.writeFileSync(path.join(own, 'a.csv'), csv);
  const ok = await b.run(api.auth.contributorA, { source: 'a.csv' });
  t.match(ok.view, { source: { path: 'a.csv' }, counts: { ingested: 1 } }, 'its own folder is its root');
  t.equal((await api.items.get('where-1')).access.organisation, ORG_A);
  t.match(
    (await b.run(api.auth.archivist, { source: `organisations/${ORG_B}/b.csv`, dry_run: true })).view,
    { status: 'dry-run', counts: { total: 1, failed: 0 } },
    'staff reach every folder',
  );
  // A contributor whose organisation has no folder is told so.
  fs.rmSync(path.join(drop, 'organisations', ORG_B), { recursive: true });
  const none = await b.post(api.auth.contributorB, { source: 'b.csv' });
  t.equal(none.statusCode, 400);
  t.match(none.json<{ message: string }>().message, /no folder/);
});
