import fs from 'node:fs';
import t from 'tap';
import { newItem } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';
import { tempDir } from '../helpers/env.ts';
import {
  clipToTranscode,
  lowSampleRateWav,
  manyChannelsWav,
  manyCueTranscript,
  pngDecompressionBomb,
  tinyLong4kH264,
} from '../helpers/media-bombs.ts';
import { hostileEnv } from './harness.ts';

/**
 * Media bombs, end to end: uploaded through the API, derived by real workers. Each is accepted (it is the
 * archive's to keep), then refused by the workers after one probe with a `media-limits-exceeded` reason that
 * carries no memory address, never left pending; the queue stays free for the honest file sent after them.
 */
interface FileView {
  name: string;
  derivatives?: Record<string, { status: string; reason?: string }>;
}

t.test('media bombs are kept, refused by the workers with a clear reason, and block no one', async (t) => {
  const h = await hostileEnv(t, 'media bombs');
  const { api } = h;
  await startWorkersFor(t, api);
  await newItem(api, 'BOMBS', 'media', 'public');
  const dir = tempDir(t, 'ciku-bombs-');
  const bombs: [string, Buffer][] = [
    ['one-hertz.wav', lowSampleRateWav()],
    ['sixty-four-channels.wav', manyChannelsWav(64)],
    ['tiny-long-4k.mp4', fs.readFileSync(await tinyLong4kH264(dir))],
    ['decompression-bomb.png', await pngDecompressionBomb()],
  ];
  const started = Date.now();
  for (const [name, bytes] of bombs) {
    const put = await h.probe(
      `upload ${name}`,
      'archivist',
      {
        method: 'PUT',
        url: `/v1/items/BOMBS/files/${name}`,
        payload: bytes,
      },
      { ok: (s) => s === 201 },
    );
    t.equal(put.statusCode, 201, `${name} (${bytes.length} bytes) is kept`);
  }
  // An honest file after the bombs: it must not wait behind minutes of bomb transcoding.
  const honest = fs.readFileSync(await clipToTranscode(dir, { seconds: 2, size: '320x180' }));
  await h.probe(
    'upload an honest clip',
    'archivist',
    { method: 'PUT', url: '/v1/items/BOMBS/files/honest.avi', payload: honest },
    { ok: (s) => s === 201 },
  );
  const files = await until(
    async () => {
      const res = await api.app.inject({ url: '/v1/items/BOMBS', headers: api.auth.archivist });
      const fs = res.json<{ files: FileView[] }>().files;
      const settled = fs.every((f) =>
        Object.values(f.derivatives ?? {}).every((d) => d.status !== 'pending'),
      );
      return settled && fs.length === bombs.length + 1 ? fs : undefined;
    },
    'every derivative settled',
    240_000,
  );
  t.comment(`4 bombs and an honest clip derived in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const f of files) {
    const entries = Object.entries(f.derivatives ?? {});
    t.ok(entries.length > 0, `${f.name} has derivatives recorded`);
    if (f.name === 'honest.avi') {
      t.ok(
        entries.every(([, d]) => d.status === 'ready'),
        `the honest clip is derived: ${JSON.stringify(f.derivatives)}`,
      );
      continue;
    }
    for (const [kind, d] of entries) {
      t.equal(d.status, 'failed', `${f.name} ${kind}: failed`);
      t.match(d.reason, /^media-limits-exceeded: /, `${f.name} ${kind}: ${d.reason}`);
      t.notMatch(d.reason, /0x[0-9a-f]{6,}/i, `${f.name} ${kind}: no memory address`);
    }
    // What the public sees of a refused derivative: the same coded answer and reason.
    const kind = entries[0]![0];
    const res = await h.probe(
      `${f.name} ${kind} as the public`,
      'anonymous',
      { url: `/v1/items/BOMBS/files/${f.name}/derivatives/${kind}` },
      { ok: (s) => s === 409 },
    );
    t.match(res.json<{ details: { reason: string } }>().details.reason, /^media-limits-exceeded/);
  }
  // A transcript of 140,000 cues is not a bomb: it is read to the end.
  await h.probe(
    'upload a 140,000-cue transcript',
    'archivist',
    { method: 'PUT', url: '/v1/items/BOMBS/files/long.vtt', payload: manyCueTranscript() },
    { ok: (s) => s === 201 },
  );
  const segments = await until(
    async () => {
      const res = await api.app.inject({ url: '/v1/items/BOMBS', headers: api.auth.archivist });
      const f = res.json<{ files: FileView[] }>().files.find((x) => x.name === 'long.vtt');
      const d = f?.derivatives?.segments;
      return d && d.status !== 'pending' ? d : undefined;
    },
    'the transcript derived',
    120_000,
  );
  t.equal(segments.status, 'ready', `140,000 cues: ${JSON.stringify(segments)}`);
  await h.report(t);
});
