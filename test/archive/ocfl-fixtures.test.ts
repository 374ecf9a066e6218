import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { validateObject } from '../../services/archive/ocfl/validator.ts';
import { sharedPath, skipUnlessShared, tempDir } from '../helpers/env.ts';

t.test(
  'every official OCFL 1.1 fixture gets its documented verdict',
  { skip: skipUnlessShared('fixtures/ocfl') },
  async (t) => {
    const base = sharedPath('fixtures/ocfl')!;
    const rows = fs
      .readFileSync(path.join(base, 'EXPECTED.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    const tally = { valid: [0, 0], 'valid-with-warnings': [0, 0], invalid: [0, 0] } as Record<
      string,
      [number, number]
    >;
    for (const [fixture, verdict, codes] of rows) {
      if (!fixture || !verdict) continue;
      let dir = path.join(base, fixture);
      if (fixture.endsWith('E003_E063_empty')) {
        // git cannot store an empty folder, so upstream added a .keep; the fixture means an empty directory.
        dir = tempDir(t, 'ciku-empty-object-');
      }
      const report = await validateObject(await createFsBlobStore(dir, { readOnly: true }), '');
      const errors = new Set(report.findings.filter((f) => f.severity === 'error').map((f) => f.code));
      const warnings = new Set(report.findings.filter((f) => f.severity === 'warning').map((f) => f.code));
      const expected = (codes ?? '').split(',').filter(Boolean);
      const summary = `${fixture}: errors [${[...errors].join(',')}] warnings [${[...warnings].join(',')}]`;
      let ok: boolean;
      if (verdict === 'valid') ok = errors.size === 0 && warnings.size === 0;
      else if (verdict === 'valid-with-warnings')
        ok = errors.size === 0 && expected.every((c) => warnings.has(c));
      else ok = errors.size > 0 && expected.some((c) => errors.has(c));
      t.ok(ok, summary);
      const cell = tally[verdict]!;
      cell[1] += 1;
      if (ok) cell[0] += 1;
      if (verdict === 'invalid') {
        t.ok(
          report.findings.every((f) => /^[EW]\d{3}$/.test(f.code) && f.message.length > 0),
          `${fixture}: every finding has a spec code and a message`,
        );
      }
    }
    const line = Object.entries(tally)
      .map(([k, [ok, n]]) => `${k} ${ok}/${n}`)
      .join(', ');
    t.comment(`OCFL fixtures matched: ${line}`);
    t.equal(
      Object.values(tally).reduce((a, [ok]) => a + ok, 0),
      rows.length,
      'all fixtures match',
    );
  },
);
