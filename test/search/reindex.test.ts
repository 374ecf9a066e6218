import t from 'tap';
import { loadDemoData } from '../../scripts/demo/demo-data.ts';
import { createIndexer } from '../../services/search/indexer.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { agent, workerHarness } from '../helpers/workers.ts';

t.test('a reindex from the archive alone gives the same documents as incremental indexing', async (t) => {
  const h = await workerHarness(t);
  t.ok((await loadDemoData(h.items, tempDir(t))) > 5, 'demo archive of every kind');
  // The transcripts' segments, as the transcript job makes them.
  for await (const id of h.items.list()) {
    const item = await h.items.get(id);
    for (const f of item.files.filter((x) => x.role === 'transcript')) {
      await h.run('derive-transcript', {
        itemId: id,
        version: item.version,
        file: f.name,
        sha512: f.digests.sha512,
        mediaType: f.media_type ?? 'text/vtt',
      });
    }
  }
  const incremental = createSqliteIndex({ dir: tempDir(t) });
  const rebuilt = createSqliteIndex({ dir: tempDir(t) });
  t.teardown(async () => {
    await incremental.close();
    await rebuilt.close();
  });
  const inc = createIndexer({ items: h.items, derivatives: h.derivatives, index: incremental });
  // Incremental: in creation order, with an edit and a tombstone on the way, as the index job sees them.
  const ids: string[] = [];
  for await (const id of h.items.list()) ids.push(id);
  for (const id of ids) await inc.upsertItem(id);
  await h.items.update(
    ids[0]!,
    { metadata: { ...(await h.items.get(ids[0]!)).metadata, title: '改过的标题' } },
    agent,
  );
  await inc.upsertItem(ids[0]!);
  await h.items.delete(ids[1]!, agent, 'test');
  await inc.upsertItem(ids[1]!);

  const full = createIndexer({ items: h.items, derivatives: h.derivatives, index: rebuilt });
  const progress = await full.reindexAll();
  t.equal(progress.total, ids.length);
  t.same(progress.failed, []);
  const a = await incremental.stats();
  const b = await rebuilt.stats();
  t.equal(b.documents, ids.length - 1, 'every live item, not the tombstoned one');
  t.ok(b.segments > 0, 'transcript segments indexed');
  t.same(b, a, 'same counts and the same content hash');
  t.equal(await rebuilt.indexedVersion(ids[0]!), 'v2');

  // Reindexing again over a live index: same content, and the live index answered throughout.
  await full.reindexAll();
  t.same(await rebuilt.stats(), a);
});
