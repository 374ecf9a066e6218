import {
  dublinCore,
  metadataSchemas,
  type Access,
  type FileRole,
  type ItemKind,
} from '../../schemas/item.ts';
import { SEARCH1_PROFILE } from '../../schemas/iiif-search.ts';
import type { DerivativeEntryT, TechnicalT, TranscriptSegmentT } from '../../schemas/technical.ts';
import {
  annotationId,
  annotationPageId,
  canvasId,
  captionsUrl,
  collectionId,
  derivativeUrl,
  imageServiceId,
  itemJsonUrl,
  itemPageUrl,
  manifestId,
  museumSearchUrl,
  pageCanvasId,
  pageDerivativeUrl,
  pageImageServiceId,
  placeholderCanvasId,
  rangeId,
  searchService1Id,
  searchServiceId,
} from './ids.ts';
import { messageKey, none, words, zh, type LanguageMap } from './words.ts';

/**
 * Presentation 3 manifests, built from data alone (no HTTP, no store): the item version as the caller may read it,
 * each file's technical metadata and its ready derivatives, and the transcripts' segments. One builder per shape —
 * images, a paged document, audio/video — over shared parts. Every id comes from ids.ts, at the public origin.
 */
export type Json = Record<string, unknown>;

/** One page of a multi-page document as its derivatives have it. */
export interface IiifPage {
  page: number;
  /** The render OCR read, in pixels (PageText width/height): the canvas's size, and the hOCR boxes' space. */
  width?: number;
  height?: number;
  /** Sheet or slide name. */
  label?: string;
  /** Level-0 tiles were made of the page (`pages/{n}/iiif/`); otherwise its preview paints it. */
  tiles: boolean;
  /** The page has text (a text layer, extracted text or OCR): Content Search can find it. */
  text: boolean;
}

export interface IiifFile {
  name: string;
  role: FileRole;
  media_type?: string;
  technical?: TechnicalT;
  /** The file's derivatives that are ready (entries with status `ready` and a path), by kind. */
  derivatives: Partial<Record<string, DerivativeEntryT>>;
  /** A document's pages when its `pages` derivative is ready (a PDF, an office file rendered), in page order. */
  pages?: IiifPage[];
}

export interface IiifItem {
  id: string;
  kind: ItemKind;
  version: string;
  metadata: Record<string, unknown>;
  access: Access;
  files: IiifFile[];
}

export interface ManifestInput {
  publicUrl: string;
  item: IiifItem;
  /** The head manifest (`/iiif/{id}/manifest`) rather than the version's own. */
  head: boolean;
  /** Time-coded transcripts of the item (the `segments` derivative of its transcript files). */
  transcripts: { file: string; segments: TranscriptSegmentT[] }[];
}

export type ManifestShape = 'image' | 'book' | 'document' | 'av';

const PRESENTATION_3 = 'http://iiif.io/api/presentation/3/context.json';
const NAVPLACE = 'http://iiif.io/api/extension/navplace/context.json';
/** More sections than this and neighbouring speaker turns are merged: a table of contents, not a transcript. */
const MAX_SECTIONS = 200;
/** Kept out of `metadata`: shown as label/summary/requiredStatement, or too long for a viewer's panel. */
const NOT_METADATA = new Set(['title', 'description', 'rights', 'ocr_text', 'biography']);

const isImage = (f: IiifFile) => f.role !== 'transcript' && (f.media_type ?? '').startsWith('image/');
const isAv = (f: IiifFile) => f.role !== 'transcript' && /^(audio|video)\//.test(f.media_type ?? '');

/** Images with a preview or tiles, AV files with a proxy and a duration: what a canvas can paint. */
export function paintableImages(item: Pick<IiifItem, 'files'>): IiifFile[] {
  return item.files.filter((f) => isImage(f) && (f.derivatives.iiif ?? f.derivatives.preview) !== undefined);
}
export function paintableAv(item: Pick<IiifItem, 'files'>): IiifFile[] {
  return item.files.filter(
    (f) => isAv(f) && f.derivatives.proxy !== undefined && avDuration(f) !== undefined,
  );
}

