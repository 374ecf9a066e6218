import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createMeiliIndex } from '../../services/search/meili-index.ts';
import { catalogueContract, contract } from './contract.ts';
import { pagesContract } from './pages-contract.ts';

const url = process.env.MEILI_URL;
/** A tap skip (counted in the summary, with its reason), not a pass: nothing was tested without a server. */
const skip = url
  ? false
  : 'MEILI_URL is not set: the Meilisearch engine was NOT tested (set MEILI_URL, and MEILI_KEY, to run it against a server)';

const open = async (t: Test) => {
  const host = url!;
  const prefix = `ciku_test_${randomBytes(4).toString('hex')}`;
  const index = createMeiliIndex({
    url: host,
    ...(process.env.MEILI_KEY ? { key: process.env.MEILI_KEY } : {}),
    indexPrefix: prefix,
  });
  t.teardown(async () => {
    const { Meilisearch } = await import('meilisearch');
    const client = new Meilisearch({
      host,
      ...(process.env.MEILI_KEY ? { apiKey: process.env.MEILI_KEY } : {}),
    });
    for (const uid of [`${prefix}_items`, `${prefix}_segments`, `${prefix}_pages`, `${prefix}_catalogue`])
      await client.deleteIndexIfExists(uid);
  });
  return index;
};

t.test('the Meilisearch engine passes the search contract', { skip }, async (t) => {
  contract(t, 'meilisearch', open);
  pagesContract(t, 'meilisearch', open);
});

t.test('the Meilisearch engine passes the item catalogue contract', { skip }, async (t) => {
  catalogueContract(t, 'meilisearch', open);
});

t.test(
  'the items settings rank a title that is the query, then one that starts with it, before attribute order and sort',
  async (t) => {
    const { meiliSettings } = await import('../../services/search/meili-index.ts');
    const rules = meiliSettings('items').rankingRules ?? [];
    const at = (rule: string) => rules.indexOf(rule);
    t.ok(at('exactness') > at('proximity'), 'exactness after proximity (an exact title is always closest)');
    t.ok(
      at('exactness') < at('attribute'),
      'exactness (exact attribute, then attribute start) before attribute',
    );
    t.ok(at('exactness') < at('sort'), 'and before sort');
    t.equal(
      meiliSettings('items').searchableAttributes?.[0],
      'title',
      'the title is the first searchable attribute',
    );
  },
);
