import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type {
  DerivativeRecordT,
  ImageTechnicalT,
  AvTechnicalT,
  WaveformPeaksT,
} from '../../schemas/technical.ts';
import { probeAv } from '../../services/adapters/av.ts';
import { imageSize } from '../../services/adapters/image.ts';
import { readAll } from '../../services/archive/blob-store.ts';
import { isPermanent } from '../../workers/registry.ts';
import { sharedPath, skipUnlessShared, tempDir } from '../helpers/env.ts';
import { workerHarness, type Harness } from '../helpers/workers.ts';

const images = sharedPath('fixtures/images');
const av = sharedPath('fixtures/av');

/** Runs the file's derivative job; returns its record and whether the job failed (permanently) or not. */
async function derive(h: Harness, id: string, file: string) {
  const { job, payload } = await h.addFile(id, file);
  if (job === undefined) return { job, payload, record: undefined, error: undefined };
  let error: unknown;
  try {
    await h.run(job, payload);
  } catch (err) {
    error = err;
  }
  const record = await h.derivatives.readRecord(payload.sha512);
  return { job, payload, record, error };
}

async function readBack(h: Harness, rec: DerivativeRecordT, kind: string, dir: string): Promise<string> {
  const entry = rec.derivatives[kind]!;
  const out = path.join(dir, `${rec.sha512.slice(0, 8)}-${kind}`);
  await fs.writeFile(
    out,
    await readAll(await h.derivatives.open(rec.sha512, entry.path!), 512 * 1024 * 1024),
  );
  return out;
}

const near = (a: number | undefined, b: number, tol = 0.01) => a !== undefined && Math.abs(a - b) <= tol;

t.test(
  'images: every valid fixture gets an upright sRGB thumbnail and preview; broken ones a recorded reason',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const h = await workerHarness(t);
    const dir = tempDir(t);
    const broken: Record<string, RegExp> = {
      'truncated-scan-IMG_20180725_163423-tiny.jpg': /premature end|could not be decoded/,
      'truncated-app1-issue-exifr-13.jpg': /premature end|corrupt header/,
      'heic-iphone7.heic': /HEVC/,
      'heic-single.heic': /HEVC/,
      'RESULT-OK_0008.jp2': /cannot be decoded/,
      'IMG_5910.exif': /cannot be decoded/,
    };
    const entries = (await fs.readdir(images!, { recursive: true })).filter((f) => !f.endsWith('.md')).sort();
    let n = 0;
    for (const rel of entries) {
      const file = path.join(images!, rel);
      if (!(await fs.stat(file)).isFile()) continue;
      n += 1;
      const name = path.basename(rel);
      const { job, record, error } = await derive(h, `IMG-${n}`, file);
      if (name.endsWith('.xmp')) {
        t.equal(job, undefined, `${name}: an XMP sidecar is text, no derivative job`);
        continue;
      }
      t.equal(job, 'derive-image', `${name}: image job`);
      t.ok(record, `${name}: a record is written`);
      if (!record) continue;
      if (broken[name]) {
        t.ok(isPermanent(error), `${name}: fails for good (no retry loop)`);
        for (const kind of ['thumbnail', 'preview']) {
          t.equal(record.derivatives[kind]?.status, 'failed', `${name}: ${kind} failed`);
          t.match(record.derivatives[kind]?.reason, broken[name], `${name}: ${kind} failure has its reason`);
        }
        continue;
      }
      t.error(error, `${name}: job succeeds`);
      const tech = record.technical as ImageTechnicalT;
      for (const [kind, side] of [
        ['thumbnail', 256],
        ['preview', 1600],
      ] as const) {
        t.equal(record.derivatives[kind]?.status, 'ready', `${name}: ${kind} ready`);
        const made = await imageSize(await readBack(h, record, kind, dir));
        t.equal(made.format, 'webp', `${name}: ${kind} is WebP`);
        const rotated = (tech.orientation ?? 1) >= 5;
        const w = rotated ? tech.height! : tech.width!;
        const hgt = rotated ? tech.width! : tech.height!;
        const scale = Math.min(1, side / Math.max(w, hgt));
        t.ok(
          Math.abs(made.width - Math.round(w * scale)) <= 1 &&
            Math.abs(made.height - Math.round(hgt * scale)) <= 1,
          `${name}: ${kind} ${made.width}×${made.height} fits ${side} upright (source ${w}×${hgt})`,
        );
      }
      if (Math.max(tech.width!, tech.height!) >= 3000) {
        t.equal(record.derivatives.iiif?.status, 'ready', `${name}: IIIF tiles for a ≥ 3000 px image`);
        const info = JSON.parse(
          (await readAll(await h.derivatives.open(record.sha512, 'iiif/info.json'))).toString(),
        ) as { width: number; height: number; profile: string; type: string };
        t.same(
          [info.width, info.height, info.profile, info.type],
          [tech.width, tech.height, 'level0', 'ImageService3'],
          `${name}: info.json`,
        );
        const tile = await imageSize(
          await readAll(await h.derivatives.open(record.sha512, 'iiif/0,0,512,512/512,512/0/default.jpg')),
        );
        t.same(
          [tile.format, tile.width, tile.height],
          ['jpeg', 512, 512],
          `${name}: a full-resolution tile reads back`,
        );
      } else {
        t.notOk(record.derivatives.iiif, `${name}: no tiles under 3000 px`);
      }
    }
    t.ok(n >= 45, `all ${n} image fixtures were tried`);
  },
);

