import { promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  imageSize,
  makePreviewAndThumbnail,
  meanColour,
  rasterizeSvg,
} from '../../services/adapters/image.ts';
import { IIIF_LAYOUT, IIIF_MIN_SIDE } from '../../services/archive/derivatives.ts';
import { IIIF_MAX_SIDE } from '../../workers/derive-image.job.ts';
import { newItem, startTestApi, type TestApi } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';
import { orientedJpegFile } from '../helpers/generated-media.ts';
import { sharedPath, tempDir } from '../helpers/env.ts';

/**
 * IIIF Image API 3.0 level 0 as a client sees it: everything info.json advertises is there at the advertised size,
 * `full/max` exists, each version has its own service id and pixels, and what level 0 cannot serve is a 400.
 */

interface Info {
  '@context': string;
  id: string;
  type: string;
  protocol: string;
  profile: string;
  width: number;
  height: number;
  maxWidth?: number;
  maxHeight?: number;
  sizes?: { width: number; height: number }[];
  tiles?: { width: number; height?: number; scaleFactors: number[] }[];
}

/** The IIIF derivative of an item's first file, once it has an answer (ready or failed). */
async function iiifStatus(api: TestApi, id: string): Promise<{ status: string; reason?: string }> {
  return until(async () => {
    const res = await api.app.inject({ url: `/v1/items/${id}`, headers: api.auth.archivist });
    const d = res.json<{ files: { derivatives?: { iiif?: { status: string; reason?: string } } }[] }>()
      .files[0]?.derivatives?.iiif;
    return d && d.status !== 'pending' ? d : undefined;
  }, `IIIF tiles of ${id}`);
}

