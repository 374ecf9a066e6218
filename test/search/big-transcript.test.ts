import t from 'tap';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createItems } from '../../services/archive/items.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { analyzer } from '../../services/search/analyzer.ts';
import { buildDocuments } from '../../services/search/documents.ts';
import { createIndexer, parseSegmentsJson } from '../../services/search/indexer.ts';
import { noTick, slicer } from '../../services/search/slices.ts';
import { createSqliteIndex } from '../../services/search/sqlite-index.ts';
import { tempDir } from '../helpers/env.ts';
import { item, req } from './contract.ts';

/**
 * Issue 13, finding 6 (the index side): an interview with ~140,000 transcript segments is put into the embedded
 * index without stopping the event loop (in `ciku start` the workers share the API's process), and readers see the
 * old item or the new one, never a part. Before: one synchronous put of 5–7 s.
 */

const SEGMENTS = 140_000;
const PHRASES = [
  '十四岁就跟师傅满窑',
  '看火候全凭眼睛',
  '青花的发色就看这一下',
  '那时候用的是松柴',
  '利坯要稳',
];

function interview(version: string, n: number, marker: string) {
  const segments = Array.from({ length: n }, (_, i) => ({
    start: i * 2,
    end: i * 2 + 2,
    speaker: i % 2 === 0 ? '采访者' : '涂金水',
    text: `${PHRASES[i % PHRASES.length]!}${marker}，第${i}句`,
  }));
  return buildDocuments(
    item('big', 'oral_history', { title: '老窑工口述：烧窑的一生' }, undefined, { version }),
    [{ file: 'interview.vtt', segments }],
  );
}

/** The longest stretch the event loop went without a turn while `work` ran (a 2 ms timer's lateness). */
async function longestStall(
  work: () => Promise<void>,
): Promise<{ maxMs: number; p99Ms: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 2 });
  let last = performance.now();
  let maxMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxMs = Math.max(maxMs, now - last);
    last = now;
  }, 2);
  h.enable();
  const started = performance.now();
  await work();
  // A stall that lasted until the end (synchronous work) has not been seen by the timer yet.
  maxMs = Math.max(maxMs, performance.now() - last);
  const ms = performance.now() - started;
  h.disable();
  clearInterval(timer);
  return { maxMs, p99Ms: h.percentile(99) / 1e6, ms };
}

t.test(
  `putting an interview of ${SEGMENTS} segments leaves the event loop free and is atomic for readers`,
  async (t) => {
    const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
    t.teardown(() => index.close());
    const v1 = interview('v1', 1_000, '甲');
    await index.put(v1.doc, v1.segments);

    const v2 = interview('v2', SEGMENTS, '乙');
    const put = await longestStall(() => index.put(v2.doc, v2.segments));
    t.comment(
      `put of ${SEGMENTS} segments: ${(put.ms / 1000).toFixed(1)} s, longest event-loop stall ${put.maxMs.toFixed(0)} ms, p99 delay ${put.p99Ms.toFixed(1)} ms`,
    );
    t.ok(
      put.maxMs < 500,
      `the event loop never waited 500 ms (longest: ${put.maxMs.toFixed(0)} ms; before: one stall of the whole put, 4–7 s)`,
    );
    t.equal(await index.indexedVersion('big'), 'v2');
    t.equal((await index.stats()).segments, SEGMENTS, 'every segment indexed');
    const said = await index.searchSegments({ q: '第139999句', page: 1, limit: 5, scope: { all: true } });
    t.same(
      said.items[0]?.segments.map((s) => s.start),
      [279_998],
      'the last cue is found at its moment',
    );
    t.same(
      (await index.search(req('利坯要稳乙'))).hits.map((h) => h.id),
      ['big'],
      'the item is found by what is said in it',
    );

    // Replacing it again while a reader polls: the reader sees all of v2's segments or all of v3's, never a mix.
    const v3 = interview('v3', SEGMENTS / 2, '丙');
    const seen = new Set<number>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        seen.add((await index.stats()).segments);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await index.put(v3.doc, v3.segments);
    reading = false;
    await reader;
    seen.add((await index.stats()).segments);
    t.ok(
      seen.size > 0 && [...seen].every((n) => n === SEGMENTS || n === SEGMENTS / 2),
      `readers saw only whole versions (${[...seen].join(', ')})`,
    );
    t.same((await index.search(req('利坯要稳乙'))).hits, [], 'v2’s words are gone with it');
  },
);