/** Documents whose pages were rendered: one canvas per page. */
export function paintableDocuments(item: Pick<IiifItem, 'files'>): IiifFile[] {
  return item.files.filter((f) => f.role !== 'transcript' && (f.pages?.length ?? 0) > 0);
}

/** Which shape an item's manifest has, or undefined when it has nothing to paint (no manifest: see README). */
export function manifestShape(item: Pick<IiifItem, 'kind' | 'files'>): ManifestShape | undefined {
  if (paintableAv(item).length > 0) return 'av';
  if (paintableDocuments(item).length > 0) return 'document';
  const images = paintableImages(item).length;
  if (images === 0) return undefined;
  return item.kind === 'archive_document' && images > 1 ? 'book' : 'image';
}

/** The manifest of an item version in the shape its files give, or undefined when nothing can be painted. */
export function buildManifest(input: ManifestInput): Json | undefined {
  switch (manifestShape(input.item)) {
    case 'image':
      return imageManifest(input);
    case 'book':
      return bookManifest(input);
    case 'document':
      return documentManifest(input);
    case 'av':
      return avManifest(input);
    case undefined:
      return undefined;
  }
}

/** An image or several: one canvas per image, painted by its Image API service (recipe 0005). */
export function imageManifest(input: ManifestInput): Json {
  const canvases = paintableImages(input.item).map((f) => imageCanvas(input, f, none(f.name)));
  return common(input, canvases);
}

/** Several scans of one document: one canvas per page, turned as a book (recipe 0009). */
export function bookManifest(input: ManifestInput): Json {
  const canvases = paintableImages(input.item).map((f, i) =>
    imageCanvas(input, f, words('iiif.page', { n: i + 1 })),
  );
  return { ...common(input, canvases), behavior: ['paged'] };
}

/**
 * A multi-page document (a PDF, an office file as rendered): one canvas per page of each document file, painted by
 * the page's level-0 image service when it has tiles, else by its preview, with its thumbnail; turned as a book
 * (recipe 0009), the PDF's outline as the table of contents (0024). Images of the same item follow.
 */
export function documentManifest(input: ManifestInput): Json {
  const documents = paintableDocuments(input.item);
  const canvases = [
    ...documents.flatMap((f) => f.pages!.map((p) => pageCanvas(input, f, p))),
    ...paintableImages(input.item).map((f) => imageCanvas(input, f, none(f.name))),
  ];
  const structures = documentStructures(input, documents);
  return { ...common(input, canvases), behavior: ['paged'], ...(structures ? { structures } : {}) };
}

/**
 * Audio or video (recipes 0002/0003): a canvas with the proxy as painting body, the transcript as a `supplementing`
 * WebVTT (0219), a table of contents from the file's chapters or the transcript's sections (0026), the poster as
 * `placeholderCanvas` (0013). Images of the same item follow as canvases of their own.
 */
export function avManifest(input: ManifestInput): Json {
  const av = paintableAv(input.item);
  const canvases = [
    ...av.map((f, i) => avCanvas(input, f, i === 0 ? input.transcripts : [])),
    ...paintableImages(input.item).map((f) => imageCanvas(input, f, none(f.name))),
  ];
  const structures = avStructures(input, av[0]!);
  return { ...common(input, canvases), ...(structures ? { structures } : {}) };
}

// ---- the parts every shape shares ----

const title = (item: IiifItem): string =>
  typeof item.metadata.title === 'string' && item.metadata.title !== '' ? item.metadata.title : item.id;

