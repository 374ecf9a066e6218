/**
 * The media type of an upload from its first bytes: magic numbers first (through the injected sniffer, an
 * adapter), then — for what has no magic — a text sniff: valid UTF-8 without NULs is text, refined to WebVTT, SRT
 * or JSON by content. Names and Content-Type headers are never consulted.
 */
export type MagicSniffer = (head: Buffer) => Promise<string | undefined>;

const SRT = /^\uFEFF?\s*\d+\r?\n\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s+-->\s+\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}/;

function asText(head: Buffer, complete: boolean): string | undefined {
  if (head.length === 0) return '';
  // A multi-byte character may be cut at the end of the head: drop up to three trailing bytes.
  for (let cut = 0; cut <= (complete ? 0 : 3); cut += 1) {
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      // eslint-disable-next-line no-control-regex
      return /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/.test(text) ? undefined : text;
    } catch {
      // try a shorter prefix
    }
  }
  return undefined;
}

/**
 * Container signatures the sniffer can refuse: a TIFF whose first IFD lies past the head we read (16-bit scans
 * put it at the end), and damaged RIFF/WAVE or Matroska headers. Typed by their signature, such files are kept
 * and the workers record exactly why they cannot be decoded, instead of the upload being refused as unknown bytes.
 */
function containerSignature(head: Buffer): string | undefined {
  const ascii = (from: number, to: number): string => head.toString('latin1', from, to);
  if (ascii(0, 4) === 'II*\u0000' || ascii(0, 4) === 'MM\u0000*') return 'image/tiff';
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

export async function detectMediaType(head: Buffer, size: number, sniff: MagicSniffer): Promise<string> {
  const magic = (await sniff(head)) ?? containerSignature(head);
  if (magic !== undefined) return canonicalMediaType(magic);
  const text = asText(head, head.length >= size);
  if (text === undefined) return 'application/octet-stream';
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('WEBVTT')) return 'text/vtt';
  if (SRT.test(text)) return 'application/x-subrip';
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && head.length >= size) {
    try {
      JSON.parse(trimmed);
      return 'application/json';
    } catch {
      return 'text/plain';
    }
  }
  return 'text/plain';
}
