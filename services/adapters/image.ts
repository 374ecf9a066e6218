import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Semaphore } from 'async-mutex';
import sharp, { type OutputInfo } from 'sharp';
import { CikuError } from '../errors.ts';

/**
 * The one module that imports sharp. Decoding is bounded (`limitInputPixels`), so a decompression bomb fails
 * cleanly instead of exhausting memory; work runs on libvips' own threads, never on the event loop. Every sharp
 * call goes through `runVips`.
 */

/**
 * Operations at once. sharp runs each on libuv's thread pool (4 threads, 16 in `ciku work`: UV_THREADPOOL_SIZE), so
 * more than 64 would only queue there instead. Kept small: the semaphore's release walks its slot count (with
 * 65,536 slots a call cost ~350 µs; with 64, ~3 µs, against milliseconds for any libvips operation).
 */
const VIPS_SLOTS = 64;
const vipsSlots = new Semaphore(VIPS_SLOTS);
/** Operations started so far: a failure with a different count than at its start overlapped a later one. */
let vipsStarted = 0;

/**
 * Runs one libvips operation (`op` builds its own pipeline, so it can be run again). libvips keeps one error log per
 * process (libvips#707): an operation that fails while another runs can report the other's text, or none at all
 * (sharp then says only "Warning treated as error due to failOn setting"; CI saw this for a HEIC whose reason is
 * HEVC). So a failure that overlapped another operation is run once more alone — it waits for the running ones and
 * new ones wait for it — and that run's outcome is the one reported. Failures are rare and successes do not wait
 * for each other.
 */
export async function runVips<T>(op: () => Promise<T>): Promise<T> {
  const first = await vipsSlots.runExclusive(async () => {
    const ticket = ++vipsStarted;
    const alone = vipsSlots.getValue() === VIPS_SLOTS - 1; // this operation holds the only slot taken
    try {
      return { ok: true as const, value: await op() };
    } catch (err) {
      return { ok: false as const, err, overlapped: !alone || vipsStarted !== ticket };
    }
  }, 1);
  if (first.ok) return first.value;
  if (!first.overlapped) throw first.err;
  // All slots: it runs alone, so no other operation can overlap it and the start count need not move.
  return vipsSlots.runExclusive(op, VIPS_SLOTS);
}

export interface ImageInfo {
  format: string;
  width: number;
  height: number;
  pages?: number;
  colour_space?: string;
  bits_per_sample?: number;
  has_alpha?: boolean;
}

export interface MadeImage {
  data: Buffer;
  width: number;
  height: number;
  size: number;
}

export interface ImageLimits {
  /** Largest width × height decoded; beyond it the file is refused as a (possible) decompression bomb. */
  maxPixels: number;
}

const bitsOf: Record<string, number> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  double: 64,
};

function mediaError(err: unknown): CikuError {
  const msg = (err as Error).message ?? String(err);
  const first = msg.split('\n').find((l) => l.trim() !== '') ?? msg;
  if (/pixel limit|exceeds pixel/i.test(msg)) {
    return new CikuError('CIKU_ERR_MEDIA_TOO_LARGE', `image exceeds the decoding pixel limit: ${first}`);
  }
  if (/unsupported image format|not built in|no decoder|decoder plugin/i.test(msg)) {
    const codec = /Support for this compression format has not been built in: (\w+)/.exec(msg)?.[1];
    return new CikuError(
      'CIKU_ERR_MEDIA_UNSUPPORTED',
      codec
        ? `this image codec (${codec}) cannot be decoded by the installed libvips`
        : `this image format cannot be decoded by the installed libvips: ${first}`,
    );
  }
  return new CikuError('CIKU_ERR_MEDIA_UNREADABLE', `image could not be decoded: ${first}`.slice(0, 1000));
}

const input = (file: string, limits: ImageLimits) =>
  // page 0: a multi-page TIFF's derivatives show its first page (the page count is reported).
  sharp(file, { limitInputPixels: limits.maxPixels, page: 0, pages: 1, sequentialRead: true });