function common(input: ManifestInput, items: Json[]): Json {
  const { item, publicUrl } = input;
  const m = item.metadata;
  const place = navPlace(input);
  const date = navDate(m);
  const thumbnail = thumbnailOf(input);
  const rights = rightsUri(m.rights);
  const searchable =
    input.transcripts.some((t) => t.segments.length > 0) ||
    paintableDocuments(item).some((f) => f.pages!.some((p) => p.text));
  return {
    '@context': place ? [NAVPLACE, PRESENTATION_3] : PRESENTATION_3,
    id: manifestId(publicUrl, item.id, input.head ? undefined : item.version),
    type: 'Manifest',
    label: zh(title(item)),
    ...(typeof m.description === 'string' && m.description !== '' ? { summary: zh(m.description) } : {}),
    metadata: metadataPairs(item),
    requiredStatement: requiredStatement(item),
    ...(rights ? { rights } : {}),
    provider: [provider(input)],
    homepage: [
      {
        id: itemPageUrl(publicUrl, item.id),
        type: 'Text',
        label: zh(title(item)),
        format: 'text/html',
        language: ['zh'],
      },
    ],
    seeAlso: [
      {
        id: itemJsonUrl(publicUrl, item.id, input.head ? undefined : item.version),
        type: 'Dataset',
        format: 'application/json',
        label: none('ciku item JSON'),
      },
    ],
    ...(thumbnail ? { thumbnail: [thumbnail] } : {}),
    ...(date ? { navDate: date } : {}),
    ...(place ? { navPlace: place } : {}),
    partOf: [
      { id: collectionId(publicUrl, item.kind), type: 'Collection', label: words(`kind.${item.kind}`) },
    ],
    ...(searchable ? { service: searchServices(publicUrl, item.id) } : {}),
    items,
  };
}

/**
 * Content Search 2.0, and the same answers as 1.0 for viewers that read only 1.0 (Mirador 4 looks services up by
 * the 0/1 `profile`). The 1.0 service is written with `@id`/`@type`, as Presentation 3 has older services written.
 */
function searchServices(publicUrl: string, itemId: string): Json[] {
  return [
    { id: searchServiceId(publicUrl, itemId), type: 'SearchService2' },
    { '@id': searchService1Id(publicUrl, itemId), '@type': 'SearchService1', profile: SEARCH1_PROFILE },
  ];
}

/** The kind's fields in the schema's order (Dublin Core first), labelled in both languages, valued in Chinese. */
function metadataPairs(item: IiifItem): Json[] {
  const schema = metadataSchemas[item.kind] as { properties?: Record<string, unknown> } | undefined;
  const all = Object.keys(schema?.properties ?? dublinCore);
  const dc = Object.keys(dublinCore);
  const order = [...dc.filter((f) => all.includes(f)), ...all.filter((f) => !dc.includes(f))];
  const pairs: Json[] = [{ label: words('field.kind'), value: words(`kind.${item.kind}`) }];
  for (const field of order) {
    if (NOT_METADATA.has(field)) continue;
    const value = metadataValue(item.metadata[field]);
    const key = messageKey(`field.${field}`);
    if (value === undefined || key === undefined) continue;
    pairs.push({ label: words(key), value });
  }
  return pairs;
}

function metadataValue(v: unknown): LanguageMap | undefined {
  if (typeof v === 'string') return v === '' ? undefined : zh(v);
  if (typeof v === 'number') return none(String(v));
  if (Array.isArray(v)) {
    const texts = v.filter((x): x is string => typeof x === 'string' && x !== '');
    return texts.length === 0 ? undefined : zh(...texts);
  }
  if (typeof v === 'object' && v !== null && 'lat' in v && 'lon' in v) {
    const { lat, lon } = v;
    if (typeof lat === 'number' && typeof lon === 'number') return none(`${lat}, ${lon}`);
  }
  return undefined;
}

/**
 * `rights` takes only a licence URI (Creative Commons or RightsStatements.org, written with http: as the spec and
 * validator require); our `rights` text goes to `requiredStatement`, which a viewer must show.
 */
export function rightsUri(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m =
    /^https?:\/\/((creativecommons\.org\/(licenses|publicdomain)|rightsstatements\.org\/vocab)\/\S+)$/.exec(
      text.trim(),
    );
  return m ? `http://${m[1]}` : undefined;
}

