import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import t, { type Test } from 'tap';
import type { PremisEvent } from '../../schemas/event.ts';
import type { FileFormat } from '../../schemas/item.ts';
import { sniffMagic } from '../../services/adapters/file-type.ts';
import { identify, TAIL_BYTES, type Identification } from '../../services/archive/media-type.ts';
import { ingestRow } from '../../services/batch/ingest-row.ts';
import { newItem, startTestApi } from '../helpers/api.ts';
import { batchEnv } from '../helpers/batch.ts';

/**
 * Issue 17, "Preserve everything": every kind keeps any format; identification from the bytes records the media type,
 * the format's name, its version where the bytes state it and its PRONOM id; bytes nothing identifies are kept as
 * application/octet-stream with a `format identification` warning event (a warning row, not a failure, in a batch).
 * The samples are made here, once per run: LibreOffice for office files and PDFs, ffmpeg for images and AV, and by
 * hand where the bytes under test are a few fields (RIFF/BWF, Exif, BigTIFF, ODF versions, a PDF/A whose XMP is last).
 */

const have = (tool: string): boolean => spawnSync('which', [tool]).status === 0;
const noSoffice = have('soffice') ? false : 'LibreOffice (soffice) is not installed';
const noFfmpeg = have('ffmpeg') ? false : 'ffmpeg is not installed';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-formats-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

/** Bytes no signature identifies, the same on every run: a sha256 chain, led by bytes that are no text. */
const UNKNOWN = Buffer.concat([
  Buffer.from([0x00, 0xff, 0x80, 0x01]),
  ...Array.from({ length: 128 }, (_, i) => createHash('sha256').update(`ciku-${i}`).digest()),
]);

const TEXT = '景德镇的瓷器，釉色如玉。The kiln fires at dawn.\n第二行：青花、粉彩、颜色釉。\n';

// --- hand-made containers ------------------------------------------------------------------------------------

