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
    statsSnapshotCron: '5 0 1 1 *',
    fixityRateBytes: 50 * 1024 * 1024,
  });
  const off = loadConfig({ CIKU_DROP_CRON: 'off', CIKU_FIXITY_CRON: '0 */6 * * *' }, '/srv/ciku');
  t.equal(off.batch.dropCron, undefined);
  t.equal(off.batch.fixityCron, '0 */6 * * *');
  t.equal(loadConfig({ CIKU_STATS_SNAPSHOT_CRON: 'off' }).batch.statsSnapshotCron, undefined);
  const err = t.throws(() =>
    loadConfig({ CIKU_FIXITY_CRON: 'nightly', CIKU_BATCH_CONCURRENCY: '0' }),
  ) as unknown as {
    details: string[];
  };
  t.same(err.details.map((d) => d.split(/[=:]/)[0]).sort(), ['CIKU_BATCH_CONCURRENCY', 'CIKU_FIXITY_CRON']);
});

t.test(
  'the public origin: http://HOST:PORT by default, a configured origin with its path, never a query',
  async (t) => {
    t.equal(loadConfig({}).publicUrl, 'http://127.0.0.1:3000');
    t.equal(loadConfig({ HOST: '::1', PORT: '8080' }).publicUrl, 'http://[::1]:8080');
    t.equal(
      loadConfig({ CIKU_PUBLIC_URL: 'https://ciku.example.org/' }).publicUrl,
      'https://ciku.example.org',
    );
    t.equal(
      loadConfig({ CIKU_PUBLIC_URL: 'https://example.org/archive/ciku/' }).publicUrl,
      'https://example.org/archive/ciku',
    );
    for (const bad of [
      'ciku.example.org',
      'ftp://example.org',
      'https://example.org/?a=1',
      'https://example.org/#x',
    ]) {
      const err = t.throws(() => loadConfig({ CIKU_PUBLIC_URL: bad })) as unknown as { details: string[] };
      t.match(err.details[0], /^CIKU_PUBLIC_URL=/, `${bad} refused`);
    }
  },
);

t.test('trusted proxies and media bounds are read and checked', async (t) => {
  t.equal(loadConfig({}).trustProxy, false);
  t.equal(loadConfig({ CIKU_TRUST_PROXY: 'on' }).trustProxy, true);
  t.equal(loadConfig({ CIKU_TRUST_PROXY: '2' }).trustProxy, 2);
  t.equal(loadConfig({ CIKU_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8, 127.0.0.1');
  t.throws(() => loadConfig({ CIKU_TRUST_PROXY: 'everyone' }));
  const c = loadConfig({});
  // A 3-hour 4K interview at 30 fps fits the defaults.
  t.ok(c.worker.av.maxDurationS >= 3 * 3600);
  t.ok(c.worker.av.maxPixelFrames >= 3840 * 2160 * 30 * 3 * 3600);
  t.ok(c.worker.av.maxFramePixels >= 3840 * 2160);
  t.ok(c.worker.av.minSampleRate > 1, 'a 1 Hz sample rate is out of bounds');
  const err = t.throws(() =>
    loadConfig({
      CIKU_AV_MIN_SAMPLE_RATE: '48000',
      CIKU_AV_MAX_SAMPLE_RATE: '8000',
      CIKU_TRANSCRIPT_MAX_CUES: '0',
    }),
  ) as unknown as { details: string[] };
  t.equal(err.details.length, 2, err.details.join('; '));
});

t.test(
  'document bounds: 2,000 pages, 150/300 dpi, a time budget; each read from its key and checked',
  async (t) => {
    const c = loadConfig({});
    t.equal(c.worker.concurrency.document, 1, 'one document at a time by default');
    t.same(c.worker.document, {
      maxPages: 2_000,
      maxRenderPixels: 64_000_000,
      previewDpi: 150,
      ocrDpi: 300,
      maxCharacters: 20_000_000,
      timeLimitS: 21_600,
      pageConcurrency: 2,
    });
    // An A4 page at the OCR resolution fits one render.
    t.ok(Math.round((297 / 25.4) * c.worker.document.ocrDpi) ** 2 <= c.worker.document.maxRenderPixels);
    const set = loadConfig({
      CIKU_WORKER_DOCUMENT_CONCURRENCY: '3',
      CIKU_DOCUMENT_MAX_PAGES: '10',
      CIKU_DOCUMENT_MAX_RENDER_PIXELS: '1000000',
      CIKU_DOCUMENT_PREVIEW_DPI: '96',
      CIKU_DOCUMENT_OCR_DPI: '400',
      CIKU_DOCUMENT_MAX_CHARACTERS: '5000',
      CIKU_DOCUMENT_TIME_LIMIT_S: '60',
      CIKU_DOCUMENT_PAGE_CONCURRENCY: '4',
    });
    t.equal(set.worker.concurrency.document, 3);
    t.same(set.worker.document, {
      maxPages: 10,
      maxRenderPixels: 1_000_000,
      previewDpi: 96,
      ocrDpi: 400,
      maxCharacters: 5_000,
      timeLimitS: 60,
      pageConcurrency: 4,
    });
    const err = t.throws(() =>
      loadConfig({
        CIKU_WORKER_DOCUMENT_CONCURRENCY: '0',
        CIKU_DOCUMENT_MAX_PAGES: '0',
        CIKU_DOCUMENT_MAX_RENDER_PIXELS: 'many',
        CIKU_DOCUMENT_PREVIEW_DPI: '10',
        CIKU_DOCUMENT_OCR_DPI: '5000',
        CIKU_DOCUMENT_MAX_CHARACTERS: '-1',
        CIKU_DOCUMENT_TIME_LIMIT_S: '0',
        CIKU_DOCUMENT_PAGE_CONCURRENCY: '1.5',
      }),
    ) as unknown as { details: string[] };
    t.same(err.details.map((d) => d.split(/[=:]/)[0]).sort(), [
      'CIKU_DOCUMENT_MAX_CHARACTERS',
      'CIKU_DOCUMENT_MAX_PAGES',
      'CIKU_DOCUMENT_MAX_RENDER_PIXELS',
      'CIKU_DOCUMENT_OCR_DPI',
      'CIKU_DOCUMENT_PAGE_CONCURRENCY',
      'CIKU_DOCUMENT_PREVIEW_DPI',
      'CIKU_DOCUMENT_TIME_LIMIT_S',
      'CIKU_WORKER_DOCUMENT_CONCURRENCY',
    ]);
  },
);
