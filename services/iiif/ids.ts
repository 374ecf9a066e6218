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

/** The Image API 3 service of an image file in a version (tiles and info.json below it). */
export function imageServiceId(publicUrl: string, itemId: string, version: string, fileName: string): string {
  return `${publicUrl}/v1/items/${seg(itemId)}/versions/${seg(version)}/files/${seg(fileName)}/derivatives/iiif`;
}

/** Content Search 2.0 over an item's text (transcript segments, later OCR). */
export function searchServiceId(publicUrl: string, itemId: string): string {
  return `${publicUrl}/iiif/${seg(itemId)}/search`;
}

/** Its AutoCompleteService2 (terms of the item's text that begin with `q`), listed inside the search service. */
export function autocompleteServiceId(publicUrl: string, itemId: string): string {
  return `${publicUrl}/iiif/${seg(itemId)}/autocomplete`;
}

/** A collection: `/iiif/collection/{name}` (a kind, `museum:{name}`, `ich:{code}`). */
export function collectionId(publicUrl: string, name: string, page?: number): string {
  const base = `${publicUrl}/iiif/collection/${seg(name)}`;
  return page === undefined || page <= 1 ? base : `${base}?page=${page}`;
}
