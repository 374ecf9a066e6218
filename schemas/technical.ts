import { Type, type Static } from '@sinclair/typebox';

/**
 * Technical metadata read from a file's bytes (exifr for images, ffprobe for audio/video, our parser for
 * transcripts), normalised into our words. Every field is optional: a malformed file yields what could be read
 * plus `warnings`, never a failed item.
 */
const Num = Type.Number();
const Str = (max = 2000) => Type.String({ maxLength: max });
const Opt = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) => Type.Optional(schema);

export const Gps = Type.Object({
  latitude: Num,
  longitude: Num,
  altitude: Opt(Num),
});

export const ImageTechnical = Type.Object({
  type: Type.Literal('image'),
  format: Opt(Str(40)),
  width: Opt(Type.Integer()),
  height: Opt(Type.Integer()),
  /** Pages (multi-page TIFF, animated images); derivatives use the first. */
  pages: Opt(Type.Integer()),
  colour_space: Opt(Str(40)),
  bits_per_sample: Opt(Type.Integer()),
  has_alpha: Opt(Type.Boolean()),
  /** EXIF orientation 1–8 as stored; derivatives are already turned upright. */
  orientation: Opt(Type.Integer({ minimum: 1, maximum: 8 })),
  make: Opt(Str(200)),
  model: Opt(Str(200)),
  software: Opt(Str(500)),
  /** When the picture was taken (EXIF DateTimeOriginal / CreateDate, IPTC date), ISO 8601 as written. */
  created: Opt(Str(64)),
  gps: Opt(Gps),
  icc: Opt(Type.Object({ description: Opt(Str(200)), colour_space: Opt(Str(40)) })),
  iptc: Opt(
    Type.Object({
      object_name: Opt(Str()),
      headline: Opt(Str()),
      caption: Opt(Str(20_000)),
      byline: Opt(Type.Array(Str(500))),
      keywords: Opt(Type.Array(Str(500))),
      city: Opt(Str(500)),
      province: Opt(Str(500)),
      country: Opt(Str(500)),
      copyright: Opt(Str()),
      credit: Opt(Str()),
      special_instructions: Opt(Str()),
    }),
  ),
  xmp: Opt(
    Type.Object({
      title: Opt(Str()),
      description: Opt(Str(20_000)),
      creator: Opt(Type.Array(Str(500))),
      subject: Opt(Type.Array(Str(500))),
      rights: Opt(Str()),
      creator_tool: Opt(Str(500)),
      rating: Opt(Num),
    }),
  ),
});
export type ImageTechnicalT = Static<typeof ImageTechnical>;

export const AvStream = Type.Object({
  index: Type.Integer(),
  type: Type.Union([
    Type.Literal('video'),
    Type.Literal('audio'),
    Type.Literal('subtitle'),
    Type.Literal('data'),
    Type.Literal('attachment'),
  ]),
  codec: Opt(Str(60)),
  profile: Opt(Str(60)),
  /** A cover picture stored as a video stream (MP3/M4A artwork): not a video. */
  attached_picture: Opt(Type.Boolean()),
  width: Opt(Type.Integer()),
  height: Opt(Type.Integer()),
  pixel_format: Opt(Str(40)),
  frame_rate: Opt(Num),
  /** Display rotation in degrees (clockwise, normalised to 0/90/180/270). */
  rotation: Opt(Type.Integer()),
  channels: Opt(Type.Integer()),
  channel_layout: Opt(Str(60)),
  sample_rate: Opt(Type.Integer()),
  bits_per_sample: Opt(Type.Integer()),
  bit_rate: Opt(Type.Integer()),
  duration: Opt(Num),
  language: Opt(Str(20)),
});
export type AvStreamT = Static<typeof AvStream>;

export const AvTechnical = Type.Object({
  type: Type.Union([Type.Literal('video'), Type.Literal('audio')]),
  container: Opt(Str(100)),
  duration: Opt(Num),
  bit_rate: Opt(Type.Integer()),
  width: Opt(Type.Integer()),
  height: Opt(Type.Integer()),
  /** Width/height as displayed (rotation applied). */
  display_width: Opt(Type.Integer()),
  display_height: Opt(Type.Integer()),
  rotation: Opt(Type.Integer()),
  created: Opt(Str(64)),
  gps: Opt(Gps),
  make: Opt(Str(200)),
  model: Opt(Str(200)),
  /** Container tags (title, artist, comment, encoder, …) as written, lower-cased keys. */
  tags: Opt(Type.Record(Type.String(), Str(20_000))),
  chapters: Opt(Type.Array(Type.Object({ start: Num, end: Num, title: Opt(Str(500)) }))),
  streams: Type.Array(AvStream),
});
export type AvTechnicalT = Static<typeof AvTechnical>;