export async function probeImage(file: string, limits: ImageLimits): Promise<ImageInfo> {
  try {
    const m = await runVips(() => sharp(file, { limitInputPixels: limits.maxPixels }).metadata());
    if (!m.width || !m.height || !m.format) throw new Error('no dimensions');
    if (m.width * m.height > limits.maxPixels) {
      throw new CikuError(
        'CIKU_ERR_MEDIA_TOO_LARGE',
        `image is ${m.width}×${m.height}, above the ${limits.maxPixels}-pixel decoding limit`,
      );
    }
    return {
      format: m.format,
      width: m.width,
      height: m.height,
      ...(m.pages === undefined ? {} : { pages: m.pages }),
      ...(m.space === undefined ? {} : { colour_space: m.space }),
      ...(m.depth === undefined || bitsOf[m.depth] === undefined
        ? {}
        : { bits_per_sample: bitsOf[m.depth]! }),
      has_alpha: m.hasAlpha,
    };
  } catch (err) {
    throw err instanceof CikuError ? err : mediaError(err);
  }
}

/**
 * Preview (long side ≤ `previewSide`, WebP) straight from the source — libvips shrinks JPEG on load — and the
 * thumbnail from the preview's pixels, so a large master is decoded once. Both turned upright (EXIF orientation)
 * and converted to sRGB (CMYK, 16-bit, ProPhoto, Display P3 … all end as 8-bit sRGB); alpha is kept.
 */
export async function makePreviewAndThumbnail(
  file: string,
  want: { preview: boolean; thumbnail: boolean },
  options: ImageLimits & { previewSide: number; thumbnailSide: number },
): Promise<{ preview?: MadeImage; thumbnail?: MadeImage }> {
  try {
    const result: { preview?: MadeImage; thumbnail?: MadeImage } = {};
    const resize = (side: number) => ({
      width: side,
      height: side,
      fit: 'inside' as const,
      withoutEnlargement: true,
    });
    const first = await runVips(() =>
      input(file, options)
        .rotate()
        .resize(resize(want.preview ? options.previewSide : options.thumbnailSide))
        .toColourspace('srgb')
        .webp({ quality: 82, effort: 2 })
        .toBuffer({ resolveWithObject: true }),
    );
    const made = (r: { data: Buffer; info: OutputInfo }): MadeImage => ({
      data: r.data,
      width: r.info.width,
      height: r.info.height,
      size: r.info.size,
    });
    if (want.preview) result.preview = made(first);
    if (want.thumbnail) {
      result.thumbnail = want.preview
        ? made(
            await runVips(() =>
              sharp(first.data)
                .resize(resize(options.thumbnailSide))
                .webp({ quality: 80, effort: 2 })
                .toBuffer({ resolveWithObject: true }),
            ),
          )
        : made(first);
    }
    return result;
  } catch (err) {
    throw err instanceof CikuError ? err : mediaError(err);
  }
}

/**
 * IIIF Image API 3.0 level-0 static tiles (512 px, JPEG) plus libvips' `info.json`, written into `dir`, and the
 * whole image as one JPEG (`full/max/0/default.jpg`, which level 0 requires and libvips' layout lacks), its long
 * side at most `maxSide`. The `id` in info.json is a placeholder: the API answers with the service's own.
 */
