/**
 * A small XML writer for OAI-PMH answers: elements as strings, text and attributes escaped. Written here rather
 * than taken from a library because no XML builder is a dependency of the project (node_modules has fast-xml-builder
 * and xmlbuilder only as other packages' dependencies, which may go away with any update) and OAI-PMH needs only
 * elements, attributes and text — and strings are what a streamed ListRecords page sends, record by record.
 */

// Characters XML 1.0 does not allow at all (C0 controls but tab, LF, CR; lone surrogates; U+FFFE and U+FFFF).
// Metadata refuses controls and lone surrogates on the way in (items.ts); these never reach a harvester anyway.
const NOT_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Whether text may need any escaping or dropping at all (most metadata does not): one scan, no allocation. */
// eslint-disable-next-line no-control-regex
const SPECIAL = /[&<>"\u0000-\u001f\ud800-\udfff\ufffe\uffff]/;

/** Text content: `&`, `<`, `>` escaped (`>` for `]]>`), characters XML cannot carry dropped. */
export function escapeText(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(NOT_XML, '').replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** An attribute value in double quotes: also `"` and the whitespace a parser would normalise away. */
export function escapeAttr(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return escapeText(text)
    .replaceAll('"', '&quot;')
    .replaceAll('\t', '&#9;')
    .replaceAll('\n', '&#10;')
    .replaceAll('\r', '&#13;');
}

export type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs | undefined): string {
  if (a === undefined) return '';
  let out = '';
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out += ` ${k}="${escapeAttr(String(v))}"`;
  return out;
}

/** `<name attrs>text</name>` (text escaped). */
export function textElement(name: string, text: string, a?: Attrs): string {
  return `<${name}${attrs(a)}>${escapeText(text)}</${name}>`;
}

/** `<name attrs>children</name>` with children already serialised (or `<name attrs/>` with none). */
export function element(name: string, a: Attrs | undefined, children: string): string {
  return children === '' ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${children}</${name}>`;
}

/** The opening tag alone, for an envelope whose content is streamed. */
export function openTag(name: string, a?: Attrs): string {
  return `<${name}${attrs(a)}>`;
}
