import { CikuError } from '../errors.ts';

/**
 * IIIF Image API 3.0 at level 0: only pre-made files are served, so a request is answered by finding the one stored
 * file that holds exactly its pixels. Parsing is split from that lookup: a request that is not Image API syntax is
 * refused (400) before the item is even read, so the answer says nothing about which items exist; whether a
 * well-formed request names a pre-made file needs the image's info.json, so it is decided after the access check.
 */

export const IMAGE_CONTEXT = 'http://iiif.io/api/image/3/context.json';
export const IMAGE_PROTOCOL = 'http://iiif.io/api/image';
/** What a client gets for `full/max`: the stored file's path under the iiif folder. */
export const FULL_MAX_FILE = 'full/max/0/default.jpg';

export interface ImageRequest {
  region: string;
  size: string;
  rotation: string;
  quality: string;
  format: string;
}

const N = '\\d{1,9}';
const F = '\\d{1,9}(?:\\.\\d{1,9})?';
const REGION = new RegExp(`^(?:full|square|${N},${N},${N},${N}|pct:${F},${F},${F},${F})$`);
const SIZE = new RegExp(`^\\^?(?:max|${N},|,${N}|${N},${N}|!${N},${N}|pct:${F})$`);
const ROTATION = new RegExp(`^!?${F}$`);
const QUALITY = /^(?:color|gray|bitonal|default)$/;
const FORMAT = /^(?:jpg|tif|png|gif|jp2|pdf|webp)$/;

const invalid = (message: string) => new CikuError('CIKU_ERR_REQUEST_INVALID', message);
const unsupported = (message: string) => new CikuError('CIKU_ERR_IIIF_UNSUPPORTED', message);

/**
 * `{region}/{size}/{rotation}/{quality}.{format}` parsed, or 400 CIKU_ERR_REQUEST_INVALID for anything that is not
 * that syntax (including zero-sized regions and sizes, which the spec makes errors), and 400
 * CIKU_ERR_IIIF_UNSUPPORTED for valid syntax that no level-0 file can answer whatever the image (a rotation, a
 * quality, a format, a region or size form other than the ones files are stored under).
 */
export function parseImageRequest(rest: string): ImageRequest {
  const parts = rest.split('/');
  const last = parts[3]?.match(/^([a-z]+)\.([a-z0-9]+)$/);
  if (parts.length !== 4 || !last) throw invalid(`not an IIIF image request: ${rest.slice(0, 200)}`);
  const [region, size, rotation] = parts as [string, string, string];
  const [, quality, format] = last as unknown as [string, string, string];
  if (!REGION.test(region)) throw invalid(`not an IIIF region: ${region.slice(0, 100)}`);
  if (!SIZE.test(size)) throw invalid(`not an IIIF size: ${size.slice(0, 100)}`);
  if (!ROTATION.test(rotation) || Number(rotation.replace('!', '')) > 360)
    throw invalid(`not an IIIF rotation: ${rotation.slice(0, 100)}`);
  if (!QUALITY.test(quality)) throw invalid(`not an IIIF quality: ${quality.slice(0, 100)}`);
  if (!FORMAT.test(format)) throw invalid(`not an IIIF format: ${format.slice(0, 100)}`);
  const numbers = (s: string) => (s.match(/\d+(?:\.\d+)?/g) ?? []).map(Number);
  if (
    /^(?:\d|pct)/.test(region) &&
    numbers(region)
      .slice(2)
      .some((n) => n === 0)
  )
    throw invalid(`a region of zero width or height: ${region}`);
  if (size !== 'max' && size !== '^max' && numbers(size).some((n) => n === 0))
    throw invalid(`a size of zero: ${size}`);
  if (rotation !== '0') throw unsupported(`level 0 serves rotation 0 only, not ${rotation}`);
  if (quality !== 'default') throw unsupported(`level 0 serves the default quality only, not ${quality}`);
  if (format !== 'jpg') throw unsupported(`level 0 serves jpg only, not ${format}`);
  if (region === 'square' || region.startsWith('pct:'))
    throw unsupported(`level 0 serves full and tile regions only, not ${region}`);
  if (size.startsWith('^') || size.startsWith('!') || size.startsWith('pct:'))
    throw unsupported(`level 0 serves the listed sizes and tile sizes only, not ${size}`);
  return { region, size, rotation, quality, format };
}

export interface TileSet {
  width: number;
  height?: number;
  scaleFactors: number[];
}

export interface SizeEntry {
  width: number;
  height: number;
}

/** The parts of an info.json the lookup and the answer need (what the image job stores). */
export interface StoredImageInfo {
  width: number;
  height: number;
  maxWidth?: number;
  maxHeight?: number;
  sizes?: SizeEntry[];
  tiles?: TileSet[];
}

