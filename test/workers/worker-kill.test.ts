import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import tap, { type Test } from 'tap';
import { probeAv } from '../../services/adapters/av.ts';
import { createJobQueue } from '../../services/adapters/queue.ts';
import { readAll } from '../../services/archive/blob-store.ts';
import { createDerivativeStore } from '../../services/archive/derivatives.ts';
import { createItems } from '../../services/archive/items.ts';
import { createMemoryLocks } from '../../services/archive/locks.ts';
import { createOcflStore } from '../../services/archive/ocfl/store.ts';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { serverNodeFlags } from '../../services/node-flags.ts';
import { projectRoot, REDIS_URL, tempDir, testRedis } from '../helpers/env.ts';
import { agent } from '../helpers/workers.ts';
import { makeTestClip } from '../../scripts/bench/test-clip.ts';

/** `ciku work` in its own process group, so a SIGKILL takes its ffmpeg children down with it (a node dies whole). */
function startWorkerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [...serverNodeFlags, path.join(projectRoot, 'bin/ciku.js'), 'work'], {
    env: { ...process.env, REDIS_URL, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async kill(signal: NodeJS.Signals) {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
      await exited;
    },
  };
}

type T = Test;

/** An item with a 40 s MPEG-4/PCM video (not web-playable: it must be transcoded), its job queued, a worker on it. */
async function transcodeSetup(t: T, extraEnv: Record<string, string> = {}) {
  const dataDir = tempDir(t, 'ciku-kill-');
  const src = path.join(dataDir, 'interview.avi');
  // MPEG-4 Part 2 + PCM: not web-playable, so the worker must transcode (long enough to be caught mid-way).
  await makeTestClip(src, { seconds: 40 });
  const blobs = await createFsBlobStore(path.join(dataDir, 'store'));
  const ocfl = createOcflStore({ blobs, locks: createMemoryLocks() });
  await ocfl.init();
  const items = createItems({ ocfl });
  const item = await items.create(
    {
      id: 'OH-KILL-AV',
      kind: 'oral_history',
      metadata: { title: '口述' },
      access: { level: 'public' },
      files: [{ name: 'interview.avi', body: await fs.readFile(src), mediaType: 'video/x-msvideo' }],
    },
    agent,
  );
  const sha512 = item.files[0]!.digests.sha512;
  const { redis, prefix } = testRedis(t);
  const queuePrefix = `${prefix}bull`;
  const queue = createJobQueue(redis, { prefix: queuePrefix });
  t.teardown(() => queue.close());
  const env = {
    CIKU_DATA_DIR: dataDir,
    CIKU_QUEUE_PREFIX: queuePrefix,
    CIKU_WORKER_LOCK_MS: '2000',
    ...extraEnv,
  };
  const jobId = await queue.enqueue('derive-av', {
    itemId: item.id,
    version: item.version,
    file: 'interview.avi',
    sha512,
    mediaType: 'video/x-msvideo',
  });
  const first = startWorkerProcess(env);
  t.teardown(() => first.kill('SIGKILL'));
  let caught: unknown;
  for (let i = 0; i < 1200 && caught === undefined; i += 1) {
    const st = await queue.state('derive-av', jobId);
    const p = st.progress as { stage?: string; percent?: number } | undefined;
    if (st.state === 'completed') break;
    if (p?.stage === 'proxy' && (p.percent ?? 0) >= 10) caught = p;
    else await new Promise((r) => setTimeout(r, 100));
  }
  return { dataDir, queue, jobId, sha512, env, first, caught, derivatives: createDerivativeStore({ blobs }) };
}

async function waitForEnd(queue: ReturnType<typeof createJobQueue>, jobId: string): Promise<string> {
  let state = '';
  for (let i = 0; i < 1800 && state !== 'completed' && state !== 'failed'; i += 1) {
    state = (await queue.state('derive-av', jobId)).state;
    if (state !== 'completed') await new Promise((r) => setTimeout(r, 100));
  }
  return state;
}

async function checkProxy(t: T, s: Awaited<ReturnType<typeof transcodeSetup>>) {
  const keys = (await s.derivatives.keys(s.sha512)).map((k) => k.split('/').pop());
  t.same(
    keys.sort(),
    ['poster.jpg', 'proxy.mp4', 'record.json', 'waveform.json'],
    'exactly one proxy, poster, waveform and record',
  );
  const out = path.join(s.dataDir, 'proxy.mp4');
  await fs.writeFile(out, await readAll(await s.derivatives.open(s.sha512, 'proxy.mp4'), 512 * 1024 * 1024));
  const back = await probeAv(out);
  t.ok(Math.abs(back.duration! - 40) <= 0.1, `the proxy lasts ${back.duration} s`);
  t.match(back.streams, [
    { type: 'video', codec: 'h264', width: 1280, height: 720 },
    { type: 'audio', codec: 'aac' },
  ]);
  const left = await fs.readdir(path.join(s.dataDir, 'tmp', 'work')).catch(() => []);
  t.same(left, [], 'no scratch files left behind');
}

tap.test(
  'a worker SIGKILLed during a video transcode: after restart the job completes, one valid proxy',
  async (t) => {
    const s = await transcodeSetup(t);
    t.ok(s.caught, `the transcode was under way (${JSON.stringify(s.caught)}) when the worker was killed`);
    await s.first.kill('SIGKILL');
    t.same(await s.derivatives.keys(s.sha512), [], 'nothing of the killed attempt is visible');
    t.equal(
      (await s.queue.state('derive-av', s.jobId)).state,
      'active',
      'the job is still held by the dead worker',
    );
    const second = startWorkerProcess(s.env);
    t.teardown(() => second.kill('SIGKILL'));
    t.equal(
      await waitForEnd(s.queue, s.jobId),
      'completed',
      'the restarted worker took the job over and finished it',
    );
    await second.kill('SIGTERM');
    await checkProxy(t, s);
  },
);

tap.test(
  'SIGTERM during a transcode: the job is released, not failed, and the next worker finishes it',
  async (t) => {
    const s = await transcodeSetup(t, { CIKU_WORKER_GRACE_MS: '500' });
    t.ok(s.caught, 'the transcode was under way');
    const stopped = Date.now();
    await s.first.kill('SIGTERM');
    t.ok(
      Date.now() - stopped < 15_000,
      `the worker stopped soon after its grace period (${Date.now() - stopped} ms)`,
    );
    t.equal(s.first.child.exitCode, 0, 'the worker exits cleanly (0)');
    const st = await s.queue.state('derive-av', s.jobId);
    t.ok(
      ['delayed', 'waiting', 'prioritized'].includes(st.state),
      `released back to the queue (${st.state})`,
    );
    t.same(await s.derivatives.keys(s.sha512), [], 'nothing of the stopped attempt is visible');
    const second = startWorkerProcess(s.env);
    t.teardown(() => second.kill('SIGKILL'));
    t.equal(await waitForEnd(s.queue, s.jobId), 'completed');
    await second.kill('SIGTERM');
    await checkProxy(t, s);
  },
);
