import type { ItemView } from '../archive/items.ts';
import { element, textElement } from './xml.ts';

/**
 * The native `ciku` format: an item version as its JSON (DESIGN.md "Item JSON") in XML, against
 * storage-config/oai/ciku-item.xsd (served at /oai/ciku-item.xsd). Fields are generic — a name and typed values,
 * `list="true"` for an array, nested fields for an object — so every kind fits one schema and the JSON comes back
 * from the XML without loss.
 */
export const CIKU_NS = 'urn:ciku:xml:item:1';
export const CIKU_XSD_PATH = '/oai/ciku-item.xsd';

function valueXml(v: unknown): string {
  if (typeof v === 'number') return textElement('ciku:value', String(v), { type: 'number' });
  if (typeof v === 'boolean') return textElement('ciku:value', String(v), { type: 'boolean' });
  return textElement('ciku:value', String(v));
}

function fieldXml(name: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return element('ciku:field', { name, list: 'true' }, v.map(valueXml).join(''));
  if (typeof v === 'object') {
    const inner = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => fieldXml(k, x))
      .join('');
    // An empty object has no field to hold: it is written as a field with no value.
    return inner === '' ? element('ciku:field', { name }, '') : element('ciku:field', { name }, inner);
  }
  return element('ciku:field', { name }, valueXml(v));
}

/** `<ciku:item>` of an item version; `fileUrl(name)` is where the file is read (under CIKU_PUBLIC_URL). */
export function nativeXml(item: ItemView, publicUrl: string, fileUrl: (name: string) => string): string {
  const fields = Object.entries(item.metadata)
    .map(([k, v]) => fieldXml(k, v))
    .join('');
  const files = item.files
    .map((f) =>
      element(
        'ciku:file',
        {
          name: f.name,
          role: f.role,
          size: f.size,
          media_type: f.media_type,
          added_in: f.added_in,
          href: fileUrl(f.name),
        },
        textElement('ciku:digest', f.digests.sha512, { algorithm: 'sha512' }) +
          (f.digests.sha256 === undefined
            ? ''
            : textElement('ciku:digest', f.digests.sha256, { algorithm: 'sha256' })),
      ),
    )
    .join('');
  return element(
    'ciku:item',
    {
      'xmlns:ciku': CIKU_NS,
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xsi:schemaLocation': `${CIKU_NS} ${publicUrl}${CIKU_XSD_PATH}`,
      id: item.id,
      kind: item.kind,
      version: item.version,
      created: item.created,
      updated: item.updated,
    },
    element(
      'ciku:access',
      {
        level: item.access.level,
        embargo_until: item.access.embargo_until,
        organisation: item.access.organisation,
      },
      '',
    ) +
      element('ciku:metadata', undefined, fields) +
      element('ciku:files', undefined, files),
  );
}