t.test(
  'images: orientation 1–8 all end upright, looking like orientation 1',
  { skip: skipUnlessShared('fixtures/images/orientation') },
  async (t) => {
    const h = await workerHarness(t);
    const dir = tempDir(t);
    const sharp = (await import('sharp')).default;
    const pixels = async (f: string) => sharp(f).greyscale().raw().toBuffer();
    let reference: Buffer | undefined;
    for (let o = 1; o <= 8; o += 1) {
      const { record } = await derive(h, `F${o}`, path.join(images!, 'orientation', `f${o}t.jpg`));
      t.equal((record!.technical as ImageTechnicalT).orientation, o, `f${o}t: orientation ${o} recorded`);
      const px = await pixels(await readBack(h, record!, 'thumbnail', dir));
      reference ??= px;
      let diff = 0;
      for (let i = 0; i < px.length; i += 1) diff += Math.abs(px[i]! - reference[i]!);
      t.ok(
        px.length === reference.length && diff / px.length < 20,
        `f${o}t: thumbnail matches the upright F (mean diff ${(diff / px.length).toFixed(1)})`,
      );
    }
  },
);

t.test(
  'images: technical metadata matches what SOURCES.md says each file holds',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const h = await workerHarness(t);
    const tech = async (rel: string) => {
      const { record } = await derive(
        h,
        `M-${rel.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 100),
        path.join(images!, rel),
      );
      return { t: record!.technical as ImageTechnicalT, warnings: record!.warnings };
    };
    let m = await tech('IMG_20180725_163423-tiny.jpg');
    t.match(m.t, {
      make: 'Google',
      model: 'Pixel',
      created: '2018-07-25T16:34:23',
      icc: { description: /sRGB/ },
    });
    t.ok(
      near(m.t.gps?.latitude, 50.2996) && near(m.t.gps?.longitude, 14.8203),
      'Pixel GPS 50°17′58″N 14°49′13″E',
    );
    m = await tech('issue-exifr-13.jpg');
    t.match(m.t, { make: 'Hasselblad', model: 'L1D-20c' });
    t.ok(near(m.t.gps?.latitude, 47.354) && near(m.t.gps?.longitude, 10.191), 'drone GPS');
    m = await tech('empty-imagedesc-in-ifd0.jpg');
    t.match(m.t, { make: 'NIKON', model: 'COOLPIX P6000', created: '2008-10-22T16:29:49' });
    t.ok(near(m.t.gps?.latitude, 43.467), 'Nikon GPS');
    m = await tech('issue-exifr-36.jpg');
    t.ok(m.t.gps!.latitude < 0 && near(m.t.gps?.longitude, 36.056), 'south latitude keeps its sign');
    m = await tech('issue-exifr-59.jpg');
    t.match(m.t, { model: 'Canon EOS 600D', iptc: { byline: ['Patrik'] } });
    t.ok(near(m.t.gps?.longitude, -119.53), 'west longitude keeps its sign');
    m = await tech('canon-dslr.jpg');
    t.match(m.t, { model: 'Canon EOS 1300D', width: 5184, height: 3456 });
    t.notOk(m.t.gps, 'no GPS in the DSLR file');
    m = await tech('sidecar/IMG_5910.jpg');
    t.match(m.t, { iptc: { city: 'Berkeley' }, xmp: { title: 'Squirrel at berkely' } });
    m = await tech('iptc-agency-photographer-example.jpg');
    t.match(m.t, {
      iptc: { byline: ['Julie Doe'], headline: 'Lincoln Memorial', object_name: 'drp2091169d' },
    });
    m = await tech('BonTonARTSTORplusIPTC.jpg');
    t.match(m.t, { icc: { description: 'Adobe RGB (1998)' }, iptc: { byline: ['Allan Kohl'] } });
    for (const f of ['Bush-dog.jpg', 'Bush-dog.tif']) {
      m = await tech(f);
      t.match(
        m.t,
        { iptc: { byline: ['DUANE A. LAVERTY'], city: 'WACO' } },
        `${f}: same IPTC in both containers`,
      );
    }
    m = await tech('issue-exifr-47.jpeg');
    t.match(m.t, {
      iptc: { special_instructions: 'Call Number: 020671', keywords: [/Budapest\. 5\. kerület/] },
    });
    m = await tech('iptc-mess.jpg');
    t.match(m.t, { iptc: { byline: ['MARCO VILLANTI'] } });
    t.notOk(m.t.iptc?.city, 'iptc-mess has no City');
    m = await tech('tif-with-iptc-icc-xmp.tif');
    t.match(m.t, {
      model: 'Canon EOS 5D Mark III',
      icc: { description: 'ProPhoto RGB' },
      iptc: { copyright: 'JET2HOLIDAYS' },
    });
    m = await tech('001.tif');
    t.match(m.t, { make: 'DJI', bits_per_sample: 16, width: 640, height: 512 });
    t.ok(near(m.t.gps?.latitude, 50.862), '16-bit thermal TIFF GPS');
    m = await tech('heic-iphone7.heic');
    t.match(
      m.t,
      { make: 'Apple', model: 'iPhone 7' },
      'HEIC metadata is read even where its pixels cannot be',
    );
    t.ok(near(m.t.gps?.latitude, 38.046), 'HEIC GPS');
    m = await tech('png_with_exif_and_gps.png');
    t.match(m.t, { model: 'Canon PowerShot S40' }, 'an eXIf chunk after IDAT is read');
    t.ok(m.t.gps, 'PNG eXIf GPS');
    m = await tech('RangeError_Invalid_typed_array_length.jpg');
    t.match(m.t, { iptc: { byline: ['Óscar Cañas'] } }, 'UTF-8 IPTC without a charset marker is repaired');
    m = await tech('noexif.jpg');
    t.notOk(m.t.make ?? m.t.gps ?? m.t.iptc ?? m.t.xmp, 'no metadata in noexif.jpg');
    m = await tech('invalid-iCCP-missing-adler32-checksum.png');
    t.ok(m.warnings.length > 0, 'a broken ICC chunk is a warning, not a failure');
    t.equal(m.t.width, 460);
  },
);

t.test(
  'audio and video: proxies, posters and waveforms read back; broken files end with a reason',
  { skip: skipUnlessShared('fixtures/av') },
  async (t) => {
    const h = await workerHarness(t);
    const dir = tempDir(t);
    const expected: Record<
      string,
      { copy: boolean; codec: string; w?: number; h?: number; kinds: string[] }
    > = {
      'iphone_rotated.mov': {
        copy: true,
        codec: 'h264',
        w: 320,
        h: 568,
        kinds: ['proxy', 'poster', 'waveform'],
      },
      'h264_aac_1080p_faststart.mp4': {
        copy: true,
        codec: 'h264',
        w: 1920,
        h: 1080,
        kinds: ['proxy', 'poster', 'waveform'],
      },
      'sintel_h264_video-only.mp4': { copy: true, codec: 'h264', w: 736, h: 414, kinds: ['proxy', 'poster'] },
      'testvideo-43.avi': { copy: false, codec: 'h264', w: 1024, h: 768, kinds: ['proxy', 'poster'] },
      'testaudio-one.wav': { copy: false, codec: 'aac', kinds: ['proxy', 'waveform'] },
      'riff_adobe_audition.wav': { copy: false, codec: 'aac', kinds: ['proxy', 'waveform'] },
      'bwf_protools_bext.wav': { copy: false, codec: 'aac', kinds: ['proxy', 'waveform'] },
      'apple_voice_memo.m4a': { copy: true, codec: 'aac', kinds: ['proxy', 'waveform'] },
      'chapters.mp3': { copy: true, codec: 'mp3', kinds: ['proxy', 'waveform'] },
      'podcast_id3_bad-offset.mp3': { copy: true, codec: 'mp3', kinds: ['proxy', 'waveform'] },
    };
    const broken: Record<string, RegExp> = {
      'corrupt.mkv': /EBML header parsing failed/,
      'truncated_iphone_rotated.mov': /moov atom not found/,
      'truncated_h264_aac_1080p_faststart.mp4': /damaged or cut off/,
    };
    for (const name of (await fs.readdir(av!)).sort()) {
      const { job, record, error } = await derive(
        h,
        `AV-${name.replace(/[^A-Za-z0-9]/g, '')}`,
        path.join(av!, name),
      );
      if (name === 'broken-wav.wav') {
        // Its bytes are text: kept as text and read as a document (its text searchable), never given to ffmpeg.
        t.equal(
          job,
          'derive-document',
          'broken-wav.wav has no RIFF/WAVE signature where it belongs: typed as text, no AV job',
        );
        continue;
      }
      t.equal(job, 'derive-av', `${name}: AV job`);
      if (broken[name]) {
        t.ok(isPermanent(error), `${name}: fails for good (no retry loop)`);
        t.equal(record?.derivatives.proxy?.status, 'failed', `${name}: proxy failed`);
        t.match(record?.derivatives.proxy?.reason, broken[name], `${name}: with its reason`);
        t.notOk(
          await h.derivatives.stat(record!.sha512, 'proxy.mp4'),
          `${name}: no partial proxy is visible`,
        );
        continue;
      }
      const want = expected[name]!;
      t.error(error, `${name}: job succeeds`);
      const tech = record!.technical as AvTechnicalT;
      t.same(
        Object.keys(record!.derivatives).sort(),
        [...want.kinds].sort(),
        `${name}: ${want.kinds.join(', ')}`,
      );
      const proxy = record!.derivatives.proxy!;
      t.equal(
        proxy.stream_copy,
        want.copy,
        `${name}: ${want.copy ? 'stream-copied (already web-playable)' : 're-encoded'}`,
      );
      const back = await probeAv(await readBack(h, record!, 'proxy', dir));
      t.ok(
        Math.abs((back.duration ?? 0) - tech.duration!) <= 0.1,
        `${name}: proxy lasts ${back.duration} s, source ${tech.duration} s`,
      );
      const codec = back.streams.find((s) => s.type === (want.w ? 'video' : 'audio'))?.codec;
      t.equal(codec, want.codec, `${name}: proxy codec ${want.codec}`);
      if (want.w) {
        t.same(
          [back.display_width, back.display_height],
          [want.w, want.h],
          `${name}: displayed ${want.w}×${want.h}`,
        );
        const poster = await imageSize(await readBack(h, record!, 'poster', dir));
        t.equal(poster.format, 'jpeg', `${name}: poster is a JPEG`);
        const scale = Math.min(1, 1280 / Math.max(want.w, want.h!));
        t.same(
          [poster.width, poster.height],
          [Math.trunc((want.w * scale) / 2) * 2, Math.trunc((want.h! * scale) / 2) * 2],
          `${name}: poster is upright, long side ≤ 1280, even`,
        );
        t.ok(
          Math.max(poster.width, poster.height) <= 1280 && poster.width > poster.height === want.w > want.h!,
          `${name}: poster ${poster.width}×${poster.height} keeps the displayed orientation`,
        );
      }
      if (want.kinds.includes('waveform')) {
        const peaks = JSON.parse(
          (await readAll(await h.derivatives.open(record!.sha512, 'waveform.json'))).toString(),
        ) as WaveformPeaksT;
        t.ok(
          peaks.length > 0 && peaks.length <= 1000 && peaks.data.length === peaks.length * 2,
          `${name}: ${peaks.length} min/max pairs`,
        );
        t.ok(
          peaks.data.every((v) => v >= -1 && v <= 1),
          `${name}: peaks within −1…1`,
        );
      }
    }
  },
);

t.test(
  'audio and video: technical metadata matches SOURCES.md',
  { skip: skipUnlessShared('fixtures/av') },
  async (t) => {
    const h = await workerHarness(t);
    const tech = async (name: string) =>
      (await derive(h, `AVM-${name.replace(/[^A-Za-z0-9]/g, '')}`, path.join(av!, name))).record!
        .technical as AvTechnicalT;
    let m = await tech('iphone_rotated.mov');
    t.match(m, {
      type: 'video',
      rotation: 90,
      width: 568,
      height: 320,
      display_width: 320,
      display_height: 568,
      make: 'Apple',
      model: 'iPhone 4S',
    });
    t.ok(
      near(m.gps?.latitude, 40.7248, 0.001) && near(m.gps?.longitude, -73.9883, 0.001),
      'ISO 6709 location',
    );
    t.match(m.created, /^2013-12-22/);
    m = await tech('h264_aac_1080p_faststart.mp4');
    t.match(m, { type: 'video', width: 1920, height: 1080, tags: { comment: 'Made with Remotion 4.0.278' } });
    t.ok(near(m.duration, 5.056, 0.01), 'duration 5.056 s');
    t.match(m.streams, [
      { type: 'video', codec: 'h264', profile: 'High' },
      { type: 'audio', codec: 'aac', channels: 2, sample_rate: 48000 },
    ]);
    m = await tech('sintel_h264_video-only.mp4');
    t.notOk(
      m.streams.some((s) => s.type === 'audio'),
      'no audio track',
    );
    m = await tech('testvideo-43.avi');
    t.match(m, {
      streams: [{ codec: 'mpeg4', width: 1024, height: 768, frame_rate: 5 }],
      tags: { title: 'Test Title' },
    });
    m = await tech('riff_adobe_audition.wav');
    t.match(m, {
      type: 'audio',
      tags: { title: 'The Magic Flute', copyright: 'Copyright 2018' },
      streams: [{ codec: 'pcm_s24le', bits_per_sample: 24, channels: 2 }],
    });
    m = await tech('bwf_protools_bext.wav');
    t.match(m, {
      tags: { encoded_by: 'Pro Tools', originator_reference: 'aa4vPR7Z3zUk', umid: /^0x060A2B34/ },
    });
    m = await tech('apple_voice_memo.m4a');
    t.match(m, {
      type: 'audio',
      tags: { title: 'Test sample' },
      streams: [{ codec: 'aac', channels: 1, sample_rate: 48000 }],
    });
    m = await tech('chapters.mp3');
    t.same(
      m.chapters?.map((c) => c.title),
      ['Introduction', 'New chapter', 'Chapter 1'],
      'ID3 chapters',
    );
    m = await tech('podcast_id3_bad-offset.mp3');
    t.match(
      m,
      { type: 'audio', tags: { album: 'Smarter Better Faster Stronger' } },
      'cover art does not make it a video',
    );
    t.ok(
      m.streams.some((s) => s.attached_picture),
      'the cover is marked as an attached picture',
    );
  },
);
