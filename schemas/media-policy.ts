import type { ItemKind } from './item.ts';
import { officeTypes } from './jobs.ts';

/**
 * What each kind holds and makes derivatives from, how large one file may be, and whether its scanned pages are
 * OCR'd. The lists never refuse anything: every kind preserves any byte stream whatever its format (DESIGN principle 9)
 * — they say which formats a kind expects (the upload form's hint, the API's description) and derives from. Types
 * come from the bytes (magic numbers, then a text sniff), never from the name or the Content-Type header, in one
 * spelling each (`canonicalMediaType` in services/archive/media-type.ts): these lists use that spelling only.
 */
const image = [
  'image/jpeg',
  'image/png',
  'image/tiff',
  'image/webp',
  'image/heic',
  'image/heif',
  'image/avif',
  'image/jp2',
  'image/gif',
  'image/bmp',
];
const audio = [
  'audio/mpeg',
  'audio/wav',
  'audio/flac',
  'audio/aac',
  'audio/mp4',
  'audio/ogg',
  'audio/opus',
  'audio/webm',
  'audio/aiff',
  'audio/matroska',
];
const video = [
  'video/mp4',
  'video/quicktime',
  'video/matroska',
  'video/webm',
  'video/vnd.avi',
  'video/mpeg',
  'video/mp2t',
  'video/x-m4v',
  'video/3gpp',
  'video/ogg',
];
const documents = [
  'application/pdf',
  'application/xml',
  'application/json',
  'text/plain',
  'text/csv',
  // The office formats the document job reads (one list: schemas/jobs.ts).
  ...officeTypes,
  'application/zip',
];
const transcripts = ['text/vtt', 'application/x-subrip', 'text/plain'];

const GiB = 1024 ** 3;

export interface KindPolicy {
  /** The media types this kind expects and makes derivatives from; any other type is kept all the same. */
  derivesFrom: readonly string[];
  /** The largest file (bytes) one item of this kind takes; the global limit applies too. */
  maxBytes: number;
  /** Whether pages without a usable text layer (scans, image-only PDF pages) are OCR'd by the document job. */
  ocrScans: boolean;
}

export const mediaPolicy: Record<ItemKind, KindPolicy> = {
  oral_history: {
    derivesFrom: [...audio, ...video, ...transcripts, ...image, ...documents],
    maxBytes: 256 * GiB,
    ocrScans: false,
  },
  archive_document: { derivesFrom: [...documents, ...image], maxBytes: 16 * GiB, ocrScans: true },
  collection_object: { derivesFrom: [...image, ...documents], maxBytes: 16 * GiB, ocrScans: false },
  inheritor: {
    derivesFrom: [...image, ...documents, ...audio, ...video, ...transcripts],
    maxBytes: 64 * GiB,
    ocrScans: false,
  },
  ich_project: {
    derivesFrom: [...image, ...documents, ...audio, ...video, ...transcripts],
    maxBytes: 64 * GiB,
    ocrScans: false,
  },
  heritage_site: { derivesFrom: [...image, ...documents, ...video], maxBytes: 64 * GiB, ocrScans: false },
  media: {
    derivesFrom: [...image, ...audio, ...video, ...transcripts],
    maxBytes: 256 * GiB,
    ocrScans: false,
  },
};

/** Whether a kind makes derivatives from (expects) a detected media type: a hint, never a reason to refuse. */
export function derivesFrom(kind: ItemKind, mediaType: string): boolean {
  return mediaPolicy[kind].derivesFrom.includes(mediaType);
}
