import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { derivesFrom, mediaPolicy } from '../../schemas/media-policy.ts';
import { sniffMagic } from '../../services/adapters/file-type.ts';
import { canonicalMediaType, detectMediaType } from '../../services/archive/media-type.ts';
import { newItem, startTestApi } from '../helpers/api.ts';
import { sharedPath, skipUnlessShared, tempDir } from '../helpers/env.ts';

/**
 * Hardening issue, finding 14: detectors and lists spell types differently (file-type says `video/matroska`, the
 * policy listed `video/x-matroska`), so every MKV was refused with 415. Detected types come in one spelling, and
 * every family the archive keeps is accepted.
 */
const detect = async (file: string): Promise<string> => {
  const bytes = fs.readFileSync(file);
  return detectMediaType(bytes.subarray(0, 256 * 1024), bytes.length, sniffMagic);
};

t.test('the policy lists canonical spellings only, and aliases map onto them', async (t) => {
  for (const [kind, policy] of Object.entries(mediaPolicy)) {
    for (const type of policy.derivesFrom) t.equal(canonicalMediaType(type), type, `${kind}: ${type}`);
  }
  t.equal(canonicalMediaType('video/x-matroska'), 'video/matroska');
  t.equal(canonicalMediaType('Video/MP2P'), 'video/mpeg');
  t.equal(canonicalMediaType('audio/ogg; codecs=opus'), 'audio/ogg');
  t.equal(canonicalMediaType('audio/x-wav'), 'audio/wav');
  t.equal(canonicalMediaType('constructor'), 'constructor', 'no inherited property is an alias');
});

/** One short clip per container family, made by ffmpeg now (ffmpeg's own test sources). */
const families: [string, string[], string][] = [
  ['clip.mkv', ['-c:v', 'libx264', '-c:a', 'aac'], 'video/matroska'],
  ['clip.mka', ['-vn', '-c:a', 'libvorbis'], 'video/matroska'],
  ['clip.webm', ['-c:v', 'libvpx', '-c:a', 'libvorbis'], 'video/webm'],
  ['clip.ogv', ['-c:v', 'libtheora', '-c:a', 'libvorbis'], 'video/ogg'],
  ['clip.mp4', ['-c:v', 'libx264', '-c:a', 'aac'], 'video/mp4'],
  ['clip.mov', ['-c:v', 'libx264', '-c:a', 'aac'], 'video/quicktime'],
  ['clip.avi', ['-c:v', 'mpeg4', '-an'], 'video/vnd.avi'],
  ['clip.ts', ['-c:v', 'libx264', '-c:a', 'aac', '-f', 'mpegts'], 'video/mp2t'],
  ['clip.mpg', ['-c:v', 'mpeg2video', '-c:a', 'mp2', '-f', 'vob'], 'video/mpeg'],
  ['clip.3gp', ['-c:v', 'h263', '-s', '128x96', '-c:a', 'aac', '-ar', '8000', '-ac', '1'], 'video/3gpp'],
  ['clip.wav', ['-vn'], 'audio/wav'],
  ['clip.flac', ['-vn'], 'audio/flac'],
  ['clip.aiff', ['-vn'], 'audio/aiff'],
  ['clip.m4a', ['-vn', '-c:a', 'aac'], 'audio/mp4'],
  ['clip.mp3', ['-vn', '-c:a', 'libmp3lame'], 'audio/mpeg'],
  ['clip.ogg', ['-vn', '-c:a', 'libvorbis'], 'audio/ogg'],
  ['clip.opus', ['-vn', '-c:a', 'libopus'], 'audio/ogg'],
];

t.test(
  'every audio/video family is detected in its one spelling and accepted by the kinds that keep AV',
  async (t) => {
    const dir = tempDir(t);
    const api = await startTestApi(t);
    await newItem(api, 'AV', 'media');
    await newItem(api, 'OH', 'oral_history');
    for (const [name, args, type] of families) {
      const file = path.join(dir, name);
      execFileSync('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=0.5'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5'],
        ...args,
        file,
      ]);
      t.equal(await detect(file), type, `${name} is ${type}`);
      for (const id of ['AV', 'OH']) {
        const put = await api.app.inject({
          method: 'PUT',
          url: `/v1/items/${id}/files/${name}`,
          headers: api.auth.archivist,
          payload: fs.readFileSync(file),
        });
        t.equal(put.statusCode, 201, `${name} accepted for ${id}: ${put.body}`);
      }
    }
  },
);

t.test(
  'every fixture of the archive’s families is detected in one spelling and accepted',
  { skip: skipUnlessShared('fixtures/av') || skipUnlessShared('fixtures/images') },
  async (t) => {
    const api = await startTestApi(t);
    await newItem(api, 'FIX-AV', 'media');
    await newItem(api, 'FIX-IMG', 'collection_object');
    for (const [family, item] of [
      ['av', 'FIX-AV'],
      ['images', 'FIX-IMG'],
    ] as const) {
      const dir = sharedPath(`fixtures/${family}`)!;
      for (const name of fs.readdirSync(dir).sort()) {
        const file = path.join(dir, name);
        if (!fs.statSync(file).isFile()) continue;
        const type = await detect(file);
        t.equal(canonicalMediaType(type), type, `${family}/${name}: ${type} is canonical`);
        const put = await api.app.inject({
          method: 'PUT',
          url: `/v1/items/${item}/files/${encodeURIComponent(name)}`,
          headers: api.auth.archivist,
          payload: fs.readFileSync(file),
        });
        // Every kind keeps every format (sidecars, damaged headers, unknown bytes too): the policy only derives.
        t.equal(put.statusCode, 201, `${family}/${name} (${type}) accepted: ${put.body.slice(0, 200)}`);
        if (/\.(mkv|mp4|mov|avi|wav|mp3|m4a|jpg|jpeg|png|tif|jp2|heic)$/i.test(name) && type !== 'text/plain')
          t.ok(
            derivesFrom(item === 'FIX-AV' ? 'media' : 'collection_object', type),
            `${family}/${name}: a container the archive keeps is one its kind derives from`,
          );
      }
    }
  },
);

t.test('an XMP sidecar is XML (format XMP), with or without its xpacket wrapper', async (t) => {
  const { identify } = await import('../../services/archive/media-type.ts');
  for (const xmp of [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.6">\n</x:xmpmeta>\n',
  ]) {
    const head = Buffer.from(xmp);
    t.match(await identify({ head, size: head.length }, sniffMagic), {
      mediaType: 'application/xml',
      format: { name: 'XMP' },
    });
  }
  const plain = Buffer.from('x:xmpmeta is the element an XMP packet starts with\n');
  t.equal(
    await detectMediaType(plain, plain.length, sniffMagic),
    'text/plain',
    'a sentence about it is text',
  );
});
