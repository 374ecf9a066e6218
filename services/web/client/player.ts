/**
 * Item pages: keeps the media player and its transcript in step. Without this module the page still works — every
 * cue time is a link to `?t=…#player`, which the server turns into `data-start` — so everything here only shortens
 * what the reader could already do.
 */

interface Cue {
  el: HTMLElement;
  start: number;
  end: number;
  text: HTMLElement | null;
}

/** How long after the reader scrolled the transcript it is left where they put it. */
const READER_SCROLL_GRACE_MS = 4000;

/** `{name}` placeholders in a message from the page filled in; the words themselves come from the server. */
function format(template: string | undefined, values: Record<string, string | number>): string {
  if (template === undefined) return Object.values(values).join(' ');
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = values[key];
    return value === undefined ? whole : String(value);
  });
}

/** The messages may sit on either section; a transcript without media must still find its own. */
function message(name: string, ...hosts: (HTMLElement | null)[]): string | undefined {
  for (const host of hosts) {
    const value = host?.dataset[name];
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Sets a live region's text so that it is announced again even when it is the same text as last time. */
function announce(region: HTMLElement | null, text: string): void {
  if (region === null) return;
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** The current URL with `t` (and nothing else) changed: the reader's other parameters, such as `lang`, stay. */
function urlAt(seconds: number): string {
  const url = new URL(location.href);
  url.searchParams.set('t', seconds.toFixed(1));
  return url.pathname + url.search + url.hash;
}

function playQuietly(media: HTMLMediaElement): void {
  // Browsers refuse playback that no gesture allowed; the reader then presses play themselves.
  media.play().catch(() => undefined);
}

/** Scrolls `target` into view inside `panel` only; scrollIntoView would also move the page under the reader. */
function scrollWithin(panel: HTMLElement, target: HTMLElement): number | undefined {
  if (panel.scrollHeight <= panel.clientHeight) return undefined;
  const box = panel.getBoundingClientRect();
  const item = target.getBoundingClientRect();
  let top = panel.scrollTop;
  if (item.top < box.top) top += item.top - box.top - 8;
  else if (item.bottom > box.bottom) top += item.bottom - box.bottom + 8;
  else return undefined;
  panel.scrollTop = top;
  return panel.scrollTop;
}

function readCues(list: HTMLElement | null): Cue[] {
  if (list === null) return [];
  const cues: Cue[] = [];
  for (const el of list.querySelectorAll<HTMLElement>('.cue')) {
    const start = Number(el.dataset.start);
    const end = Number(el.dataset.end);
    if (!Number.isFinite(start)) continue;
    cues.push({
      el,
      start,
      end: Number.isFinite(end) ? end : Infinity,
      text: el.querySelector<HTMLElement>('.cue-text'),
    });
  }
  return cues.sort((a, b) => a.start - b.start);
}

/** The cue being spoken at `time`, or between cues the last one that started (the reader's place), if any. */
function cueAt(cues: Cue[], time: number): Cue | undefined {
  let found: Cue | undefined;
  for (const cue of cues) {
    if (cue.start > time) break;
    found = cue;
  }
  return found;
}

function enhancePlayer(
  player: HTMLElement | null,
  media: HTMLMediaElement | null,
  transcript: HTMLElement | null,
): void {
  const list = transcript?.querySelector<HTMLElement>('.cues') ?? null;
  const cues = readCues(list);
  const autoscroll = transcript?.querySelector<HTMLInputElement>('[data-autoscroll]') ?? null;
  const status = player?.querySelector<HTMLElement>('[data-status]') ?? null;

  let current: Cue | undefined;
  let readerScrolledAt = -Infinity;
  let ownScrollTop: number | undefined;

  if (list !== null) {
    list.addEventListener(
      'scroll',
      () => {
        // A scroll we caused lands exactly where we put it; anything else is the reader.
        if (ownScrollTop !== undefined && Math.abs(list.scrollTop - ownScrollTop) < 2) return;
        readerScrolledAt = performance.now();
      },
      { passive: true },
    );
  }

  const follow = (): void => {
    if (media === null) return;
    const cue = cueAt(cues, media.currentTime);
    if (cue === current) return;
    current?.el.removeAttribute('aria-current');
    current = cue;
    if (cue === undefined) return;
    cue.el.setAttribute('aria-current', 'true');
    if (list === null || autoscroll === null || !autoscroll.checked) return;
    if (performance.now() - readerScrolledAt < READER_SCROLL_GRACE_MS) return;
    const top = scrollWithin(list, cue.el);
    if (top !== undefined) ownScrollTop = top;
  };

  if (media !== null) {
    media.addEventListener('timeupdate', follow);
    media.addEventListener('seeked', follow);

    const start = Number(player?.dataset.start);
    if (player?.dataset.start !== undefined && Number.isFinite(start)) {
      const seek = (): void => {
        media.currentTime = start;
        playQuietly(media);
      };
      if (media.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
      else media.addEventListener('loadedmetadata', seek, { once: true });
    }

    if (list !== null) {
      list.addEventListener('click', (event) => {
        if (!(event.target instanceof Element)) return;
        const link = event.target.closest<HTMLAnchorElement>('a.cue-time');
        const cue = cues.find((c) => c.el.contains(link));
        if (link === null || cue === undefined) return;
        event.preventDefault();
        media.currentTime = cue.start;
        playQuietly(media);
        history.replaceState(history.state, '', urlAt(cue.start));
      });
      autoscroll?.closest('[data-autoscroll-label]')?.removeAttribute('hidden');
    }

    const share = player?.querySelector<HTMLButtonElement>('[data-share-moment]') ?? null;
    if (share !== null) {
      share.hidden = false;
      share.addEventListener('click', () => {
        const params = new URLSearchParams({ t: media.currentTime.toFixed(1) });
        const lang = new URL(location.href).searchParams.get('lang');
        if (lang !== null) params.set('lang', lang);
        const url = `${location.origin}${location.pathname}?${params.toString()}`;
        history.replaceState(history.state, '', url);
        // The status line shows the link either way, so a reader whose browser refuses the clipboard can copy it.
        navigator.clipboard?.writeText(url).catch(() => undefined);
        announce(status, format(player?.dataset.msgCopied, { url }));
      });
    }
  }

  if (transcript !== null) {
    enhanceSearch(transcript, cues, list, player, () => {
      readerScrolledAt = performance.now();
    });
  }
}

/** Wraps every case-insensitive occurrence of `query` in the cue text in `<mark class="hit">`, as text nodes only. */
function markText(host: HTMLElement, query: string): HTMLElement[] {
  const text = host.textContent ?? '';
  // Lower-casing can change a string's length (e.g. "İ"); only then fall back to matching case exactly.
  const folded = text.toLowerCase();
  const sameLength = folded.length === text.length;
  const haystack = sameLength ? folded : text;
  const needle = sameLength ? query.toLowerCase() : query;
  const marks: HTMLElement[] = [];
  const parts: Node[] = [];
  let from = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) {
    if (at > from) parts.push(document.createTextNode(text.slice(from, at)));
    const mark = document.createElement('mark');
    mark.className = 'hit';
    mark.textContent = text.slice(at, at + needle.length);
    parts.push(mark);
    marks.push(mark);
    from = at + needle.length;
  }
  if (marks.length === 0) return marks;
  if (from < text.length) parts.push(document.createTextNode(text.slice(from)));
  host.replaceChildren(...parts);
  return marks;
}

function clearMarks(cues: Cue[]): void {
  for (const { text } of cues) {
    if (text === null || text.querySelector('mark.hit') === null) continue;
    text.replaceChildren(document.createTextNode(text.textContent ?? ''));
  }
}

function enhanceSearch(
  transcript: HTMLElement,
  cues: Cue[],
  list: HTMLElement | null,
  player: HTMLElement | null,
  onJump: () => void,
): void {
  const form = transcript.querySelector<HTMLFormElement>('[data-transcript-search]');
  const input = form?.querySelector<HTMLInputElement>('input[type="search"], input[name="tq"]') ?? null;
  if (form === null || input === null) return;
  const prev = form.querySelector<HTMLButtonElement>('[data-prev]');
  const next = form.querySelector<HTMLButtonElement>('[data-next]');
  const count = form.querySelector<HTMLElement>('[data-hit-count]');
  const msg = (name: string) => message(name, transcript, player);

  let hits: HTMLElement[] = [];
  let index = -1;

  const showNav = (shown: boolean): void => {
    if (prev !== null) prev.hidden = !shown;
    if (next !== null) next.hidden = !shown;
  };

  const goTo = (i: number): void => {
    hits[index]?.classList.remove('current');
    index = (i + hits.length) % hits.length;
    const hit = hits[index];
    if (hit === undefined) return;
    hit.classList.add('current');
    onJump();
    if (list !== null) {
      const cue = hit.closest<HTMLElement>('.cue');
      if (cue !== null) scrollWithin(list, cue);
    }
    if (count !== null) {
      count.textContent = format(msg('msgHitOf'), { i: index + 1, n: hits.length });
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearMarks(cues);
    hits = [];
    index = -1;
    const query = input.value.trim();
    if (query === '') {
      showNav(false);
      if (count !== null) count.textContent = '';
      return;
    }
    for (const { text } of cues) if (text !== null) hits.push(...markText(text, query));
    if (hits.length === 0) {
      showNav(false);
      if (count !== null) count.textContent = format(msg('msgNoHits'), {});
      return;
    }
    showNav(true);
    if (count !== null) count.textContent = format(msg('msgHits'), { n: hits.length });
    goTo(0);
  });
  prev?.addEventListener('click', () => {
    if (hits.length > 0) goTo(index - 1);
  });
  next?.addEventListener('click', () => {
    if (hits.length > 0) goTo(index + 1);
  });
}

const playerSection = document.querySelector<HTMLElement>('[data-player]');
enhancePlayer(
  playerSection,
  playerSection?.querySelector<HTMLMediaElement>('video, audio') ?? null,
  document.querySelector<HTMLElement>('[data-transcript]'),
);
