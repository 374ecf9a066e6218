import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { newItem, stagingLeft } from '../helpers/api.ts';
import { hostileEnv, type Hostile } from './harness.ts';

/** Hostile uploads: multipart shapes, tus lies and digest headers. */
const refused = (s: number) => s >= 400 && s < 500;
const TEXT = Buffer.from('青花分水的口述\n');
const b64 = (alg: string, b: Buffer) => createHash(alg).update(b).digest('base64');

t.test('hostile multipart shapes', async (t) => {
  const h = await hostileEnv(t, 'multipart shapes', { maxUploadBytes: 1024 * 1024 });
  await newItem(h.api, 'MP', 'archive_document', 'public');
  h.watch('MP');
  const B = 'hostileboundary';
  const part = (headers: string, body: string | Buffer = TEXT) =>
    Buffer.concat([Buffer.from(`--${B}\r\n${headers}\r\n\r\n`), Buffer.from(body), Buffer.from('\r\n')]);
  const file = (name: string, field = 'original') =>
    part(`Content-Disposition: form-data; name="${field}"; filename="${name}"`);
  const end = Buffer.from(`--${B}--\r\n`);
  const shapes: [string, Buffer | string, string?][] = [
    ['no parts', end],
    ['only a field', Buffer.concat([part('Content-Disposition: form-data; name="note"', 'hello'), end])],
    ['a part without Content-Disposition', Buffer.concat([part('Content-Type: text/plain'), end])],
    [
      'a file part without filename',
      Buffer.concat([part('Content-Disposition: form-data; name="original"'), end]),
    ],
    ['an empty filename', Buffer.concat([file(''), end])],
    ['no final boundary', file('a.txt')],
    [
      'a truncated part',
      Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="original"; filename="a.txt"\r\n\r\nhalf`),
    ],
    ['garbage', randomBytes(4096)],
    ['a wrong boundary', Buffer.concat([file('a.txt'), end]), 'multipart/form-data; boundary=other'],
    ['no boundary', Buffer.concat([file('a.txt'), end]), 'multipart/form-data'],
    [
      'a 200-character boundary',
      Buffer.concat([file('a.txt'), end]),
      `multipart/form-data; boundary=${'b'.repeat(200)}`,
    ],
    ['multipart/mixed', Buffer.concat([file('a.txt'), end]), `multipart/mixed; boundary=${B}`],
    ['__proto__ as the field name', Buffer.concat([file('a.txt', '__proto__'), end])],
    ['constructor as the field name', Buffer.concat([file('a.txt', 'constructor'), end])],
    ['a traversal filename', Buffer.concat([file('../../etc/passwd'), end])],
    ['a backslash filename', Buffer.concat([file('..\\..\\x.txt'), end])],
    ['an absolute filename', Buffer.concat([file('/etc/passwd'), end])],
    ['the same name twice', Buffer.concat([file('a.txt'), file('a.txt'), end])],
    ['NFC and NFD of one name', Buffer.concat([file('e\u0301.txt'), file('\u00e9.txt'), end])],
    [
      'a part over the limit',
      Buffer.concat([
        part(
          'Content-Disposition: form-data; name="original"; filename="big.txt"',
          Buffer.alloc(2 * 1024 * 1024, 'x'),
        ),
        end,
      ]),
    ],
    [
      'a refused type after a good part',
      Buffer.concat([
        file('ok.txt'),
        part('Content-Disposition: form-data; name="original"; filename="x.bin"', randomBytes(8192)),
        end,
      ]),
    ],
    ['1,200 parts', Buffer.concat([...Array.from({ length: 1200 }, (_, i) => file(`p${i}.txt`)), end])],
    [
      '120 fields',
      Buffer.concat([
        ...Array.from({ length: 120 }, (_, i) => part(`Content-Disposition: form-data; name="f${i}"`, 'v')),
        file('a.txt'),
        end,
      ]),
    ],
    [
      'a 100 KiB field',
      Buffer.concat([
        part('Content-Disposition: form-data; name="note"', 'x'.repeat(100 * 1024)),
        file('a.txt'),
        end,
      ]),
    ],
    [
      '200 header lines in a part',
      Buffer.concat([
        part(
          [
            'Content-Disposition: form-data; name="original"; filename="a.txt"',
            ...Array.from({ length: 200 }, (_, i) => `X-H${i}: v`),
          ].join('\r\n'),
        ),
        end,
      ]),
    ],
    [
      'a filename with CRLF',
      Buffer.concat([
        part('Content-Disposition: form-data; name="original"; filename="a\r\nContent-Type: text/html.txt"'),
        end,
      ]),
    ],
  ];
  for (const [what, body, type] of shapes) {
    for (const role of ['archivist', 'contributorA', 'anonymous'] as const) {
      await h.probe(
        `multipart: ${what}`,
        role,
        {
          method: 'POST',
          url: '/v1/items/MP/files',
          headers: { 'content-type': type ?? `multipart/form-data; boundary=${B}` },
          payload: body,
        },
        { ok: role === 'archivist' ? (s) => s < 500 : refused },
      );
    }
  }
  t.notOk(
    (await h.api.items.get('MP')).files.some((f) => /passwd|\.\./.test(f.name)),
    'no traversal stored',
  );
  await h.probe(
    'multipart to the canary',
    'contributorA',
    {
      method: 'POST',
      url: `/v1/items/${h.canaryItem}/files`,
      headers: { 'content-type': `multipart/form-data; boundary=${B}` },
      payload: Buffer.concat([file('x.txt'), end]),
    },
    { ok: (s) => s === 404 },
  );
  await h.report(t);
});

async function tusCreate(
  h: Hostile,
  role: Parameters<Hostile['probe']>[1],
  headers: Record<string, string>,
  label: string,
  ok?: (s: number) => boolean,
) {
  return h.probe(
    label,
    role,
    { method: 'POST', url: '/v1/uploads', headers: { 'tus-resumable': '1.0.0', ...headers } },
    ok ? { ok } : {},
  );
}

t.test('tus lies', async (t) => {
  const h = await hostileEnv(t, 'tus lies', { maxUploadBytes: 1024 * 1024 });
  const { api } = h;
  await newItem(api, 'TUS', 'oral_history', 'public');
  h.watch('TUS');
  const meta = (pairs: Record<string, string>) =>
    Object.entries(pairs)
      .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
      .join(',');
  const good = meta({ item: 'TUS', filename: 'a.txt' });
  const creations: [string, Record<string, string>][] = [
    ['no Tus-Resumable', { 'tus-resumable': '' }],
    ['Tus-Resumable 0.2', { 'tus-resumable': '0.2.0', 'upload-length': '10', 'upload-metadata': good }],
    ['no length', { 'upload-metadata': good }],
    ['a negative length', { 'upload-length': '-1', 'upload-metadata': good }],
    ['a length that is not a number', { 'upload-length': 'ten', 'upload-metadata': good }],
    ['a fractional length', { 'upload-length': '1.5', 'upload-metadata': good }],
    ['a length over the limit', { 'upload-length': String(2 * 1024 * 1024), 'upload-metadata': good }],
    ['a length past 2^53', { 'upload-length': '99999999999999999999', 'upload-metadata': good }],
    [
      'both a length and defer',
      { 'upload-length': '10', 'upload-defer-length': '1', 'upload-metadata': good },
    ],
    ['defer = 2', { 'upload-defer-length': '2', 'upload-metadata': good }],
    ['no metadata', { 'upload-length': '10' }],
    ['no item', { 'upload-length': '10', 'upload-metadata': meta({ filename: 'a.txt' }) }],
    ['no filename', { 'upload-length': '10', 'upload-metadata': meta({ item: 'TUS' }) }],
    ['metadata that is not base64', { 'upload-length': '10', 'upload-metadata': 'item !!!,filename ???' }],
    [
      'metadata with a duplicate key',
      {
        'upload-length': '10',
        'upload-metadata': `${good},item ${Buffer.from('canary').toString('base64')}`,
      },
    ],
    [
      'a __proto__ metadata key',
      {
        'upload-length': '10',
        'upload-metadata': `${good},__proto__ ${Buffer.from('x').toString('base64')}`,
      },
    ],
    [
      'an unknown item',
      { 'upload-length': '10', 'upload-metadata': meta({ item: 'no-such', filename: 'a.txt' }) },
    ],
    [
      'a traversal filename',
      { 'upload-length': '10', 'upload-metadata': meta({ item: 'TUS', filename: '../../x' }) },
    ],
    [
      'a bad role',
      { 'upload-length': '10', 'upload-metadata': meta({ item: 'TUS', filename: 'a.txt', role: 'admin' }) },
    ],
    [
      'a bad content-digest',
      {
        'upload-length': '10',
        'upload-metadata': meta({ item: 'TUS', filename: 'a.txt', 'content-digest': 'md5=:x:' }),
      },
    ],
    [
      '4 KiB of metadata',
      { 'upload-length': '10', 'upload-metadata': `${good},x ${Buffer.alloc(3000, 'x').toString('base64')}` },
    ],
  ];
  for (const [what, headers] of creations) {
    await tusCreate(h, 'archivist', headers, `create: ${what}`, (s) => refused(s) || s === 201);
  }
  for (const role of ['contributorA', 'researcher', 'anonymous'] as const) {
    for (const target of ['TUS', h.canaryItem]) {
      await tusCreate(
        h,
        role,
        { 'upload-length': '10', 'upload-metadata': meta({ item: target, filename: 'a.txt' }) },
        `create for ${target} as ${role}`,
        refused,
      );
    }
  }
  // A real upload, then lies about it.
  const created = await tusCreate(
    h,
    'archivist',
    { 'upload-length': String(TEXT.length), 'upload-metadata': good },
    'create a real upload',
    (s) => s === 201,
  );
  const url = new URL(created.headers.location as string).pathname;
  const patch = (
    headers: Record<string, string>,
    body: Buffer,
    role: Parameters<Hostile['probe']>[1] = 'archivist',
    label = '',
  ) =>
    h.probe(`patch: ${label}`, role, {
      method: 'PATCH',
      url,
      headers: { 'tus-resumable': '1.0.0', 'content-type': 'application/offset+octet-stream', ...headers },
      payload: body,
    });
  const lies: [string, Record<string, string>, Buffer][] = [
    ['a wrong offset', { 'upload-offset': '5' }, TEXT],
    ['a negative offset', { 'upload-offset': '-1' }, TEXT],
    ['no offset', {}, TEXT],
    ['the wrong content type', { 'upload-offset': '0', 'content-type': 'application/json' }, TEXT],
    ['more bytes than declared', { 'upload-offset': '0' }, Buffer.concat([TEXT, TEXT])],
    [
      'an unknown checksum algorithm',
      { 'upload-offset': '0', 'upload-checksum': `md5 ${b64('md5', TEXT)}` },
      TEXT,
    ],
    ['a checksum that is not base64', { 'upload-offset': '0', 'upload-checksum': 'sha256 ***' }, TEXT],
    [
      'a checksum that does not match',
      { 'upload-offset': '0', 'upload-checksum': `sha256 ${b64('sha256', Buffer.from('other'))}` },
      TEXT,
    ],
    ['a length declared late, smaller than the bytes', { 'upload-offset': '0', 'upload-length': '3' }, TEXT],
  ];
  for (const [what, headers, body] of lies) {
    const res = await patch(headers, body, 'archivist', what);
    t.ok(refused(res.statusCode), `${what}: ${res.statusCode}`);
  }
  for (const role of ['contributorA', 'researcher', 'anonymous', 'admin'] as const) {
    const res = await patch({ 'upload-offset': '0' }, TEXT, role, `another caller (${role}) continues it`);
    t.equal(res.statusCode, 404, `${role} cannot continue another's upload`);
    const head = await h.probe(`another caller (${role}) inspects it`, role, {
      method: 'HEAD',
      url,
      headers: { 'tus-resumable': '1.0.0' },
    });
    t.equal(head.statusCode, 404);
    const del = await h.probe(`another caller (${role}) terminates it`, role, {
      method: 'DELETE',
      url,
      headers: { 'tus-resumable': '1.0.0' },
    });
    t.equal(del.statusCode, 404);
  }
  for (const id of [
    '..%2F..%2Fcanary',
    '00000000000000000000000000000000',
    'x'.repeat(300),
    '%00',
    'info.json',
  ]) {
    await h.probe(
      `PATCH /v1/uploads/${id.slice(0, 20)}`,
      'archivist',
      {
        method: 'PATCH',
        url: `/v1/uploads/${id}`,
        headers: {
          'tus-resumable': '1.0.0',
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '0',
        },
        payload: TEXT,
      },
      { ok: refused },
    );
  }
  const done = await patch(
    { 'upload-offset': '0', 'upload-checksum': `sha256 ${b64('sha256', TEXT)}` },
    TEXT,
    'archivist',
    'the honest rest',
  );
  t.equal(done.statusCode, 204, 'the honest upload still completes');
  t.ok(
    (await api.items.get('TUS')).files.some((f) => f.name === 'a.txt'),
    'and is committed',
  );
  // A finished upload of bytes nothing identifies is kept (issue 17: every format is preserved) as
  // application/octet-stream, and its tus parts are removed once committed.
  const tusLeft = async () =>
    (await stagingLeft(api.blobs)).filter((k) => k.startsWith('staging/tus/')).length;
  const before = await tusLeft();
  const bin = randomBytes(4096);
  const kept = await h.probe('an upload of bytes of no known type, in one request', 'archivist', {
    method: 'POST',
    url: '/v1/uploads',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': String(bin.length),
      'upload-metadata': meta({ item: 'TUS', filename: 'x.bin' }),
      'content-type': 'application/offset+octet-stream',
    },
    payload: bin,
  });
  t.equal(kept.statusCode, 201, 'kept when the last byte arrives');
  t.ok(
    (await api.items.get('TUS')).files.some((f) => f.name === 'x.bin'),
    'and committed',
  );
  t.equal(await tusLeft(), before, 'its parts are removed');
  await h.report(t);
});

