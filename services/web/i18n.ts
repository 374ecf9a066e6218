import Negotiator from 'negotiator';
import { en } from './messages/en.ts';
import { zhCN, type MessageKey, type Messages } from './messages/zh-CN.ts';

export const locales = ['zh-CN', 'en'] as const;
export type Locale = (typeof locales)[number];
const catalogues: Record<Locale, Messages> = { 'zh-CN': zhCN, en };

/** The cookie that remembers a reader's choice from the language switch. */
export const LANG_COOKIE = 'ciku_lang';

/** `?lang=` (the switch), then the remembered choice, then Accept-Language; 简体中文 when nothing says otherwise. */
export function chooseLocale(input: {
  query: string | undefined;
  cookie: string | undefined;
  acceptLanguage: string | undefined;
}): Locale {
  for (const given of [input.query, input.cookie]) {
    const found = locales.find((l) => l.toLowerCase() === given?.toLowerCase());
    if (found) return found;
  }
  if (input.acceptLanguage) {
    const best = new Negotiator({ headers: { 'accept-language': input.acceptLanguage } }).language([
      'zh-CN',
      'zh',
      'en',
    ]);
    if (best === 'en') return 'en';
  }
  return 'zh-CN';
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** The message of `key` in `locale` with its `{name}` placeholders filled (values as given: escaping is JSX's). */
export function translator(locale: Locale): Translate {
  const messages = catalogues[locale];
  return (key, params) => {
    const text = messages[key];
    if (params === undefined) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
      params[name] === undefined ? whole : String(params[name]),
    );
  };
}

/** Whether a string is a message key (field and kind labels are looked up from schema names). */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(zhCN, key);
}
