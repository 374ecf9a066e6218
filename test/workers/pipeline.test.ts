import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { imageSize } from '../../services/adapters/image.ts';
import { defaultRegistry } from '../../workers/build-workers.ts';
import { checkRegistry } from '../../workers/registry.ts';
import { sharedPath, skipUnlessShared } from '../helpers/env.ts';
import { newItem, startTestApi } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';

const images = sharedPath('fixtures/images');
const av = sharedPath('fixtures/av');

t.test('the worker refuses to start with a handler missing or one too many', async (t) => {
  t.throws(() => checkRegistry({}), { code: 'CIKU_ERR_WORKER_REGISTRY' });
  const full = defaultRegistry({} as never);
  const { 'derive-av': _gone, ...missing } = full;
  void _gone;
  t.throws(() => checkRegistry(missing), { code: 'CIKU_ERR_WORKER_REGISTRY' }, 'derive-av missing');
  t.throws(() => checkRegistry({ ...full, 'make-coffee': async () => ({ status: 'done' }) }), {
    code: 'CIKU_ERR_WORKER_REGISTRY',
  });
  t.doesNotThrow(() => checkRegistry(full));
});

t.test(
  'upload → queue → worker → derivatives served through the access decision',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const api = await startTestApi(t);
    await startWorkersFor(t, api);
    await newItem(api, 'CO-PIPE', 'collection_object', 'public');
    await newItem(api, 'CO-PRIV', 'collection_object', 'private');
    const jpeg = await fs.readFile(path.join(images!, 'canon-dslr.jpg'));
    for (const id of ['CO-PIPE', 'CO-PRIV']) {
      const up = await api.app.inject({
        method: 'PUT',
        url: `/v1/items/${id}/files/${encodeURIComponent('青花瓷盘.jpg')}`,
        headers: api.auth.archivist,
        payload: jpeg,
      });
      t.equal(up.statusCode, 201, `${id}: uploaded`);
    }
    const name = encodeURIComponent('青花瓷盘.jpg');
    const early = await api.app.inject({ url: `/v1/items/CO-PIPE` });
    t.ok(
      ['pending', 'ready'].includes(
        early.json<{ files: { derivatives: { thumbnail: { status: string } } }[] }>().files[0]!.derivatives
          .thumbnail.status,
      ),
      'the item view lists its derivatives from the start',
    );
    const view = await until(async () => {
      const res = await api.app.inject({ url: `/v1/items/CO-PIPE` });
      const f = res.json<{
        files: { derivatives: Record<string, { status: string }>; technical?: Record<string, unknown> }[];
      }>().files[0]!;
      return Object.values(f.derivatives).every((d) => d.status === 'ready') && f.derivatives.iiif
        ? f
        : undefined;
    }, 'derivatives');
    t.match(
      view.technical,
      { type: 'image', width: 5184, height: 3456, model: 'Canon EOS 1300D' },
      'technical metadata in the item view',
    );

    const thumb = await api.app.inject({ url: `/v1/items/CO-PIPE/files/${name}/derivatives/thumbnail` });
    t.equal(thumb.statusCode, 200);
    t.equal(thumb.headers['content-type'], 'image/webp');
    t.match(await imageSize(thumb.rawPayload), { format: 'webp', width: 256, height: 171 });
    t.equal(
      thumb.headers['access-control-allow-origin'],
      '*',
      'public derivatives may be fetched cross-origin',
    );
    const again = await api.app.inject({
      url: `/v1/items/CO-PIPE/files/${name}/derivatives/thumbnail`,
      headers: { 'if-none-match': String(thumb.headers.etag) },
    });
    t.equal(again.statusCode, 304, 'ETag revalidation');
    const part = await api.app.inject({
      url: `/v1/items/CO-PIPE/files/${name}/derivatives/preview`,
      headers: { range: 'bytes=0-99' },
    });
    t.equal(part.statusCode, 206, 'Range on derivatives (players seek proxies)');
    t.equal(part.rawPayload.length, 100);

    const info = await api.app.inject({
      url: `/v1/items/CO-PIPE/files/${name}/derivatives/iiif/info.json`,
      headers: { host: 'archive.example' },
    });
    t.equal(info.statusCode, 200);
    const body = info.json<{ id: string; width: number; profile: string }>();
    t.equal(
      body.id,
      `http://ciku.test/v1/items/CO-PIPE/versions/v2/files/${name}/derivatives/iiif`,
      'info.json id is the head version’s service, under CIKU_PUBLIC_URL (the Host header is not believed)',
    );
    t.equal(body.width, 5184);
    const tile = await api.app.inject({
      url: `/v1/items/CO-PIPE/files/${name}/derivatives/iiif/0,0,512,512/512,512/0/default.jpg`,
    });
    t.equal(tile.statusCode, 200);
    t.equal(tile.headers['content-type'], 'image/jpeg');
    const bad = await api.app.inject({
      url: `/v1/items/CO-PIPE/files/${name}/derivatives/iiif/..%2F..%2Frecord.json`,
    });
    t.match(
      { status: bad.statusCode, body: bad.json<{ code: string }>() },
      { status: 400, body: { code: 'CIKU_ERR_REQUEST_INVALID' } },
      'only IIIF image requests are served under iiif/',
    );
    const notKind = await api.app.inject({ url: `/v1/items/CO-PIPE/files/${name}/derivatives/proxy` });
    t.match(notKind.json(), { code: 'CIKU_ERR_DERIVATIVE_NOT_FOUND' }, 'an image has no proxy');

    await until(async () => {
      const res = await api.app.inject({ url: `/v1/items/CO-PRIV`, headers: api.auth.archivist });
      return res.json<{ files: { derivatives: { thumbnail: { status: string } } }[] }>().files[0]!.derivatives
        .thumbnail.status === 'ready'
        ? true
        : undefined;
    }, 'private item derivatives');
    for (const [who, status] of [
      ['anonymous', 404],
      ['researcher', 404],
      ['contributorA', 404],
      ['archivist', 200],
    ] as const) {
      const res = await api.app.inject({
        url: `/v1/items/CO-PRIV/files/${name}/derivatives/thumbnail`,
        headers: api.auth[who],
      });
      t.equal(res.statusCode, status, `${who}: thumbnail of a private item → ${status}`);
      const tileRes = await api.app.inject({
        url: `/v1/items/CO-PRIV/files/${name}/derivatives/iiif/info.json`,
        headers: api.auth[who],
      });
      t.equal(tileRes.statusCode, status, `${who}: IIIF of a private item → ${status}`);
    }
    const priv = await api.app.inject({
      url: `/v1/items/CO-PRIV/files/${name}/derivatives/thumbnail`,
      headers: api.auth.archivist,
    });
    t.notOk(priv.headers['access-control-allow-origin'], 'no cross-origin sharing for a private item');
    t.match(priv.headers['cache-control'], /private/);
  },
);