/** Does a size parameter (`w,h`, `w,` or `,h`) name exactly `w`×`h`? */
function sizeNames(size: string, w: number, h: number): boolean {
  const [sw, sh] = size.split(',');
  return (sw === '' || Number(sw) === w) && (sh === '' || Number(sh) === h) && (sw !== '' || sh !== '');
}

/**
 * The stored file (relative to the iiif folder) holding a parsed request's pixels, or 400
 * CIKU_ERR_IIIF_UNSUPPORTED when none is pre-made for it. Files are stored under the canonical form libvips writes
 * (`{x},{y},{w},{h}/{w},{h}` for tiles, `full` when a tile covers the whole image, `full/{w},{h}` for sizes,
 * `full/max`); the equivalent `w,` and `,h` forms older viewers send are mapped onto them.
 */
export function levelZeroFile(info: StoredImageInfo, req: ImageRequest): string {
  const { width: W, height: H } = info;
  const sizes = info.sizes ?? [];
  const largest = sizes.reduce<SizeEntry | undefined>(
    (a, s) => (a === undefined || s.width > a.width ? s : a),
    undefined,
  );
  const max = largest ?? { width: W, height: H };
  const xywh = req.region === 'full' ? [0, 0, W, H] : req.region.split(',').map(Number);
  const [x, y, w, h] = xywh as [number, number, number, number];
  if (x >= W || y >= H) throw unsupported(`region ${req.region} lies outside the ${W}×${H} image`);
  const whole = x === 0 && y === 0 && w === W && h === H;
  if (whole) {
    if (req.size === 'max' || sizeNames(req.size, max.width, max.height)) return FULL_MAX_FILE;
    const listed = sizes.find((s) => sizeNames(req.size, s.width, s.height));
    if (listed) return `full/${listed.width},${listed.height}/0/default.jpg`;
  }
  for (const set of info.tiles ?? []) {
    const tw = set.width;
    const th = set.height ?? set.width;
    for (const s of set.scaleFactors) {
      const stepX = tw * s;
      const stepY = th * s;
      if (x % stepX !== 0 || y % stepY !== 0) continue;
      if (w !== Math.min(stepX, W - x) || h !== Math.min(stepY, H - y)) continue;
      const outW = Math.ceil(w / s);
      const outH = Math.ceil(h / s);
      if (!sizeNames(req.size, outW, outH)) continue;
      return `${whole ? 'full' : `${x},${y},${w},${h}`}/${outW},${outH}/0/default.jpg`;
    }
  }
  throw unsupported(
    `${req.region}/${req.size} is neither a tile nor a listed size of this image (level 0: pre-made files only)`,
  );
}

/**
 * The info.json the image job stores: libvips' answer (tiles, scale factors) with the sizes actually written —
 * libvips' own `full/{w},{h}` files (the top of the pyramid) and `full/max` — and, when `max` is smaller than the
 * image, maxWidth/maxHeight saying so (the spec's way to make `max` the largest pre-made size).
 */
export function levelZeroInfo(
  libvipsInfo: StoredImageInfo,
  files: readonly string[],
  max: SizeEntry,
): StoredImageInfo {
  const sizes = new Map<string, SizeEntry>();
  for (const f of files) {
    const m = /^full\/(\d+),(\d+)\/0\/default\.jpg$/.exec(f);
    if (m) sizes.set(`${m[1]},${m[2]}`, { width: Number(m[1]), height: Number(m[2]) });
  }
  sizes.set(`${max.width},${max.height}`, max);
  const capped = max.width < libvipsInfo.width || max.height < libvipsInfo.height;
  return {
    width: libvipsInfo.width,
    height: libvipsInfo.height,
    ...(capped ? { maxWidth: max.width, maxHeight: max.height } : {}),
    sizes: [...sizes.values()].sort((a, b) => a.width - b.width),
    ...(libvipsInfo.tiles ? { tiles: libvipsInfo.tiles } : {}),
  };
}

/** The info.json answered for one image service: the stored facts under the service's (versioned) id. */
export function imageInfoDocument(id: string, stored: StoredImageInfo): Record<string, unknown> {
  return {
    '@context': IMAGE_CONTEXT,
    id,
    type: 'ImageService3',
    protocol: IMAGE_PROTOCOL,
    profile: 'level0',
    width: stored.width,
    height: stored.height,
    ...(stored.maxWidth === undefined ? {} : { maxWidth: stored.maxWidth }),
    ...(stored.maxHeight === undefined ? {} : { maxHeight: stored.maxHeight }),
    ...(stored.sizes === undefined ? {} : { sizes: stored.sizes }),
    ...(stored.tiles === undefined ? {} : { tiles: stored.tiles }),
  };
}
