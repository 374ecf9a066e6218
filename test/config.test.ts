import t from 'tap';
import { loadConfig } from '../services/config.ts';

t.test('defaults give the embedded deployment', async (t) => {
  const c = loadConfig({}, '/srv/ciku');
  t.equal(c.dataDir, '/srv/ciku/data');
  t.same(c.storage, { kind: 'fs', root: '/srv/ciku/data/store' });
  t.same(c.search, { kind: 'sqlite' });
  t.same(c.http, { host: '127.0.0.1', port: 3000 });
  t.equal(c.redis.url, 'redis://127.0.0.1:6379');
});

t.test('s3 and meilisearch settings are read when chosen', async (t) => {
  const c = loadConfig({
    CIKU_STORAGE: 's3',
    S3_ENDPOINT: 'http://minio:9000',
    S3_BUCKET: 'ciku',
    S3_ACCESS_KEY: 'a',
    S3_SECRET_KEY: 'b',
    CIKU_SEARCH: 'meilisearch',
    MEILI_URL: 'http://meili:7700',
  });
  t.match(c.storage, { kind: 's3', endpoint: 'http://minio:9000', bucket: 'ciku' });
  t.match(c.search, { kind: 'meilisearch', url: 'http://meili:7700' });
});

t.test('fails fast, listing every bad variable at once', async (t) => {
  const err = t.throws(() =>
    loadConfig({
      PORT: 'eighty',
      CIKU_STORAGE: 's3',
      S3_ENDPOINT: 'not a url',
      CIKU_SEARCH: 'solr',
      LOG_LEVEL: 'loud',
    }),
  ) as unknown as { code: string; details: string[] };
  t.equal(err.code, 'CIKU_ERR_CONFIG_INVALID');
  const keys = err.details.map((d) => d.split(/[=:]/)[0]);
  t.same(
    keys.sort(),
    ['CIKU_SEARCH', 'LOG_LEVEL', 'PORT', 'S3_ACCESS_KEY', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_SECRET_KEY'].sort(),
  );
});

t.test('batch settings: drop folder under the data dir, cron patterns checked, off disables', async (t) => {
  const c = loadConfig({}, '/srv/ciku');
  t.same(c.batch, {
    concurrency: 2,
    dropDir: '/srv/ciku/data/dropzone',
    dropCron: '15 1 * * *',
    settleMs: 60_000,
    fixityCron: '30 2 * * *',
    fixityRateBytes: 50 * 1024 * 1024,
  });
  const off = loadConfig({ CIKU_DROP_CRON: 'off', CIKU_FIXITY_CRON: '0 */6 * * *' }, '/srv/ciku');
  t.equal(off.batch.dropCron, undefined);
  t.equal(off.batch.fixityCron, '0 */6 * * *');
  const err = t.throws(() =>
    loadConfig({ CIKU_FIXITY_CRON: 'nightly', CIKU_BATCH_CONCURRENCY: '0' }),
  ) as unknown as {
    details: string[];
  };
  t.same(err.details.map((d) => d.split(/[=:]/)[0]).sort(), ['CIKU_BATCH_CONCURRENCY', 'CIKU_FIXITY_CRON']);
});