t.test(
  'a broken file ends as one failed job with its reason, not a retry loop',
  { skip: skipUnlessShared('fixtures/av') },
  async (t) => {
    const api = await startTestApi(t);
    await startWorkersFor(t, api);
    await newItem(api, 'OH-BROKEN', 'oral_history', 'public');
    const mov = await fs.readFile(path.join(av!, 'truncated_iphone_rotated.mov'));
    const up = await api.app.inject({
      method: 'PUT',
      url: '/v1/items/OH-BROKEN/files/cut.mov',
      headers: api.auth.archivist,
      payload: mov,
    });
    t.equal(up.statusCode, 201);
    const sha = up.json<{ files: { digests: { sha512: string } }[] }>().files[0]!.digests.sha512;
    const st = await until(async () => {
      const s = await api.queue.state('derive-av', `derive-av-${sha}`);
      return s.state === 'failed' ? s : undefined;
    }, 'the failed job');
    t.match(st.reason, /moov atom not found/, 'failed with the reason ffprobe gave');
    const res = await api.app.inject({ url: '/v1/items/OH-BROKEN' });
    t.match(res.json<{ files: unknown[] }>().files[0], {
      derivatives: { proxy: { status: 'failed', reason: /moov atom/ } },
    });
    const served = await api.app.inject({ url: '/v1/items/OH-BROKEN/files/cut.mov/derivatives/proxy' });
    t.equal(served.statusCode, 409);
    t.match(served.json(), { code: 'CIKU_ERR_DERIVATIVE_NOT_READY', details: { status: 'failed' } });
  },
);

