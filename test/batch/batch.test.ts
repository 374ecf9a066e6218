import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { auditFixity } from '../../services/archive/fixity.ts';
import { validateStorageRoot } from '../../services/archive/ocfl/validator.ts';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createIndexer } from '../../services/search/indexer.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { readScope } from '../../services/archive/access.ts';
import { batchEnv } from '../helpers/batch.ts';
import { projectRoot, sharedPath, skipUnlessShared, tempDir } from '../helpers/env.ts';

const INHERITORS = 'corpus/ich_national_inheritors.csv';

t.test(
  'the national inheritor list (3,995 rows) through a CSV mapping: exact, intact, searchable by name',
  { skip: skipUnlessShared(INHERITORS) },
  async (t) => {
    const env = await batchEnv(t);
    const csv = sharedPath(INHERITORS)!;
    const source = parse<Record<string, string>>(fs.readFileSync(csv, 'utf8'), { columns: true });
    const mapping = path.join(projectRoot, 'storage-config/mappings/ich-inheritors.json');
    const { view, plan } = await env.batches.start(csv, { mapping, by: 'test' });
    t.equal(plan.rows.length, 3995);
    t.notOk(
      plan.warnings.some((w) => w.includes('mapped to no field')),
      'every column mapped or deliberately ignored',
    );
    const done = await env.finished(view.id);
    t.same(
      { ...done.counts, bytes: 0 },
      { total: 3995, done: 3995, ingested: 3995, updated: 0, skipped: 0, failed: 0, bytes: 0 },
      'exact counts',
    );
    let n = 0;
    for await (const id of env.items.list()) if (id.startsWith('ichi-')) n += 1;
    t.equal(n, 3995, 'one item per row');
    // Chinese fields intact: a sample of rows compared field by field with the source.
    for (const r of [source[0]!, source[1234]!, source[3994]!]) {
      const item = await env.items.get(`ichi-${r.ihchina_id}`);
      t.equal(item.kind, 'inheritor');
      // Cells are trimmed; an empty cell is an absent field.
      const cell = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
      t.equal(item.metadata.name, cell(r.name));
      t.equal(item.metadata.biography, cell(r.bio));
      t.equal(item.metadata.region, cell(r.region));
      t.same(item.metadata.ich_projects, [r.project_name]);
      t.equal(item.metadata.birth_year, r.birth_year ? Number(r.birth_year) : undefined);
    }
    // Searchable by name: index the archive, look one up.
    const index = createSqliteIndex({ dir: tempDir(t) });
    t.teardown(() => index.close());
    await createIndexer({
      items: env.items,
      derivatives: createDerivativeStore({ blobs: env.blobs }),
      index,
    }).reindexAll();
    const who = source[2000]!;
    const answer = await index.search({
      q: who.name!,
      filters: { kind: ['inheritor'] },
      facets: [],
      sort: 'relevance',
      page: 1,
      limit: 20,
      scope: readScope({ role: 'anonymous' }, new Date()),
    });
    t.ok(
      answer.hits.some((h) => h.id === `ichi-${who.ihchina_id}`),
      `${who.name} found by name`,
    );

    // Re-running the finished batch changes nothing: every row skipped, no new version, no new job.
    const jobsBefore = (await env.queue.jobIds()).filter((j) => !j.startsWith('batch-')).sort();
    const again = await env.batches.start(csv, { mapping, by: 'test' });
    const rerun = await env.finished(again.view.id);
    t.equal(rerun.counts.skipped, 3995, 're-run: all skipped');
    t.equal(rerun.counts.ingested + rerun.counts.updated + rerun.counts.failed, 0);
    t.same(
      (await env.queue.jobIds()).filter((j) => !j.startsWith('batch-')).sort(),
      jobsBefore,
      'no new follow-up jobs',
    );
    t.equal((await env.items.versions(`ichi-${source[5]!.ihchina_id}`)).length, 1, 'still one version');
  },
);