async function put(
  api: TestApi,
  id: string,
  name: string,
  bytes: Buffer,
): Promise<{ version: string; sha512: string }> {
  const res = await api.app.inject({
    method: 'PUT',
    url: `/v1/items/${id}/files/${encodeURIComponent(name)}`,
    headers: api.auth.archivist,
    payload: bytes,
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  const body = res.json<{ item: { version: string }; files: { digests: { sha512: string } }[] }>();
  return { version: body.item.version, sha512: body.files[0]!.digests.sha512 };
}

/** A flat-coloured PNG of any size, drawn by libvips (quick to tile, and its pixels say which one it is). */
async function flatPng(dir: string, name: string, width: number, height: number, fill: string) {
  const file = path.join(dir, name);
  await rasterizeSvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${fill}"/></svg>`,
    file,
    'png',
  );
  return file;
}

/** The tiles a level-0 client requests, by the spec's arithmetic (edge tiles smaller; `full` when one covers all). */
function gridTiles(info: Info): { path: string; width: number; height: number }[] {
  const out: { path: string; width: number; height: number }[] = [];
  for (const set of info.tiles ?? []) {
    const tw = set.width;
    const th = set.height ?? set.width;
    for (const s of set.scaleFactors) {
      for (let y = 0; y < info.height; y += th * s) {
        for (let x = 0; x < info.width; x += tw * s) {
          const w = Math.min(tw * s, info.width - x);
          const h = Math.min(th * s, info.height - y);
          const whole = w === info.width && h === info.height;
          const width = Math.ceil(w / s);
          const height = Math.ceil(h / s);
          out.push({
            path: `${whole ? 'full' : `${x},${y},${w},${h}`}/${width},${height}/0/default.jpg`,
            width,
            height,
          });
        }
      }
    }
  }
  return out;
}

/** What `full/max` must measure: the whole image, or the largest listed size when maxWidth/maxHeight cap it. */
function maxSize(info: Info): { width: number; height: number } {
  if (info.maxWidth === undefined && info.maxHeight === undefined)
    return { width: info.width, height: info.height };
  return [...(info.sizes ?? [])].sort((a, b) => b.width - a.width)[0]!;
}

async function checkEverythingAdvertised(
  t: Test,
  api: TestApi,
  base: string,
  expected: { width: number; height: number },
): Promise<Info> {
  const res = await api.app.inject({ url: `${base}/info.json` });
  t.equal(res.statusCode, 200, 'info.json answers');
  const info = res.json<Info>();
  t.match(
    info,
    {
      '@context': 'http://iiif.io/api/image/3/context.json',
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level0',
      width: expected.width,
      height: expected.height,
    },
    'info.json is a level-0 ImageService3 of the upright image',
  );
  t.ok((info.tiles ?? []).length > 0 && (info.sizes ?? []).length > 0, 'it advertises tiles and sizes');
  const wrong: string[] = [];
  const tiles = gridTiles(info);
  for (const tile of tiles) {
    const got = await api.app.inject({ url: `${base}/${tile.path}` });
    const size = got.statusCode === 200 ? await imageSize(got.rawPayload) : undefined;
    if (size?.format !== 'jpeg' || size.width !== tile.width || size.height !== tile.height)
      wrong.push(
        `${tile.path} → ${got.statusCode} ${size ? `${size.format} ${size.width}×${size.height}` : ''}`,
      );
  }
  t.same(wrong, [], `each of the ${tiles.length} tiles answers 200, a JPEG of the size its request names`);
  for (const s of info.sizes ?? []) {
    for (const form of [`${s.width},${s.height}`, `${s.width},`]) {
      const got = await api.app.inject({ url: `${base}/full/${form}/0/default.jpg` });
      t.equal(got.statusCode, 200, `size ${form} answers`);
      t.match(
        await imageSize(got.rawPayload),
        { format: 'jpeg', ...s },
        `size ${form} is ${s.width}×${s.height}`,
      );
    }
  }
  const max = await api.app.inject({ url: `${base}/full/max/0/default.jpg` });
  t.equal(max.statusCode, 200, 'full/max answers (required at level 0)');
  t.match(
    await imageSize(max.rawPayload),
    { format: 'jpeg', ...maxSize(info) },
    'full/max has the size info.json implies',
  );
  return info;
}

t.test('IIIF Image API level 0: every tile and size advertised is served at its size', async (t) => {
  const api = await startTestApi(t);
  await startWorkersFor(t, api);
  const dir = tempDir(t, 'ciku-iiif-');
  const images = sharedPath('fixtures/images');
  const cases: { file: string; label: string; skip?: string }[] = [
    // Odd sizes: edge tiles of every width, a pyramid 6 levels deep, and a long side above IIIF_MAX_SIDE.
    {
      file: await flatPng(dir, 'long-scroll.png', 9001, 1203, '#2b4c7e'),
      label: 'generated 9001×1203 scroll',
    },
    // EXIF orientation 6: info.json and tiles are of the upright image (2000 wide, 3200 high).
    {
      file: await orientedJpegFile(dir, 'sideways.jpg', 6, { width: 3200, height: 2000 }),
      label: 'generated sideways JPEG',
    },
  ];
  if (!images) {
    t.comment('../shared/fixtures/images is absent: only generated images are checked (set CIKU_SHARED_DIR)');
  } else {
    for (const name of (await fs.readdir(images)).sort()) {
      const file = path.join(images, name);
      if (!(await fs.stat(file)).isFile()) continue;
      const size = await imageSize(file).catch(() => undefined);
      if (!size || Math.max(size.width, size.height) < IIIF_MIN_SIDE) continue;
      // The same decode the worker does: a codec the installed libvips lacks (HEVC in a HEIC) gets no tiles.
      const decodes = await makePreviewAndThumbnail(
        file,
        { preview: false, thumbnail: true },
        { maxPixels: 200_000_000, previewSide: 8, thumbnailSide: 8 },
      ).then(
        () => undefined,
        (err: Error) => err.message,
      );
      cases.push({
        file,
        label: `fixture ${name}`,
        ...(decodes ? { skip: `not decodable here: ${decodes}` } : {}),
      });
    }
  }
  let n = 0;
  for (const c of cases) {
    n += 1;
    const id = `IIIF-${n}`;
    const name = path.basename(c.file);
    await t.test(c.label, c.skip ? { skip: c.skip } : {}, async (t) => {
      await newItem(api, id, 'collection_object', 'public');
      const { version } = await put(api, id, name, await fs.readFile(c.file));
      t.match(await iiifStatus(api, id), { status: 'ready' }, 'tiles are made');
      const base = `/v1/items/${id}/versions/${version}/files/${encodeURIComponent(name)}/derivatives/iiif`;
      const view = await api.app.inject({ url: `/v1/items/${id}` });
      const technical = view.json<{
        files: { technical: { width: number; height: number; orientation?: number } }[];
      }>().files[0]!.technical;
      const turned = technical.orientation !== undefined && technical.orientation >= 5;
      const upright = turned
        ? { width: technical.height, height: technical.width }
        : { width: technical.width, height: technical.height };
      const info = await checkEverythingAdvertised(t, api, base, upright);
      t.equal(info.id, `http://ciku.test${base}`, 'its id is the versioned service it was fetched from');
      if (Math.max(info.width, info.height) > IIIF_MAX_SIDE) {
        t.ok(
          info.maxWidth !== undefined && info.maxHeight !== undefined,
          'a scan above the cap declares maxWidth/maxHeight',
        );
        t.equal(
          Math.max(maxSize(info).width, maxSize(info).height),
          IIIF_MAX_SIDE,
          'and max is its long side at the cap',
        );
      } else {
        t.notOk('maxWidth' in info, 'below the cap, max is the whole image at full size');
      }
    });
  }
});

t.test(
  'each version has its own image service, id and pixels; ids never follow the Host header',
  async (t) => {
    const api = await startTestApi(t);
    const { derivatives } = await startWorkersFor(t, api);
    const dir = tempDir(t, 'ciku-iiif-');
    await newItem(api, 'VASE', 'collection_object', 'public');
    const red = await put(
      api,
      'VASE',
      'vase.png',
      await fs.readFile(await flatPng(dir, 'red.png', 3000, 2000, '#c00000')),
    );
    await iiifStatus(api, 'VASE');
    const blue = await put(
      api,
      'VASE',
      'vase.png',
      await fs.readFile(await flatPng(dir, 'blue.png', 3200, 2400, '#0000c0')),
    );
    t.not(red.version, blue.version, 'the new pixels are a new version');
    await until(async () => {
      const { missing } = await derivatives.missingKinds(blue.sha512, 'image/png');
      const rec = await derivatives.readRecord(blue.sha512);
      return rec?.derivatives.iiif?.status === 'ready' && missing.length === 0 ? true : undefined;
    }, 'tiles of the second version');

    const service = (v: string) => `/v1/items/VASE/versions/${v}/files/vase.png/derivatives/iiif`;
    const old = '/v1/items/VASE/files/vase.png/derivatives/iiif';
    for (const [v, size, colour] of [
      [red.version, { width: 3000, height: 2000 }, [192, 0, 0]],
      [blue.version, { width: 3200, height: 2400 }, [0, 0, 192]],
    ] as const) {
      const info = (await api.app.inject({ url: `${service(v)}/info.json` })).json<Info>();
      t.equal(info.id, `http://ciku.test${service(v)}`, `${v}: info.json id names ${v}`);
      t.match(info, size, `${v}: info.json has ${v}'s size`);
      const max = await api.app.inject({ url: `${service(v)}/full/max/0/default.jpg` });
      t.match(await imageSize(max.rawPayload), size, `${v}: full/max is ${v}'s image`);
      const mean = await meanColour(max.rawPayload);
      t.ok(
        mean.every((c, i) => Math.abs(c - colour[i]!) < 8),
        `${v}: full/max has ${v}'s pixels (${mean.join(',')})`,
      );
      const viaQuery = await api.app.inject({ url: `${old}/info.json?version=${v}` });
      t.equal(
        viaQuery.json<Info>().id,
        `http://ciku.test${service(v)}`,
        `?version=${v} on the head's route gives ${v}'s id`,
      );
    }
    const head = await api.app.inject({ url: `${old}/info.json` });
    t.equal(
      head.json<Info>().id,
      `http://ciku.test${service(blue.version)}`,
      "the head's route names the head's version",
    );
    const base = await api.app.inject({ url: service(red.version) });
    t.equal(
      base.json<Info>().id,
      `http://ciku.test${service(red.version)}`,
      'the service base answers its info.json',
    );

    for (const host of ['evil.example', 'ciku.test.evil.example:443']) {
      const res = await api.app.inject({
        url: `${service(red.version)}/info.json`,
        headers: { host, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'gopher' },
      });
      t.equal(
        res.json<Info>().id,
        `http://ciku.test${service(red.version)}`,
        `Host ${host}: the id is on CIKU_PUBLIC_URL`,
      );
    }

    const ld = await api.app.inject({ url: `${service(red.version)}/info.json` });
    t.match(
      ld.headers['content-type'],
      /^application\/ld\+json; ?profile="http:\/\/iiif\.io\/api\/image\/3\/context\.json"/,
      'JSON-LD with the Image API profile by default',
    );
    const json = await api.app.inject({
      url: `${service(red.version)}/info.json`,
      headers: { accept: 'application/json' },
    });
    t.match(
      json.headers['content-type'],
      /^application\/json/,
      'Accept: application/json is answered as JSON',
    );
    t.equal(json.json<Info>().id, ld.json<Info>().id, 'with the same document');
    const both = await api.app.inject({
      url: `${service(red.version)}/info.json`,
      headers: { accept: 'application/ld+json, application/json;q=0.5' },
    });
    t.match(both.headers['content-type'], /^application\/ld\+json/, 'JSON-LD when the client prefers it');
    t.match(String(ld.headers.vary), /\bAccept\b/, 'the answer varies by Accept');
    t.equal(ld.headers['access-control-allow-origin'], '*', 'a public item is shared across origins');

    const unsupported = [
      '0,0,10,10/5,/0/default.jpg',
      'full/max/90/default.jpg',
      'full/max/!0/default.jpg',
      'full/max/0/default.png',
      'full/max/0/gray.jpg',
      'full/pct:50/0/default.jpg',
      'full/^max/0/default.jpg',
      'square/max/0/default.jpg',
      'full/1234,/0/default.jpg',
      '0,0,512,512/256,256/0/default.jpg',
    ];
    for (const req of unsupported) {
      const res = await api.app.inject({ url: `${service(red.version)}/${req}` });
      t.match(
        { status: res.statusCode, code: res.json<{ code: string }>().code },
        { status: 400, code: 'CIKU_ERR_IIIF_UNSUPPORTED' },
        `${req} → 400 unsupported`,
      );
    }
    const outside = await api.app.inject({
      url: `${service(red.version)}/99999,0,512,512/512,512/0/default.jpg`,
    });
    t.equal(outside.statusCode, 400, 'a region outside the image → 400 (the spec asks for it)');
    for (const req of [
      'full/max/0/default',
      'info',
      'full/max/0/default.jpg/../x',
      '0,0,0,0/max/0/default.jpg',
      'full/0,/0/default.jpg',
      'a/b/c/d.jpg',
    ]) {
      const res = await api.app.inject({ url: `${service(red.version)}/${req}` });
      t.match(
        { status: res.statusCode, code: res.json<{ code: string }>().code },
        { status: 400, code: 'CIKU_ERR_REQUEST_INVALID' },
        `${req} → 400 malformed`,
      );
    }
    const whole = await api.app.inject({ url: `${service(red.version)}/0,0,3000,2000/max/0/default.jpg` });
    t.match(
      await imageSize(whole.rawPayload),
      { width: 3000, height: 2000 },
      'the whole image by its pixel region is full/max',
    );
    const alias = await api.app.inject({ url: `${service(red.version)}/0,0,512,512/512,/0/default.jpg` });
    t.match(
      await imageSize(alias.rawPayload),
      { width: 512, height: 512 },
      'a tile asked for as w, is served from its w,h file',
    );
    // A tile the grid has, lost from the store: a well-formed request for a file that does not exist.
    await derivatives.clear(red.sha512, 'iiif/512,0,512,512/512,512/0/default.jpg');
    const lost = await api.app.inject({ url: `${service(red.version)}/512,0,512,512/512,512/0/default.jpg` });
    t.match(
      { status: lost.statusCode, code: lost.json<{ code: string }>().code },
      { status: 404, code: 'CIKU_ERR_DERIVATIVE_NOT_FOUND' },
      'a missing tile → 404',
    );
  },
);

t.test('IIIF services follow the access decision, version by version', async (t) => {
  const api = await startTestApi(t);
  await startWorkersFor(t, api);
  const dir = tempDir(t, 'ciku-iiif-');
  const png = await fs.readFile(await flatPng(dir, 'scan.png', 3000, 1500, '#807060'));
  const png2 = await fs.readFile(await flatPng(dir, 'scan2.png', 3000, 1500, '#605040'));
  const info = (id: string, v: string, who: keyof TestApi['auth'] = 'anonymous') =>
    api.app.inject({
      url: `/v1/items/${id}/versions/${v}/files/scan.png/derivatives/iiif/info.json`,
      headers: api.auth[who],
    });

  await newItem(api, 'RESTRICTED', 'collection_object', 'restricted');
  const r = await put(api, 'RESTRICTED', 'scan.png', png);
  await iiifStatus(api, 'RESTRICTED');
  t.equal(
    (await info('RESTRICTED', r.version)).statusCode,
    404,
    "anonymous: a restricted item's versioned info.json is 404",
  );
  const tile = await api.app.inject({
    url: `/v1/items/RESTRICTED/versions/${r.version}/files/scan.png/derivatives/iiif/full/max/0/default.jpg`,
  });
  t.equal(tile.statusCode, 404, 'and so is its full/max');
  const seen = await info('RESTRICTED', r.version, 'researcher');
  t.equal(seen.statusCode, 200, 'a researcher reads it');
  t.notOk(seen.headers['access-control-allow-origin'], 'without cross-origin sharing');
  t.match(seen.headers['cache-control'], /private/, 'and never in a public cache');

  // Restricted while its file was added, public now: what it held while restricted stays hidden.
  await newItem(api, 'PUBLISHED', 'collection_object', 'restricted');
  const before = await put(api, 'PUBLISHED', 'scan.png', png2);
  await iiifStatus(api, 'PUBLISHED');
  const patch = await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/PUBLISHED',
    headers: api.auth.archivist,
    payload: { access: { level: 'public' } },
  });
  t.equal(patch.statusCode, 200);
  const now = patch.json<{ version: string }>().version;
  const headInfo = await info('PUBLISHED', now);
  t.equal(headInfo.statusCode, 200, 'anonymous reads the public head');
  t.equal(headInfo.headers['access-control-allow-origin'], '*', 'shared across origins');
  t.equal(
    (await info('PUBLISHED', before.version)).statusCode,
    404,
    'the version made while restricted stays hidden',
  );
  const query = await api.app.inject({
    url: `/v1/items/PUBLISHED/files/scan.png/derivatives/iiif/info.json?version=${before.version}`,
  });
  t.equal(query.statusCode, 404, '?version= on the head route hides it too');
  const researcher = await info('PUBLISHED', before.version, 'researcher');
  t.equal(researcher.statusCode, 200, 'a researcher reads the earlier version');
  t.notOk(
    researcher.headers['access-control-allow-origin'],
    'not shared across origins: anonymous may not read it',
  );
});

t.test(
  'tiles of the earlier layout (no full/max) count as missing, so rederive --missing remakes them',
  async (t) => {
    const api = await startTestApi(t);
    const { derivatives } = await startWorkersFor(t, api);
    const dir = tempDir(t, 'ciku-iiif-');
    await newItem(api, 'OLD', 'collection_object', 'public');
    const { sha512 } = await put(
      api,
      'OLD',
      'scan.png',
      await fs.readFile(await flatPng(dir, 'scan.png', 3000, 1000, '#445566')),
    );
    await iiifStatus(api, 'OLD');
    const record = (await derivatives.readRecord(sha512))!;
    t.equal(record.derivatives.iiif?.layout, IIIF_LAYOUT, 'new tiles carry the current layout');
    t.same((await derivatives.missingKinds(sha512, 'image/png')).missing, [], 'and nothing is missing');
    const { layout: _layout, ...older } = record.derivatives.iiif!;
    void _layout;
    await derivatives.writeRecord({ ...record, derivatives: { ...record.derivatives, iiif: older } });
    t.same(
      (await derivatives.missingKinds(sha512, 'image/png')).missing,
      ['iiif'],
      'an entry without a layout is missing',
    );
  },
);
