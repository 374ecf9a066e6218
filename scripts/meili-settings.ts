import { loadConfig } from '../services/config.ts';
import { applyMeiliSettings } from '../services/search/meili-index.ts';

/**
 * `npm run meili:settings`: applies storage-config/meilisearch/{items,segments}.json (and the catalogue's settings) to the Meilisearch the
 * environment names (CIKU_SEARCH=meilisearch, MEILI_URL, MEILI_KEY, MEILI_INDEX_PREFIX) and waits for the tasks.
 */
const config = loadConfig();
if (config.search.kind !== 'meilisearch') {
  console.error(
    'CIKU_ERR_CONFIG_INVALID set CIKU_SEARCH=meilisearch and MEILI_URL to apply Meilisearch settings',
  );
  process.exit(2);
}
await applyMeiliSettings({
  url: config.search.url,
  indexPrefix: config.search.indexPrefix,
  ...(config.search.key === undefined ? {} : { key: config.search.key }),
});
console.log(
  `settings applied to ${config.search.indexPrefix}_items, ${config.search.indexPrefix}_segments and ${config.search.indexPrefix}_catalogue`,
);