export const TranscriptSegment = Type.Object({
  start: Type.Number({ minimum: 0 }),
  end: Type.Number({ minimum: 0 }),
  speaker: Opt(Str(200)),
  text: Str(20_000),
});
export type TranscriptSegmentT = Static<typeof TranscriptSegment>;

export const TranscriptTechnical = Type.Object({
  type: Type.Literal('transcript'),
  format: Type.Union([Type.Literal('webvtt'), Type.Literal('srt')]),
  segments: Type.Integer(),
  duration: Opt(Num),
  speakers: Opt(Type.Array(Str(200))),
});
export type TranscriptTechnicalT = Static<typeof TranscriptTechnical>;

/** A bookmark of a PDF's outline: its title, the page it opens (1-based; absent when it names no page), depth from 1. */
export const OutlineEntry = Type.Object({
  title: Str(500),
  page: Opt(Type.Integer({ minimum: 1 })),
  level: Type.Integer({ minimum: 1, maximum: 32 }),
});
export type OutlineEntryT = Static<typeof OutlineEntry>;

/** One entry of a ZIP's central directory, as listed (a ZIP is never extracted to disk). */
export const ArchiveEntry = Type.Object({
  name: Str(4096),
  size: Type.Integer({ minimum: 0 }),
  compressed_size: Opt(Type.Integer({ minimum: 0 })),
  modified: Opt(Str(64)),
  directory: Opt(Type.Boolean()),
});
export type ArchiveEntryT = Static<typeof ArchiveEntry>;

/**
 * Documents (PDF, office files, plain text, ZIP): what the bytes say about themselves. `pages` is what the file
 * declares (a PDF's page count, an office file's pages as rendered); `text_pages` how many had a usable text
 * layer or extracted text, `ocr_pages` how many were read by OCR (machine reading: a researcher must know).
 */
export const DocumentTechnical = Type.Object({
  type: Type.Literal('document'),
  /** Format name as we show it: `PDF`, `PDF/A`, `DOCX`, `XLSX`, `PPTX`, `ODT`, `ODS`, `ODP`, `RTF`, `Text`, `CSV`, `ZIP`. */
  format: Opt(Str(60)),
  /** The version the bytes declare (`1.7` for a PDF). */
  format_version: Opt(Str(20)),
  /** PDF/A conformance from the XMP `pdfaid` part and conformance (`1b`, `2b`, `3a` …). */
  pdfa: Opt(Str(10)),
  pages: Opt(Type.Integer({ minimum: 0 })),
  title: Opt(Str(2000)),
  author: Opt(Str(2000)),
  subject: Opt(Str(2000)),
  keywords: Opt(Str(2000)),
  creator_tool: Opt(Str(500)),
  producer: Opt(Str(500)),
  created: Opt(Str(64)),
  modified: Opt(Str(64)),
  encrypted: Opt(Type.Boolean()),
  /** Page size of the first page in PDF points (1/72 in). */
  page_width: Opt(Num),
  page_height: Opt(Num),
  outline: Opt(Type.Array(OutlineEntry, { maxItems: 5000 })),
  text_pages: Opt(Type.Integer({ minimum: 0 })),
  ocr_pages: Opt(Type.Integer({ minimum: 0 })),
  /** Tesseract languages OCR used (`chi_sim+eng`), when any page was OCR'd. */
  ocr_languages: Opt(Str(100)),
  /** Sheet names of a spreadsheet. */
  sheets: Opt(Type.Array(Str(500), { maxItems: 1000 })),
  /** Characters of text extracted in all. */
  characters: Opt(Type.Integer({ minimum: 0 })),
  /** ZIP: the listed entries (the first 10,000) and how many there are. */
  entries: Opt(Type.Array(ArchiveEntry, { maxItems: 10_000 })),
  entry_count: Opt(Type.Integer({ minimum: 0 })),
});
export type DocumentTechnicalT = Static<typeof DocumentTechnical>;

