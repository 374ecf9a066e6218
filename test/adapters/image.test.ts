import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import t from 'tap';
import { makePreviewAndThumbnail, probeImage, runVips } from '../../services/adapters/image.ts';
import { sharedPath, skipUnlessShared } from '../helpers/env.ts';

/** A promise with its settle functions, to drive fake operations step by step. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

t.test('runVips: a failure that overlapped another operation is run again alone', async (t) => {
  const log: string[] = [];
  const a = deferred();
  const bFirst = deferred();
  let bRuns = 0;
  const running = runVips(async () => {
    log.push('a start');
    await a.promise;
    log.push('a end');
    return 'a';
  });
  const failing = runVips(async () => {
    bRuns += 1;
    log.push(`b start ${bRuns}`);
    if (bRuns === 1) {
      await bFirst.promise;
      throw new Error('Warning treated as error due to failOn setting');
    }
    throw new Error('Support for this compression format has not been built in: HEVC');
  });
  await tick();
  bFirst.resolve();
  await tick();
  // b failed while a runs: its second run waits for a, and an operation started now waits for that run.
  const later = runVips(async () => {
    log.push('c start');
    return 'c';
  });
  await tick();
  t.same(log, ['a start', 'b start 1'], 'the re-run and newer operations wait while a runs');
  a.resolve();
  t.equal(await running, 'a');
  await t.rejects(failing, /HEVC/, 'the reason reported is the lone run’s');
  t.equal(await later, 'c');
  t.same(log, ['a start', 'b start 1', 'a end', 'b start 2', 'c start'], 'b ran alone, c after it');
});

t.test('runVips: a failure with nothing beside it is reported as is, not re-run', async (t) => {
  let runs = 0;
  await t.rejects(
    runVips(async () => {
      runs += 1;
      await tick();
      throw new Error('corrupt header');
    }),
    /corrupt header/,
  );
  t.equal(runs, 1);
});

t.test('runVips: an operation that started after the failing one also counts as overlapping', async (t) => {
  const gate = deferred();
  let runs = 0;
  const failing = runVips(async () => {
    runs += 1;
    if (runs === 1) await gate.promise;
    throw new Error(`run ${runs}`);
  });
  await tick();
  await runVips(async () => 'quick');
  gate.resolve();
  await t.rejects(failing, /run 2/);
});

t.test('runVips: successes run side by side', async (t) => {
  const gates = [deferred(), deferred(), deferred()];
  let inside = 0;
  let most = 0;
  const all = gates.map((g, i) =>
    runVips(async () => {
      inside += 1;
      most = Math.max(most, inside);
      await g.promise;
      inside -= 1;
      return i;
    }),
  );
  await tick();
  for (const g of gates) g.resolve();
  t.same(await Promise.all(all), [0, 1, 2]);
  t.equal(most, 3, 'no operation waited for another');
});

t.test(
  'a HEVC HEIC decoded beside other libvips work always says HEVC (libvips keeps one error log per process)',
  { skip: skipUnlessShared('fixtures/images/heic-single.heic') },
  async (t) => {
    const dir = sharedPath('fixtures/images')!;
    const heic = path.join(dir, 'heic-single.heic');
    const other = path.join(dir, 'heic-iphone7.heic');
    const limits = { maxPixels: 100_000_000 };
    const reasons = new Set<string>();
    // Without runVips, 10–19 decodes in 100 reported "Warning treated as error due to failOn setting" here.
    for (let round = 0; round < 60; round += 1) {
      const beside = Array.from({ length: 6 }, () => probeImage(other, limits));
      const made = makePreviewAndThumbnail(
        heic,
        { preview: true, thumbnail: true },
        { ...limits, previewSide: 1600, thumbnailSide: 256 },
      ).then(
        () => 'decoded',
        (err: Error) => err.message,
      );
      reasons.add(await made);
      await Promise.all(beside);
    }
    t.same([...reasons], ['this image codec (HEVC) cannot be decoded by the installed libvips']);
  },
);
