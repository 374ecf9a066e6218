import t from 'tap';
import { hostileEnv } from './harness.ts';
import { newItem } from '../helpers/api.ts';

/**
 * Hostile names: file names and item ids through every route that takes one (PUT, multipart, rename, remove,
 * download, derivatives, tus metadata; item ids on every item route).
 */
const protoNames = Object.getOwnPropertyNames(Object.prototype);

/** Names a file may never have (traversal, absolute, control characters, bad Unicode, too long, …). */
const badNames = [
  '..',
  '.',
  '../x',
  '../../etc/passwd',
  'a/../b',
  'a/./b',
  'a//b',
  '/abs',
  'a/',
  '\\windows\\path',
  'a\\..\\b',
  'nul\u0000byte',
  'bell\u0007',
  'line\nbreak',
  'tab\tname',
  'del\u007f',
  'c1\u0085',
  'sep\u2028',
  'x'.repeat(256),
  `${'d/'.repeat(400)}f`,
  '\ud800lone-surrogate',
  '',
];

/** Names that are strange but legal: stored as given (NFC), readable back. */
const oddNames = [
  ...protoNames,
  'CON',
  'nul',
  'aux.txt',
  ' leading space',
  'trailing space ',
  'trailing.dot.',
  '-rf',
  '--help',
  '$(touch pwned)',
  '`id`',
  "'; DROP TABLE docs; --",
  '%2e%2e',
  '%00',
  '\u202eexe.txt',
  'zero\u200bwidth',
  '青花梅瓶（正面）.jpg',
  '😀.txt',
  'e\u0301-decomposed.txt',
  'a'.repeat(255),
  'deep/nested/folder/file.txt',
];

const ids = [
  '..',
  '../canary',
  'a/b',
  'a%2Fb',
  '-starts-with-dash',
  '.hidden',
  'x'.repeat(129),
  '青花',
  'id with space',
  '__proto__',
  'constructor',
  'ck-2026-0000\u0000',
  '%00',
  'ﬁ-ligature',
];