function requiredStatement(item: IiifItem): Json {
  const rights = typeof item.metadata.rights === 'string' ? item.metadata.rights.trim() : '';
  if (rights !== '' && rightsUri(rights) === undefined)
    return { label: words('field.rights'), value: zh(rights) };
  const who = contributor(item);
  return {
    label: words('iiif.attribution'),
    value: words('iiif.attributionValue', { who: who ?? words('iiif.publisher') }),
  };
}

/** The contributing museum (or organisation) the item is shown for. */
function contributor(item: IiifItem): string | undefined {
  const museum = item.metadata.museum;
  if (typeof museum === 'string' && museum !== '') return museum;
  return item.access.organisation;
}

function provider(input: ManifestInput): Json {
  const { publicUrl, item } = input;
  const museum =
    typeof item.metadata.museum === 'string' && item.metadata.museum !== '' ? item.metadata.museum : '';
  if (museum !== '')
    return {
      id: collectionId(publicUrl, `museum:${museum}`),
      type: 'Agent',
      label: zh(museum),
      homepage: [
        { id: museumSearchUrl(publicUrl, museum), type: 'Text', label: zh(museum), format: 'text/html' },
      ],
    };
  return {
    id: `${publicUrl}/`,
    type: 'Agent',
    label: words('iiif.publisher'),
    homepage: [{ id: `${publicUrl}/`, type: 'Text', label: words('iiif.publisher'), format: 'text/html' }],
  };
}

/** `navDate` from the item's date (the start of a range), its recording date or its year: midnight UTC. */
export function navDate(m: Record<string, unknown>): string | undefined {
  const given =
    typeof m.date === 'string'
      ? m.date
      : typeof m.recorded_at === 'string'
        ? m.recorded_at
        : typeof m.year === 'number' && m.year >= 0
          ? String(m.year).padStart(4, '0')
          : undefined;
  const found = given === undefined ? null : /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:\/|$)/.exec(given);
  if (!found) return undefined;
  return `${found[1]}-${found[2] ?? '01'}-${found[3] ?? '01'}T00:00:00Z`;
}

/** A heritage site's point (GeoJSON: longitude first), as the navPlace extension has it (recipe 0154). */
function navPlace(input: ManifestInput): Json | undefined {
  const c = input.item.metadata.coordinates as { lat?: unknown; lon?: unknown } | undefined;
  if (input.item.kind !== 'heritage_site' || typeof c?.lat !== 'number' || typeof c.lon !== 'number')
    return undefined;
  const base = manifestId(input.publicUrl, input.item.id, input.head ? undefined : input.item.version);
  return {
    id: `${base}/place`,
    type: 'FeatureCollection',
    features: [
      {
        id: `${base}/place/1`,
        type: 'Feature',
        properties: { label: zh(title(input.item)) },
        geometry: { type: 'Point', coordinates: [c.lon, c.lat] },
      },
    ],
  };
}

/** An image derivative (`thumbnail`, `poster`, `preview`) as a resource with its own size. */
function imageResource(
  input: ManifestInput,
  f: IiifFile,
  kind: 'thumbnail' | 'poster' | 'preview',
): Json | undefined {
  const entry = f.derivatives[kind];
  if (!entry) return undefined;
  return {
    id: derivativeUrl(input.publicUrl, input.item.id, input.item.version, f.name, kind),
    type: 'Image',
    format: entry.media_type ?? 'image/jpeg',
    ...(entry.width !== undefined && entry.height !== undefined
      ? { width: entry.width, height: entry.height }
      : {}),
  };
}

function thumbnailOf(input: ManifestInput): Json | undefined {
  for (const f of input.item.files) {
    const found = imageResource(input, f, 'thumbnail') ?? imageResource(input, f, 'poster');
    if (found) return found;
  }
  const [document] = paintableDocuments(input.item);
  return document ? pageThumbnail(input, document, document.pages![0]!) : undefined;
}

// ---- canvases ----

