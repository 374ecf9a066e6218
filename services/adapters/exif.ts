import exifr from 'exifr';
import { open } from 'node:fs/promises';
import type { ImageTechnicalT } from '../../schemas/technical.ts';
import { dropUndefined, type DropUndefined } from '../drop-undefined.ts';

/**
 * The one module that imports exifr: EXIF (dates, orientation, camera), GPS, IPTC, XMP and an ICC summary read
 * from an image file, normalised into our technical-metadata words. exifr runs with `silentErrors`, so a broken
 * segment costs that segment only; what it could not read comes back as warnings.
 */
export type ImageTags = Omit<ImageTechnicalT, 'type' | 'format' | 'width' | 'height' | 'pages'>;

type Block = Record<string, unknown>;

const MAX_TEXT = 2000;

/**
 * IPTC written as UTF-8 without the CodedCharacterSet marker comes out of exifr as Latin-1 mojibake
 * ("Ã“scar"): when every char fits a byte and those bytes are valid UTF-8, they were UTF-8.
 */
function repairUtf8(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(s) || /[^\u0000-\u00ff]/.test(s)) return s;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(s, 'latin1'));
  } catch {
    return s;
  }
}

function text(v: unknown, max = MAX_TEXT): string | undefined {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') {
    // XMP language alternatives come as { lang, value } or arrays of them.
    if (v && typeof v === 'object' && 'value' in v) return text(v.value, max);
    if (Array.isArray(v) && v.length > 0) return text(v[0], max);
    return undefined;
  }
  const s = repairUtf8(v)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .trim();
  return s === '' ? undefined : s.slice(0, max);
}

function list(v: unknown): string[] | undefined {
  const raw = Array.isArray(v) ? v : v === undefined ? [] : [v];
  const out = raw.map((x) => text(x, 500)).filter((x): x is string => x !== undefined);
  return out.length > 0 ? out.slice(0, 200) : undefined;
}

/** EXIF `2008:10:22 16:29:49` → `2008-10-22T16:29:49` (no zone: cameras record local time without one). */
function exifDate(v: unknown, offset?: unknown): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  const s = text(v, 64);
  if (s === undefined) return undefined;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(s);
  if (!m || m[1] === '0000') return undefined;
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  if (m[4] === undefined) return date;
  const zone = text(offset, 10);
  return `${date}T${m[4]}:${m[5]}:${m[6] ?? '00'}${zone && /^[+-]\d{2}:\d{2}$/.test(zone) ? zone : ''}`;
}

