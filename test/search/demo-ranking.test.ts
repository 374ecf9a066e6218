import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import t, { type Test } from 'tap';
import { loadDemoData } from '../../scripts/demo/demo-data.ts';
import { generateDemoSource } from '../../scripts/demo/generate-demo.ts';
import type { Items } from '../../services/archive/items.ts';
import { buildDocuments } from '../../services/search/documents.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { item, req } from './contract.ts';

/**
 * The demo a first `ciku start` loads — its hand-made items and the generated batch (40 inheritors titled
 * 某某（景德镇手工制瓷技艺·工序）) — indexed straight from their metadata, without an archive or a batch run.
 */
async function demoItems(t: Test) {
  const made: ReturnType<typeof item>[] = [];
  const items = {
    create: (input: { id: string; kind: string; metadata: Record<string, unknown> }) => {
      made.push(item(input.id, input.kind as never, input.metadata));
      return Promise.resolve();
    },
  } as unknown as Items;
  await loadDemoData(items, tempDir(t));
  const source = tempDir(t);
  await generateDemoSource(source);
  const rows = parse<Record<string, string>>(readFileSync(path.join(source, 'manifest.csv')), {
    columns: true,
  });
  const notMetadata = new Set(['id', 'kind', 'access', 'organisation', 'files', 'transcript']);
  for (const r of rows) {
    const metadata = Object.fromEntries(
      Object.entries(r).filter(([k, v]) => v !== '' && !notMetadata.has(k)),
    );
    made.push(item(r.id!, r.kind as never, metadata));
  }
  return made;
}

t.test('in the demo, the national project titled 景德镇手工制瓷技艺 is hit 1 for its name', async (t) => {
  const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  t.teardown(() => index.close());
  const items = await demoItems(t);
  t.ok(items.filter((i) => i.kind === 'inheritor').length >= 40, 'the generated inheritors are there');
  for (const i of items) {
    const { doc, segments } = buildDocuments(i);
    await index.put(doc, segments);
  }
  for (const q of ['景德镇手工制瓷技艺', '景德鎮手工製瓷技藝']) {
    const res = await index.search(req(q, { limit: 10 }));
    t.ok(res.total > 10, `${q}: many records name it`);
    t.equal(res.hits[0]?.id, 'demo-ich-0001', `${q}: the national project first`);
  }
});
