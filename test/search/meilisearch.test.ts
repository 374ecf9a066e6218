import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createMeiliIndex } from '../../services/search/meili-index.ts';
import { catalogueContract, contract } from './contract.ts';

const url = process.env.MEILI_URL;
if (!url) {
  t.comment(
    'SKIPPED: Meilisearch contract tests (search and item catalogue) — set MEILI_URL (and MEILI_KEY) to run them against a server',
  );
  t.pass('skipped: MEILI_URL is not set, so the Meilisearch engine was NOT tested in this run');
} else {
  const open = async (t: Test) => {
    const prefix = `ciku_test_${randomBytes(4).toString('hex')}`;
    const index = createMeiliIndex({
      url,
      ...(process.env.MEILI_KEY ? { key: process.env.MEILI_KEY } : {}),
      indexPrefix: prefix,
    });
    t.teardown(async () => {
      const { Meilisearch } = await import('meilisearch');
      const client = new Meilisearch({
        host: url,
        ...(process.env.MEILI_KEY ? { apiKey: process.env.MEILI_KEY } : {}),
      });
      for (const uid of [`${prefix}_items`, `${prefix}_segments`, `${prefix}_catalogue`])
        await client.deleteIndexIfExists(uid);
    });
    return index;
  };
  contract(t, 'meilisearch', open);
  catalogueContract(t, 'meilisearch', open);
}