/** A ZIP of the given entries (stored or deflated), with its central directory. */
function zip(entries: { name: string; data: Buffer; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.deflate ? deflateRawSync(e.data) : e.data;
    const fields = (h: Buffer, o: number) => {
      h.writeUInt16LE(20, o);
      h.writeUInt16LE(0, o + 2);
      h.writeUInt16LE(e.deflate ? 8 : 0, o + 4);
      h.writeUInt16LE(0, o + 6);
      h.writeUInt16LE(0x21, o + 8);
      h.writeUInt32LE(crc32(e.data), o + 10);
      h.writeUInt32LE(data.length, o + 14);
      h.writeUInt32LE(e.data.length, o + 18);
      h.writeUInt16LE(name.length, o + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    fields(local, 4);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    fields(central, 6);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** An ODF package of a given `office:version`, its meta.xml deflated as office suites write it. */
function odf(mimetype: string, version: string): Buffer {
  const meta = `<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="${version}"><office:meta/></office:document-meta>`;
  return zip([
    { name: 'mimetype', data: Buffer.from(mimetype) },
    { name: 'meta.xml', data: Buffer.from(meta), deflate: true },
  ]);
}

function chunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/** RIFF WAVE, 16-bit mono PCM (a 16-byte fmt chunk: PCMWAVEFORMAT), with a `bext` chunk of `bextVersion` if given. */
function wav(bextVersion?: number): Buffer {
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0);
  fmt.writeUInt16LE(1, 2);
  fmt.writeUInt32LE(8000, 4);
  fmt.writeUInt32LE(16000, 8);
  fmt.writeUInt16LE(2, 12);
  fmt.writeUInt16LE(16, 14);
  const chunks = [chunk('fmt ', fmt), chunk('data', Buffer.alloc(1600))];
  if (bextVersion !== undefined) {
    const bext = Buffer.alloc(602);
    bext.write('瓷库 test recording', 0, 'utf8');
    bext.writeUInt16LE(bextVersion, 346);
    chunks.unshift(chunk('bext', bext));
  }
  const body = Buffer.concat([Buffer.from('WAVE'), ...chunks]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** A JPEG whose APP1 Exif block says ExifVersion `digits` (`0232`), on the image data of `jpeg` (a JFIF file). */
function exifJpeg(jpeg: Buffer, digits: string): Buffer {
  const tiff = Buffer.alloc(44);
  tiff.write('II*\u0000', 0, 'latin1');
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(1, 8); // IFD0: one entry, the Exif IFD pointer
  tiff.writeUInt16LE(0x8769, 10);
  tiff.writeUInt16LE(4, 12);
  tiff.writeUInt32LE(1, 14);
  tiff.writeUInt32LE(26, 18);
  tiff.writeUInt16LE(1, 26); // Exif IFD: ExifVersion, 4 bytes inline
  tiff.writeUInt16LE(0x9000, 28);
  tiff.writeUInt16LE(7, 30);
  tiff.writeUInt32LE(4, 32);
  tiff.write(digits, 36, 'latin1');
  const body = Buffer.concat([Buffer.from('Exif\u0000\u0000', 'latin1'), tiff]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(body.length + 2, 2);
  // Drop the JFIF file's SOI and APP0: SOI, APP1 Exif, then the rest of its segments.
  const app0Length = jpeg.readUInt16BE(4);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, body, jpeg.subarray(4 + app0Length)]);
}

const minimalPdf = (version: string): Buffer =>
  Buffer.from(
    `%PDF-${version}\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n`,
    'latin1',
  );

/** A PDF/A-1b whose XMP packet (attribute form) lies past the first 256 KiB: only its tail says it is PDF/A. */
function pdfaWithXmpLast(): Buffer {
  const filler = `%${'0'.repeat(98)}\n`.repeat(3000);
  const xmp = `1 0 obj<</Type/Metadata/Subtype/XML>>stream\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="1" pdfaid:conformance="B"/></rdf:RDF></x:xmpmeta>\nendstream endobj\n%%EOF\n`;
  return Buffer.from(`%PDF-1.4\n${filler}${xmp}`, 'latin1');
}

// --- samples made by tools, once per run ----------------------------------------------------------------------

const FODP = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:body><office:presentation><draw:page draw:name="p1"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box><text:p>景德镇瓷器 slide</text:p></draw:text-box></draw:frame></draw:page></office:presentation></office:body>
</office:document>
`;

let office: Promise<void> | undefined;
/** LibreOffice conversions (a fresh profile of its own, so parallel test files never share one). */
function officeSamples(): Promise<void> {
  office ??= (async () => {
    fs.writeFileSync(at('doc.txt'), TEXT);
    fs.writeFileSync(at('sheet.csv'), 'id,title\n1,青花梅瓶\n2,粉彩碗\n');
    fs.writeFileSync(at('slides.fodp'), FODP);
    const profile = `file://${at('lo-profile')}`;
    const convert = (to: string, from: string, outdir = dir) =>
      execFileSync(
        'soffice',
        [`-env:UserInstallation=${profile}`, '--headless', '--convert-to', to, '--outdir', outdir, at(from)],
        { stdio: 'ignore', timeout: 120_000 },
      );
    for (const to of ['docx', 'odt', 'rtf', 'doc', 'pdf']) convert(to, 'doc.txt');
    for (const to of ['xlsx', 'ods', 'xls']) convert(to, 'sheet.csv');
    for (const to of ['pptx', 'odp', 'ppt']) convert(to, 'slides.fodp');
    // PDF/A through the PDF export's SelectPdfVersion (1: PDF/A-1, tagged, so 1a; 2: PDF/A-2b).
    for (const [version, sub] of [
      ['1', 'pdfa1'],
      ['2', 'pdfa2'],
    ] as const) {
      const filter = `pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"${version}"}}`;
      convert(filter, 'doc.txt', at(sub));
    }
  })();
  return office;
}

let media: Promise<void> | undefined;
/** ffmpeg's test sources as images and AV containers. */
function mediaSamples(): Promise<void> {
  media ??= (async () => {
    const still = ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1'];
    for (const name of ['img.tif', 'img.png', 'img.jpg', 'img.gif', 'img.webp'])
      execFileSync('ffmpeg', [...still, at(name)]);
    execFileSync('ffmpeg', [...still, '-c:v', 'jpeg2000', '-format', 'jp2', at('img.jp2')]);
    const av = [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=0.5'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5'],
    ];
    for (const [name, args] of [
      ['av.flac', ['-vn']],
      ['av.mp3', ['-vn', '-c:a', 'libmp3lame']],
      ['av.mp4', ['-c:v', 'libx264', '-c:a', 'aac']],
      ['av.mov', ['-c:v', 'libx264', '-c:a', 'aac']],
      ['av.mkv', ['-c:v', 'libx264', '-c:a', 'aac']],
      ['av.webm', ['-c:v', 'libvpx', '-c:a', 'libvorbis']],
    ] as const)
      execFileSync('ffmpeg', [...av, ...args, at(name)]);
  })();
  return media;
}

