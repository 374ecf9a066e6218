/**
 * The IIIF ids of an item, in one place: manifests, canvases, image services and Content Search answers must agree
 * on them, and every one starts at the public origin (CIKU_PUBLIC_URL), never at the Host header. Canvases and image
 * services carry the version in the path, so a client holding an earlier version's manifest fetches that version's
 * pixels; the head manifest (`/iiif/{id}/manifest`) points at its version's canvases.
 */
const seg = (s: string): string => encodeURIComponent(s);

/** `/iiif/{id}/manifest` (the head) or `/iiif/{id}/{version}/manifest`. */
export function manifestId(publicUrl: string, itemId: string, version?: string): string {
  return version === undefined
    ? `${publicUrl}/iiif/${seg(itemId)}/manifest`
    : `${publicUrl}/iiif/${seg(itemId)}/${seg(version)}/manifest`;
}

/** The canvas that paints one file of one version (the file's name is its stable part). */
export function canvasId(publicUrl: string, itemId: string, version: string, fileName: string): string {
  return `${publicUrl}/iiif/${seg(itemId)}/${seg(version)}/canvas/${seg(fileName)}`;
}

/**
 * The canvas of one page of a multi-page document file (a PDF, or an office file as rendered): the file's canvas id
 * with `/p{n}`, so a page's canvas stays the same across versions that keep the file.
 */
export function pageCanvasId(
  publicUrl: string,
  itemId: string,
  version: string,
  fileName: string,
  page: number,
): string {
  return `${canvasId(publicUrl, itemId, version, fileName)}/p${page}`;
}

/** The Image API 3 level-0 service of one page's render (its tiles and info.json below it), in a version. */
export function pageImageServiceId(
  publicUrl: string,
  itemId: string,
  version: string,
  fileName: string,
  page: number,
): string {
  return `${publicUrl}/iiif/${seg(itemId)}/${seg(version)}/files/${seg(fileName)}/pages/${page}/image`;
}

/** A page's `thumbnail` or `preview` render, on the route that serves a document's pages. */
export function pageDerivativeUrl(
  publicUrl: string,
  itemId: string,
  version: string,
  fileName: string,
  page: number,
  kind: 'thumbnail' | 'preview',
): string {
  return `${publicUrl}/v1/items/${seg(itemId)}/files/${seg(fileName)}/pages/${page}/${kind}?version=${seg(version)}`;
}

/** The Image API 3 service of an image file in a version (tiles and info.json below it). */
export function imageServiceId(publicUrl: string, itemId: string, version: string, fileName: string): string {
  return `${publicUrl}/v1/items/${seg(itemId)}/versions/${seg(version)}/files/${seg(fileName)}/derivatives/iiif`;
}

/** Content Search 2.0 over an item's text (transcript segments, documents' pages and their OCR words). */
export function searchServiceId(publicUrl: string, itemId: string): string {
  return `${publicUrl}/iiif/${seg(itemId)}/search`;
}

/**
 * The same search answered as Content Search 1.0 (an `sc:AnnotationList` with `hits`): Mirador 4 reads only the
 * 0/1 profiles, so a manifest announces this beside the SearchService2.
 */
export function searchService1Id(publicUrl: string, itemId: string): string {
  return `${publicUrl}/iiif/${seg(itemId)}/search1`;
}

/** Its AutoCompleteService2 (terms of the item's text that begin with `q`), listed inside the search service. */
export function autocompleteServiceId(publicUrl: string, itemId: string): string {
  return `${publicUrl}/iiif/${seg(itemId)}/autocomplete`;
}

/**
 * A collection: `/iiif/collection/{name}` (a kind, `museum:{name}`, `ich:{code}`); a later page carries `?page=`
 * (a number, or the opaque keyset cursor of a kind's listing).
 */
export function collectionId(publicUrl: string, name: string, page?: number | string): string {
  const base = `${publicUrl}/iiif/collection/${seg(name)}`;
  if (page === undefined || page === '' || (typeof page === 'number' && page <= 1)) return base;
  return `${base}?page=${seg(String(page))}`;
}

/** A derivative of a file in a version (`preview`, `thumbnail`, `proxy`, `poster`), on the route that serves it. */
export function derivativeUrl(
  publicUrl: string,
  itemId: string,
  version: string,
  fileName: string,
  kind: 'preview' | 'thumbnail' | 'proxy' | 'poster',
): string {
  return `${publicUrl}/v1/items/${seg(itemId)}/files/${seg(fileName)}/derivatives/${kind}?version=${seg(version)}`;
}

/** The annotation page `n` (1: painting, 2: supplementing) of a canvas, and annotation `n` on it. */
export function annotationPageId(canvas: string, n: number): string {
  return `${canvas}/page/${n}`;
}
export function annotationId(canvas: string, page: number, n: number): string {
  return `${canvas}/page/${page}/annotation/${n}`;
}

/** The poster shown before an AV canvas plays (`placeholderCanvas`). */
export function placeholderCanvasId(canvas: string): string {
  return `${canvas}/placeholder`;
}

/** A Range of a version's table of contents (0: the whole, 1…: chapters or transcript sections). */
export function rangeId(publicUrl: string, itemId: string, version: string, n: number): string {
  return `${publicUrl}/iiif/${seg(itemId)}/${seg(version)}/range/${n}`;
}

/** The portal's item page (`homepage`). */
export function itemPageUrl(publicUrl: string, itemId: string): string {
  return `${publicUrl}/items/${seg(itemId)}`;
}

/** Our JSON of an item (`seeAlso`), of a version when given. */
export function itemJsonUrl(publicUrl: string, itemId: string, version?: string): string {
  const base = `${publicUrl}/v1/items/${seg(itemId)}`;
  return version === undefined ? base : `${base}?version=${seg(version)}`;
}

/** The WebVTT the portal writes from a transcript's segments (`supplementing` body). */
export function captionsUrl(publicUrl: string, itemId: string, fileName: string): string {
  return `${publicUrl}/items/${seg(itemId)}/captions.vtt?file=${seg(fileName)}`;
}

/** The portal's search over one museum (a provider's homepage). */
export function museumSearchUrl(publicUrl: string, museum: string): string {
  return `${publicUrl}/search?museum=${seg(museum)}`;
}