/** The image's upright size: its own from the technical metadata (EXIF 5–8 turn it a quarter), else a derivative's. */
function imageSize(f: IiifFile): { width: number; height: number } | undefined {
  const t = f.technical?.type === 'image' ? f.technical : undefined;
  if (t?.width !== undefined && t.height !== undefined) {
    const turned = (t.orientation ?? 1) >= 5;
    return turned ? { width: t.height, height: t.width } : { width: t.width, height: t.height };
  }
  const e = f.derivatives.iiif ?? f.derivatives.preview;
  return e?.width !== undefined && e.height !== undefined ? { width: e.width, height: e.height } : undefined;
}

function imageCanvas(input: ManifestInput, f: IiifFile, label: LanguageMap): Json {
  const { publicUrl, item } = input;
  const canvas = canvasId(publicUrl, item.id, item.version, f.name);
  const size = imageSize(f) ?? { width: 1000, height: 1000 };
  const service = imageServiceId(publicUrl, item.id, item.version, f.name);
  const body: Json = f.derivatives.iiif
    ? {
        id: `${service}/full/max/0/default.jpg`,
        type: 'Image',
        format: 'image/jpeg',
        ...size,
        service: [{ id: service, type: 'ImageService3', profile: 'level0' }],
      }
    : (imageResource(input, f, 'preview') ?? {});
  const thumbnail = imageResource(input, f, 'thumbnail');
  return {
    id: canvas,
    type: 'Canvas',
    label,
    ...size,
    ...(thumbnail ? { thumbnail: [thumbnail] } : {}),
    items: [painting(canvas, body)],
  };
}

/** A render at 150 dpi: what a page without a size of its own (a text layer read, no OCR) is drawn at. */
const RENDER_DPI = 150;
/** A4 at that resolution, when even the page size is unknown. */
const A4 = { width: 1240, height: 1754 };

/**
 * A page canvas's size: the render OCR read (its hOCR boxes are in those pixels, so Content Search boxes need no
 * scaling), else the PDF's page size in points at RENDER_DPI, else A4.
 */
export function pageCanvasSize(
  f: Pick<IiifFile, 'technical'>,
  p: IiifPage,
): { width: number; height: number } {
  if (p.width !== undefined && p.height !== undefined) return { width: p.width, height: p.height };
  const t = f.technical?.type === 'document' ? f.technical : undefined;
  if (t?.page_width !== undefined && t.page_height !== undefined && t.page_width > 0 && t.page_height > 0)
    return {
      width: Math.max(1, Math.round((t.page_width * RENDER_DPI) / 72)),
      height: Math.max(1, Math.round((t.page_height * RENDER_DPI) / 72)),
    };
  return A4;
}

function pageThumbnail(input: ManifestInput, f: IiifFile, p: IiifPage): Json {
  const { publicUrl, item } = input;
  return {
    id: pageDerivativeUrl(publicUrl, item.id, item.version, f.name, p.page, 'thumbnail'),
    type: 'Image',
    format: 'image/jpeg',
  };
}

function pageCanvas(input: ManifestInput, f: IiifFile, p: IiifPage): Json {
  const { publicUrl, item } = input;
  const canvas = pageCanvasId(publicUrl, item.id, item.version, f.name, p.page);
  const size = pageCanvasSize(f, p);
  const service = pageImageServiceId(publicUrl, item.id, item.version, f.name, p.page);
  const body: Json = p.tiles
    ? {
        id: `${service}/full/max/0/default.jpg`,
        type: 'Image',
        format: 'image/jpeg',
        service: [{ id: service, type: 'ImageService3', profile: 'level0' }],
      }
    : {
        id: pageDerivativeUrl(publicUrl, item.id, item.version, f.name, p.page, 'preview'),
        type: 'Image',
        format: 'image/jpeg',
      };
  const label = p.label !== undefined && p.label !== '' ? none(p.label) : words('iiif.page', { n: p.page });
  return {
    id: canvas,
    type: 'Canvas',
    label,
    ...size,
    thumbnail: [pageThumbnail(input, f, p)],
    items: [painting(canvas, body)],
  };
}

