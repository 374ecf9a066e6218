import t from 'tap';
import { createDerivativeStore, derivativeFolder } from '../../services/archive/derivatives.ts';
import { createItems } from '../../services/archive/items.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { openAdapter, type AdapterName } from '../helpers/env.ts';

/**
 * The read caches behind every tile, thumbnail and item view (item records by content digest, derivative records
 * by blob etag, version states per parsed inventory) never answer stale data and never share objects between
 * callers: on both blob stores, since the S3 etag is the content's and the filesystem's the file's identity.
 */
const agent = { name: 'archivist:li', address: 'urn:ciku:agent:archivist:li' };
const sha = 'ab'.repeat(64);

for (const adapter of ['fs', 's3'] as AdapterName[]) {
  t.test(`${adapter}: item records`, async (t) => {
    const blobs = await openAdapter(t, adapter);
    const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
    await ocfl.init();
    const items = createItems({ ocfl });
    await items.create(
      { id: 'CACHE-1', kind: 'media', metadata: { title: '青花' }, access: { level: 'public' }, files: [] },
      agent,
    );
    const first = await items.get('CACHE-1');
    (first.metadata as Record<string, unknown>).title = 'changed by a caller';
    first.files.push({ name: 'x' } as never);
    const again = await items.get('CACHE-1');
    t.equal(again.metadata.title, '青花', "a caller's change to a view is not seen by the next reader");
    t.equal(again.files.length, 0);

    await items.update('CACHE-1', { metadata: { title: '釉里红' } }, agent);
    t.equal((await items.get('CACHE-1')).metadata.title, '釉里红', 'a new version is read at once');
    t.equal(
      (await items.get('CACHE-1', 'v1')).metadata.title,
      '青花',
      'and the earlier one still reads as it was',
    );
    // A second store on the same blobs (another process) sees the first one's commit.
    const other = createItems({ ocfl: createOcflStore({ blobs, locks: createMemoryLocks() }) });
    await other.update('CACHE-1', { metadata: { title: '粉彩' } }, agent);
    t.equal((await items.get('CACHE-1')).metadata.title, '粉彩', "another process's version is read at once");
  });

  t.test(`${adapter}: derivative records`, async (t) => {
    const blobs = await openAdapter(t, adapter);
    const store = createDerivativeStore({ blobs });
    const other = createDerivativeStore({ blobs });
    t.equal(await store.readRecord(sha), undefined);
    await other.writeRecord({ sha512: sha, media_type: 'image/jpeg', warnings: [], derivatives: {} });
    const read = await store.readRecord(sha);
    t.same(read?.derivatives, {}, 'a record written by another process is read');
    read!.derivatives.thumbnail = { status: 'failed', reason: 'changed by a caller' };
    t.same(
      (await store.readRecord(sha))?.derivatives,
      {},
      "a caller's change is not seen by the next reader",
    );
    await other.writeRecord({
      sha512: sha,
      media_type: 'image/jpeg',
      warnings: [],
      derivatives: { thumbnail: { status: 'ready', path: 'thumbnail.webp', size: 3 } },
    });
    t.equal(
      (await store.readRecord(sha))?.derivatives.thumbnail?.status,
      'ready',
      'a rewrite is read at once',
    );
    await blobs.put(`${derivativeFolder(sha)}record.json`, '{"not":"a record"}');
    t.equal(
      await store.readRecord(sha),
      undefined,
      'a record replaced by one that does not validate reads as missing',
    );
  });
}
