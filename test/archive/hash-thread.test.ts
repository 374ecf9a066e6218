import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import t from 'tap';
import { HashingStream } from '../../services/archive/blob-store.ts';
import {
  digestReadable,
  stopHashThread,
  ThreadHash,
  threadHashesOpen,
} from '../../services/archive/hash-thread.ts';
import { projectRoot } from '../helpers/env.ts';

const MiB = 1024 * 1024;
const sink = () =>
  new Writable({
    write(_c, _e, done) {
      done();
    },
  });
const hex = (alg: string, data: Buffer) => createHash(alg).update(data).digest('hex');

t.test('digests equal node:crypto’s at every size around the 1 MiB hand-over, in any chunking', async (t) => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 9 * MiB + 7]) {
    const data = randomBytes(size);
    for (const chunk of [1000, 65536, 3 * MiB]) {
      const chunks: Buffer[] = [];
      for (let o = 0; o < size; o += chunk) chunks.push(data.subarray(o, o + chunk));
      const h = new HashingStream(['sha512', 'sha256']);
      await pipeline(Readable.from(chunks), h, sink());
      t.same(
        h.digests(),
        { sha512: hex('sha512', data), sha256: hex('sha256', data) },
        `${size} bytes in ${chunk}-byte chunks`,
      );
      t.equal(h.size, size);
    }
  }
  t.equal(threadHashesOpen(), 0, 'every stream released');
});

t.test('concurrent streams keep their own digests', async (t) => {
  const datas = Array.from({ length: 6 }, (_, i) => randomBytes(3 * MiB + i * 1000));
  const results = await Promise.all(
    datas.map(async (data) => {
      const h = new HashingStream(['sha512']);
      const chunks: Buffer[] = [];
      for (let o = 0; o < data.length; o += 65536) chunks.push(data.subarray(o, o + 65536));
      await pipeline(Readable.from(chunks), h, sink());
      return h.digests().sha512;
    }),
  );
  t.same(
    results,
    datas.map((d) => hex('sha512', d)),
  );
});

t.test('a fast producer waits once four buffers are out (memory stays bounded)', async (t) => {
  const h = new ThreadHash(['sha512']);
  const data = randomBytes(6 * MiB);
  const answers = [0, 1, 2, 3, 4, 5].map((i) => h.update(data.subarray(i * MiB, (i + 1) * MiB)));
  t.same(
    answers.map((a) => a !== undefined),
    [false, false, false, true, true, true],
    'the fourth buffer out makes the stream wait',
  );
  await Promise.all(answers.filter((a) => a !== undefined));
  t.equal((await h.digests()).sha512, hex('sha512', data));
});

t.test(
  'a destroyed stream is released; a dead thread fails its streams and the next starts a new one',
  async (t) => {
    const failing = new HashingStream(['sha512']);
    failing.write(randomBytes(2 * MiB));
    await new Promise((r) => setImmediate(r));
    failing.destroy();
    t.equal(threadHashesOpen(), 0, 'released on destroy');

    const h = new ThreadHash(['sha512']);
    await h.update(randomBytes(2 * MiB));
    await stopHashThread();
    await t.rejects(h.digests(), /hashing thread exited/, 'its stream fails instead of hanging');
    const data = randomBytes(3 * MiB);
    const next = new HashingStream(['sha512']);
    await pipeline(Readable.from([data]), next, sink());
    t.equal(next.digests().sha512, hex('sha512', data), 'the next stream hashes on a new thread');
  },
);

t.test('the thread keeps a process alive while it hashes, and lets it exit after', async (t) => {
  const script = `
    import { ThreadHash } from ${JSON.stringify(path.join(projectRoot, 'services/archive/hash-thread.ts'))};
    const h = new ThreadHash(['sha512']);
    h.update(Buffer.alloc(2 * 1024 * 1024, 7));
    h.digests().then((d) => process.stdout.write(d.sha512));
  `;
  const out = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(out.status, 0, out.stderr);
  t.equal(out.stdout, hex('sha512', Buffer.alloc(2 * MiB, 7)), 'the digest arrived before the process ended');
});

t.test(
  'digestReadable gives the digests of a stream without passing its bytes on, at any size',
  async (t) => {
    for (const size of [0, 1, 20_000, 1024 * 1024 - 1, 1024 * 1024, 3 * 1024 * 1024 + 17]) {
      const bytes = randomBytes(size);
      const chunks = [bytes.subarray(0, size >> 1), bytes.subarray(size >> 1)];
      const got = await digestReadable(Readable.from(chunks), ['sha512', 'sha256', 'sha512']);
      t.same(
        got,
        {
          sha512: createHash('sha512').update(bytes).digest('hex'),
          sha256: createHash('sha256').update(bytes).digest('hex'),
        },
        `${size} bytes`,
      );
    }
    t.equal(threadHashesOpen(), 0, 'no stream is left open on the hashing thread');
  },
);

t.test('digestReadable fails with its source and leaves nothing open', async (t) => {
  async function* failing() {
    yield randomBytes(2 * 1024 * 1024);
    throw new Error('disk went away');
  }
  await t.rejects(digestReadable(failing(), ['sha512']), { message: 'disk went away' });
  t.equal(threadHashesOpen(), 0);
});