/** Samples written here from bytes. */
function handSamples(): Record<string, Buffer> {
  const gb18030 = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: TEXT });
  const bigtiff = Buffer.alloc(64);
  bigtiff.write('II+\u0000', 0, 'latin1');
  bigtiff.writeUInt16LE(8, 4);
  bigtiff.writeUInt32LE(16, 8);
  return {
    'pdf17.pdf': minimalPdf('1.7'),
    'pdf20.pdf': minimalPdf('2.0'),
    'pdfa-xmp-last.pdf': pdfaWithXmpLast(),
    'big.tif': bigtiff,
    'plain.wav': wav(),
    'bwf2.wav': wav(2),
    'bwf1.wav': wav(1),
    'v12.odt': odf('application/vnd.oasis.opendocument.text', '1.2'),
    'v11.ods': odf('application/vnd.oasis.opendocument.spreadsheet', '1.1'),
    'bundle.zip': zip([{ name: 'readme.txt', data: Buffer.from(TEXT), deflate: true }]),
    'captions.vtt': Buffer.from('WEBVTT\n\n00:00.000 --> 00:01.000\n拉坯\n'),
    'captions.srt': Buffer.from('1\n00:00:00,000 --> 00:00:01,000\n拉坯\n'),
    'utf8.txt': Buffer.from(TEXT),
    'gb18030.txt': gb18030,
    'records.csv': Buffer.from('id,title,kiln\n1,"青花, 梅瓶",御窑\n2,粉彩碗,湖田窑\n'),
    'record.xml': Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<record><title>瓷</title></record>\n'),
    'unknown.bin': UNKNOWN,
  };
}

async function identifyFile(file: string, options: { withTail?: boolean } = {}): Promise<Identification> {
  const bytes = fs.readFileSync(file);
  return identify(
    {
      head: bytes.subarray(0, 256 * 1024),
      size: bytes.length,
      ...(options.withTail === false
        ? {}
        : { tail: async () => bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)) }),
    },
    sniffMagic,
  );
}

type Expected = [file: string, mediaType: string, format: FileFormat | undefined];

async function check(t: Test, cases: Expected[]): Promise<void> {
  for (const [file, mediaType, format] of cases) {
    const found = await identifyFile(at(file));
    t.equal(found.mediaType, mediaType, `${file} is ${mediaType}`);
    t.same(found.format, format, `${file}: ${JSON.stringify(format)}`);
  }
}

const OOXML = 'application/vnd.openxmlformats-officedocument';
const ODF = 'application/vnd.oasis.opendocument';

