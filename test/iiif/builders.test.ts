import t from 'tap';
import { buildCollection, parseCollectionName } from '../../services/iiif/collection.ts';
import { navDate, rightsUri, transcriptSections } from '../../services/iiif/manifest.ts';
import { iiifErrors } from './validate.ts';

/** The pure builders' branching, without an archive: paging chains, sections, licences, dates, names. */
const base = 'https://ciku.example.org';
const manifests = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `CO-${i}`, title: `藏品 ${i}` }));

t.test(
  'a long collection is a chain: each page ends with the next, later pages are partOf the first',
  async (t) => {
    const label = { zh: ['藏品'], en: ['Collection object'] };
    const first = buildCollection({
      publicUrl: base,
      name: 'collection_object',
      label,
      next: 'abc=',
      manifests: manifests(3),
    });
    t.same(iiifErrors(first), []);
    const items = first.items as { id: string; type: string }[];
    t.same(items.at(-1), {
      id: `${base}/iiif/collection/collection_object?page=abc%3D`,
      type: 'Collection',
      label: { zh: ['下一页'], en: ['Next page'] },
    });
    t.notOk('partOf' in first);
    const second = buildCollection({
      publicUrl: base,
      name: 'museum:景德镇御窑博物馆',
      label,
      page: 2,
      manifests: manifests(1),
    });
    t.same(iiifErrors(second), []);
    t.equal(second.id, `${base}/iiif/collection/museum%3A${encodeURIComponent('景德镇御窑博物馆')}?page=2`);
    t.match(second.partOf, [
      {
        id: `${base}/iiif/collection/museum%3A${encodeURIComponent('景德镇御窑博物馆')}`,
        type: 'Collection',
      },
    ]);
    t.same(second.label, { zh: ['藏品（续）'], en: ['Collection object (continued)'] });
    t.equal((second.items as unknown[]).length, 1, 'the last page has no next');
  },
);

t.test('collection names: kinds, museum:…, ich:…, nothing else', async (t) => {
  t.same(parseCollectionName('oral_history'), { by: 'kind', kind: 'oral_history' });
  t.same(parseCollectionName('museum:浮梁县博物馆'), { by: 'museum', museum: '浮梁县博物馆' });
  t.same(parseCollectionName('ich:Ⅷ-7'), { by: 'ich', code: 'Ⅷ-7' });
  for (const bad of ['oral', 'museum:', 'ich: ', 'kind:media'])
    t.equal(parseCollectionName(bad), undefined, bad);
});

t.test('transcript sections: one per speaker turn, merged to at most 200 for a long interview', async (t) => {
  const short = transcriptSections([
    { start: 0, end: 2, speaker: '甲', text: '一' },
    { start: 2, end: 4, speaker: '甲', text: '二' },
    { start: 4, end: 6, speaker: '乙', text: '三' },
  ]);
  t.same(
    short.map((s) => [s.start, s.end, s.label.zh?.[0]]),
    [
      [0, 4, '甲：一'],
      [4, 6, '乙：三'],
    ],
  );
  const long = transcriptSections(
    Array.from({ length: 3000 }, (_, i) => ({
      start: i * 4,
      end: i * 4 + 3.5,
      speaker: i % 2 ? '甲' : '乙',
      text: `句${i}`,
    })),
  );
  t.ok(long.length <= 200 && long.length > 100, `${long.length} sections`);
  t.equal(long[0]!.start, 0);
  t.equal(long.at(-1)!.end, 2999 * 4 + 3.5, 'the sections still cover the whole interview');
});

t.test('rights: only Creative Commons and RightsStatements.org URIs, as http:', async (t) => {
  t.equal(
    rightsUri('https://creativecommons.org/licenses/by-nc/4.0/'),
    'http://creativecommons.org/licenses/by-nc/4.0/',
  );
  t.equal(
    rightsUri('http://rightsstatements.org/vocab/InC/1.0/'),
    'http://rightsstatements.org/vocab/InC/1.0/',
  );
  t.equal(
    rightsUri('https://creativecommons.org/publicdomain/zero/1.0/'),
    'http://creativecommons.org/publicdomain/zero/1.0/',
  );
  for (const no of ['版权所有', 'https://example.org/licence', 'CC BY 4.0', undefined])
    t.equal(rightsUri(no), undefined, String(no));
});

t.test('navDate: from a date, a range’s start, a recording date or a year', async (t) => {
  t.equal(navDate({ date: '2024-05-18' }), '2024-05-18T00:00:00Z');
  t.equal(navDate({ date: '1368/1644' }), '1368-01-01T00:00:00Z');
  t.equal(navDate({ recorded_at: '2023-11' }), '2023-11-01T00:00:00Z');
  t.equal(navDate({ year: 987 }), '0987-01-01T00:00:00Z');
  t.equal(navDate({ date: '-0200' }), undefined, 'no BCE dates in xsd:dateTime form here');
  t.equal(navDate({}), undefined);
});
