import t from 'tap';
import { createItems, validateMetadata } from '../../services/archive/items.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { objectPathFor } from '../../services/archive/ocfl/layout.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { itemKinds } from '../../schemas/item.ts';
import { openAdapter } from '../helpers/env.ts';

const archivist = { name: 'archivist:li', address: 'urn:ciku:agent:archivist:li' };

async function setup(t: { teardown(fn: () => unknown): void }) {
  const blobs = await openAdapter(t, 'fs');
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  return { blobs, ocfl, items: createItems({ ocfl }) };
}

t.test('an item lives in its object: record, files and a per-version event log', async (t) => {
  const { blobs, items } = await setup(t);
  const created = await items.create(
    {
      id: 'JDZ-OH-2024-001',
      kind: 'oral_history',
      metadata: {
        title: '青花分水口述',
        interviewee: '王师傅',
        recorded_at: '2024-05-18',
        subject: ['青花', '分水'],
      },
      access: { level: 'restricted', embargo_until: '2030-01-01' },
      files: [
        { name: '访谈 master.wav', body: Buffer.alloc(4096, 1) },
        { name: 'transcript.vtt', body: 'WEBVTT\n', role: 'transcript' },
      ],
    },
    archivist,
  );
  t.equal(created.version, 'v1');
  t.same(
    created.files.map((f) => [f.name, f.role, f.size]),
    [
      ['transcript.vtt', 'transcript', 7],
      ['访谈 master.wav', 'original', 4096],
    ],
  );
  t.match(created.files[1]!.digests.sha512, /^[0-9a-f]{128}$/);

  const edited = await items.update(
    'JDZ-OH-2024-001',
    { metadata: { title: '青花分水技法口述', subject: null } },
    archivist,
    {
      ifVersion: 'v1',
    },
  );
  t.equal(edited.version, 'v2');
  t.equal(edited.metadata.title, '青花分水技法口述');
  t.notOk('subject' in edited.metadata, 'null removes a field');
  await t.rejects(
    items.update('JDZ-OH-2024-001', { metadata: { title: 'x' } }, archivist, { ifVersion: 'v1' }),
    {
      code: 'CIKU_ERR_VERSION_CONFLICT',
    },
  );

  const renamed = await items.update(
    'JDZ-OH-2024-001',
    { rename: [{ from: 'transcript.vtt', to: '逐字稿.vtt' }] },
    archivist,
  );
  t.same(renamed.files.map((f) => f.name).sort(), ['访谈 master.wav', '逐字稿.vtt'].sort());
  t.equal((await items.readFileBytes('JDZ-OH-2024-001', '逐字稿.vtt')).toString(), 'WEBVTT\n');
  t.equal(
    (await items.get('JDZ-OH-2024-001', 'v1')).metadata.title,
    '青花分水口述',
    'old versions stay readable',
  );

  const gone = await items.delete('JDZ-OH-2024-001', archivist, 'withdrawn at the interviewee’s request');
  t.equal(gone.version, 'v4');
  t.ok(gone.tombstone, 'the head is a tombstone');
  t.same(gone.files, [], 'no files in the tombstone version');
  t.equal(
    (await items.readFileBytes('JDZ-OH-2024-001', '访谈 master.wav', 'v3')).length,
    4096,
    'content kept in history',
  );
  await t.rejects(items.update('JDZ-OH-2024-001', { metadata: { title: 'y' } }, archivist), {
    code: 'CIKU_ERR_ITEM_DELETED',
  });

  const events = await items.events('JDZ-OH-2024-001');
  const types = events.map((e) => `${e.version}:${e.type}`);
  t.ok(
    types.includes('v1:ingestion') && types.includes('v1:message digest calculation'),
    'ingestion + digest events',
  );
  t.ok(types.includes('v2:metadata modification'), 'metadata modification event');
  t.ok(types.includes('v3:filename change'), 'rename event');
  t.ok(types.includes('v4:deletion'), 'deletion event');
  t.ok(events.every((e) => e.agent === archivist.name && e.outcome === 'success'));

  const versions = await items.versions('JDZ-OH-2024-001');
  t.same(
    versions.map((v) => v.version),
    ['v1', 'v2', 'v3', 'v4'],
  );
  const report = await validateObject(blobs, `ocfl/${objectPathFor('urn:ciku:item:JDZ-OH-2024-001')}/`);
  t.same(report.findings, [], 'the item object is valid OCFL with no warnings');
});

