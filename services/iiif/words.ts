import { en } from '../web/messages/en.ts';
import { zhCN, type MessageKey } from '../web/messages/zh-CN.ts';

/**
 * IIIF language maps from the portal's message catalogues, so a field is called the same on the item page and in
 * a viewer's metadata panel. The catalogues are plain data (no page code): importing them keeps one set of words.
 */
export type LanguageMap = Record<string, string[]>;

const fill = (text: string, params: Record<string, string | number> = {}): string =>
  text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));

/** A message in Chinese and English, its `{name}` placeholders filled from `params` (per language when a map). */
export function words(
  key: MessageKey,
  params: Record<string, string | number | LanguageMap> = {},
): LanguageMap {
  const pick = (lang: 'zh' | 'en') =>
    Object.fromEntries(
      Object.entries(params).map(([k, v]) => [
        k,
        typeof v === 'object' ? (v[lang] ?? v.zh ?? v.none ?? []).join(' ') : v,
      ]),
    );
  return { zh: [fill(zhCN[key], pick('zh'))], en: [fill(en[key], pick('en'))] };
}

/** A message key if the catalogues have it (`field.<name>` for a metadata field). */
export function messageKey(key: string): MessageKey | undefined {
  return key in zhCN ? (key as MessageKey) : undefined;
}

/** Our metadata is written in Chinese: its values are `zh` (numbers and codes are language-neutral). */
export const zh = (...texts: string[]): LanguageMap => ({ zh: texts });
export const none = (...texts: string[]): LanguageMap => ({ none: texts });
