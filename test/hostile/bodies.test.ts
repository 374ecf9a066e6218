import t from 'tap';
import { itemKinds } from '../../schemas/item.ts';
import { ORG_A, ORG_B, newItem } from '../helpers/api.ts';
import { hostileEnv } from './harness.ts';

/** Hostile JSON bodies on POST /v1/items, PATCH /v1/items/:id and POST /v1/batches. */
const refused = (s: number) => s >= 400 && s < 500;

const rawBodies: [string, string, string?][] = [
  ['empty', ''],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"x"'],
  ['an array', '[]'],
  ['truncated', '{"kind":"media","metadata":{"title":"x"'],
  ['trailing garbage', '{"kind":"media","metadata":{"title":"x"}} x'],
  ['single quotes', "{'kind':'media'}"],
  ['comments', '{"kind":"media", /* c */ "metadata":{"title":"x"}}'],
  ['BOM', '\ufeff{"kind":"media","metadata":{"title":"x"}}'],
  ['__proto__ key', '{"kind":"media","metadata":{"title":"x"},"__proto__":{"admin":true}}'],
  ['nested __proto__', '{"kind":"media","metadata":{"title":"x","__proto__":{"polluted":1}}}'],
  [
    'constructor.prototype',
    '{"kind":"media","metadata":{"title":"x"},"constructor":{"prototype":{"admin":true}}}',
  ],
  ['1e309', '{"kind":"media","metadata":{"title":"x","duration":1e309}}'],
  ['duplicate keys', '{"kind":"media","kind":"oral_history","metadata":{"title":"x"}}'],
  ['lone surrogate escape', '{"kind":"media","metadata":{"title":"\\ud800"}}'],
  ['NUL escape', '{"kind":"media","metadata":{"title":"a\\u0000b"}}'],
  ['deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ['deep objects', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
  ['many keys', `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`).join(',')}}`],
  ['2 MiB string', `{"kind":"media","metadata":{"title":"${'x'.repeat(2 * 1024 * 1024)}"}}`],
  ['unterminated string', '{"kind":"media","metadata":{"title":"x}}'],
  ['invalid escape', '{"kind":"media","metadata":{"title":"\\q"}}'],
  ['text/plain content type', '{"kind":"media","metadata":{"title":"x"}}', 'text/plain'],
  ['utf-16 charset', '{"kind":"media","metadata":{"title":"x"}}', 'application/json; charset=utf-16'],
  ['form encoding', 'kind=media&metadata[title]=x', 'application/x-www-form-urlencoded'],
];

/** Structurally valid JSON with wrong values for every field. */
const wrongValues: unknown[] = [
  { kind: 'painting', metadata: { title: 'x' } },
  { kind: 'media' },
  { kind: 'media', metadata: {} },
  { kind: 'media', metadata: { title: '' } },
  { kind: 'media', metadata: { title: 7 } },
  { kind: 'media', metadata: { title: ['a'] } },
  { kind: 'media', metadata: { title: 'x'.repeat(1001) } },
  { kind: 'media', metadata: { title: 'x', creator: Array.from({ length: 201 }, () => 'a') } },
  { kind: 'media', metadata: { title: 'x', description: 'x'.repeat(200_001) } },
  { kind: 'media', metadata: { title: 'x', date: '2023-02-30' } },
  { kind: 'media', metadata: { title: 'x', date: 'yesterday' } },
  { kind: 'media', metadata: { title: 'x', unknown_field: 1 } },
  { kind: 'media', metadata: { title: 'x', toString: 'x' } },
  { kind: 'media', metadata: { title: 'x', hasOwnProperty: 'x' } },
  { kind: 'media', metadata: { title: 'x', media_type: 'hologram' } },
  { kind: 'heritage_site', metadata: { title: 'x', coordinates: { lat: 91, lon: 0 } } },
  { kind: 'heritage_site', metadata: { title: 'x', coordinates: { lat: 'north', lon: 0 } } },
  { kind: 'heritage_site', metadata: { title: 'x', coordinates: { lat: 1, lon: 2, alt: 3 } } },
  { kind: 'inheritor', metadata: { title: 'x', birth_year: 1.5 } },
  { kind: 'inheritor', metadata: { title: 'x', birth_year: 99999 } },
  { kind: 'inheritor', metadata: { title: 'x', level: '世界级' } },
  { kind: 'archive_document', metadata: { title: 'x', pages: -1 } },
  { kind: 'media', metadata: { title: 'x' }, access: { level: 'secret' } },
  { kind: 'media', metadata: { title: 'x' }, access: { level: 'public', embargo_until: '2099-99-99' } },
  { kind: 'media', metadata: { title: 'x' }, access: { level: 'public', embargo_until: '0000-00-00' } },
  { kind: 'media', metadata: { title: 'x' }, access: { level: 'public', organisation: '' } },
  { kind: 'media', metadata: { title: 'x' }, access: { level: 'public', extra: 1 } },
  { kind: 'media', metadata: { title: 'x' }, access: 'public' },
  { id: '../x', kind: 'media', metadata: { title: 'x' } },
  { id: 'x'.repeat(129), kind: 'media', metadata: { title: 'x' } },
  { kind: 'media', metadata: { title: 'x' }, files: [{ name: 'a', body: 'x' }] },
  { kind: 'media', metadata: { title: 'x' }, version: 'v9' },
];

t.test('hostile JSON bodies', async (t) => {
  const h = await hostileEnv(t, 'json bodies');
  const { api } = h;
  await newItem(api, 'JSON', 'media', 'public');
  h.watch('JSON');
  for (const [what, body, type] of rawBodies) {
    for (const [method, url] of [
      ['POST', '/v1/items'],
      ['PATCH', '/v1/items/JSON'],
      ['POST', '/v1/batches'],
    ] as const) {
      await h.probe(
        `${method} ${url}: ${what}`,
        'archivist',
        { method, url, headers: { 'content-type': type ?? 'application/json' }, payload: body },
        // A BOM, duplicate keys and a charset that the bytes do not need are JSON some parsers accept.
        { ok: (s) => refused(s) || (/BOM|duplicate|utf-16/.test(what) && s === 201 && url === '/v1/items') },
      );
    }
  }
  t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype not polluted');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted (nested)');
  for (const body of wrongValues) {
    await h.probe(
      `create ${JSON.stringify(body).slice(0, 80)}`,
      'archivist',
      { method: 'POST', url: '/v1/items', payload: body as object },
      { ok: refused },
    );
  }
  const patches: unknown[] = [
    ...wrongValues
      .map((v) => ({ metadata: (v as { metadata?: object }).metadata ?? { title: null } }))
      .filter(
        (p) => JSON.stringify(p) !== '{"metadata":{"title":"x"}}' && JSON.stringify(p) !== '{"metadata":{}}',
      ),
    { metadata: { title: null } },
    { metadata: 'x' },
    { access: { level: 'secret' } },
    { access: { level: 'public', embargo_until: '2026-02-30' } },
    { rename: [{ from: 'missing', to: 'x' }] },
    { rename: [{ from: 'a' }] },
    { rename: Array.from({ length: 1001 }, () => ({ from: 'a', to: 'b' })) },
    { remove: ['missing'] },
    { remove: 'all' },
    { kind: 'oral_history' },
    { id: 'other' },
    { tombstone: { at: 'now', by: 'me' } },
  ];
  for (const body of patches) {
    await h.probe(
      `patch ${JSON.stringify(body).slice(0, 80)}`,
      'archivist',
      { method: 'PATCH', url: '/v1/items/JSON', payload: body as object },
      { ok: refused },
    );
  }
  const ifMatch = ['v1', '"v0"', '"v-1"', '"v99999999999"', '*', 'W/"x"', '"v1", "v2"', ''.padEnd(5000, 'v')];
  for (const value of ifMatch) {
    await h.probe(
      `If-Match ${value.slice(0, 40)}`,
      'archivist',
      {
        method: 'PATCH',
        url: '/v1/items/JSON',
        headers: { 'if-match': value },
        payload: { metadata: { title: 'changed' } },
      },
      { ok: (s) => refused(s) || (value === 'v1' && s === 200) },
    );
  }
  // Access moves a caller may not make.
  await newItem(api, 'OWNED-A', 'media', 'private');
  await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/OWNED-A',
    headers: api.auth.archivist,
    payload: { access: { level: 'private', organisation: ORG_A } },
  });
  h.watch('OWNED-A');
  for (const access of [
    { level: 'public', organisation: ORG_B },
    { level: 'public' },
    { level: 'private', organisation: `${ORG_A} ` },
  ]) {
    await h.probe(
      `contributor moves its item: ${JSON.stringify(access)}`,
      'contributorA',
      { method: 'PATCH', url: '/v1/items/OWNED-A', payload: { access } },
      { ok: refused },
    );
  }
  for (const kind of itemKinds) {
    await h.probe(
      `contributor creates for another organisation (${kind})`,
      'contributorA',
      {
        method: 'POST',
        url: '/v1/items',
        payload: { kind, metadata: { title: 'x' }, access: { level: 'public', organisation: ORG_B } },
      },
      { ok: refused },
    );
    await h.probe(
      `researcher creates (${kind})`,
      'researcher',
      { method: 'POST', url: '/v1/items', payload: { kind, metadata: { title: 'x' } } },
      { ok: refused },
    );
    await h.probe(
      `anonymous creates (${kind})`,
      'anonymous',
      { method: 'POST', url: '/v1/items', payload: { kind, metadata: { title: 'x' } } },
      { ok: refused },
    );
  }
  await h.probe(
    'contributor creates over the canary id',
    'contributorA',
    {
      method: 'POST',
      url: '/v1/items',
      payload: { id: h.canaryItem, kind: 'media', metadata: { title: 'x' } },
    },
    { ok: (s) => s === 409 },
  );
  await h.report(t);
});