t.test('formats written here by hand are identified with their name, version and PRONOM id', async (t) => {
  for (const [name, bytes] of Object.entries(handSamples())) fs.writeFileSync(at(name), bytes);
  await check(t, [
    ['pdf17.pdf', 'application/pdf', { name: 'PDF', version: '1.7', puid: 'fmt/276' }],
    ['pdf20.pdf', 'application/pdf', { name: 'PDF', version: '2.0', puid: 'fmt/1129' }],
    ['pdfa-xmp-last.pdf', 'application/pdf', { name: 'PDF/A', version: '1b', puid: 'fmt/354' }],
    ['big.tif', 'image/tiff', { name: 'BigTIFF' }],
    ['plain.wav', 'audio/wav', { name: 'WAV', version: 'PCMWAVEFORMAT', puid: 'fmt/141' }],
    ['bwf2.wav', 'audio/wav', { name: 'BWF', version: '2', puid: 'fmt/527' }],
    ['bwf1.wav', 'audio/wav', { name: 'BWF', version: '1', puid: 'fmt/2' }],
    ['v12.odt', `${ODF}.text`, { name: 'ODT', version: '1.2', puid: 'fmt/291' }],
    ['v11.ods', `${ODF}.spreadsheet`, { name: 'ODS', version: '1.1', puid: 'fmt/294' }],
    ['bundle.zip', 'application/zip', { name: 'ZIP', puid: 'x-fmt/263' }],
    ['captions.vtt', 'text/vtt', { name: 'WebVTT' }],
    ['captions.srt', 'application/x-subrip', { name: 'SubRip', charset: 'UTF-8' }],
    ['utf8.txt', 'text/plain', { name: 'Plain text', puid: 'x-fmt/111', charset: 'UTF-8' }],
    ['gb18030.txt', 'text/plain', { name: 'Plain text', puid: 'x-fmt/111', charset: 'GB18030' }],
    ['records.csv', 'text/csv', { name: 'CSV', puid: 'x-fmt/18', charset: 'UTF-8' }],
    ['record.xml', 'application/xml', { name: 'XML', version: '1.0', puid: 'fmt/101' }],
    ['unknown.bin', 'application/octet-stream', undefined],
  ]);
  const headOnly = await identifyFile(at('pdfa-xmp-last.pdf'), { withTail: false });
  t.same(
    headOnly.format,
    { name: 'PDF', version: '1.4', puid: 'fmt/18' },
    'without its tail the same file reads as the PDF its header names: the tail is what told PDF/A',
  );
});

t.test('images and AV made by ffmpeg are identified', { skip: noFfmpeg }, async (t) => {
  await mediaSamples();
  const jfif = fs.readFileSync(at('img.jpg'));
  fs.writeFileSync(at('exif.jpg'), exifJpeg(jfif, '0232'));
  fs.writeFileSync(at('exif22.jpg'), exifJpeg(jfif, '0220'));
  await check(t, [
    ['img.tif', 'image/tiff', { name: 'TIFF', puid: 'fmt/353' }],
    ['img.png', 'image/png', { name: 'PNG', version: '1.0', puid: 'fmt/11' }],
    ['img.jpg', 'image/jpeg', { name: 'JFIF', version: '1.02', puid: 'fmt/44' }],
    ['exif.jpg', 'image/jpeg', { name: 'Exif', version: '2.32' }],
    ['exif22.jpg', 'image/jpeg', { name: 'Exif', version: '2.2' }],
    ['img.gif', 'image/gif', { name: 'GIF', version: '89a', puid: 'fmt/4' }],
    ['img.webp', 'image/webp', { name: 'WebP' }],
    ['img.jp2', 'image/jp2', { name: 'JP2', puid: 'x-fmt/392' }],
    ['av.flac', 'audio/flac', { name: 'FLAC', puid: 'fmt/279' }],
    ['av.mp3', 'audio/mpeg', { name: 'MP3', puid: 'fmt/134' }],
    ['av.mp4', 'video/mp4', { name: 'MP4', puid: 'fmt/199' }],
    ['av.mov', 'video/quicktime', { name: 'QuickTime', puid: 'x-fmt/384' }],
    ['av.mkv', 'video/matroska', { name: 'Matroska' }],
    ['av.webm', 'video/webm', { name: 'WebM' }],
  ]);
  // A PNG using iTXt (added in PNG 1.2) is 1.2: the earliest version that defines every chunk it uses.
  const png = fs.readFileSync(at('img.png'));
  const itxt = Buffer.from(
    '\u0000\u0000\u0000\u0005iTXtk\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000',
    'latin1',
  );
  fs.writeFileSync(at('itxt.png'), Buffer.concat([png.subarray(0, 33), itxt, png.subarray(33)]));
  t.same((await identifyFile(at('itxt.png'))).format, { name: 'PNG', version: '1.2', puid: 'fmt/13' });
});