t.test(
  'malformed rows are reported one by one and the rest proceeds; a changed row becomes a new version',
  async (t) => {
    const env = await batchEnv(t);
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'a.txt'), '第一件\n');
    fs.writeFileSync(path.join(dir, 'b.txt'), '第二件\n');
    const gbkName = Buffer.from([0xc7, 0xe0, 0xbb, 0xa8]); // 青花 in GBK, inside an otherwise UTF-8 file
    fs.writeFileSync(
      path.join(dir, 'manifest.csv'),
      Buffer.concat([
        Buffer.from(
          'id,kind,title,date,files,color\n' +
            'ok-1,archive_document,档案一,2020-01-02,a.txt,青\n' +
            'missing-file,archive_document,档案二,2020,nothere.txt,\n' +
            'bad-date,archive_document,档案三,2020-13-45,,\n' +
            'bad-kind,teapot,茶壶,,,\n' +
            'climb,archive_document,越界,,../../etc/passwd,\n' +
            'gbk,archive_document,',
        ),
        gbkName,
        Buffer.from(',,,\nok-2,collection_object,藏品二,,b.txt,\n'),
      ]),
    );
    const { view, plan } = await env.batches.start(dir, { by: 'test' });
    t.ok(
      plan.warnings.some((w) => w.includes('color')),
      'the unmapped column is reported',
    );
    const done = await env.finished(view.id);
    t.same([done.counts.ingested, done.counts.failed, done.counts.total], [2, 5, 7]);
    const report = await env.batches.reportCsv(view.id);
    const rows = parse<Record<string, string>>(report.replace(/^\uFEFF/, ''), { columns: true });
    const reason = (id: string) => rows.find((r) => r.item === id)?.reason ?? '';
    t.match(reason('missing-file'), /nothere\.txt: is missing/);
    t.match(reason('bad-date'), /date/);
    t.match(reason('bad-kind'), /unknown kind/);
    t.match(reason('climb'), /climbs out/);
    t.match(reason('gbk'), /not valid in the file's encoding/);
    t.equal(rows.find((r) => r.item === 'ok-1')?.status, 'ingested');
    t.equal((await env.items.get('ok-1')).files[0]?.name, 'a.txt');

    // A changed file and title: one new version for that row, the other row skipped.
    fs.writeFileSync(path.join(dir, 'a.txt'), '第一件（修订）\n');
    fs.writeFileSync(
      path.join(dir, 'manifest.csv'),
      'id,kind,title,date,files\nok-1,archive_document,档案一（修订）,2020-01-02,a.txt\nok-2,collection_object,藏品二,,b.txt\n',
    );
    const second = await env.finished((await env.batches.start(dir, { by: 'test' })).view.id);
    t.same([second.counts.updated, second.counts.skipped, second.counts.failed], [1, 1, 0]);
    const edited = await env.items.get('ok-1');
    t.equal(edited.version, 'v2');
    t.equal(edited.metadata.title, '档案一（修订）');
    t.equal((await env.items.readFileBytes('ok-1', 'a.txt')).toString(), '第一件（修订）\n');
    t.equal((await env.items.get('ok-2')).version, 'v1');
  },
);

t.test('a GBK-encoded CSV is detected and read correctly', async (t) => {
  const env = await batchEnv(t);
  const dir = tempDir(t);
  const utf8 =
    'id,kind,title,museum,period\nobj-1,collection_object,青花缠枝莲纹梅瓶,景德镇中国陶瓷博物馆,明永乐\nobj-2,collection_object,粉彩花鸟纹盘,景德镇御窑博物馆,清雍正\n';
  // GB18030 bytes via the platform's encoder-free route: TextDecoder can decode GBK, so encode by table lookup.
  const gbk = encodeGbk(utf8);
  t.not(gbk.toString('utf8'), utf8, 'the file is not UTF-8');
  fs.writeFileSync(path.join(dir, 'records.csv'), gbk);
  const { view, plan } = await env.batches.start(path.join(dir, 'records.csv'), { by: 'test' });
  t.equal(plan.source.encoding, 'gb18030');
  t.ok(
    plan.warnings.some((w) => w.includes('GB18030')),
    'says it was detected',
  );
  const done = await env.finished(view.id);
  t.equal(done.counts.ingested, 2);
  t.equal((await env.items.get('obj-1')).metadata.title, '青花缠枝莲纹梅瓶');
  t.equal((await env.items.get('obj-2')).metadata.museum, '景德镇御窑博物馆');
});

