import { inflateRawSync } from 'node:zlib';
import type { FileFormat } from '../../schemas/item.ts';

/**
 * Format names and versions read from a file's own bytes, and the PRONOM identifiers (The National Archives' format
 * registry, https://www.nationalarchives.gov.uk/PRONOM/) of the common ones. The media type is decided first
 * (media-type.ts); this reads only what the bytes state — the `%PDF-1.7` header, `GIF89a`, a JFIF or BWF version field,
 * ODF's `office:version` — from the head we already hold (and, for a PDF, its tail). A version the bytes do not state
 * is left out rather than guessed, and so is a PUID we could not vouch for.
 */

/** PUIDs by `name` or `name version`, as `describeFormat` names them. Only identifiers checked against PRONOM. */
export const pronom: Readonly<Record<string, string>> = {
  'PDF 1.0': 'fmt/14',
  'PDF 1.1': 'fmt/15',
  'PDF 1.2': 'fmt/16',
  'PDF 1.3': 'fmt/17',
  'PDF 1.4': 'fmt/18',
  'PDF 1.5': 'fmt/19',
  'PDF 1.6': 'fmt/20',
  'PDF 1.7': 'fmt/276',
  'PDF 2.0': 'fmt/1129',
  'PDF/A 1a': 'fmt/95',
  'PDF/A 1b': 'fmt/354',
  'PDF/A 2a': 'fmt/476',
  'PDF/A 2b': 'fmt/477',
  'PDF/A 2u': 'fmt/478',
  'PDF/A 3a': 'fmt/479',
  'PDF/A 3b': 'fmt/480',
  'PDF/A 3u': 'fmt/481',
  TIFF: 'fmt/353',
  'JFIF 1.00': 'fmt/42',
  'JFIF 1.01': 'fmt/43',
  'JFIF 1.02': 'fmt/44',
  JP2: 'x-fmt/392',
  'PNG 1.0': 'fmt/11',
  'PNG 1.1': 'fmt/12',
  'PNG 1.2': 'fmt/13',
  'GIF 87a': 'fmt/3',
  'GIF 89a': 'fmt/4',
  DOCX: 'fmt/412',
  XLSX: 'fmt/214',
  PPTX: 'fmt/215',
  'ODT 1.1': 'fmt/290',
  'ODT 1.2': 'fmt/291',
  'ODS 1.1': 'fmt/294',
  'ODS 1.2': 'fmt/295',
  ZIP: 'x-fmt/263',
  'WAV PCMWAVEFORMAT': 'fmt/141',
  'BWF 0': 'fmt/1',
  'BWF 1': 'fmt/2',
  'BWF 2': 'fmt/527',
  FLAC: 'fmt/279',
  MP3: 'fmt/134',
  MP4: 'fmt/199',
  QuickTime: 'x-fmt/384',
  'XML 1.0': 'fmt/101',
  'Plain text': 'x-fmt/111',
  CSV: 'x-fmt/18',
};

/** The name of each media type whose version (if any) is not read from its bytes below. */
const names: Readonly<Record<string, string>> = {
  'image/webp': 'WebP',
  'image/heic': 'HEIC',
  'image/heif': 'HEIF',
  'image/avif': 'AVIF',
  'image/bmp': 'BMP',
  'image/jpx': 'JPX',
  'image/j2c': 'JPEG 2000 codestream',
  'image/vnd.adobe.photoshop': 'Photoshop',
  'image/x-adobe-dng': 'DNG',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'XLSX',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PPTX',
  'application/msword': 'Word 97-2003',
  'application/vnd.ms-excel': 'Excel 97-2003',
  'application/vnd.ms-powerpoint': 'PowerPoint 97-2003',
  'application/x-cfb': 'OLE2 compound file',
  'application/zip': 'ZIP',
  'application/epub+zip': 'EPUB',
  'application/gzip': 'GZIP',
  'application/x-tar': 'TAR',
  'application/x-7z-compressed': '7z',
  'application/x-rar-compressed': 'RAR',
  'application/json': 'JSON',
  'application/postscript': 'PostScript',
  'audio/flac': 'FLAC',
  'audio/aac': 'AAC',
  'audio/mp4': 'MPEG-4 audio',
  'audio/ogg': 'Ogg',
  'audio/opus': 'Opus',
  'audio/aiff': 'AIFF',
  'audio/webm': 'WebM',
  'audio/matroska': 'Matroska',
  'video/mp4': 'MP4',
  'video/quicktime': 'QuickTime',
  'video/matroska': 'Matroska',
  'video/webm': 'WebM',
  'video/vnd.avi': 'AVI',
  'video/mpeg': 'MPEG-PS',
  'video/mp2t': 'MPEG-TS',
  'video/x-m4v': 'M4V',
  'video/3gpp': '3GP',
  'video/ogg': 'Ogg',
  'text/vtt': 'WebVTT',
  'application/x-subrip': 'SubRip',
  'text/plain': 'Plain text',
  'text/csv': 'CSV',
};