t.test('office files and PDFs made by LibreOffice are identified', { skip: noSoffice }, async (t) => {
  await officeSamples();
  await check(t, [
    ['doc.docx', `${OOXML}.wordprocessingml.document`, { name: 'DOCX', puid: 'fmt/412' }],
    ['sheet.xlsx', `${OOXML}.spreadsheetml.sheet`, { name: 'XLSX', puid: 'fmt/214' }],
    ['slides.pptx', `${OOXML}.presentationml.presentation`, { name: 'PPTX', puid: 'fmt/215' }],
    // LibreOffice 7.4 writes ODF 1.3, for which the table holds no PUID: the version is still recorded.
    ['doc.odt', `${ODF}.text`, { name: 'ODT', version: '1.3' }],
    ['sheet.ods', `${ODF}.spreadsheet`, { name: 'ODS', version: '1.3' }],
    ['slides.odp', `${ODF}.presentation`, { name: 'ODP', version: '1.3' }],
    ['doc.rtf', 'application/rtf', { name: 'RTF', version: '1' }],
    ['doc.doc', 'application/msword', { name: 'Word 97-2003' }],
    ['sheet.xls', 'application/vnd.ms-excel', { name: 'Excel 97-2003' }],
    // PowerPoint files keep their directory at the end: the tail tells them from other compound files.
    ['slides.ppt', 'application/vnd.ms-powerpoint', { name: 'PowerPoint 97-2003' }],
    ['doc.pdf', 'application/pdf', { name: 'PDF', version: '1.6', puid: 'fmt/20' }],
    ['pdfa1/doc.pdf', 'application/pdf', { name: 'PDF/A', version: '1a', puid: 'fmt/95' }],
    ['pdfa2/doc.pdf', 'application/pdf', { name: 'PDF/A', version: '2b', puid: 'fmt/477' }],
  ]);
});

t.test(
  'an archive_document takes DOCX, XLSX, ODT, ZIP and unidentified bytes (201); only the last has a warning event',
  { skip: noSoffice },
  async (t) => {
    await officeSamples();
    for (const [name, bytes] of Object.entries(handSamples())) fs.writeFileSync(at(name), bytes);
    const api = await startTestApi(t);
    await newItem(api, 'DOC-F', 'archive_document');
    const uploads: [string, string, string][] = [
      ['doc.docx', '报告.docx', `${OOXML}.wordprocessingml.document`],
      ['sheet.xlsx', '清单.xlsx', `${OOXML}.spreadsheetml.sheet`],
      ['doc.odt', '笔记.odt', `${ODF}.text`],
      ['bundle.zip', '附件.zip', 'application/zip'],
      ['pdfa-xmp-last.pdf', '档案.pdf', 'application/pdf'],
      ['unknown.bin', '未知.dat', 'application/octet-stream'],
    ];
    for (const [file, name, type] of uploads) {
      const put = await api.app.inject({
        method: 'PUT',
        url: `/v1/items/DOC-F/files/${encodeURIComponent(name)}`,
        headers: api.auth.archivist,
        payload: fs.readFileSync(at(file)),
      });
      t.equal(put.statusCode, 201, `${name}: ${put.body.slice(0, 200)}`);
      t.equal(
        put.json<{ files: { media_type: string }[] }>().files[0]!.media_type,
        type,
        `${name} is ${type}`,
      );
    }
    const item = await api.app.inject({ url: '/v1/items/DOC-F', headers: api.auth.archivist });
    const files = item.json<{ files: { name: string; format?: FileFormat }[] }>().files;
    const format = (name: string) => files.find((f) => f.name === name)?.format;
    t.same(format('报告.docx'), { name: 'DOCX', puid: 'fmt/412' }, 'the format is on the file record');
    t.same(
      format('档案.pdf'),
      { name: 'PDF/A', version: '1b', puid: 'fmt/354' },
      'read from the stored tail',
    );
    t.equal(format('未知.dat'), undefined, 'no format for bytes nothing identified');

    const res = await api.app.inject({ url: '/v1/items/DOC-F/events', headers: api.auth.archivist });
    t.equal(res.statusCode, 200);
    const warnings = res
      .json<{ events: PremisEvent[] }>()
      .events.filter((e) => e.type === 'format identification');
    t.equal(warnings.length, 1, 'one format identification event: for the unidentified file only');
    t.match(warnings[0], { outcome: 'warning', objects: ['未知.dat'], detail: /application\/octet-stream/ });
    t.equal(warnings[0]!.version, (await api.items.get('DOC-F')).version, 'on the version that added it');
  },
);