export async function makeIiifTiles(
  file: string,
  dir: string,
  limits: ImageLimits & { maxSide: number },
): Promise<{ root: string; files: string[]; max: { width: number; height: number } }> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const target = path.join(dir, 'iiif');
    // The same pixels as the tiles (upright, sRGB, flattened): a viewer swapping `max` for tiles sees no shift.
    const pixels = () =>
      input(file, limits).rotate().toColourspace('srgb').flatten({ background: '#ffffff' });
    await runVips(() =>
      pixels()
        .jpeg({ quality: 85 })
        .tile({ size: 512, layout: 'iiif3', id: 'https://ciku.invalid' })
        .toFile(target),
    );
    const maxFile = path.join(target, 'full', 'max', '0', 'default.jpg');
    await fs.mkdir(path.dirname(maxFile), { recursive: true });
    const max = await runVips(() =>
      pixels()
        .resize({ width: limits.maxSide, height: limits.maxSide, fit: 'inside', withoutEnlargement: true })
        .jpeg({ quality: 85 })
        .toFile(maxFile),
    );
    const files = (await fs.readdir(target, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(target, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
    return { root: target, files, max: { width: max.width, height: max.height } };
  } catch (err) {
    throw err instanceof CikuError ? err : mediaError(err);
  }
}

/**
 * A document page's preview and thumbnail (long sides ≤ `previewSide` / `thumbnailSide`), JPEG — renders are opaque
 * pages, and the page folders of documents are served as `…/pages/{n}/preview.jpg` to viewers and manifests that
 * expect JPEG. The thumbnail is made from the preview's pixels, so a 300-dpi render is decoded once.
 */
export async function makePageImages(
  file: string,
  options: ImageLimits & { previewSide: number; thumbnailSide: number },
): Promise<{ preview: MadeImage; thumbnail: MadeImage }> {
  const resize = (side: number) => ({
    width: side,
    height: side,
    fit: 'inside' as const,
    withoutEnlargement: true,
  });
  const made = (r: { data: Buffer; info: OutputInfo }): MadeImage => ({
    data: r.data,
    width: r.info.width,
    height: r.info.height,
    size: r.info.size,
  });
  try {
    const preview = await runVips(() =>
      input(file, options)
        .resize(resize(options.previewSide))
        .toColourspace('srgb')
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 82 })
        .toBuffer({ resolveWithObject: true }),
    );
    const thumbnail = await runVips(() =>
      sharp(preview.data)
        .resize(resize(options.thumbnailSide))
        .jpeg({ quality: 80 })
        .toBuffer({ resolveWithObject: true }),
    );
    return { preview: made(preview), thumbnail: made(thumbnail) };
  } catch (err) {
    throw err instanceof CikuError ? err : mediaError(err);
  }
}

/**
 * The first page of an image as an upright 8-bit PNG at its own resolution, for a reader (Tesseract) that does not
 * decode every format we accept (HEIC, AVIF, WebP) nor apply EXIF orientation; answers its pixel size.
 */
export async function writeUprightPng(
  file: string,
  target: string,
  limits: ImageLimits,
): Promise<{ width: number; height: number }> {
  try {
    const out = await runVips(() =>
      input(file, limits)
        .rotate()
        .toColourspace('srgb')
        .flatten({ background: '#ffffff' })
        .png()
        .toFile(target),
    );
    return { width: out.width, height: out.height };
  } catch (err) {
    throw err instanceof CikuError ? err : mediaError(err);
  }
}

/** Draws an SVG into `file` as a JPEG at `quality` or a PNG (the demo archive's scans are drawn this way). */
export async function rasterizeSvg(
  svg: string,
  file: string,
  format: { jpeg: number } | 'png',
): Promise<void> {
  await runVips(async () => {
    const image = sharp(Buffer.from(svg));
    await (format === 'png' ? image.png() : image.jpeg({ quality: format.jpeg })).toFile(file);
  });
}

/** Reads back an image's format and size (tests and the benchmark check derivatives this way). */
export async function imageSize(
  file: string | Buffer,
): Promise<{ format: string; width: number; height: number }> {
  const m = await runVips(() => sharp(file).metadata());
  return { format: m.format ?? 'unknown', width: m.width ?? 0, height: m.height ?? 0 };
}

/** The mean of each colour channel, 0–255 (tests tell two versions' pixels apart this way). */
export async function meanColour(file: string | Buffer): Promise<number[]> {
  const stats = await runVips(() => sharp(file).stats());
  return stats.channels.slice(0, 3).map((c) => Math.round(c.mean));
}

/**
 * libvips for a long-running worker: no operation cache (each source is decoded once, so cached pixels only cost
 * memory), and its thread pool size.
 */
export function configureImageEngine(options: { concurrency?: number }): void {
  sharp.cache(false);
  if (options.concurrency !== undefined) sharp.concurrency(options.concurrency);
}
