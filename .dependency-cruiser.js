// @ts-check

/**
 * The architecture, checked on every `npm run check` (`npm run lint:arch`). DESIGN.md "Shape": dependencies point
 * inward — api, web, batch and workers → app → archive/search → ports; adapters implement ports; only the composition roots
 * (scripts/: the CLI and benches, test/) put api together with the rest. STYLE.md item 1: one adapter per outside
 * system — each library below has an allowlist of the modules that may import it, taken from the tree as it is, so a
 * NEW importer fails the check and has to argue for itself (extend the adapter, or add itself here with a reason).
 *
 * Paths are relative to the cruise's baseDir (the repository; test/architecture.test.ts points it at a fixture tree
 * that mirrors services/, workers/, … to prove every rule fires).
 */

/** A resolved path inside an npm package, wherever node_modules sits (`../../../node_modules/…` from the fixtures). */
const lib = (/** @type {string} */ name) => `(^|/)node_modules/${name.replace(/[.+]/g, '\\$&')}/`;

/** Modules as path patterns: anchored at the root, `.ts` spelled out, so a rename shows up here. */
const only = (/** @type {string[]} */ files) => files.map((file) => `^${file.replace(/[.+]/g, '\\$&')}$`);

/**
 * Library → the modules that may import it. Adapters (services/adapters/*) for the outside systems, the search
 * engines (adapters of their engine library living beside the SearchIndex port they implement), and the few
 * deliberate exceptions, each with its reason.
 */
const libraries = {
  // OCR's preprocessing (greyscale, deskew, scale before tesseract) is OCR's own, not an image derivative.
  // The document fixtures draw OCR test pages with it; bench:documents reaches them through scripts/.
  sharp: only([
    'services/adapters/image.ts',
    'services/adapters/ocr.ts',
    'test/helpers/document-fixtures.ts',
  ]),
  'fluent-ffmpeg': only(['services/adapters/av.ts']),
  exifr: only(['services/adapters/exif.ts']),
  'file-type': only(['services/adapters/file-type.ts']),
  'webvtt-parser': only(['services/adapters/captions.ts']),
  officeparser: only(['services/adapters/office.ts']),
  yauzl: only(['services/adapters/zip-list.ts']),
  'structured-headers': only(['services/adapters/digest-headers.ts']),
  minio: only(['services/adapters/blob-s3.ts']),
  bullmq: only(['services/adapters/queue.ts']),
  // redis.ts constructs every client; the others take a client and only name its type.
  ioredis: only([
    'services/adapters/redis.ts',
    'services/adapters/queue.ts',
    'services/adapters/batch-state.ts',
    'services/adapters/redis-lock.ts',
    'services/adapters/tus.ts',
  ]),
  '@tus': only(['services/adapters/tus.ts']),
  pino: only(['services/adapters/logger.ts']),
  // The embedded engine's two databases: the index (opened by its schema module) and the item catalogue.
  'better-sqlite3': only([
    'services/search/sqlite-schema.ts',
    'services/search/sqlite-catalogue.ts',
    // The listing bench's baseline is the bare library, without our engine, on purpose.
    'scripts/bench/bench-list.ts',
    // So is the statistics bench's (the same GROUP BYs on a bare table).
    'scripts/bench/bench-stats.ts',
  ]),
  meilisearch: only(['services/search/meili-index.ts']),
  // The Chinese analyzer is the tokenizer's adapter: everything else asks it for tokens.
  '@node-rs/jieba': only(['services/search/analyzer.ts']),
  // The portal renders its pages with Preact on the server: one module turns them into documents.
  'preact-render-to-string': only(['services/web/pages/layout.tsx']),
  // The deep-zoom viewer is a browser module, bundled into dist/web/assets by scripts/build-client.ts.
  openseadragon: only(['services/web/client/zoom.ts']),
  // Chromium is driven by the portal bench (and the browser tests, outside this cruise), and prints the statistics'
  // report to PDF through its adapter.
  'playwright-core': only(['scripts/bench/bench-portal.ts', 'services/adapters/print-pdf.ts']),
};

/** The HTTP framework and its family: only the delivery layers (api today, web tomorrow) speak HTTP. */
const http = ['fastify', '@fastify', '@bull-board', 'content-disposition', 'undici'].map(lib);
const httpCore = '^(node:)?(http|https|http2)$';