t.test('size limits still refuse, whatever the format', async (t) => {
  const api = await startTestApi(t, { maxUploadBytes: 2_000 });
  await newItem(api, 'DOC-L', 'archive_document');
  const put = await api.app.inject({
    method: 'PUT',
    url: '/v1/items/DOC-L/files/big.dat',
    headers: api.auth.archivist,
    payload: UNKNOWN,
  });
  t.equal(put.statusCode, 413);
  t.equal(put.json<{ code: string }>().code, 'CIKU_ERR_UPLOAD_TOO_LARGE');
  t.equal((await api.items.get('DOC-L')).version, 'v1', 'nothing stored');
});

t.test(
  'a batch row with a file nothing identifies is ingested with a warning, not failed',
  { skip: noSoffice },
  async (t) => {
    await officeSamples();
    const env = await batchEnv(t);
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'ciku-formats-batch-'));
    t.teardown(() => fs.rmSync(src, { recursive: true, force: true }));
    fs.writeFileSync(path.join(src, 'unknown.bin'), UNKNOWN);
    fs.copyFileSync(at('doc.docx'), path.join(src, 'report.docx'));
    fs.writeFileSync(
      path.join(src, 'manifest.csv'),
      'id,kind,title,files\nfmt-1,archive_document,未识别的文件,unknown.bin\nfmt-2,archive_document,报告,report.docx\n',
    );
    const { view } = await env.batches.start(src, { by: 'test' });
    const done = await env.finished(view.id);
    t.match(done.counts, { total: 2, ingested: 2, failed: 0 }, 'both rows ingested, none failed');
    const report = (await env.batches.reportCsv(view.id)).split('\n');
    t.match(
      report.find((line) => line.includes('fmt-1')),
      /ingested.*format not identified.*unknown\.bin/,
      "the report's row says why it carries a warning",
    );
    t.notMatch(
      report.find((line) => line.includes('fmt-2')),
      /not identified/,
      'and the DOCX row does not',
    );
    const kept = await env.items.get('fmt-1');
    t.equal(kept.files[0]?.media_type, 'application/octet-stream');
    const events = await env.items.events('fmt-1');
    t.ok(
      events.some((e) => e.type === 'format identification' && e.outcome === 'warning'),
      'the batch-ingested file has its warning event',
    );
    t.same((await env.items.get('fmt-2')).files[0]?.format, { name: 'DOCX', puid: 'fmt/412' });

    // The row itself says so, for the report's reason column.
    const enqueued: string[] = [];
    const queue = { enqueue: async (name: string) => (enqueued.push(name), name) };
    const row = {
      row: 1,
      id: 'fmt-3',
      kind: 'archive_document',
      access: { level: 'private' as const },
      named_access: [],
      metadata: { title: '未识别' },
      files: [{ path: path.join(src, 'unknown.bin'), name: 'unknown.bin', role: 'original' as const }],
    };
    const result = await ingestRow({ items: env.items, queue }, 'b-test-000000', row, {
      agent: { name: 'test', address: 'urn:ciku:agent:test' },
      principal: { role: 'admin' },
      root: fs.realpathSync(src),
    });
    t.equal(result.status, 'ingested');
    t.match(result.warning, /format not identified.*unknown\.bin/);
    t.ok(enqueued.includes('index-item'), 'its follow-ups were enqueued as for any row');
  },
);
