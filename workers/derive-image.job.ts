import { mediaPolicy } from '../schemas/media-policy.ts';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobPayload } from '../schemas/jobs.ts';
import type { DerivativeEntryT, DerivativeRecordT, ImageTechnicalT } from '../schemas/technical.ts';
import { readImageTags } from '../services/adapters/exif.ts';
import { makeIiifTiles, makePreviewAndThumbnail, probeImage } from '../services/adapters/image.ts';
import { expectedKinds, IIIF_LAYOUT, SCAN_OCR_KINDS } from '../services/archive/derivatives.ts';
import { dropUndefined } from '../services/drop-undefined.ts';
import { isCikuError } from '../services/errors.ts';
import { imageInfoDocument, levelZeroInfo, type StoredImageInfo } from '../services/iiif/image-api.ts';
import { failed, finishDerivation, kindsToMake, sourceFile, verdictOf, type JobDeps } from './job-deps.ts';
import type { Handler, JobContext } from './registry.ts';

export const THUMBNAIL_SIDE = 256;
export const PREVIEW_SIDE = 1600;
const TILE_UPLOADS_AT_ONCE = 8;
/**
 * The long side of the pre-made `full/max`. Up to it, `max` is the whole image at full size (a 5184×3456 photograph
 * is a ~4 MB JPEG); a larger scan would make a `max` of tens or hundreds of MB that no viewer wants in one request
 * (they zoom with tiles), so its info.json declares maxWidth/maxHeight and `max` is the image at this long side.
 */
export const IIIF_MAX_SIDE = 8192;

/**
 * Technical metadata (exifr + libvips header) and image derivatives: thumbnail and preview (WebP, upright, sRGB),
 * and IIIF level-0 tiles for images with a long side ≥ 3000 px. Malformed metadata only adds warnings; pixels
 * that cannot be decoded end as a recorded failure with the reason.
 */
export function deriveImage(deps: JobDeps): Handler<'derive-image'> {
  return async (p, ctx) => {
    // The record and the source's location are read together (two small reads, no need to wait for one).
    const [{ missing, record }, src] = await Promise.all([
      deps.derivatives.missingKinds(p.sha512, p.mediaType),
      sourceFile(deps, p, () => ctx.scratch()),
    ]);
    if (!p.force && record !== undefined && missing.length === 0 && p.kinds === undefined) {
      return { status: 'skipped', detail: 'every derivative is already made' };
    }
    ctx.progress('metadata', 5);
    const limits = { maxPixels: deps.limits.maxImagePixels };
    // Thumbnail and preview do not depend on what the header says, so they are made while exifr and the header
    // probe run: the JS work overlaps libvips' threads instead of waiting for them.
    const wanted = kindsToMake(expectedKinds(p.mediaType), p, record, missing);
    const wantPreview = wanted.includes('preview');
    const wantThumbnail = wanted.includes('thumbnail');
    const [tagsResult, infoResult, madeResult] = await Promise.allSettled([
      readImageTags(src),
      probeImage(src, limits),
      wantPreview || wantThumbnail
        ? makePreviewAndThumbnail(
            src,
            { preview: wantPreview, thumbnail: wantThumbnail },
            { ...limits, previewSide: PREVIEW_SIDE, thumbnailSide: THUMBNAIL_SIDE },
          )
        : Promise.resolve({}),
    ]);
    if (tagsResult.status === 'rejected') throw tagsResult.reason;
    const { tags, warnings } = tagsResult.value;
    const derivatives: Record<string, DerivativeEntryT> = {};
    const errors: unknown[] = [];
    let technical: ImageTechnicalT = { type: 'image', ...tags };
    if (infoResult.status === 'rejected') {
      const err = verdictOf(infoResult.reason);
      if (!err) throw infoResult.reason;
      for (const kind of wanted) derivatives[kind] = failed(err);
      // Throws the (permanent) error after recording it.
      await finishDerivation(deps, p, { technical, warnings, derivatives }, [err]);
      return { status: 'done' };
    }
    const info = infoResult.value;
    technical = imageTechnical(info, tags);
    if (info.pages !== undefined && info.pages > 1)
      warnings.push(`${info.pages} pages: derivatives show the first`);

    const kinds = kindsToMake(expectedKinds(p.mediaType, technical), p, record, missing);
    if (madeResult.status === 'rejected') {
      const err = verdictOf(madeResult.reason);
      if (!err) throw madeResult.reason;
      errors.push(err);
      if (wantPreview) derivatives.preview = failed(err);
      if (wantThumbnail) derivatives.thumbnail = failed(err);
    } else {
      ctx.progress('preview', 40);
      Object.assign(derivatives, await publishPreviews(deps, p.sha512, madeResult.value as Made));
    }

    if (kinds.includes('iiif')) {
      ctx.progress('tiles', 50);
      try {
        derivatives.iiif = await publishTiles(deps, p, ctx, src, limits, technical);
      } catch (caught) {
        const err = verdictOf(caught);
        if (!err) throw caught;
        errors.push(err);
        derivatives.iiif = failed(err);
      }
    }
    ctx.progress('record', 98);
    await finishDerivation(deps, p, { technical, warnings, derivatives, previous: record }, errors);
    // After the record is written (derive-document merges its kinds into the record it reads then).
    await handOverScan(deps, p, record);
    return { status: 'done' };
  };
}

