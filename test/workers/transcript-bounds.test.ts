import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { parseTranscript } from '../../services/adapters/captions.ts';
import { readAll } from '../../services/archive/blob-store.ts';
import { loadConfig } from '../../services/config.ts';
import { recordingFaults, verdictOf } from '../../workers/job-deps.ts';
import { planRederive } from '../../workers/rederive.ts';
import { isPermanent, type JobContext } from '../../workers/registry.ts';
import { tempDir } from '../helpers/env.ts';
import { manyCueTranscript } from '../helpers/media-bombs.ts';
import { workerHarness, type Harness } from '../helpers/workers.ts';

/**
 * Issue 13, finding 6: large transcripts finish. A 140,000-cue WebVTT overflowed the stack (a spread into
 * Math.max), was retried 5 times and stayed `pending` for ever, after blocking the event loop for its parse.
 */
const defaults = loadConfig({}).worker.transcript;

async function missingPlan(h: Harness) {
  const out = [];
  for await (const e of planRederive(h, { missing: true })) out.push(e.payload.kinds);
  return out;
}

t.test('a 140,000-cue WebVTT ends ready with every segment, within the default bounds', async (t) => {
  const h = await workerHarness(t);
  const file = path.join(tempDir(t), 'long.vtt');
  const vtt = manyCueTranscript(140_000);
  t.ok(vtt.length > 7_000_000, `${(vtt.length / 1e6).toFixed(1)} MB`);
  await fs.writeFile(file, vtt);
  const { job, payload } = await h.addFile('TR-140K', file);
  t.equal(job, 'derive-transcript');
  t.same(await h.run('derive-transcript', payload), { status: 'done' });
  const rec = (await h.derivatives.readRecord(payload.sha512))!;
  t.match(rec.derivatives.segments, { status: 'ready', path: 'segments.json' });
  t.match(rec.technical, {
    type: 'transcript',
    format: 'webvtt',
    segments: 140_000,
    duration: 139_999.8,
    speakers: ['涂金水', '访谈人'],
  });
  t.same(rec.warnings, [], 'a clean file reports no problem (none invented at batch seams)');
  const body = await readAll(await h.derivatives.open(payload.sha512, 'segments.json'), 64 * 1024 * 1024);
  t.equal(body.length, rec.derivatives.segments?.size, 'the recorded size is the stored size');
  const { segments } = JSON.parse(body.toString('utf8')) as {
    segments: { start: number; end: number; speaker?: string; text: string }[];
  };
  t.equal(segments.length, 140_000);
  t.same(segments[0], { start: 0, end: 0.8, speaker: '涂金水', text: '拉坯要稳，第0句' });
  t.same(segments[139_999], {
    start: 139_999,
    end: 139_999.8,
    speaker: '访谈人',
    text: '后来呢？第139999句',
  });
  t.ok(
    segments.every((s, i) => s.start === i),
    'in order, none lost or doubled',
  );
  t.same(await missingPlan(h), [], 'nothing left for rederive --missing');
});

t.test(
  'parsing hands the event loop back between batches, even when the bytes arrive in one chunk',
  async (t) => {
    const text = manyCueTranscript(20_000);
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const parsed = await parseTranscript(Readable.from([text]), 'text/vtt', defaults).finally(() => {
      running = false;
    });
    t.equal(parsed.segments.length, 20_000);
    // ~1.3 MB in 16 KiB batches: ~80 batches, each followed by a turn of the loop (a single synchronous parse: 0).
    t.ok(turns >= 40, `${turns} turns of the event loop ran during the parse`);
  },
);

t.test('problems keep the line numbers of a whole-file parse across batch seams', async (t) => {
  const block = [
    '00:00:01.000 --> 00:00:03.000',
    '<v 涂金水>拉坯要稳',
    '',
    'bad line',
    '00:00:04 --> 00:00:05.000',
    'no decimals',
    '',
    '00:00:09.000 --> 00:00:08.000',
    'backwards',
    '',
    '',
    'NOTE a comment',
    'with --> inside',
    '',
    '00:00:02.000 --> 00:00:02.500',
    'earlier than the previous cue',
    '',
    'id-only',
    '',
    '00:00:22.000 --> 00:00:23.000',
    'text',
    '00:00:21.500 --> 00:00:24.000',
    'blank line missing before this cue',
    '',
    'STYLE',
    'a style after cues',
    '',
  ];
  const lines = ['WEBVTT', ''];
  for (let r = 0; r < 30; r += 1)
    lines.push(...block.map((l) => l.replace(/00:00:/g, `00:${String(r).padStart(2, '0')}:`)));
  const text = lines.join('\r\n');
  const parse = (batchChars: number) =>
    parseTranscript(Readable.from([Buffer.from(text)]), 'text/vtt', defaults, { batchChars });
  // One batch is exactly the W3C parser on the whole text.
  const whole = await parse(Number.MAX_SAFE_INTEGER);
  t.equal(whole.problemCount, 30 * 8);
  t.same(
    whole.problems.slice(0, 8),
    [
      'line 7: No decimal separator (".") found.',
      'line 10: End timestamp is not greater than start timestamp.',
      'line 15: Cannot have timestamp in a comment.',
      'line 17: Start timestamp is not greater than or equal to start timestamp of previous cue.',
      'line 21: Cue identifier cannot be standalone.',
      'line 24: Blank line missing before cue.',
      'line 24: Start timestamp is not greater than or equal to start timestamp of previous cue.',
      'line 29: Style blocks cannot appear after the first cue.',
    ],
    'the sample says what it holds',
  );
  for (const batchChars of [1, 37, 200, 1000]) {
    const split = await parse(batchChars);
    t.same(
      split.problems,
      whole.problems,
      `batches of ${batchChars} characters: the same problems, same lines`,
    );
    t.same(split.segments, whole.segments, `batches of ${batchChars} characters: the same segments`);
  }
});

