import type { FileFormat } from '../../schemas/item.ts';
import { describeFormat } from './pronom.ts';

/**
 * The media type of an upload from its first bytes: magic numbers first (through the injected sniffer, an
 * adapter), then — for what has no magic — a text sniff: valid UTF-8 (or, failing that, GB18030, which much of the
 * zone's older digital record is in) without control characters is text, refined to WebVTT, SRT, JSON or CSV by
 * content. Names and Content-Type headers are never consulted.
 */
export type MagicSniffer = (head: Buffer) => Promise<string | undefined>;

const SRT = /^\uFEFF?\s*\d+\r?\n\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s+-->\s+\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}/;

/** The head as text in `encoding`, or undefined when it is not (a byte sequence it forbids, a control character). */
function decodeAs(encoding: string, head: Buffer, complete: boolean): string | undefined {
  // A multi-byte character may be cut at the end of the head: drop up to three trailing bytes.
  for (let cut = 0; cut <= (complete ? 0 : 3); cut += 1) {
    try {
      const text = new TextDecoder(encoding, { fatal: true }).decode(head.subarray(0, head.length - cut));
      // eslint-disable-next-line no-control-regex
      return /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/.test(text) ? undefined : text;
    } catch {
      // try a shorter prefix
    }
  }
  return undefined;
}

/**
 * Text and the encoding it decodes in: a BOM decides; else UTF-8; else GB18030 if the text holds Han characters
 * (GB18030 decodes most byte soup that avoids 0x80 and 0xFF, so decoding alone proves little).
 */
function asText(head: Buffer, complete: boolean): { text: string; charset: string } | undefined {
  if (head.length === 0) return { text: '', charset: 'UTF-8' };
  if (head[0] === 0xff && head[1] === 0xfe) {
    const text = decodeAs('utf-16le', head, complete);
    return text === undefined ? undefined : { text, charset: 'UTF-16LE' };
  }
  if (head[0] === 0xfe && head[1] === 0xff) {
    const text = decodeAs('utf-16be', head, complete);
    return text === undefined ? undefined : { text, charset: 'UTF-16BE' };
  }
  const utf8 = decodeAs('utf-8', head, complete);
  if (utf8 !== undefined) return { text: utf8, charset: 'UTF-8' };
  const gb = decodeAs('gb18030', head, complete);
  if (gb !== undefined && /\p{Script=Han}/u.test(gb)) return { text: gb, charset: 'GB18030' };
  return undefined;
}

/**
 * Comma-separated values: at least two records, every complete one with the same number (≥ 2) of fields. Quotes are
 * honoured (a quoted field may hold commas and newlines); the last record of a cut head is not counted.
 */
function isCsv(text: string, complete: boolean): boolean {
  const counts: number[] = [];
  let fields = 1;
  let quoted = false;
  let empty = true;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') i += 1;
        else quoted = false;
      }
    } else if (c === '"') quoted = true;
    else if (c === ',') fields += 1;
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      if (!empty || fields > 1) counts.push(fields);
      fields = 1;
      empty = true;
      continue;
    }
    empty = false;
  }
  if (complete && !quoted && (!empty || fields > 1)) counts.push(fields);
  return counts.length >= 2 && counts[0]! >= 2 && counts.every((n) => n === counts[0]);
}

/**
 * Container signatures the sniffer can refuse: a TIFF whose first IFD lies past the head we read (16-bit scans
 * put it at the end), and damaged RIFF/WAVE or Matroska headers. Typed by their signature, such files are kept
 * and the workers record exactly why they cannot be decoded, instead of the upload being refused as unknown bytes.
 */
function containerSignature(head: Buffer): string | undefined {
  const ascii = (from: number, to: number): string => head.toString('latin1', from, to);
  // Classic TIFF (42) and BigTIFF (43, 64-bit offsets: the large scans).
  if (['II*\u0000', 'MM\u0000*', 'II+\u0000', 'MM\u0000+'].includes(ascii(0, 4))) return 'image/tiff';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'audio/wav';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'video/matroska';
  return undefined;
}

/**
 * One spelling per media type: detectors and tools disagree (file-type says `video/matroska`, older lists
 * `video/x-matroska`; WAV has four names), and a policy listing one spelling refused every file given the other.
 * The registered (IANA) name wins where there is one.
 */
const aliases: Record<string, string> = {
  'video/x-matroska': 'video/matroska',
  'audio/x-matroska': 'audio/matroska',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-flac': 'audio/flac',
  'audio/x-aiff': 'audio/aiff',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/x-aac': 'audio/aac',
  'audio/mp3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'video/x-msvideo': 'video/vnd.avi',
  'video/avi': 'video/vnd.avi',
  'video/mp2p': 'video/mpeg',
  'video/x-mpeg': 'video/mpeg',
  'video/msvideo': 'video/vnd.avi',
  'image/jpg': 'image/jpeg',
  'image/x-ms-bmp': 'image/bmp',
  'image/x-bmp': 'image/bmp',
  'image/x-png': 'image/png',
  'text/xml': 'application/xml',
  'text/x-vtt': 'text/vtt',
  'text/srt': 'application/x-subrip',
};

