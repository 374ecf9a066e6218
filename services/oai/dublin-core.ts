import type { ItemView } from '../archive/items.ts';
import type { ItemKind } from '../../schemas/item.ts';
import { en } from '../web/messages/en.ts';
import { zhCN } from '../web/messages/zh-CN.ts';
import { element, escapeText } from './xml.ts';

/**
 * oai_dc: every kind's fields (schemas/item.ts) on the 15 Dublin Core elements. The item's own Dublin Core keys
 * go to their element; the kind's fields as below; every record also gets the kind's name in Chinese and English
 * and a DCMI type as `dc:type`, its portal page as `dc:identifier`, and its files' media types as `dc:format`.
 *
 * | kind              | field → element                                                                           |
 * | oral_history      | interviewee → creator; interviewer → contributor; recorded_at → date; place → coverage;   |
 * |                   | dialect → language; duration (s) → format. consent: not mapped (an internal record)      |
 * | archive_document  | reference_code → identifier; fonds, series → relation; year → date; pages → format.      |
 * |                   | retention, ocr_text: not mapped (the native `ciku` format carries them)                  |
 * | collection_object | museum → publisher; accession_number → identifier; object_name → title; period →        |
 * |                   | coverage; kiln, ware_type, glaze, decoration → subject; material, dimensions → format    |
 * | inheritor         | name → title; ich_projects, category, level → subject; project_codes → relation;          |
 * |                   | region, province → coverage; birth_year → date; biography → description.                 |
 * |                   | gender, ethnicity, batch: not mapped                                                     |
 * | ich_project       | code → identifier; name → title; category, level → subject; region, province → coverage;  |
 * |                   | protection_unit → contributor. batch: not mapped                                          |
 * | heritage_site     | site_type → type; coordinates → coverage (DCMI Point); period, region → coverage;         |
 * |                   | protection_status → subject                                                              |
 * | media             | media_type → type (DCMI StillImage/MovingImage/Sound); event → subject; place → coverage |
 *
 * Text that contains Chinese is marked `xml:lang="zh"`, text in Latin letters alone `xml:lang="en"`; dates,
 * identifiers, codes, numbers and media types carry no language.
 */

export const DC_ELEMENTS = [
  'title',
  'creator',
  'subject',
  'description',
  'publisher',
  'contributor',
  'date',
  'type',
  'format',
  'identifier',
  'source',
  'language',
  'relation',
  'coverage',
  'rights',
] as const;
export type DcElement = (typeof DC_ELEMENTS)[number];

/** Elements whose values are text in a language (the others are dates, identifiers, codes, media types). */
const LANGUAGE_TEXT = new Set<DcElement>([
  'title',
  'creator',
  'subject',
  'description',
  'publisher',
  'contributor',
  'type',
  'source',
  'relation',
  'coverage',
  'rights',
]);

const KIND_FIELDS: Record<ItemKind, [string, DcElement][]> = {
  oral_history: [
    ['interviewee', 'creator'],
    ['interviewer', 'contributor'],
    ['recorded_at', 'date'],
    ['place', 'coverage'],
    ['dialect', 'language'],
  ],
  archive_document: [
    ['reference_code', 'identifier'],
    ['fonds', 'relation'],
    ['series', 'relation'],
    ['year', 'date'],
  ],
  collection_object: [
    ['museum', 'publisher'],
    ['accession_number', 'identifier'],
    ['object_name', 'title'],
    ['period', 'coverage'],
    ['kiln', 'subject'],
    ['ware_type', 'subject'],
    ['glaze', 'subject'],
    ['decoration', 'subject'],
    ['material', 'format'],
    ['dimensions', 'format'],
  ],
  inheritor: [
    ['name', 'title'],
    ['ich_projects', 'subject'],
    ['category', 'subject'],
    ['level', 'subject'],
    ['project_codes', 'relation'],
    ['region', 'coverage'],
    ['province', 'coverage'],
    ['birth_year', 'date'],
    ['biography', 'description'],
  ],
  ich_project: [
    ['code', 'identifier'],
    ['name', 'title'],
    ['category', 'subject'],
    ['level', 'subject'],
    ['region', 'coverage'],
    ['province', 'coverage'],
    ['protection_unit', 'contributor'],
  ],
  heritage_site: [
    ['site_type', 'type'],
    ['period', 'coverage'],
    ['region', 'coverage'],
    ['protection_status', 'subject'],
  ],
  media: [
    ['event', 'subject'],
    ['place', 'coverage'],
  ],
};