const latin1 = (b: Buffer, from: number, to: number): string =>
  b.toString('latin1', Math.max(0, from), Math.min(b.length, to));

/** `%PDF-1.7` in the first KiB (the spec lets junk precede it); PDF/A from its XMP `pdfaid` part and conformance. */
function pdf(head: Buffer, tail: Buffer | undefined): Omit<FileFormat, 'puid'> {
  const version = /%PDF-(\d\.\d)/.exec(latin1(head, 0, 1024))?.[1];
  // XMP writes the id as elements (<pdfaid:part>2</pdfaid:part>) or as attributes (pdfaid:part="2").
  for (const bytes of tail ? [head, tail] : [head]) {
    const text = bytes.toString('latin1');
    const part = /pdfaid:part(?:>|="|=')\s*(\d)/.exec(text)?.[1];
    if (part === undefined) continue;
    const conformance = /pdfaid:conformance(?:>|="|=')\s*([ABUabu])/.exec(text)?.[1];
    return { name: 'PDF/A', version: `${part}${conformance?.toLowerCase() ?? ''}` };
  }
  return { name: 'PDF', ...(version === undefined ? {} : { version }) };
}

/** JFIF's version from its APP0 segment, Exif's from the ExifVersion tag of its IFD; stops at the scan. */
function jpeg(head: Buffer): Omit<FileFormat, 'puid'> {
  let at = 2;
  while (at + 4 <= head.length && head[at] === 0xff) {
    const marker = head[at + 1]!;
    if (marker === 0xda || marker === 0xd9) break;
    const length = head.readUInt16BE(at + 2);
    const body = at + 4;
    if (marker === 0xe0 && latin1(head, body, body + 5) === 'JFIF\u0000' && body + 7 <= head.length) {
      return { name: 'JFIF', version: `${head[body + 5]}.${String(head[body + 6]).padStart(2, '0')}` };
    }
    if (marker === 0xe1 && latin1(head, body, body + 6) === 'Exif\u0000\u0000') {
      const version = exifVersion(head.subarray(body + 6, Math.min(head.length, body + length - 2)));
      return { name: 'Exif', ...(version === undefined ? {} : { version }) };
    }
    at += 2 + length;
  }
  return { name: 'JPEG' };
}

/** ExifVersion (tag 0x9000, four ASCII digits such as `0232`) from the Exif sub-IFD of a TIFF-structured block. */
function exifVersion(tiff: Buffer): string | undefined {
  if (tiff.length < 8) return undefined;
  const le = latin1(tiff, 0, 2) === 'II';
  const u16 = (o: number) => (o + 2 <= tiff.length ? (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o)) : -1);
  const u32 = (o: number) => (o + 4 <= tiff.length ? (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o)) : -1);
  const find = (ifd: number, tag: number): number | undefined => {
    const count = u16(ifd);
    for (let i = 0; i < count && i < 512; i += 1) {
      const entry = ifd + 2 + i * 12;
      if (u16(entry) === tag) return entry;
    }
    return undefined;
  };
  const pointer = find(u32(4), 0x8769);
  if (pointer === undefined) return undefined;
  const entry = find(u32(pointer + 8), 0x9000);
  if (entry === undefined) return undefined;
  const digits = latin1(tiff, entry + 8, entry + 12);
  // `0232` is 2.32, `0230` 2.3 and `0220` 2.2: the versions as the Exif standard numbers them.
  return /^\d{4}$/.test(digits)
    ? `${Number(digits.slice(0, 2))}.${digits.slice(2).replace(/(?<=\d)0$/, '')}`
    : undefined;
}

