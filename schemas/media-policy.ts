import type { ItemKind } from './item.ts';

/**
 * Which detected media types each kind accepts, and how large one file may be. Types come from the bytes
 * (magic numbers, then a text sniff), never from the name or the Content-Type header, in one spelling each
 * (`canonicalMediaType` in services/archive/media-type.ts): these lists use that spelling only.
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
const documents = ['application/pdf', 'application/xml', 'application/json', 'text/plain', 'text/csv'];
const transcripts = ['text/vtt', 'application/x-subrip', 'text/plain'];

const GiB = 1024 ** 3;

export const mediaPolicy: Record<ItemKind, { accept: readonly string[]; maxBytes: number }> = {
  oral_history: { accept: [...audio, ...video, ...transcripts, ...image, ...documents], maxBytes: 256 * GiB },
  archive_document: { accept: [...documents, ...image], maxBytes: 16 * GiB },
  collection_object: { accept: [...image, ...documents], maxBytes: 16 * GiB },
  inheritor: { accept: [...image, ...documents, ...audio, ...video, ...transcripts], maxBytes: 64 * GiB },
  ich_project: { accept: [...image, ...documents, ...audio, ...video, ...transcripts], maxBytes: 64 * GiB },
  heritage_site: { accept: [...image, ...documents, ...video], maxBytes: 64 * GiB },
  media: { accept: [...image, ...audio, ...video, ...transcripts], maxBytes: 256 * GiB },
};