const DCMI_TYPE: Record<ItemKind, string | undefined> = {
  oral_history: 'Sound',
  archive_document: 'Text',
  collection_object: 'PhysicalObject',
  inheritor: undefined,
  ich_project: 'Event',
  heritage_site: undefined,
  media: undefined,
};
const MEDIA_TYPE: Record<string, string> = { photo: 'StillImage', video: 'MovingImage', audio: 'Sound' };

function values(v: unknown): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(values);
  return [];
}

/** Chinese if any character is a CJK ideograph (BMP blocks, or a surrogate pair: the supplementary ideographs),
 * else English if any Latin letter, else none. A loop over char codes: it runs for every text of every record. */
function langOf(text: string): 'zh' | 'en' | undefined {
  let latin = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xd840 && c <= 0xd88c))
      return 'zh';
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) latin = true;
  }
  return latin ? 'en' : undefined;
}

/** The item's Dublin Core statements, in element order, each value once per element. */
export function dublinCoreOf(
  item: ItemView,
  itemUrl: string,
): [DcElement, string, 'zh' | 'en' | undefined][] {
  // Per element, in the order added; a Set of element+language+value drops repeats (a harvest maps every record:
  // no Map of lists per record, no search through them).
  const by: [DcElement, string, 'zh' | 'en' | undefined][][] = DC_ELEMENTS.map(() => []);
  const seen = new Set<string>();
  /** `lang`: as given (null: none), else guessed from the text for the elements that hold text in a language. */
  const add = (el: DcElement, value: string, given?: 'zh' | 'en' | null) => {
    const lang =
      given === undefined ? (LANGUAGE_TEXT.has(el) ? langOf(value) : undefined) : (given ?? undefined);
    const key = `${el}\u0000${lang ?? ''}\u0000${value}`;
    if (seen.has(key)) return;
    seen.add(key);
    by[ELEMENT_INDEX[el]]!.push([el, value, lang]);
  };
  const m = item.metadata;
  for (const el of DC_ELEMENTS) for (const v of values(m[el])) add(el, v);
  for (const [field, el] of KIND_FIELDS[item.kind]) for (const v of values(m[field])) add(el, v);
  if (item.kind === 'oral_history' && typeof m.duration === 'number')
    add('format', `PT${Math.round(m.duration)}S`);
  if (item.kind === 'archive_document' && typeof m.pages === 'number')
    add('format', `${m.pages} pages`, 'en');
  if (item.kind === 'heritage_site' && typeof m.coordinates === 'object' && m.coordinates !== null) {
    const c = m.coordinates as { lat?: unknown; lon?: unknown };
    if (typeof c.lat === 'number' && typeof c.lon === 'number')
      add('coverage', `east=${c.lon}; north=${c.lat}; projection=WGS84`, null);
  }
  add('type', zhCN[`kind.${item.kind}`], 'zh');
  add('type', en[`kind.${item.kind}`], 'en');
  const dcmi =
    item.kind === 'media' && typeof m.media_type === 'string'
      ? MEDIA_TYPE[m.media_type]
      : DCMI_TYPE[item.kind];
  if (dcmi !== undefined) add('type', dcmi, null);
  for (const f of item.files) if (f.media_type !== undefined) add('format', f.media_type);
  add('identifier', itemUrl);
  return by.flat();
}

const ELEMENT_INDEX = Object.fromEntries(DC_ELEMENTS.map((e, i) => [e, i])) as Record<DcElement, number>;

export const OAI_DC_NS = 'http://www.openarchives.org/OAI/2.0/oai_dc/';
export const DC_NS = 'http://purl.org/dc/elements/1.1/';

/** The `<oai_dc:dc>` element of an item. */
export function oaiDcXml(item: ItemView, itemUrl: string): string {
  let body = '';
  for (const [el, value, lang] of dublinCoreOf(item, itemUrl))
    body += `<dc:${el}${lang === undefined ? '' : ` xml:lang="${lang}"`}>${escapeText(value)}</dc:${el}>`;
  return element(
    'oai_dc:dc',
    {
      'xmlns:oai_dc': OAI_DC_NS,
      'xmlns:dc': DC_NS,
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xsi:schemaLocation': `${OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd`,
    },
    body,
  );
}
