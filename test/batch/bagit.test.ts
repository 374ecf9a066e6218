import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { validateBag } from '../../services/batch/bagit.ts';
import { oxumOf, writeBag } from '../helpers/batch.ts';
import { projectRoot, REDIS_URL, sharedPath, skipUnlessShared, tempDir, testRedis } from '../helpers/env.ts';

const run = promisify(execFile);
const FIXTURES = 'fixtures/bagit';

interface Expected {
  bag: string;
  version: string;
  expected: string;
}

function expectations(): Expected[] {
  const tsv = fs.readFileSync(path.join(sharedPath(FIXTURES)!, 'EXPECTED.tsv'), 'utf8');
  return tsv
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([bag, version, , expected]) => ({ bag: bag!, version: version!, expected: expected! }));
}

/** What EXPECTED.tsv asks on this (POSIX) machine: accepted, rejected, or no expectation (Windows-only rows). */
const verdictWanted = (e: Expected): 'valid' | 'invalid' | 'any' =>
  e.expected.startsWith('valid') ? 'valid' : e.expected.startsWith('invalid on Windows') ? 'any' : 'invalid';

t.test(
  'every bag in ../shared/fixtures/bagit gets the verdict EXPECTED.tsv gives',
  { skip: skipUnlessShared(FIXTURES) },
  async (t) => {
    const tally: Record<string, { accepted: number; rejected: number }> = {};
    for (const e of expectations()) {
      const report = await validateBag(path.join(sharedPath(FIXTURES)!, e.bag));
      const wanted = verdictWanted(e);
      const row = (tally[e.version] ??= { accepted: 0, rejected: 0 });
      if (report.valid) row.accepted += 1;
      else row.rejected += 1;
      if (wanted === 'valid') {
        t.ok(report.valid, `${e.bag} accepted`, { errors: report.errors });
        if (e.expected.includes('should warn')) {
          t.ok(report.warnings.length > 0, `${e.bag} warns`);
          t.comment(`${e.bag}: ${report.warnings.join(' | ')}`);
        }
      } else if (wanted === 'invalid') {
        t.notOk(report.valid, `${e.bag} rejected`);
        t.ok(report.errors.length > 0 && report.errors.every((m) => m.length > 10), `${e.bag} says why`);
      } else t.comment(`${e.bag} (no POSIX expectation): ${report.valid ? 'accepted' : report.errors[0]}`);
      if (Number(e.version) < 0.97 && report.valid)
        t.ok(
          report.warnings.some((w) => w.includes('predates RFC 8493')),
          `${e.bag}: older version said so`,
        );
    }
    t.comment(`tally: ${JSON.stringify(tally)}`);
  },
);

t.test(
  'a bag is hostile input: links out of the bag and fetch.txt needing downloads are refused',
  async (t) => {
    const dir = tempDir(t);
    const bag = path.join(dir, 'bag');
    fs.mkdirSync(path.join(bag, 'data'), { recursive: true });
    fs.writeFileSync(path.join(bag, 'bagit.txt'), 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
    fs.writeFileSync(path.join(bag, 'data', 'a.txt'), 'a\n');
    fs.writeFileSync(
      path.join(bag, 'manifest-sha256.txt'),
      '87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  data/a.txt\n',
    );
    t.ok((await validateBag(bag)).valid, 'the plain bag is valid');
    fs.writeFileSync(path.join(bag, 'fetch.txt'), 'https://example.org/b.txt 2 data/b.txt\n');
    const needsFetch = await validateBag(bag);
    t.notOk(needsFetch.valid);
    t.match(needsFetch.errors.join(), /never downloads/);
    fs.rmSync(path.join(bag, 'fetch.txt'));
    fs.symlinkSync('/etc/passwd', path.join(bag, 'data', 'link'));
    const linked = await validateBag(bag);
    t.notOk(linked.valid);
    t.match(linked.errors.join(), /symbolic link/);
  },
);

t.test(
  'Payload-Oxum (RFC 8493 §2.2.2): the exact count is valid without a word; more octets or files than the payload hold is invalid',
  async (t) => {
    const files = { 'a.txt': '青花\n', 'sub/b.txt': '釉里红瓷器\n' };
    const bagWith = (oxum: string) =>
      validateBag(writeBag(path.join(tempDir(t), 'bag'), files, [`Payload-Oxum: ${oxum}`]));
    const exact = await bagWith(oxumOf(files));
    t.ok(exact.valid, 'exact Oxum: valid');
    t.same(exact.warnings, [], 'and no warning');
    const [octets, count] = oxumOf(files).split('.').map(Number) as [number, number];
    for (const oxum of [
      `${octets + 1}.${count}`,
      `${octets + 1000}.${count}`,
      `${octets}.${count + 1}`,
      `${octets - 1}.${count}`,
    ]) {
      const r = await bagWith(oxum);
      t.notOk(r.valid, `Payload-Oxum ${oxum} (payload ${octets}.${count}) refused`);
      t.match(
        r.errors.join('\n'),
        new RegExp(
          `Payload-Oxum says ${oxum.replace('.', '\\.')} but the payload holds ${octets}\\.${count}`,
        ),
      );
    }
  },
);

t.test('ciku batch --dry-run gives the same verdicts', { skip: skipUnlessShared(FIXTURES) }, async (t) => {
  const all = expectations().filter((e) => verdictWanted(e) !== 'any');
  const dataDir = tempDir(t);
  const env = {
    ...process.env,
    CIKU_DATA_DIR: dataDir,
    REDIS_URL,
    CIKU_QUEUE_PREFIX: `${testRedis(t).prefix}dry`,
    LOG_LEVEL: 'silent',
  };
  const check = async (subset: Expected[]) => {
    const args = [
      path.join(projectRoot, 'bin/ciku.js'),
      'batch',
      '--dry-run',
      ...subset.map((e) => path.join(sharedPath(FIXTURES)!, e.bag)),
    ];
    const out = await run(process.execPath, args, { env }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    // One verdict line per bag on stderr, in order.
    const verdicts = [...out.stderr.matchAll(/^bag: (valid|INVALID)/gm)].map((m) => m[1]);
    t.equal(verdicts.length, subset.length, 'a verdict per bag');
    subset.forEach((e, i) =>
      t.equal(verdicts[i] === 'valid' ? 'valid' : 'invalid', verdictWanted(e), `${e.bag} (CLI)`),
    );
    return out.code;
  };
  const valid = all.filter((e) => verdictWanted(e) === 'valid');
  t.equal(await check(valid), 0, 'exit 0 when every bag is valid');
  t.equal(await check(all.filter((e) => verdictWanted(e) === 'invalid')), 1, 'exit 1 when a bag is invalid');
});