/**
 * A scan of an item whose kind OCRs scans goes on to derive-document (its text and hOCR), unless its text was made
 * (or failed) already and nothing asks for it again.
 */
async function handOverScan(
  deps: JobDeps,
  p: JobPayload<'derive-image'>,
  record: DerivativeRecordT | undefined,
): Promise<void> {
  const asked = p.kinds?.filter((k) => (SCAN_OCR_KINDS as readonly string[]).includes(k));
  // Only the image's own kinds were asked for (rederive --missing of a lost tile).
  if (asked !== undefined && asked.length === 0) return;
  if (asked === undefined && !p.force && record?.derivatives.text !== undefined) return;
  const item = await deps.items.get(p.itemId).catch((err: unknown) => {
    // Deleted since it was queued: its derivatives are made, there is nothing to read for anyone.
    if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) return undefined;
    throw err;
  });
  // The kind's media policy says whether its images are scans to OCR (the archive's documents are its scanned
  // pages; a museum's object photographs are not text).
  if (item === undefined || item.tombstone || !mediaPolicy[item.kind].ocrScans) return;
  await deps.queue.enqueue('derive-document', { ...p, ...(asked === undefined ? {} : { kinds: asked }) });
}

type Made = Awaited<ReturnType<typeof makePreviewAndThumbnail>>;

/** The image's technical record: the libvips header's facts, and exifr's tags over them. */
function imageTechnical(
  info: Awaited<ReturnType<typeof probeImage>>,
  tags: Partial<ImageTechnicalT>,
): ImageTechnicalT {
  return dropUndefined({
    type: 'image' as const,
    format: info.format,
    width: info.width,
    height: info.height,
    pages: info.pages,
    colour_space: info.colour_space,
    bits_per_sample: info.bits_per_sample,
    has_alpha: info.has_alpha,
    ...tags,
  });
}

/** The preview and thumbnail made, stored side by side; their entries. */
async function publishPreviews(
  deps: JobDeps,
  sha512: string,
  made: Made,
): Promise<Record<string, DerivativeEntryT>> {
  const out: Record<string, DerivativeEntryT> = {};
  await Promise.all(
    (['preview', 'thumbnail'] as const).map(async (kind) => {
      const m = made[kind];
      if (!m) return;
      await deps.derivatives.putFile(sha512, `${kind}.webp`, m.data, 'image/webp');
      out[kind] = {
        status: 'ready',
        path: `${kind}.webp`,
        media_type: 'image/webp',
        size: m.size,
        width: m.width,
        height: m.height,
      };
    }),
  );
  return out;
}

/** IIIF level-0 tiles, made in scratch and uploaded a few at a time, info.json last. */
async function publishTiles(
  deps: JobDeps,
  p: JobPayload<'derive-image'>,
  ctx: JobContext,
  src: string,
  limits: { maxPixels: number },
  technical: ImageTechnicalT,
): Promise<DerivativeEntryT> {
  const tiles = await makeIiifTiles(src, path.join(await ctx.scratch(), 'tiles'), {
    ...limits,
    maxSide: IIIF_MAX_SIDE,
  });
  // A forced rebuild starts from an empty folder: no tile of an earlier layout stays behind.
  if (p.force) await deps.derivatives.clear(p.sha512, 'iiif/');
  const files = tiles.files.filter((f) => f !== 'info.json' && f.endsWith('.jpg'));
  for (let i = 0; i < files.length; i += TILE_UPLOADS_AT_ONCE) {
    await Promise.all(
      files
        .slice(i, i + TILE_UPLOADS_AT_ONCE)
        .map((f) =>
          deps.derivatives.putFile(
            p.sha512,
            `iiif/${f}`,
            createReadStream(path.join(tiles.root, f)),
            'image/jpeg',
          ),
        ),
    );
    ctx.progress('tiles', 50 + Math.round((45 * i) / files.length));
  }
  // info.json last: a viewer that finds it finds every tile and size it names (sizes: the files just written).
  const libvipsInfo = JSON.parse(
    await fs.readFile(path.join(tiles.root, 'info.json'), 'utf8'),
  ) as StoredImageInfo;
  // Stored as a whole level-0 document (the id a placeholder, as libvips writes it): the API answers with the
  // version's own id over these facts.
  const info = imageInfoDocument('https://ciku.invalid/iiif', levelZeroInfo(libvipsInfo, files, tiles.max));
  await deps.derivatives.putFile(p.sha512, 'iiif/info.json', JSON.stringify(info), 'application/ld+json');
  return {
    status: 'ready',
    path: 'iiif',
    media_type: 'application/ld+json',
    width: technical.width,
    height: technical.height,
    tiles: files.length,
    layout: IIIF_LAYOUT,
  } as DerivativeEntryT;
}