export const Technical = Type.Union([ImageTechnical, AvTechnical, TranscriptTechnical, DocumentTechnical]);
export type TechnicalT = Static<typeof Technical>;

export const derivativeKinds = [
  'thumbnail',
  'preview',
  'iiif',
  'proxy',
  'poster',
  'waveform',
  'segments',
  /** Documents and OCR'd scans: `text.json` (DocumentText), the text of each page. */
  'text',
  /** OCR'd pages: a folder of hOCR files, `{page}.hocr` (words with their boxes, in the page render's pixels). */
  'hocr',
  /** Multi-page documents: a folder `{page}/` per page with `thumbnail.jpg`, `preview.jpg` and, for large renders, `iiif/`. */
  'pages',
  /** Office files: the PDF LibreOffice made of them (`preview.pdf`), from which their pages are rendered. */
  'pdf',
] as const;
export type DerivativeKind = (typeof derivativeKinds)[number];

export const DerivativeEntry = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('pending'), Type.Literal('failed')]),
  reason: Opt(Str(2000)),
  /** Blob key relative to the file's derivative folder (`iiif`: the folder holding info.json). */
  path: Opt(Str(200)),
  media_type: Opt(Str(100)),
  size: Opt(Type.Integer()),
  width: Opt(Type.Integer()),
  height: Opt(Type.Integer()),
  duration: Opt(Num),
  codec: Opt(Str(60)),
  /** `proxy` only: true when the source was already web-playable and was stream-copied, not re-encoded. */
  stream_copy: Opt(Type.Boolean()),
  tiles: Opt(Type.Integer()),
  /**
   * `iiif` only: which layout of files the folder holds (absent: the first, libvips' tiles alone). An entry older
   * than IIIF_LAYOUT (services/archive/derivatives.ts) counts as missing, so `rederive --missing` remakes it.
   */
  layout: Opt(Type.Integer({ minimum: 1 })),
  /** `pages`, `text`, `hocr`: how many pages the folder or file holds. */
  pages: Opt(Type.Integer({ minimum: 0 })),
});
export type DerivativeEntryT = Static<typeof DerivativeEntry>;

/** One record per content digest, outside the OCFL objects: what was read from the bytes and what was made. */
export const DerivativeRecord = Type.Object({
  sha512: Type.String({ pattern: '^[0-9a-f]{128}$' }),
  media_type: Str(200),
  updated: Str(64),
  technical: Opt(Technical),
  warnings: Type.Array(Str(2000)),
  derivatives: Type.Record(Type.String(), DerivativeEntry),
});
export type DerivativeRecordT = Static<typeof DerivativeRecord>;

export const WaveformPeaks = Type.Object({
  version: Type.Literal(1),
  duration: Num,
  sample_rate: Type.Integer(),
  samples_per_pixel: Type.Integer(),
  length: Type.Integer(),
  /** Interleaved min/max pairs, −1…1 rounded to 1e-4. */
  data: Type.Array(Num),
});
export type WaveformPeaksT = Static<typeof WaveformPeaks>;

/**
 * The `text` derivative (`text.json`): each page's text and where it came from — `text-layer` (a PDF's own text),
 * `extracted` (an office or text file, one page per sheet / slide / rendered page), `ocr` (machine reading, with
 * Tesseract's mean word confidence 0–100). `width`/`height`: the page render OCR read, in pixels (hOCR boxes are
 * in these pixels; a IIIF canvas of the page has this size).
 */
export const PageText = Type.Object({
  page: Type.Integer({ minimum: 1 }),
  text: Type.String({ maxLength: 2_000_000 }),
  source: Type.Union([Type.Literal('text-layer'), Type.Literal('extracted'), Type.Literal('ocr')]),
  confidence: Opt(Type.Number({ minimum: 0, maximum: 100 })),
  width: Opt(Type.Integer({ minimum: 1 })),
  height: Opt(Type.Integer({ minimum: 1 })),
  /** Sheet or slide name when the page is one. */
  label: Opt(Str(500)),
});
export type PageTextT = Static<typeof PageText>;

export const DocumentText = Type.Object({
  version: Type.Literal(1),
  pages: Type.Array(PageText),
});
export type DocumentTextT = Static<typeof DocumentText>;