function painting(canvas: string, body: Json): Json {
  return {
    id: annotationPageId(canvas, 1),
    type: 'AnnotationPage',
    items: [
      { id: annotationId(canvas, 1, 1), type: 'Annotation', motivation: 'painting', body, target: canvas },
    ],
  };
}

function avDuration(f: IiifFile): number | undefined {
  const t = f.technical?.type === 'audio' || f.technical?.type === 'video' ? f.technical : undefined;
  const d = t?.duration ?? f.derivatives.proxy?.duration;
  return d !== undefined && d > 0 ? d : undefined;
}

function avCanvas(input: ManifestInput, f: IiifFile, transcripts: ManifestInput['transcripts']): Json {
  const { publicUrl, item } = input;
  const canvas = canvasId(publicUrl, item.id, item.version, f.name);
  const proxy = f.derivatives.proxy!;
  const duration = avDuration(f)!;
  const t = f.technical?.type === 'video' || f.technical?.type === 'audio' ? f.technical : undefined;
  const video = t ? t.type === 'video' : (f.media_type ?? '').startsWith('video/');
  const width = proxy.width ?? t?.display_width ?? t?.width;
  const height = proxy.height ?? t?.display_height ?? t?.height;
  const size = video && width !== undefined && height !== undefined ? { width, height } : {};
  const body = {
    id: derivativeUrl(publicUrl, item.id, item.version, f.name, 'proxy'),
    type: video ? 'Video' : 'Sound',
    format: proxy.media_type ?? (video ? 'video/mp4' : 'audio/mp4'),
    ...size,
    duration,
  };
  const captions = transcripts
    .filter((tr) => tr.segments.length > 0)
    .map((tr, i) => ({
      id: annotationId(canvas, 2, i + 1),
      type: 'Annotation',
      motivation: 'supplementing',
      body: {
        id: captionsUrl(publicUrl, item.id, tr.file),
        type: 'Text',
        format: 'text/vtt',
        label: words('iiif.transcript'),
        language: 'zh',
      },
      target: canvas,
    }));
  const poster = video ? imageResource(input, f, 'poster') : undefined;
  const placeholder =
    poster && poster.width !== undefined
      ? {
          id: placeholderCanvasId(canvas),
          type: 'Canvas',
          width: poster.width,
          height: poster.height,
          items: [painting(placeholderCanvasId(canvas), poster)],
        }
      : undefined;
  return {
    id: canvas,
    type: 'Canvas',
    label: none(f.name),
    ...size,
    duration,
    ...(placeholder ? { placeholderCanvas: placeholder } : {}),
    items: [painting(canvas, body)],
    ...(captions.length > 0
      ? { annotations: [{ id: annotationPageId(canvas, 2), type: 'AnnotationPage', items: captions }] }
      : {}),
  };
}

// ---- table of contents ----

interface Section {
  start: number;
  end: number;
  label: LanguageMap;
}

const seconds = (s: number) => String(Math.round(s * 1000) / 1000);

/** One Range over the whole, one per chapter of the file, else per section of the transcript (recipe 0026). */
function avStructures(input: ManifestInput, f: IiifFile): Json[] | undefined {
  const { publicUrl, item } = input;
  const duration = avDuration(f)!;
  const t = f.technical?.type === 'video' || f.technical?.type === 'audio' ? f.technical : undefined;
  const chapters: Section[] = (t?.chapters ?? []).map((c, i) => ({
    start: c.start,
    end: c.end,
    label: c.title !== undefined && c.title !== '' ? none(c.title) : words('iiif.chapter', { n: i + 1 }),
  }));
  const sections = chapters.length > 0 ? chapters : transcriptSections(input.transcripts[0]?.segments ?? []);
  if (sections.length === 0) return undefined;
  const canvas = canvasId(publicUrl, item.id, item.version, f.name);
  const ranges = sections
    .map((s) => ({ start: Math.max(0, s.start), end: Math.min(duration, s.end), label: s.label }))
    .filter((s) => s.end > s.start)
    .map((s, i) => ({
      id: rangeId(publicUrl, item.id, item.version, i + 1),
      type: 'Range',
      label: s.label,
      items: [{ id: `${canvas}#t=${seconds(s.start)},${seconds(s.end)}`, type: 'Canvas' }],
    }));
  if (ranges.length === 0) return undefined;
  return [
    {
      id: rangeId(publicUrl, item.id, item.version, 0),
      type: 'Range',
      label: zh(title(item)),
      items: ranges,
    },
  ];
}