t.test('SRT is read in batches too, its lines numbered as in the file', async (t) => {
  const srt = `${manyCueTranscript(2000, 'srt').toString()}2001\n00:00:01,000 --> 00:00:00,500\nbackwards\n`;
  const parsed = await parseTranscript(Readable.from([srt]), 'application/x-subrip', defaults);
  t.equal(parsed.format, 'srt');
  t.equal(parsed.segments.length, 2000);
  t.same(parsed.segments[1], { start: 1, end: 1.8, speaker: '访谈人', text: '后来呢？第1句' });
  t.same(parsed.problems, [
    'line 8002: Start timestamp is not greater than or equal to start timestamp of previous cue.',
    'line 8002: End timestamp is not greater than start timestamp.',
  ]);
});

t.test('a transcript past its bounds is failed with media-limits-exceeded, never left pending', async (t) => {
  const h = await workerHarness(t);
  const dir = tempDir(t);
  const cases = [
    {
      id: 'TR-CUES',
      cues: 1001,
      limits: { ...defaults, maxCues: 1000 },
      why: /more than 1000 cues \(CIKU_TRANSCRIPT_MAX_CUES\)/,
    },
    {
      id: 'TR-BYTES',
      cues: 100,
      limits: { ...defaults, maxBytes: 2048 },
      why: /larger than 2048 bytes \(CIKU_TRANSCRIPT_MAX_BYTES\)/,
    },
  ];
  for (const c of cases) {
    const file = path.join(dir, `${c.id}.vtt`);
    await fs.writeFile(file, manyCueTranscript(c.cues));
    h.deps.limits.transcript = c.limits;
    const { payload } = await h.addFile(c.id, file);
    const err: unknown = await h.run('derive-transcript', payload).catch((e: unknown) => e);
    t.ok(isPermanent(err), `${c.id}: fails for good, not retried`);
    t.match(err, { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
    const rec = (await h.derivatives.readRecord(payload.sha512))!;
    t.equal(rec.derivatives.segments?.status, 'failed', `${c.id}: failed, not pending`);
    t.match(rec.derivatives.segments?.reason, /^media-limits-exceeded: /);
    t.match(rec.derivatives.segments?.reason, c.why);
    t.notOk(await h.derivatives.stat(payload.sha512, 'segments.json'), `${c.id}: no segments published`);
  }
  t.same(await missingPlan(h), [], 'rederive --missing does not queue refused transcripts again');
  const huge = path.join(dir, 'one-block.vtt');
  await fs.writeFile(huge, `WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n${'很长的一句'.repeat(300_000)}\n`);
  h.deps.limits.transcript = defaults;
  const { payload } = await h.addFile('TR-BLOCK', huge);
  await t.rejects(h.run('derive-transcript', payload), { code: 'CIKU_ERR_MEDIA_TOO_LARGE' });
  t.match((await h.derivatives.readRecord(payload.sha512))?.derivatives.segments, {
    status: 'failed',
    reason: /^media-limits-exceeded: a line of more than 1048576 characters/,
  });
});

t.test(
  'a fault the same bytes always produce (a RangeError) is recorded as failed, not retried',
  async (t) => {
    const h = await workerHarness(t);
    const file = path.join(tempDir(t), 'a.vtt');
    await fs.writeFile(file, 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n青花\n');
    const { payload } = await h.addFile('TR-FAULT', file);
    const ctx: JobContext = {
      jobId: 'fault',
      attempt: 1,
      signal: new AbortController().signal,
      progress: () => undefined,
      scratch: () => Promise.resolve(tempDir(t)),
    };
    const overflowing = recordingFaults<'derive-transcript'>(h.deps, () => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    const err: unknown = await overflowing(payload, ctx).catch((e: unknown) => e);
    t.ok(isPermanent(err), 'permanent: the job is not retried 5 times');
    const rec = (await h.derivatives.readRecord(payload.sha512))!;
    t.match(rec.derivatives.segments, {
      status: 'failed',
      reason: 'the file could not be processed: RangeError: Maximum call stack size exceeded',
    });
    t.same(await missingPlan(h), [], 'and rederive --missing leaves it alone');

    // Storage and network faults stay transient: retried, nothing recorded.
    const file2 = path.join(tempDir(t), 'b.vtt');
    await fs.writeFile(file2, 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n釉里红\n');
    const other = await h.addFile('TR-TRANSIENT', file2);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const fetchFailed = new TypeError('fetch failed', { cause: reset });
    for (const fault of [reset, fetchFailed]) {
      const flaky = recordingFaults<'derive-transcript'>(h.deps, () => Promise.reject(fault));
      t.equal(
        await flaky(other.payload, ctx).catch((e: unknown) => e),
        fault,
        `${String(fault)}: rethrown as is`,
      );
      t.equal(verdictOf(fault), undefined);
    }
    t.notOk(await h.derivatives.readRecord(other.payload.sha512), 'no verdict recorded on transient faults');
    t.match(verdictOf(new TypeError("Cannot read properties of undefined (reading 'x')")), {
      code: 'CIKU_ERR_MEDIA_UNREADABLE',
    });
  },
);