t.test(
  'fixity: one flipped byte is reported by the next audit with item, file and both digests',
  async (t) => {
    const env = await batchEnv(t);
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'scan.txt'), '御窑厂遗址保护工程档案\n'.repeat(100));
    fs.writeFileSync(path.join(dir, 'note.txt'), '说明\n');
    fs.writeFileSync(
      path.join(dir, 'manifest.csv'),
      'id,kind,title,files\nfx-1,archive_document,档案,scan.txt;note.txt\nfx-2,archive_document,另一件,note.txt\n',
    );
    await env.finished((await env.batches.start(dir, { by: 'test' })).view.id);
    const clean = await auditFixity({ ocfl: env.ocfl, blobs: env.blobs });
    t.equal(clean.findings.length, 0, 'a clean archive has no findings');
    t.ok(clean.files >= 4);

    const item = await env.items.get('fx-1');
    const scan = item.files.find((f) => f.name === 'scan.txt')!;
    const key = await env.items.locateContent('fx-1', scan.digests.sha512);
    const file = env.blobs.localPath!(key!);
    const bytes = fs.readFileSync(file);
    bytes[7] = bytes[7]! ^ 0x01;
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, bytes);
    const report = await auditFixity({ ocfl: env.ocfl, blobs: env.blobs });
    t.equal(report.findings.length, 1, 'one finding, in one report');
    const f = report.findings[0]!;
    t.match(f, { item: 'fx-1', files: ['scan.txt'], status: 'mismatch', expected: scan.digests.sha512 });
    t.match(f.actual, /^[0-9a-f]{128}$/);
    t.not(f.actual, f.expected);
    // The audit's events: one per file, the damaged one a failure.
    const { fixityEvents } = await import('../../services/archive/fixity.ts');
    const events = await fixityEvents(env.blobs, 'fx-1');
    const last = events.filter((e) => e.detail?.includes(report.run));
    for (const name of ['scan.txt', 'note.txt', 'ciku/item.json'])
      t.ok(
        last.some((e) => e.objects?.includes(name)),
        `a fixity-check event for ${name}`,
      );
    t.ok(last.some((e) => e.outcome === 'failure' && e.objects?.includes('scan.txt')));
    t.ok(
      (await validateStorageRoot(env.blobs, 'ocfl/', { checkDigests: false })).valid,
      'the rest of the store is valid',
    );
    void createFsBlobStore;
  },
);

/** A small GBK encoder for the test (Node has no GBK encoder): each character's bytes found by decoding. */
function encodeGbk(text: string): Buffer {
  const dec = new TextDecoder('gbk');
  const table = new Map<string, Buffer>();
  const out: Buffer[] = [];
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) {
      out.push(Buffer.from(ch));
      continue;
    }
    let b = table.get(ch);
    if (!b) {
      search: for (let hi = 0x81; hi <= 0xfe; hi += 1)
        for (let lo = 0x40; lo <= 0xfe; lo += 1) {
          const cand = Buffer.from([hi, lo]);
          if (dec.decode(cand) === ch) {
            b = cand;
            break search;
          }
        }
      if (!b) throw new Error(`no GBK code for ${ch}`);
      table.set(ch, b);
    }
    out.push(b);
  }
  return Buffer.concat(out);
}