t.test('every kind validates against its schema; unknown fields and kinds are refused clearly', async (t) => {
  for (const kind of itemKinds)
    t.same(validateMetadata(kind, { title: '标题' }), { title: '标题' }, `${kind} accepts a title`);
  t.throws(() => validateMetadata('painting', { title: 'x' }), { code: 'CIKU_ERR_ITEM_KIND_UNKNOWN' });
  t.throws(() => validateMetadata('media', {}), { code: 'CIKU_ERR_ITEM_METADATA_INVALID' });
  t.throws(() => validateMetadata('collection_object', { title: 'x', glazee: '青花' }), {
    code: 'CIKU_ERR_ITEM_METADATA_INVALID',
    message: /unknown field\(s\) for kind collection_object: glazee/,
  });
  t.throws(() => validateMetadata('inheritor', { title: 'x', level: '世界级' }), {
    code: 'CIKU_ERR_ITEM_METADATA_INVALID',
  });
  t.throws(() => validateMetadata('media', { title: 'x', description: 'y'.repeat(5 * 1024 * 1024) }), {
    code: 'CIKU_ERR_ITEM_METADATA_INVALID',
  });
  t.same(
    validateMetadata('heritage_site', {
      title: '湖田窑遗址',
      coordinates: { lat: 29.27, lon: 117.21 },
      site_type: '窑址',
    }),
    { title: '湖田窑遗址', coordinates: { lat: 29.27, lon: 117.21 }, site_type: '窑址' },
  );
});

t.test('ids: client accession ids are kept, hostile ones refused, missing ones generated', async (t) => {
  const { items } = await setup(t);
  for (const id of ['../x', 'a/b', '', '.hidden', 'x'.repeat(129), '中文', 'a b']) {
    await t.rejects(items.create({ id, kind: 'media', metadata: { title: 'x' } }, archivist), {
      code: 'CIKU_ERR_ID_INVALID',
    });
  }
  const generated = await items.create({ kind: 'media', metadata: { title: 'x' } }, archivist);
  t.match(generated.id, /^ck-\d{4}-[0-9a-z]{8}$/);
  await items.create(
    { id: 'TC-0001.a_b', kind: 'collection_object', metadata: { title: '梅瓶' } },
    archivist,
  );
  await t.rejects(
    items.create({ id: 'TC-0001.a_b', kind: 'collection_object', metadata: { title: '梅瓶' } }, archivist),
    {
      code: 'CIKU_ERR_ITEM_EXISTS',
    },
  );
  await t.rejects(items.get('no-such-item'), { code: 'CIKU_ERR_ITEM_NOT_FOUND' });
  const ids = [];
  for await (const id of items.list()) ids.push(id);
  t.same(ids.sort(), [generated.id, 'TC-0001.a_b'].sort());
});

t.test(
  'a failing commit hook fails the call unless it is reported, and the version stands either way',
  async (t) => {
    const blobs = await openAdapter(t, 'fs');
    const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
    await ocfl.init();
    const hook = () => Promise.reject(new Error('catalogue disk full'));
    const strict = createItems({ ocfl, onCommit: hook });
    await t.rejects(
      strict.create({ id: 'hook-1', kind: 'archive_document', metadata: { title: '甲' } }, archivist),
      { message: 'catalogue disk full' },
      'without onCommitError the caller learns of it',
    );
    t.equal(await strict.headVersion('hook-1'), 'v1', 'the version was committed all the same');
    const reported: string[] = [];
    const lenient = createItems({
      ocfl,
      onCommit: hook,
      onCommitError: (err, item) => reported.push(`${item.id}@${item.version}: ${(err as Error).message}`),
    });
    const updated = await lenient.update('hook-1', { metadata: { title: '乙' } }, archivist);
    t.equal(updated.version, 'v2', 'with it the write answers');
    t.same(
      reported,
      ['hook-1@v2: catalogue disk full'],
      'and the failure is reported once, naming the version',
    );
  },
);

t.test('headVersion reads the head without the record, and a missing item is not found', async (t) => {
  const { items } = await setup(t);
  await items.create({ id: 'head-1', kind: 'archive_document', metadata: { title: '甲' } }, archivist);
  await items.update('head-1', { metadata: { title: '乙' } }, archivist);
  t.equal(await items.headVersion('head-1'), 'v2');
  await t.rejects(items.headVersion('no-such'), { code: 'CIKU_ERR_ITEM_NOT_FOUND' });
});