t.test('hostile digest headers', async (t) => {
  const h = await hostileEnv(t, 'digest headers');
  await newItem(h.api, 'DIG', 'archive_document', 'public');
  h.watch('DIG');
  const sha256 = b64('sha256', TEXT);
  const sha512 = b64('sha512', TEXT);
  const headers: [string, Record<string, string>, boolean][] = [
    ['sha-256 right', { 'content-digest': `sha-256=:${sha256}:` }, true],
    ['sha-512 right (Repr-Digest)', { 'repr-digest': `sha-512=:${sha512}:` }, true],
    ['both right', { 'content-digest': `sha-256=:${sha256}:, sha-512=:${sha512}:` }, true],
    ['sha-256 wrong', { 'content-digest': `sha-256=:${b64('sha256', Buffer.from('x'))}:` }, false],
    [
      'one right, one wrong',
      { 'content-digest': `sha-256=:${sha256}:, sha-512=:${b64('sha512', Buffer.from('x'))}:` },
      false,
    ],
    [
      'Content-Digest right, Repr-Digest wrong',
      {
        'content-digest': `sha-256=:${sha256}:`,
        'repr-digest': `sha-256=:${b64('sha256', Buffer.from('x'))}:`,
      },
      false,
    ],
    ['md5 only', { 'content-digest': `md5=:${b64('md5', TEXT)}:` }, false],
    ['sha only (SHA-1)', { 'content-digest': `sha=:${b64('sha1', TEXT)}:` }, false],
    ['not a structured field', { 'content-digest': 'sha-256 abc' }, false],
    ['a token instead of bytes', { 'content-digest': `sha-256=${sha256}` }, false],
    ['empty bytes', { 'content-digest': 'sha-256=::' }, false],
    ['a short digest', { 'content-digest': `sha-256=:${Buffer.alloc(8).toString('base64')}:` }, false],
    ['invalid base64', { 'content-digest': 'sha-256=:!!!!:' }, false],
    ['upper-case algorithm', { 'content-digest': `SHA-256=:${sha256}:` }, false],
    ['a 20 KiB header', { 'content-digest': `sha-256=:${'A'.repeat(20_000)}:` }, false],
    ['a Digest header (RFC 3230) only', { digest: `SHA-256=${sha256}` }, true],
    [
      'hex instead of base64',
      { 'content-digest': `sha-256=:${createHash('sha256').update(TEXT).digest('hex')}:` },
      false,
    ],
  ];
  let n = 0;
  for (const [what, extra, accept] of headers) {
    n += 1;
    const res = await h.probe(
      `digest: ${what}`,
      'archivist',
      { method: 'PUT', url: `/v1/items/DIG/files/d${n}.txt`, headers: extra, payload: TEXT },
      { ok: accept ? (s) => s === 201 : refused },
    );
    if (!accept)
      t.match(
        res.json<{ code: string }>().code,
        /^CIKU_ERR_(UPLOAD_DIGEST_(MISMATCH|INVALID)|REQUEST_INVALID)$/,
        `${what}: ${res.body.slice(0, 120)}`,
      );
  }
  await h.report(t);
});
