import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { listZip } from '../../services/adapters/zip-list.ts';
import { buildZip } from '../helpers/document-fixtures.ts';
import { tempDir } from '../helpers/env.ts';

t.test('listZip lists names, sizes, dates and folders from the central directory', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a.zip');
  await fs.writeFile(
    file,
    buildZip([
      { name: '档案/', data: Buffer.alloc(0) },
      { name: '档案/景德镇.txt', data: Buffer.from('青花瓷') },
      { name: 'readme.md', data: Buffer.from('hello') },
    ]),
  );
  const listing = await listZip(file, 100);
  t.equal(listing.entry_count, 3);
  t.same(listing.entries, [
    { name: '档案/', size: 0, compressed_size: 0, modified: '2024-05-17T12:30:00.000Z', directory: true },
    { name: '档案/景德镇.txt', size: 9, compressed_size: 9, modified: '2024-05-17T12:30:00.000Z' },
    { name: 'readme.md', size: 5, compressed_size: 5, modified: '2024-05-17T12:30:00.000Z' },
  ]);
});

t.test('listZip keeps the first max entries but counts them all', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'many.zip');
  const entries = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from(`${i}`) }));
  await fs.writeFile(file, buildZip(entries));
  const listing = await listZip(file, 10);
  t.equal(listing.entry_count, 50);
  t.equal(listing.entries.length, 10);
  t.equal(listing.entries[9]!.name, 'f9.txt');
});

t.test('listZip refuses an overlapping-entries zip bomb as too large', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'bomb.zip');
  const data = Buffer.from('x'.repeat(100));
  await fs.writeFile(
    file,
    buildZip(
      ['a', 'b', 'c'].map((name) => ({ name, data })),
      { overlap: true },
    ),
  );
  await t.rejects(listZip(file, 10), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
});

t.test('listZip answers a coded error for bytes that are no ZIP and for a truncated one', async (t) => {
  const dir = tempDir(t);
  const garbage = path.join(dir, 'garbage.zip');
  await fs.writeFile(garbage, Buffer.from('this is not a zip file at all, only text'));
  await t.rejects(listZip(garbage, 10), { code: 'CIKU_ERR_MEDIA_UNREADABLE' });
  const whole = buildZip([{ name: 'a.txt', data: Buffer.from('hello world') }]);
  const truncated = path.join(dir, 'truncated.zip');
  await fs.writeFile(truncated, whole.subarray(0, whole.length - 30));
  await t.rejects(listZip(truncated, 10), { code: 'CIKU_ERR_MEDIA_UNREADABLE' });
});