export default {
  forbidden: [
    {
      name: 'core-not-to-delivery',
      comment:
        'archive, search, batch, app and workers sit below the delivery layers: they never import services/api ' +
        '(nor services/web). Move what they need (a type, a helper) down into services/app or the layer that owns it.',
      severity: 'error',
      from: { path: '^(services/(archive|search|batch|app)|workers)/' },
      to: { path: '^services/(api|web)/' },
    },
    {
      name: 'api-only-from-roots',
      comment:
        'Only the composition roots import services/api: scripts/ (the CLI, benches), test/ and services/api itself.',
      severity: 'error',
      from: { pathNot: '^(services/api|scripts|test)/' },
      to: { path: '^services/api/' },
    },
    {
      name: 'app-no-http',
      comment:
        'services/app (access guards, use cases) is called by api, web, batch and workers alike: no Fastify, no HTTP.',
      severity: 'error',
      from: { path: '^services/app/' },
      to: { path: [...http, httpCore] },
    },
    {
      name: 'workers-only-from-roots',
      comment:
        'workers/ is put together by the composition roots (scripts/, test/), never imported by services/.',
      severity: 'error',
      from: { pathNot: '^(workers|scripts|test)/' },
      to: { path: '^workers/' },
    },
    {
      name: 'core-no-outer-layers',
      comment:
        'The core (archive, search) imports no api, web, workers, app, batch, auth, nor the adapters (they ' +
        'implement its ports, not the other way) or the modules that wire and configure (runtime, config, ' +
        'lifecycle): those are built on the core, not under it.',
      severity: 'error',
      from: { path: '^services/(archive|search)/' },
      to: {
        path: [
          '^(services/(api|web|app|batch|auth|adapters)|workers|scripts)/',
          '^services/(runtime|config|lifecycle)\\.ts$',
        ],
      },
    },
    {
      name: 'core-no-sdk',
      comment:
        'The core (archive, search) imports no library but @sinclair/typebox (the schemas) and the engine ' +
        'libraries whose allowlists below name the one module each (the SearchIndex engines, the analyzer). ' +
        'Anything else goes behind a port in the core and an adapter in services/adapters.',
      severity: 'error',
      from: { path: '^services/(archive|search)/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: [lib('@sinclair/typebox'), ...['better-sqlite3', 'meilisearch', '@node-rs/jieba'].map(lib)],
      },
    },
    ...Object.entries(libraries).map(([name, importers]) => ({
      name: `only-adapter-imports-${name.replace(/^@/, '').replace(/\//g, '-')}`,
      comment: `${name}: only ${importers.join(', ')} may import it (STYLE.md 1: one adapter per outside system).`,
      severity: /** @type {const} */ ('error'),
      from: { pathNot: importers },
      to: { path: lib(name) },
    })),
    {
      name: 'http-only-in-delivery',
      comment:
        'Fastify and the HTTP libraries are imported by services/api (and a future services/web) only.',
      severity: 'error',
      from: { pathNot: '^services/(api|web)/' },
      to: { path: http },
    },
    {
      name: 'iiif-pure-builders',
      comment:
        'services/iiif builds IIIF JSON from data alone: it imports its own modules, schemas/ (types) and the ' +
        "portal's message catalogues (plain data, so a field has one name everywhere), the coded-error catalogue " +
        '(an unsupported Image API request is a CIKU_ERR_ 400 like any other) and the text analyzer (autocomplete ' +
        'offers the words the index cuts), never HTTP, the store or the application: the routes in services/api ' +
        'read through the access decision and hand it the data.',
      severity: 'error',
      from: { path: '^services/iiif/' },
      to: {
        pathNot: [
          '^services/iiif/',
          '^schemas/',
          '^services/web/messages/',
          '^services/errors\\.ts$',
          '^services/search/analyzer\\.ts$',
        ],
      },
    },
    {
      name: 'web-client-standalone',
      comment:
        'services/web/client runs in the browser: it imports only its own modules and openseadragon, never the ' +
        'server (which it reaches over HTTP) nor a Node module.',
      severity: 'error',
      from: { path: '^services/web/client/' },
      to: { pathNot: ['^services/web/client/', lib('openseadragon')] },
    },
    {
      name: 'schemas-only-typebox',
      comment: 'schemas/ is the one source of types: it imports nothing but schemas/ and @sinclair/typebox.',
      severity: 'error',
      from: { path: '^schemas/' },
      to: { pathNot: ['^schemas/', lib('@sinclair/typebox')] },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included: a cycle of types is a cycle of layers).',
      severity: 'error',
      from: { path: '^(services|workers|schemas|scripts)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves; an unresolved one would also slip past every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // The worktrees' node_modules is a symlink: keep the path as written so `to` reads the same in every checkout.
    preserveSymlinks: true,
    // node_modules is not crawled (doNotFollow) but stays visible as the end of an import, which the library
    // rules need; `exclude` would drop those imports altogether. dist/ is build output, never source.
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^dist/' },
    // Type-only imports are dependencies too: `import type { AppDeps } from '../api/…'` in the core is the leak.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.tsx', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
