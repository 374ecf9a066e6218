/**
 * Item pages: deep zoom over the server's IIIF tiles (or the preview image when an item has none). The page already
 * shows the preview as a plain `<img>`; it is swapped for the viewer only once the viewer has opened, so a failed
 * load leaves the reader with the picture they had.
 */
import OpenSeadragon from 'openseadragon';

const ZOOM_STEP = 1.5;

function enhanceViewer(section: HTMLElement, index: number): void {
  const info = section.dataset.info;
  const image = section.dataset.image;
  const tileSources: OpenSeadragon.Options['tileSources'] | undefined =
    info !== undefined ? info : image !== undefined ? { type: 'image', url: image } : undefined;
  if (tileSources === undefined) return;

  const fallback = section.querySelector<HTMLImageElement>(':scope > img');
  const controls = section.querySelector<HTMLElement>('.viewer-controls');
  const hint = section.querySelector<HTMLElement>('[data-zoom-hint]');

  const canvas = document.createElement('div');
  canvas.className = 'viewer-canvas';
  canvas.id = `viewer-canvas-${index}`;
  // Hidden until open: until then the fallback image is what the reader sees, and two boxes would jump the page.
  canvas.hidden = true;
  section.insertBefore(canvas, fallback?.nextSibling ?? section.firstChild);

  const viewer = new OpenSeadragon.Viewer({
    element: canvas,
    tileSources,
    // Our own native buttons (words from the message files) replace OpenSeadragon's image buttons.
    showNavigationControl: false,
    showNavigator: false,
    visibilityRatio: 1,
    constrainDuringPan: true,
    minZoomImageRatio: 1,
    maxZoomPixelRatio: 2,
  });

  viewer.addHandler('open', () => {
    canvas.hidden = false;
    if (fallback !== null) fallback.hidden = true;
    // The canvas is the focusable part (arrow keys pan, +/- zoom), so it carries the name a screen reader announces.
    viewer.canvas.setAttribute('role', 'img');
    viewer.canvas.setAttribute('aria-label', fallback?.alt ?? section.getAttribute('aria-label') ?? '');
    if (hint !== null) {
      hint.id ||= `${canvas.id}-hint`;
      viewer.canvas.setAttribute('aria-describedby', hint.id);
      hint.hidden = false;
    }
    if (controls !== null) controls.hidden = false;
    viewer.viewport.goHome(true);
  });
  viewer.addHandler('open-failed', () => {
    viewer.destroy();
    canvas.remove();
  });

  if (controls === null) return;
  const on = (selector: string, action: () => void): void => {
    controls.querySelector<HTMLButtonElement>(selector)?.addEventListener('click', action);
  };
  on('[data-zoom-in]', () => viewer.viewport.zoomBy(ZOOM_STEP).applyConstraints());
  on('[data-zoom-out]', () => viewer.viewport.zoomBy(1 / ZOOM_STEP).applyConstraints());
  on('[data-zoom-home]', () => viewer.viewport.goHome());

  const full = controls.querySelector<HTMLButtonElement>('[data-zoom-full]');
  if (full === null) return;
  // The whole section goes full screen, not just OpenSeadragon's element, so our buttons come with it. Where the
  // browser cannot (iPhone Safari) the button is not offered: there would be no way back out.
  if (!document.fullscreenEnabled || typeof section.requestFullscreen !== 'function') {
    full.hidden = true;
    return;
  }
  full.setAttribute('aria-pressed', 'false');
  full.addEventListener('click', () => {
    const leaving = document.fullscreenElement === section;
    (leaving ? document.exitFullscreen() : section.requestFullscreen()).catch(() => undefined);
  });
  document.addEventListener('fullscreenchange', () => {
    full.setAttribute('aria-pressed', String(document.fullscreenElement === section));
  });
}

document.querySelectorAll<HTMLElement>('[data-zoom]').forEach(enhanceViewer);