t.test('a transcript becomes time-coded segments, queued and served', async (t) => {
  const api = await startTestApi(t);
  await startWorkersFor(t, api);
  await newItem(api, 'OH-VTT', 'oral_history', 'public');
  const vtt =
    'WEBVTT\n\n00:00:01.000 --> 00:00:04.500\n<v 涂金水>我十四岁开始学做瓷。\n\n00:00:05.000 --> 00:00:07.000\n<v 访谈人>青花分水 &amp; 画坯\n';
  const up = await api.app.inject({
    method: 'PUT',
    url: '/v1/items/OH-VTT/files/t.vtt?role=transcript',
    headers: api.auth.archivist,
    payload: vtt,
  });
  t.equal(up.statusCode, 201);
  const seg = await until(async () => {
    const res = await api.app.inject({ url: '/v1/items/OH-VTT/files/t.vtt/derivatives/segments' });
    return res.statusCode === 200 ? res : undefined;
  }, 'segments');
  t.same(seg.json<{ segments: unknown[] }>().segments, [
    { start: 1, end: 4.5, speaker: '涂金水', text: '我十四岁开始学做瓷。' },
    { start: 5, end: 7, speaker: '访谈人', text: '青花分水 & 画坯' },
  ]);
});

t.test(
  'an interview: create, PATCH, transcript upload, delete — the index follows through the jobs',
  async (t) => {
    const api = await startTestApi(t);
    await startWorkersFor(t, api);
    const create = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.archivist,
      payload: {
        id: 'OH-PIPE',
        kind: 'oral_history',
        metadata: { title: '老窑工口述', interviewee: '涂金水' },
        access: { level: 'public' },
      },
    });
    t.equal(create.statusCode, 201);
    const search = async (url: string) => (await api.app.inject({ url })).json<Record<string, unknown>>();
    await until(
      async () => ((await search('/v1/search?q=jinshui')).total === 1 ? true : undefined),
      'the new item indexed',
    );
    const vtt =
      'WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v 涂金水>十四岁就跟师傅满窑\n\n00:00:04.000 --> 00:00:09.500\n<v 涂金水>看火候全凭眼睛\n';
    const up = await api.app.inject({
      method: 'PUT',
      url: '/v1/items/OH-PIPE/files/interview.vtt',
      headers: api.auth.archivist,
      payload: vtt,
    });
    t.equal(up.statusCode, 201, up.body);
    const seg = await until(async () => {
      const r = await search(`/v1/search/segments?q=${encodeURIComponent('火候')}`);
      return r.total === 1 ? r : undefined;
    }, 'the transcript segments indexed');
    t.same(
      (seg.items as { id: string; segments: { start: number; end: number; speaker: string }[] }[]).map(
        (i) => [i.id, i.segments.map((s) => [s.start, s.end, s.speaker])],
      ),
      [['OH-PIPE', [[4, 9.5, '涂金水']]]],
      'the moment, with its speaker',
    );
    t.equal(await api.search.indexedVersion('OH-PIPE'), 'v2', 'the index records the version it holds');
    const del = await api.app.inject({
      method: 'DELETE',
      url: '/v1/items/OH-PIPE',
      headers: api.auth.archivist,
    });
    t.ok(del.statusCode < 300, del.body);
    await until(
      async () => ((await search('/v1/search?q=jinshui')).total === 0 ? true : undefined),
      'the tombstoned item removed',
    );
    t.equal((await search(`/v1/search/segments?q=${encodeURIComponent('火候')}`)).total, 0);
  },
);