/**
 * The documents' outlines as nested Ranges (recipe 0024), inside one Range over the whole: each bookmark opens the
 * canvas of its page and holds its sub-bookmarks. A bookmark naming no page of the file, with no sub-bookmark that
 * does, is left out (a Range must reach something).
 */
function documentStructures(input: ManifestInput, documents: IiifFile[]): Json[] | undefined {
  const { publicUrl, item } = input;
  let next = 1;
  const top: Json[] = [];
  for (const f of documents) {
    const t = f.technical?.type === 'document' ? f.technical : undefined;
    const known = new Set(f.pages!.map((p) => p.page));
    const stack: { level: number; items: Json[] }[] = [{ level: 0, items: top }];
    for (const entry of t?.outline ?? []) {
      const level = Math.max(1, entry.level);
      while (stack.length > 1 && stack.at(-1)!.level >= level) stack.pop();
      const items: Json[] =
        entry.page !== undefined && known.has(entry.page)
          ? [{ id: pageCanvasId(publicUrl, item.id, item.version, f.name, entry.page), type: 'Canvas' }]
          : [];
      const label = entry.title.trim() === '' ? words('iiif.chapter', { n: next }) : zh(entry.title);
      const range = { id: rangeId(publicUrl, item.id, item.version, next++), type: 'Range', label, items };
      stack.at(-1)!.items.push(range);
      stack.push({ level, items });
    }
  }
  const reached = prune(top);
  if (reached.length === 0) return undefined;
  return [
    {
      id: rangeId(publicUrl, item.id, item.version, 0),
      type: 'Range',
      label: zh(title(item)),
      items: reached,
    },
  ];
}

/** Ranges that reach a canvas, themselves or through a sub-range (the others dropped, at every depth). */
function prune(items: Json[]): Json[] {
  return items.flatMap((i) => {
    if (i.type !== 'Range') return [i];
    const kept = prune(i.items as Json[]);
    return kept.length === 0 ? [] : [{ ...i, items: kept }];
  });
}

/**
 * The transcript's speaker turns (consecutive cues of one speaker), each labelled with its speaker and first
 * words; a long interview's turns are merged into at most MAX_SECTIONS sections of similar length.
 */
export function transcriptSections(segments: readonly TranscriptSegmentT[]): Section[] {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  const turns: (Section & { speaker?: string })[] = [];
  for (const s of sorted) {
    const last = turns.at(-1);
    if (last && last.speaker === s.speaker) {
      last.end = Math.max(last.end, s.end);
      continue;
    }
    const words = s.text.length > 30 ? `${s.text.slice(0, 30)}…` : s.text;
    turns.push({
      start: s.start,
      end: s.end,
      ...(s.speaker === undefined ? {} : { speaker: s.speaker }),
      label: zh(s.speaker === undefined ? words : `${s.speaker}：${words}`),
    });
  }
  if (turns.length <= MAX_SECTIONS) return turns;
  const least = (turns.at(-1)!.end - turns[0]!.start) / MAX_SECTIONS;
  const merged: Section[] = [];
  for (const turn of turns) {
    const last = merged.at(-1);
    if (last && last.end - last.start < least) last.end = Math.max(last.end, turn.end);
    else merged.push({ start: turn.start, end: turn.end, label: turn.label });
  }
  return merged;
}
