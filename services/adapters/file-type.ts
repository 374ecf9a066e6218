import { fileTypeFromBuffer } from 'file-type';

/** The one module that imports file-type: the media type of some leading bytes, from magic numbers. */
export async function sniffMagic(head: Buffer): Promise<string | undefined> {
  // mpegOffsetTolerance: some MP3s start their first frame a byte or so after the ID3 tag.
  const detected = await fileTypeFromBuffer(head, { mpegOffsetTolerance: 10 });
  return detected?.mime;
}
