import path from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import t from 'tap';

/**
 * The architecture rules (.dependency-cruiser.js, `npm run lint:arch`) are run twice: over a fixture tree that
 * mirrors services/, workers/, schemas/ and scripts/ (test/fixtures/architecture/), where each file breaks one rule
 * or keeps it, to prove every rule fires where it should and only there; and over the real tree, which must pass.
 */
const root = path.resolve(import.meta.dirname, '..');
const fixtures = path.join(root, 'test/fixtures/architecture');
const roots = ['services', 'workers', 'schemas', 'scripts'];
const tsConfigFile = path.join(root, 'tsconfig.json');

async function cruiseFrom(baseDir: string, overrides: Partial<ICruiseOptions> = {}): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(path.join(root, '.dependency-cruiser.js'));
  const result = await cruise(
    roots,
    { ...options, ...overrides, baseDir, tsConfig: { fileName: tsConfigFile }, outputType: 'json' },
    undefined,
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  return typeof result.output === 'string' ? (JSON.parse(result.output) as ICruiseResult) : result.output;
}

const describe = (v: IViolation): string =>
  v.cycle
    ? `${v.rule.name}: ${[v.from, ...v.cycle.map((m) => m.name)].join(' → ')}`
    : `${v.rule.name}: ${v.from}`;

t.test('every rule reports the fixture that breaks it, and nothing else', async (t) => {
  const { summary } = await cruiseFrom(fixtures);
  const found = summary.violations.filter((v) => v.rule.severity !== 'ignore').map(describe);
  const expected = [
    // One cycle is one violation, named from its first module.
    'core-not-to-delivery: services/archive/imports-api.ts',
    'core-not-to-delivery: workers/job.ts',
    'api-only-from-roots: services/archive/imports-api.ts',
    'api-only-from-roots: services/adapters/imports-api.ts',
    'api-only-from-roots: workers/job.ts',
    'api-only-from-roots: schemas/item.ts',
    'workers-only-from-roots: services/api/boots-workers.ts',
    'app-no-http: services/app/guard.ts',
    'app-no-http: services/app/status.ts',
    'http-only-in-delivery: services/app/guard.ts',
    'core-no-outer-layers: services/archive/imports-api.ts',
    'core-no-outer-layers: services/archive/imports-adapter.ts',
    'core-no-sdk: services/archive/imports-sdk.ts',
    'only-adapter-imports-sharp: services/batch/thumbnail.ts',
    'only-adapter-imports-meilisearch: services/search/new-engine.ts',
    'schemas-only-typebox: schemas/item.ts',
    'iiif-pure-builders: services/iiif/reads-app.ts',
    'no-circular: services/batch/cycle-a.ts → services/batch/cycle-b.ts → services/batch/cycle-a.ts',
    'not-to-unresolvable: services/archive/imports-nothing.ts',
  ];
  t.same(found.toSorted(), expected.toSorted());
});

t.test(
  'the allowed importers pass: the image adapter, the Meilisearch engine, typebox in schemas, IIIF on schemas, the CLI',
  async (t) => {
    const { summary } = await cruiseFrom(fixtures);
    const offenders = new Set(summary.violations.map((v) => v.from));
    for (const allowed of [
      'services/adapters/image.ts',
      'services/search/meili-index.ts',
      'schemas/ok.ts',
      'services/iiif/ok.ts',
      'scripts/cli.ts',
    ]) {
      t.notOk(offenders.has(allowed), `${allowed} breaks no rule`);
    }
  },
);

t.test('the real tree breaks no rule', async (t) => {
  const { summary } = await cruiseFrom(root);
  t.same(summary.violations.map(describe), []);
  t.equal(summary.error, 0);
  t.ok(summary.totalCruised > 100, `cruised ${summary.totalCruised} modules`);
});
