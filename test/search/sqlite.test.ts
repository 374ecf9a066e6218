import t from 'tap';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { contract } from './contract.ts';

contract(t, 'sqlite', async (t) => {
  const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  t.teardown(() => index.close());
  return index;
});

t.test('sqlite: another process (another handle) sees a committed rebuild on its next call', async (t) => {
  const dir = tempDir(t, 'ciku-search-');
  const writer = createSqliteIndex({ dir });
  const reader = createSqliteIndex({ dir });
  t.teardown(async () => {
    await writer.close();
    await reader.close();
  });
  const { load, req, item } = await import('./contract.ts');
  await load(writer);
  t.equal((await reader.search(req('昆曲'))).total, 1, 'the reader shares the live index');
  const rebuild = await writer.rebuild();
  const { buildDocuments } = await import('../../services/search/documents.ts');
  await rebuild.put(buildDocuments(item('Z-1', 'media', { title: '昆曲录像' })).doc, []);
  await rebuild.commit();
  t.same(
    (await reader.search(req('昆曲'))).hits.map((h) => h.id),
    ['Z-1'],
    'the reader switched over',
  );
});
