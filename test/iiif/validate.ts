import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { sharedPath } from '../helpers/env.ts';

/**
 * The official presentation-validator's JSON Schema for Presentation 3 (../shared/fixtures/iiif/SOURCES.md), run
 * with ajv 8 + ajv-formats as that file says (the Python validator cannot be installed here).
 */
const schemaPath = sharedPath('fixtures/iiif/schema/iiif_3_0.json');
if (schemaPath === undefined) throw new Error('needs ../shared/fixtures/iiif/schema/iiif_3_0.json');

const ajvVersion = (createRequire(import.meta.url)('ajv/package.json') as { version: string }).version;
if (!ajvVersion.startsWith('8.'))
  throw new Error(`the IIIF schema needs ajv 8 (draft-07 with formats); node_modules has ajv ${ajvVersion}`);

const ajv = new Ajv({ strict: false, allErrors: false });
// ajv-formats is CommonJS with its plugin as `default` (what Node's ESM import gives is the module object).
const addFormats = formats.default;
addFormats(ajv);
const check = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

/** The schema's complaints about a manifest, collection or annotation page (empty: it validates). */
export function iiifErrors(doc: unknown): string[] {
  if (check(doc)) return [];
  return (check.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

export const fixturesDir = sharedPath('fixtures/iiif')!;
