import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { readAll, type BlobStore } from '../../services/archive/blob-store.ts';
import { isCikuError } from '../../services/errors.ts';
import { adapters, openAdapter, realS3, realS3Skipped } from '../helpers/env.ts';

const sha = (alg: string, b: Buffer): string => createHash(alg).update(b).digest('hex');

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A stream that yields some bytes and then fails, like a client connection dropped mid-upload. */
function failingStream(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else this.destroy(new Error('connection reset by peer'));
    },
  });
}

if (!realS3)
  t.test('BlobStore contract on rgw (Ceph RADOS Gateway)', { skip: realS3Skipped }, () => undefined);

for (const name of adapters) {
  t.test(`BlobStore contract on ${name}`, async (t) => {
    const store: BlobStore = await openAdapter(t, name);

    t.test('streams a put and returns size and digests computed in the same pass', async (t) => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const res = await store.put(
        'a/b/blob.bin',
        Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        {
          algorithms: ['sha512', 'sha256', 'md5'],
        },
      );
      t.equal(res.size, data.length);
      t.equal(res.digests.sha512, sha('sha512', data));
      t.equal(res.digests.sha256, sha('sha256', data));
      t.equal(res.digests.md5, sha('md5', data));
      t.ok((await readAll(await store.get('a/b/blob.bin'))).equals(data), 'reads back byte for byte');
      const st = await store.stat('a/b/blob.bin');
      t.equal(st?.size, data.length);
    });

    t.test('uploads a blob larger than one part as a multipart object', async (t) => {
      const data = randomBytes(12 * 1024 * 1024 + 5);
      const res = await store.put('big/twelve.bin', Readable.from(chunks(data, 64 * 1024)));
      t.equal(res.digests.sha512, sha('sha512', data));
      t.ok((await readAll(await store.get('big/twelve.bin'))).equals(data));
    });

    t.test('serves byte ranges and refuses ones outside the blob', async (t) => {
      const data = Buffer.from('0123456789abcdef');
      await store.put('range.txt', data);
      t.equal((await readAll(await store.get('range.txt', { start: 3, end: 6 }))).toString(), '3456');
      t.equal((await readAll(await store.get('range.txt', { start: 10 }))).toString(), 'abcdef');
      await t.rejects(store.get('range.txt', { start: 16 }), { code: 'CIKU_ERR_BLOB_RANGE' });
      await t.rejects(store.get('range.txt', { start: 4, end: 99 }), { code: 'CIKU_ERR_BLOB_RANGE' });
    });

    t.test('reads a whole small blob as bytes, with the same codes as get', async (t) => {
      const small = Buffer.from('{"瓷":"青花"}\n');
      const put = await store.put('meta/record.json', small);
      t.same(await store.read('meta/record.json'), small, 'small buffer put and read back');
      t.equal(
        put.digests.sha512,
        createHash('sha512').update(small).digest('hex'),
        'digest of the small put',
      );
      const big = randomBytes(1024 * 1024 + 17);
      await store.put('meta/big.bin', big);
      t.same(await store.read('meta/big.bin'), big, 'a blob past the small-read size');
      await t.rejects(store.read('meta/big.bin', 1024), { code: 'CIKU_ERR_BLOB_RANGE' });
      await t.rejects(store.read('meta/none.json'), { code: 'CIKU_ERR_BLOB_NOT_FOUND' });
      await t.rejects(store.put('meta/record.json', 'other', { ifAbsent: true }), {
        code: 'CIKU_ERR_BLOB_EXISTS',
      });
      t.same(await store.read('meta/record.json'), small, 'ifAbsent kept the first');
    });

    t.test('reports a missing blob with a coded error and stat undefined', async (t) => {
      await t.rejects(store.get('nope/missing.bin'), { code: 'CIKU_ERR_BLOB_NOT_FOUND' });
      t.equal(await store.stat('nope/missing.bin'), undefined);
    });

    t.test('a failed upload leaves no partial blob and keeps the previous one', async (t) => {
      await store.put('keep.bin', 'the old bytes');
      await t.rejects(store.put('keep.bin', failingStream(6 * 1024 * 1024)));
      t.equal((await readAll(await store.get('keep.bin'))).toString(), 'the old bytes');
      await t.rejects(store.put('never.bin', failingStream(1024)));
      t.equal(await store.stat('never.bin'), undefined, 'nothing appears under the final key');
    });

    t.test('ifAbsent refuses to replace an existing blob', async (t) => {
      await store.put('once.txt', 'first', { ifAbsent: true });
      await t.rejects(store.put('once.txt', 'second', { ifAbsent: true }), { code: 'CIKU_ERR_BLOB_EXISTS' });
      t.equal((await readAll(await store.get('once.txt'))).toString(), 'first');
    });

    t.test('lists by prefix, streamed past one page of 1,000 keys', async (t) => {
      const n = 1105;
      for (let i = 0; i < n; i += 10) {
        await Promise.all(
          Array.from({ length: Math.min(10, n - i) }, (_, j) =>
            store.put(`many/k${String(i + j).padStart(5, '0')}`, `${i + j}`),
          ),
        );
      }
      await store.put('manyother/x', 'x');
      const listed = await collect(store.list('many/'));
      t.equal(listed.length, n, 'every key under the prefix, none beside it');
      t.equal(new Set(listed.map((b) => b.key)).size, n);
      const partial = await collect(store.list('many/k0100'));
      t.equal(partial.length, 10, 'a prefix may end inside a name');
    });

    t.test('lists the children of a prefix like S3 common prefixes', async (t) => {
      await store.put('tree/x/1', '1');
      await store.put('tree/x/2', '2');
      await store.put('tree/y/z/3', '3');
      await store.put('tree/top', 't');
      const kids = (await collect(store.listChildren('tree/'))).sort((a, b) => a.name.localeCompare(b.name));
      t.same(kids, [
        { name: 'top', isPrefix: false },
        { name: 'x', isPrefix: true },
        { name: 'y', isPrefix: true },
      ]);
    });

    t.test('deletes idempotently, and by prefix', async (t) => {
      await store.put('del/a', 'a');
      await store.put('del/b/c', 'c');
      await store.delete('del/a');
      await store.delete('del/a');
      t.equal(await store.stat('del/a'), undefined);
      t.equal(await store.deletePrefix('del/'), 1);
      t.same(await collect(store.list('del/')), []);
    });

    t.test('refuses keys that could escape the store', async (t) => {
      for (const key of [
        '../x',
        'a/../../x',
        '/abs',
        'a//b',
        'a/./b',
        'nul\u0000x',
        'back\\slash',
        '',
        'e\u0301',
        'x'.repeat(300),
      ]) {
        const err = await store.put(key, 'x').then(
          () => undefined,
          (e: unknown) => e,
        );
        t.ok(isCikuError(err, 'CIKU_ERR_PATH_INVALID'), `refuses ${JSON.stringify(key.slice(0, 20))}`);
      }
    });

    t.test('moves a blob larger than one copy part, whole and atomically', async (t) => {
      // On rgw the store copies by UploadPartCopy from 5 MiB up (startRealS3): three server-side part copies.
      const data = randomBytes(12 * 1024 * 1024 + 123);
      await store.put('move/青花 from (1).bin', Readable.from(chunks(data, 1024 * 1024)));
      await store.move('move/青花 from (1).bin', 'move/到 to.bin');
      t.equal(await store.stat('move/青花 from (1).bin'), undefined, 'the source is gone');
      const moved = await readAll(await store.get('move/到 to.bin'), 64 * 1024 * 1024);
      t.equal(sha('sha512', moved), sha('sha512', data), 'the target has every byte, in order');
    });

    t.test('stores Chinese and mixed-script keys', async (t) => {
      await store.put('名称/景德镇 青花 Blue & White (1).txt', '瓷');
      t.equal((await readAll(await store.get('名称/景德镇 青花 Blue & White (1).txt'))).toString(), '瓷');
    });
  });
}

function* chunks(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