/** `Video/MP2P` → `video/mpeg`; parameters dropped (`audio/ogg; codecs=opus` → `audio/ogg`). */
export function canonicalMediaType(mediaType: string): string {
  const t = mediaType.split(';')[0]!.trim().toLowerCase();
  return Object.hasOwn(aliases, t) ? aliases[t]! : t;
}

/**
 * The compound-file (OLE2) formats of the old Office programs, told apart by the name of their main stream in the
 * file's directory (128-byte entries, each starting with its UTF-16LE name); a directory past the head leaves the
 * generic type.
 */
function compoundFileType(head: Buffer, tail?: { bytes: Buffer; at: number }): string {
  const streams: [string, string][] = [
    ['WordDocument', 'application/msword'],
    ['Workbook', 'application/vnd.ms-excel'],
    ['Book', 'application/vnd.ms-excel'],
    ['PowerPoint Document', 'application/vnd.ms-powerpoint'],
  ];
  // Directory entries sit at multiples of 128 bytes from the start of the file; in the tail, from its offset.
  const scan = (bytes: Buffer, from: number): string | undefined => {
    for (let at = from; at + 128 <= bytes.length; at += 128) {
      const length = bytes.readUInt16LE(at + 64);
      if (length < 2 || length > 64) continue;
      const name = bytes.toString('utf16le', at, at + length - 2);
      const found = streams.find(([stream]) => stream === name);
      if (found) return found[1];
    }
    return undefined;
  };
  return (
    scan(head, 512) ??
    (tail === undefined ? undefined : scan(tail.bytes, (128 - (tail.at % 128)) % 128)) ??
    'application/x-cfb'
  );
}

const XMP = /^<(\?xpacket\s|x:xmpmeta[\s>])/;

function textType(text: string, complete: boolean): string {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('WEBVTT')) return 'text/vtt';
  // An XMP packet or sidecar (Adobe's metadata, beside museum scans) is XML without an XML declaration.
  if (XMP.test(trimmed)) return 'application/xml';
  if (SRT.test(text)) return 'application/x-subrip';
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && complete) {
    try {
      JSON.parse(trimmed);
      return 'application/json';
    } catch {
      return 'text/plain';
    }
  }
  return isCsv(text, complete) ? 'text/csv' : 'text/plain';
}

/** What identification found: the media type, and the format where something identified the bytes. */
export interface Identification {
  mediaType: string;
  format?: FileFormat;
}

/**
 * Identification from the bytes: the media type (magic numbers, then the text sniff) and the format's name, version
 * and PRONOM id (pronom.ts). `tail`: the file's last bytes, asked for only when they may say more (a PDF's XMP).
 * Bytes nothing identifies are `application/octet-stream` with no format: the caller records a warning.
 */
export async function identify(
  input: { head: Buffer; size: number; tail?: () => Promise<Buffer> },
  sniff: MagicSniffer,
): Promise<Identification> {
  const { head, size } = input;
  const complete = head.length >= size;
  const magic = (await sniff(head)) ?? containerSignature(head);
  let mediaType: string;
  let charset: string | undefined;
  // The last bytes, read once and only for formats that may keep what names them at the end.
  let tail: Buffer | undefined;
  const readTail = async (): Promise<Buffer | undefined> =>
    complete || input.tail === undefined ? undefined : (tail ??= await input.tail());
  if (magic !== undefined) {
    mediaType = canonicalMediaType(magic);
    if (mediaType === 'application/x-cfb') {
      mediaType = compoundFileType(head);
      // Writers put the directory where it fits, often last (PowerPoint's): look there too.
      const end = mediaType === 'application/x-cfb' ? await readTail() : undefined;
      if (end !== undefined) mediaType = compoundFileType(head, { bytes: end, at: size - end.length });
    }
  } else {
    const text = asText(head, complete);
    if (text === undefined) return { mediaType: 'application/octet-stream' };
    mediaType = textType(text.text, complete);
    charset = text.charset;
  }
  if (mediaType === 'application/pdf') await readTail();
  const format = describeFormat(mediaType, head, {
    ...(tail === undefined ? {} : { tail }),
    ...(charset === undefined ? {} : { charset }),
  });
  return { mediaType, ...(format === undefined ? {} : { format }) };
}

/** The media type alone (see `identify`). */
export async function detectMediaType(head: Buffer, size: number, sniff: MagicSniffer): Promise<string> {
  return (await identify({ head, size }, sniff)).mediaType;
}

/** How many of a file's last bytes `identify` reads for a PDF's XMP (PDF/A): writers put it first or last. */
export const TAIL_BYTES = 64 * 1024;