t.test('a segments file parsed in slices gives what one JSON.parse gives', async (t) => {
  const tricky = [
    { start: 0, end: 1, speaker: '采访者', text: '逗号, 引号 " 反斜杠 \\ 括号 {}[] 结束' },
    { start: 1, end: 2, text: '"}]}' },
    ...Array.from({ length: 4500 }, (_, i) => ({ start: i, end: i + 1, text: `第${i}句，{"a":[1,2]}` })),
  ];
  const ours = Buffer.from(`{"version":1,"segments":[${tricky.map((s) => JSON.stringify(s)).join(',')}]}`);
  t.same(await parseSegmentsJson(ours, slicer(0)), tricky, 'the transcript job’s format, in slices');
  t.same(await parseSegmentsJson(Buffer.from('{"version":1,"segments":[]}'), noTick), [], 'an empty list');
  t.same(
    await parseSegmentsJson(
      Buffer.from(JSON.stringify({ segments: tricky.slice(0, 3), version: 1 })),
      noTick,
    ),
    tricky.slice(0, 3),
    'another key order: parsed whole',
  );
  for (const bad of [
    '{"version":1,"segments":[{"start":1}',
    '{"version":1,"segments":[{"a":1}] x',
    '{"version":1,"segments":[{]}',
  ]) {
    await t.rejects(parseSegmentsJson(Buffer.from(bad), noTick), SyntaxError, `malformed: ${bad}`);
  }
});

t.test(`the index job for an interview of ${SEGMENTS} segments leaves the event loop free`, async (t) => {
  const blobs = await createFsBlobStore(tempDir(t, 'ciku-store-'));
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  const items = createItems({ ocfl });
  const derivatives = createDerivativeStore({ blobs });
  const index = createSqliteIndex({ dir: tempDir(t, 'ciku-search-') });
  t.teardown(() => index.close());
  const created = await items.create(
    {
      id: 'big',
      kind: 'oral_history',
      metadata: { title: '老窑工口述' },
      access: { level: 'public' },
      files: [
        { name: 'interview.vtt', body: Buffer.from('WEBVTT\n'), role: 'transcript', mediaType: 'text/vtt' },
      ],
    },
    { name: 'test', address: 'urn:test' },
  );
  const sha512 = created.files[0]!.digests.sha512;
  const segments = interview('v1', SEGMENTS, '乙').segments.map((s) => ({
    start: s.start,
    end: s.end,
    ...(s.speaker === undefined ? {} : { speaker: s.speaker }),
    text: s.text,
  }));
  const json = `{"version":1,"segments":[${segments.map((s) => JSON.stringify(s)).join(',')}]}`;
  const put = await derivatives.putFile(sha512, 'segments.json', json, 'application/json');
  await derivatives.writeRecord({
    sha512,
    media_type: 'text/vtt',
    warnings: [],
    derivatives: { segments: { status: 'ready', path: 'segments.json', size: put.size } },
  });
  const indexer = createIndexer({ items, derivatives, index });
  // The dictionaries load once per process, on the first analysis (~0.2 s, synchronous): not this job's cost.
  analyzer();
  const job = await longestStall(async () => {
    await indexer.upsertItem('big');
  });
  t.comment(
    `index job (read ${(json.length / 1e6).toFixed(1)} M chars of segments, parse, build, analyse, write): ${(job.ms / 1000).toFixed(1)} s, longest event-loop stall ${job.maxMs.toFixed(0)} ms, p99 delay ${job.p99Ms.toFixed(1)} ms`,
  );
  t.ok(job.maxMs < 500, `the event loop never waited 500 ms (longest: ${job.maxMs.toFixed(0)} ms)`);
  t.equal((await index.stats()).segments, SEGMENTS, 'every segment indexed');
  t.equal(await index.cataloguedVersion('big'), 'v1', 'and the catalogue row');
});