/**
 * PNG states no version: this is the earliest one that defines every chunk the head uses (1.1 added iCCP, sRGB and
 * sPLT; 1.2 added iTXt), which is how PRONOM tells fmt/11, fmt/12 and fmt/13 apart.
 */
function png(head: Buffer): Omit<FileFormat, 'puid'> {
  let version = '1.0';
  for (let at = 8; at + 8 <= head.length;) {
    const length = head.readUInt32BE(at);
    const type = latin1(head, at + 4, at + 8);
    if (type === 'iTXt') version = '1.2';
    else if ((type === 'iCCP' || type === 'sRGB' || type === 'sPLT') && version === '1.0') version = '1.1';
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return { name: 'PNG', version };
}

/** RIFF WAVE: BWF when a `bext` chunk is there (its version field), else WAV named by the size of its fmt chunk. */
function wav(head: Buffer): Omit<FileFormat, 'puid'> {
  let fmt: string | undefined;
  for (let at = 12; at + 8 <= head.length;) {
    const id = latin1(head, at, at + 4);
    const size = head.readUInt32LE(at + 4);
    if (id === 'bext') {
      // Description 256 + Originator 32 + OriginatorReference 32 + date 10 + time 8 + TimeReference 8 = 346.
      const version = at + 8 + 348 <= head.length ? head.readUInt16LE(at + 8 + 346) : undefined;
      return { name: 'BWF', ...(version === undefined ? {} : { version: String(version) }) };
    }
    if (id === 'fmt ' && at + 10 <= head.length) {
      const tag = head.readUInt16LE(at + 8);
      fmt =
        size === 16 && tag === 1
          ? 'PCMWAVEFORMAT'
          : tag === 0xfffe
            ? 'WAVEFORMATEXTENSIBLE'
            : size >= 18
              ? 'WAVEFORMATEX'
              : undefined;
    }
    at += 8 + size + (size % 2);
  }
  return { name: 'WAV', ...(fmt === undefined ? {} : { version: fmt }) };
}

/** MPEG audio: MP3 when its first frame (after any ID3v2 tag) is Layer III, else MPEG audio of another layer. */
function mpegAudio(head: Buffer): Omit<FileFormat, 'puid'> {
  let at = 0;
  if (latin1(head, 0, 3) === 'ID3' && head.length >= 10) {
    // The tag size is four 7-bit bytes ("synchsafe"), after a 10-byte header.
    at = 10 + ((head[6]! << 21) | (head[7]! << 14) | (head[8]! << 7) | head[9]!);
  }
  for (const end = Math.min(head.length - 1, at + 16); at < end; at += 1) {
    if (head[at] === 0xff && (head[at + 1]! & 0xe0) === 0xe0) {
      return { name: ((head[at + 1]! >> 1) & 0b11) === 0b01 ? 'MP3' : 'MPEG audio' };
    }
  }
  return { name: 'MPEG audio' };
}

const LOCAL_HEADER = Buffer.from('PK\u0003\u0004', 'latin1');

/**
 * The entries of a ZIP whose local headers lie in the head, in order. A streamed writer (LibreOffice among them)
 * states an entry's size only after its data (general-purpose bit 3): the next entry is then found by its signature,
 * and the data handed over runs to there (inflate stops at the end of its own stream).
 */
function* zipEntries(head: Buffer): Generator<{ name: string; data: () => Buffer | undefined }> {
  for (let at = 0; at >= 0 && at + 30 <= head.length && head.readUInt32LE(at) === 0x04034b50;) {
    const sizeLater = (head.readUInt16LE(at + 6) & 0x08) !== 0;
    const method = head.readUInt16LE(at + 8);
    const compressed = head.readUInt32LE(at + 18);
    const nameLength = head.readUInt16LE(at + 26);
    const start = at + 30 + nameLength + head.readUInt16LE(at + 28);
    const next = sizeLater && compressed === 0 ? head.indexOf(LOCAL_HEADER, start) : start + compressed;
    const bytes = head.subarray(start, next < 0 ? head.length : next);
    const cut = !(sizeLater && compressed === 0) && bytes.length < compressed;
    yield {
      name: head.toString('utf8', at + 30, at + 30 + nameLength),
      data: () => {
        if (cut) return undefined;
        if (method === 0) return bytes;
        // A bound on what one small XML part may inflate to: a crafted entry cannot make this allocate much.
        if (method === 8) return inflateRawSync(bytes, { maxOutputLength: 1024 * 1024 });
        return undefined;
      },
    };
    at = next;
  }
}

/** ODF's version from `office:version` on the root of meta.xml or content.xml (whichever the head holds first). */
function odf(head: Buffer, name: string): Omit<FileFormat, 'puid'> {
  try {
    for (const entry of zipEntries(head)) {
      if (entry.name !== 'meta.xml' && entry.name !== 'content.xml') continue;
      const xml = entry.data()?.toString('utf8', 0, 4096);
      const version = xml === undefined ? undefined : /office:version="([0-9.]{1,8})"/.exec(xml)?.[1];
      if (version !== undefined) return { name, version };
    }
  } catch {
    // A damaged entry: the format is still the one its mimetype entry named, its version unknown.
  }
  return { name };
}

const odfNames: Readonly<Record<string, string>> = {
  'application/vnd.oasis.opendocument.text': 'ODT',
  'application/vnd.oasis.opendocument.spreadsheet': 'ODS',
  'application/vnd.oasis.opendocument.presentation': 'ODP',
  'application/vnd.oasis.opendocument.graphics': 'ODG',
};

function nameAndVersion(
  mediaType: string,
  head: Buffer,
  tail: Buffer | undefined,
): Omit<FileFormat, 'puid'> | undefined {
  const ascii = latin1(head, 0, 16);
  switch (mediaType) {
    case 'application/pdf':
      return pdf(head, tail);
    case 'image/jpeg':
      return jpeg(head);
    case 'image/png':
      return png(head);
    case 'image/gif':
      return { name: 'GIF', ...(/^GIF(8[79]a)/.test(ascii) ? { version: ascii.slice(3, 6) } : {}) };
    case 'image/tiff':
      // Version 43 in the header is BigTIFF (64-bit offsets), 42 classic TIFF.
      return { name: ascii.startsWith('II+\u0000') || ascii.startsWith('MM\u0000+') ? 'BigTIFF' : 'TIFF' };
    case 'image/jp2':
      return { name: 'JP2' };
    case 'audio/wav':
      return wav(head);
    case 'audio/mpeg':
      return mpegAudio(head);
    case 'application/rtf':
      return { name: 'RTF', ...(/^\{\\rtf(\d)/.test(ascii) ? { version: ascii[5]! } : {}) };
    case 'application/xml': {
      if (/^\uFEFF?\s*<(\?xpacket\s|x:xmpmeta[\s>])/.test(head.toString('utf8', 0, 200)))
        return { name: 'XMP' };
      const version = /^\uFEFF?<\?xml[^>]*version=["']([0-9.]+)["']/.exec(head.toString('utf8', 0, 200))?.[1];
      return { name: 'XML', ...(version === undefined ? {} : { version }) };
    }
    default:
      if (Object.hasOwn(odfNames, mediaType)) return odf(head, odfNames[mediaType]!);
      return Object.hasOwn(names, mediaType) ? { name: names[mediaType]! } : undefined;
  }
}

/** The PUID our table gives a format, by name and version, else by name alone (a versionless entry). */
export function puidFor(format: Pick<FileFormat, 'name' | 'version'>): string | undefined {
  const key = format.version === undefined ? format.name : `${format.name} ${format.version}`;
  if (Object.hasOwn(pronom, key)) return pronom[key];
  return Object.hasOwn(pronom, format.name) ? pronom[format.name] : undefined;
}

/**
 * The format of bytes already typed `mediaType`: name, version where the bytes state it, PUID where the table has
 * one. `tail`: the last bytes of the file, where a PDF often keeps its XMP (PDF/A). Undefined for a media type we
 * have no name for (the media type stands alone) and for application/octet-stream.
 */
export function describeFormat(
  mediaType: string,
  head: Buffer,
  options: { tail?: Buffer; charset?: string } = {},
): FileFormat | undefined {
  const found = nameAndVersion(mediaType, head, options.tail);
  if (found === undefined) return undefined;
  const puid = puidFor(found);
  return {
    ...found,
    ...(puid === undefined ? {} : { puid }),
    ...(options.charset === undefined ? {} : { charset: options.charset }),
  };
}