t.test('hostile names on every route that takes a name', async (t) => {
  const h = await hostileEnv(t, 'names');
  const { api } = h;
  await newItem(api, 'NAMES', 'archive_document', 'public');
  h.watch('NAMES');
  // A lone surrogate has no UTF-8: sent as the bytes a careless encoder would write (CESU-8), which are not UTF-8.
  const enc = (s: string) =>
    s.isWellFormed()
      ? encodeURIComponent(s)
      : encodeURIComponent(s.toWellFormed()).replace('%EF%BF%BD', '%ED%A0%80');
  const refused = (s: number) => s >= 400 && s < 500;

  for (const name of badNames) {
    for (const role of ['archivist', 'contributorA', 'anonymous'] as const) {
      await h.probe(
        `PUT ${JSON.stringify(name).slice(0, 40)}`,
        role,
        {
          method: 'PUT',
          url: `/v1/items/NAMES/files/${enc(name)}`,
          payload: 'x\n',
        },
        { ok: refused },
      );
    }
    await h.probe(
      `GET ${JSON.stringify(name).slice(0, 40)}`,
      'anonymous',
      { url: `/v1/items/NAMES/files/${enc(name)}` },
      { ok: refused },
    );
    await h.probe(
      `derivative of ${JSON.stringify(name).slice(0, 40)}`,
      'anonymous',
      { url: `/v1/items/NAMES/files/${enc(name)}/derivatives/thumbnail` },
      { ok: refused },
    );
    await h.probe(
      `rename to ${JSON.stringify(name).slice(0, 40)}`,
      'archivist',
      {
        method: 'PATCH',
        url: '/v1/items/NAMES',
        payload: { rename: [{ from: 'missing.txt', to: name }] },
      },
      { ok: refused },
    );
    await h.probe(
      `remove ${JSON.stringify(name).slice(0, 40)}`,
      'archivist',
      {
        method: 'PATCH',
        url: '/v1/items/NAMES',
        payload: { remove: [name] },
      },
      { ok: refused },
    );
    const boundary = 'hostile';
    await h.probe(
      `multipart filename ${JSON.stringify(name).slice(0, 40)}`,
      'archivist',
      {
        method: 'POST',
        url: '/v1/items/NAMES/files',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: `--${boundary}\r\nContent-Disposition: form-data; name="original"; filename="${name.replace(/"/g, '%22').replace(/[\r\n]/g, ' ')}"\r\n\r\nx\r\n--${boundary}--\r\n`,
      },
      { ok: (s) => s < 500 },
    );
    // tus metadata is base64 of UTF-8: a lone surrogate cannot be sent (it arrives as U+FFFD, a legal name).
    await h.probe(
      `tus filename ${JSON.stringify(name).slice(0, 40)}`,
      'archivist',
      {
        method: 'POST',
        url: '/v1/uploads',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': '2',
          'upload-metadata': `item ${Buffer.from('NAMES').toString('base64')},filename ${Buffer.from(name).toString('base64')}`,
        },
      },
      { ok: name.isWellFormed() ? refused : (s) => s < 500 },
    );
  }

  let stored = 0;
  for (const name of oddNames) {
    const put = await h.probe(
      `PUT odd ${JSON.stringify(name).slice(0, 40)}`,
      'archivist',
      {
        method: 'PUT',
        url: `/v1/items/NAMES/files/${enc(name)}`,
        payload: `bytes of ${name}\n`,
      },
      { ok: (s) => s === 201 || s === 400 },
    );
    if (put.statusCode !== 201) continue;
    stored += 1;
    const nfc = name.normalize('NFC');
    const get = await h.probe(
      `GET odd ${JSON.stringify(name).slice(0, 40)}`,
      'anonymous',
      {
        url: `/v1/items/NAMES/files/${enc(name)}`,
      },
      { ok: (s) => s === 200 },
    );
    t.equal(get.body, `bytes of ${name}\n`, `${JSON.stringify(name)} reads back`);
    t.ok(
      (await api.items.get('NAMES')).files.some((f) => f.name === nfc),
      `${JSON.stringify(nfc)} in item.json`,
    );
  }
  t.ok(stored >= oddNames.length - 2, `${stored} of ${oddNames.length} odd names stored and read back`);
  const conflict = await h.probe(
    'a file and a folder of the same name',
    'archivist',
    {
      method: 'PUT',
      url: `/v1/items/NAMES/files/${enc('deep/nested')}`,
      payload: 'x\n',
    },
    { ok: refused },
  );
  t.equal(conflict.statusCode, 400);

  for (const id of ids) {
    for (const [method, suffix, payload] of [
      ['GET', '', undefined],
      ['GET', '/versions', undefined],
      ['GET', '/events', undefined],
      ['PATCH', '', { metadata: { title: 'x' } }],
      ['DELETE', '', undefined],
      ['PUT', '/files/a.txt', 'x\n'],
      ['GET', '/files/secret.txt', undefined],
    ] as const) {
      await h.probe(
        `${method} item ${JSON.stringify(id).slice(0, 30)}${suffix}`,
        'contributorA',
        {
          method,
          url: `/v1/items/${enc(id)}${suffix}`,
          ...(payload === undefined ? {} : { payload }),
        },
        { ok: refused },
      );
    }
    await h.probe(
      `create item ${JSON.stringify(id).slice(0, 30)}`,
      'archivist',
      {
        method: 'POST',
        url: '/v1/items',
        payload: { id, kind: 'media', metadata: { title: 'x' } },
      },
      { ok: (s) => s === 201 || s === 400 },
    );
  }
  // The canary by its real id, on every path, as every role that may not read it.
  for (const role of ['anonymous', 'researcher', 'contributorA'] as const) {
    for (const suffix of [
      '',
      '?version=v1',
      '/versions',
      '/events',
      '/files/secret.txt',
      '/files/interview.vtt',
      '/files/interview.vtt/derivatives/segments',
    ]) {
      const res = await h.probe(
        `canary${suffix}`,
        role,
        { url: `/v1/items/${h.canaryItem}${suffix}` },
        { ok: (s) => s === 404 },
      );
      t.equal(
        res.json<{ code: string }>().code,
        'CIKU_ERR_ITEM_NOT_FOUND',
        `${role}: canary${suffix} looks missing`,
      );
    }
  }
  await h.report(t);
});
