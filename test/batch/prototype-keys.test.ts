import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { validateBag } from '../../services/batch/bagit.ts';
import { planBatch } from '../../services/batch/sources.ts';
import { writeBag } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

/** Names every plain object answers for itself: as column names, mapping keys and labels they are user text. */
const protoNames = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

t.test('CSV columns named like Object.prototype members are unknown columns like any other', async (t) => {
  const dir = tempDir(t);
  const header = ['id', 'kind', 'title', ...protoNames, 'colour'];
  fs.writeFileSync(
    path.join(dir, 'records.csv'),
    `${header.join(',')}\nproto-1,archive_document,甲,${protoNames.map((n) => `v-${n}`).join(',')},青\n`,
  );
  const plan = await planBatch(path.join(dir, 'records.csv'));
  t.equal(plan.rows[0]?.error, undefined, 'the row is valid');
  t.same(plan.rows[0]?.plan?.metadata, { title: '甲' }, 'nothing of them imported');
  const unmapped = plan.warnings.find((w) => w.startsWith('column(s) mapped to no field'));
  for (const n of [...protoNames, 'colour']) t.match(unmapped, n, `${n} reported as unmapped`);

  // With a mapping: a mapped prototype name maps like any column, an unmapped one is reported like any column.
  // (Written as text: in an object literal `__proto__:` would set the prototype, not a key.)
  fs.writeFileSync(
    path.join(dir, 'mapping.json'),
    '{"kind":"archive_document","id":"{num}","columns":{"num":"identifier","name":"title","__proto__":"description","constructor":"creator"}}',
  );
  fs.writeFileSync(
    path.join(dir, 'manifest.csv'),
    'num,name,__proto__,constructor,toString,hasOwnProperty\nproto-2,乙,说明,作者,x,y\n',
  );
  const mapped = await planBatch(dir);
  t.same(
    mapped.rows[0]?.plan?.metadata,
    { identifier: 'proto-2', title: '乙', description: '说明', creator: '作者' },
    '__proto__ and constructor mapped to their fields',
  );
  const left = mapped.warnings.find((w) => w.startsWith('column(s) mapped to no field'));
  t.match(left, /toString/, 'toString reported');
  t.match(left, /hasOwnProperty/, 'hasOwnProperty reported');

  // A mapping that sets a prototype name sets an unknown field: the row says so, as for any unknown field.
  fs.writeFileSync(
    path.join(dir, 'mapping.json'),
    '{"kind":"archive_document","id":"{num}","columns":{"name":"title"},"set":{"__proto__":"x","toString":"y"}}',
  );
  const set = await planBatch(dir);
  t.match(set.rows[0]?.error, /unknown field\(s\) for kind archive_document: __proto__, toString/);
});

t.test('bag manifests and bag-info labels named like Object.prototype members are plain names', async (t) => {
  const bag = writeBag(path.join(tempDir(t), 'bag'), { 'a.txt': 'a\n' }, [
    'External-Identifier: proto-bag',
    ...protoNames.map((n) => `${n}: ${n}-value`),
  ]);
  fs.writeFileSync(path.join(bag, 'manifest-constructor.txt'), '00  data/a.txt\n');
  fs.writeFileSync(path.join(bag, 'manifest-toString.txt'), '00  data/a.txt\n');
  const report = await validateBag(bag);
  t.ok(report.valid, 'valid', { errors: report.errors });
  t.match(
    report.warnings.join('\n'),
    /manifest-constructor\.txt: algorithm constructor is not one we can check/,
  );
  t.same(
    report.info.filter(([k]) => protoNames.includes(k)).map(([k]) => k),
    protoNames,
    'every label kept in order',
  );
});
