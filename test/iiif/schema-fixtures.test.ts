import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixturesDir, iiifErrors } from './validate.ts';

/**
 * The schema check is proved before it judges our manifests: the IIIF Cookbook's manifests and collections and the
 * validator's own good fixtures pass, its broken ones fail (../shared/fixtures/iiif/SOURCES.md).
 */
const read = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
const jsonIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

/**
 * What the validator's own tests (tests/test_validator.py) expect to fail besides the `broken_*` files: a non-CC
 * `rights` URI, a v2-style label, mixed-up language maps, and a collection listing canvases.
 */
const REFUSED_V3 = new Set([
  'non_cc_license.json',
  'old_format_label.json',
  'rights_lang_issues.json',
  'collection_of_canvases.json',
]);

t.test(
  '107 of the 110 cookbook documents validate: not the two with empty ids, nor the v2 manifest',
  async (t) => {
    const dir = path.join(fixturesDir, 'cookbook');
    const files = jsonIn(dir);
    t.equal(files.length, 110, 'the cookbook fixtures are all there');
    const failing = files.filter((f) => iiifErrors(read(path.join(dir, f))).length > 0);
    // SOURCES.md counts 108: recipe 0057 also publishes a Presentation 2 manifest, which a 3.0 schema must refuse.
    t.same(failing, [
      '0000_template__manifest.json',
      '0057-publishing-v2-and-v3__manifest-v2.json',
      '0229-behavior-ranges__manifest.json',
    ]);
    t.equal(files.length - failing.length, 107);
  },
);

t.test("the validator's good fixtures pass, its broken and refused ones fail", async (t) => {
  const v3 = path.join(fixturesDir, 'validator-fixtures/3');
  const files = jsonIn(v3);
  const bad = files.filter((f) => f.startsWith('broken_') || REFUSED_V3.has(f));
  const good = files.filter((f) => !bad.includes(f));
  t.ok(good.length >= 20 && bad.length >= 9, `${good.length} good, ${bad.length} refused fixtures`);
  for (const f of good) t.same(iiifErrors(read(path.join(v3, f))), [], `${f} validates`);
  for (const f of bad) t.not(iiifErrors(read(path.join(v3, f))).length, 0, `${f} is refused`);
  // 4/: Presentation 4 documents. Its bad one (a duplicate id) fails here too; its good one is refused by the 3.0
  // schema as well (its @context is 4.0's), which is what a 3.0 check should say of it.
  for (const dir of ['4/bad', '4/ok']) {
    const base = path.join(fixturesDir, 'validator-fixtures', dir);
    for (const f of jsonIn(base))
      t.not(iiifErrors(read(path.join(base, f))).length, 0, `${dir}/${f} is not 3.0`);
  }
});