/** IPTC DateCreated `20030830` or `2003-08-30` → `2003-08-30`. */
function iptcDate(v: unknown): string | undefined {
  const s = text(v, 32);
  const m = s === undefined ? null : /^(\d{4})-?(\d{2})-?(\d{2})/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

function compact<T extends object>(o: T): DropUndefined<T> | undefined {
  const out = dropUndefined(o);
  return Object.keys(out).length === 0 ? undefined : out;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * exifr stops reading a PNG at IDAT, but the PNG spec lets an eXIf chunk come after it (some cameras and tools
 * write it there). Walking chunk headers costs one small read per chunk; pixel data is skipped, not read.
 */
async function pngExifAfterData(file: string): Promise<Buffer | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    if ((await fh.read(head, 0, 8, 0)).bytesRead < 8 || !head.equals(PNG_SIGNATURE)) return undefined;
    let pos = 8;
    let afterData = false;
    for (let i = 0; i < 100_000; i += 1) {
      if ((await fh.read(head, 0, 8, pos)).bytesRead < 8) return undefined;
      const length = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (type === 'IEND') return undefined;
      if (type === 'IDAT') afterData = true;
      else if (type === 'eXIf' && afterData) {
        if (length > 4 * 1024 * 1024) return undefined;
        const data = Buffer.alloc(length);
        const { bytesRead } = await fh.read(data, 0, length, pos + 8);
        return bytesRead === length ? data : undefined;
      }
      pos += 12 + length;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

const exifrOptions = {
  tiff: true,
  ifd0: {},
  exif: true,
  gps: true,
  iptc: true,
  xmp: true,
  icc: true,
  ifd1: false,
  interop: false,
  makerNote: false,
  userComment: false,
  mergeOutput: false,
  silentErrors: true,
  translateValues: false,
  reviveValues: false,
  multiSegment: true,
} as const;

export async function readImageTags(file: string): Promise<{ tags: ImageTags; warnings: string[] }> {
  const warnings: string[] = [];
  let out: Record<string, Block | undefined> | undefined;
  try {
    out = (await exifr.parse(file, exifrOptions)) as Record<string, Block | undefined> | undefined;
    {
      const late = await pngExifAfterData(file);
      if (late) {
        const tiff = (await exifr.parse(late, exifrOptions)) as Record<string, Block | undefined> | undefined;
        // XMP's tiff:/exif: namespaces fill the same blocks; the binary EXIF is the authority.
        if (tiff) out = { ...out, ...tiff };
      }
    }
  } catch (err) {
    warnings.push(`metadata could not be read: ${(err as Error).message}`);
  }
  if (!out) return { tags: {}, warnings };
  for (const e of (out.errors as unknown as unknown[] | undefined) ?? []) {
    const msg = e instanceof Error ? e.message : typeof e === 'object' && e ? JSON.stringify(e) : String(e);
    warnings.push(`metadata segment skipped: ${msg}`.slice(0, MAX_TEXT));
  }
  const ifd0 = out.ifd0 ?? {};
  const exif = out.exif ?? {};
  const gpsBlock = out.gps ?? {};
  const iptc = out.iptc ?? {};
  const icc = out.icc ?? {};
  // XMP namespaces arrive as separate blocks (dc, xmp, photoshop, …).
  const dc = out.dc ?? {};
  const xmpBasic = out.xmp ?? out.xap ?? {};
  const xmpRights = out.xmpRights ?? out.xapRights ?? {};
  const photoshop = out.photoshop ?? {};

  let gps: ImageTags['gps'];
  const lat = finite(gpsBlock.latitude);
  const lon = finite(gpsBlock.longitude);
  if (lat !== undefined && lon !== undefined && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    const alt = finite(gpsBlock.GPSAltitude);
    gps = { latitude: lat, longitude: lon, ...(alt === undefined ? {} : { altitude: alt }) };
  } else if (Object.keys(gpsBlock).length > 0 && (gpsBlock.GPSLatitude || gpsBlock.GPSLongitude)) {
    warnings.push('GPS block present but its coordinates could not be read');
  }

  const orientation = finite(ifd0.Orientation);
  const tags: ImageTags = dropUndefined({
    ...(orientation !== undefined && orientation >= 1 && orientation <= 8 ? { orientation } : {}),
    make: text(ifd0.Make, 200),
    model: text(ifd0.Model, 200),
    software: text(ifd0.Software, 500),
    created:
      exifDate(exif.DateTimeOriginal, exif.OffsetTimeOriginal) ??
      exifDate(exif.CreateDate, exif.OffsetTimeDigitized) ??
      iptcDate(iptc.DateCreated) ??
      exifDate(ifd0.ModifyDate ?? ifd0.DateTime),
    gps,
    icc: compact({
      description: text(icc.ProfileDescription, 200),
      colour_space: text(icc.ColorSpaceData, 40),
    }),
    iptc: compact({
      object_name: text(iptc.ObjectName),
      headline: text(iptc.Headline),
      caption: text(iptc.Caption ?? iptc['Caption-Abstract'], 20_000),
      byline: list(iptc.Byline ?? iptc['By-line']),
      keywords: list(iptc.Keywords),
      city: text(iptc.City, 500),
      province: text(iptc.State ?? iptc['Province-State'], 500),
      country: text(iptc.Country ?? iptc['Country-PrimaryLocationName'], 500),
      copyright: text(iptc.CopyrightNotice),
      credit: text(iptc.Credit),
      special_instructions: text(iptc.SpecialInstructions),
    }),
    xmp: compact({
      title: text(dc.title),
      description: text(dc.description, 20_000),
      creator: list(dc.creator),
      subject: list(dc.subject),
      rights: text(dc.rights ?? xmpRights.UsageTerms),
      creator_tool: text(xmpBasic.CreatorTool, 500),
      rating: finite(xmpBasic.Rating),
    }),
  });
  if (tags.xmp === undefined && Object.keys(photoshop).length > 0 && text(photoshop.Headline)) {
    tags.xmp = { title: text(photoshop.Headline)! };
  }
  return { tags, warnings };
}
