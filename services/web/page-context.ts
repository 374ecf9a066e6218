import { anonymous, canRead, type Principal } from '../archive/access.ts';
import type { Access } from '../../schemas/item.ts';
import type { Locale, Translate } from './i18n.ts';

/** What every page is rendered with: the reader's language and role, where it is, and the built assets. */
export interface PageContext {
  locale: Locale;
  t: Translate;
  principal: Principal;
  /** The request's path and query string, as the browser sent them (for the language switch). */
  url: string;
  /** CIKU_PUBLIC_URL: the origin of canonical links, Open Graph tags and citations. */
  publicUrl: string;
  /** Public paths of the built client files (`portal.css`, `player.js`, …); absent when not built. */
  asset: (name: string) => string | undefined;
  /** The archive's clock (access over time: embargoes). */
  now: () => Date;
}

/** `path` with `params` set (or removed when undefined), keeping the other parameters of `base`. */
export function withParams(base: string, params: Record<string, string | undefined>): string {
  let url: URL;
  try {
    url = new URL(base, 'http://x');
  } catch {
    // A request path no URL parser takes (`//[/x`): the link starts from the home page instead.
    url = new URL('/', 'http://x');
  }
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  const qs = url.searchParams.toString();
  return `${url.pathname}${qs ? `?${qs}` : ''}`;
}

/** Seconds as `m:ss` or `h:mm:ss`, the way a player shows them. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

/** Bytes as a reader reads them (binary units, one decimal past KiB). */
export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The URL of an item's page. */
export const itemPath = (id: string): string => `/items/${encodeURIComponent(id)}`;

/** The URL of a file or one of its derivatives under /v1 (the same routes, and access decision, as the API). */
export function filePath(itemId: string, name: string, derivative?: string): string {
  const base = `/v1/items/${encodeURIComponent(itemId)}/files/${encodeURIComponent(name)}`;
  return derivative === undefined ? base : `${base}/derivatives/${derivative}`;
}

/**
 * How an item is marked for a signed-in reader: `public` when anonymous readers may read it right now, else
 * `private` or `restricted` (an embargoed public item is restricted until its date).
 */
export function markOf(access: Access, now: Date): 'public' | 'restricted' | 'private' {
  if (canRead(anonymous, access, now)) return 'public';
  return access.level === 'private' ? 'private' : 'restricted';
}
