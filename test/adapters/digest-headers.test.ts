import { createHash } from 'node:crypto';
import t from 'tap';
import {
  parseDigestHeader,
  reprDigestHeader,
  requestDigests,
} from '../../services/adapters/digest-headers.ts';

/** Unit tests of RFC 9530 Content-Digest / Repr-Digest parsing and checking. */

const bytes = Buffer.from('景德镇青花瓷\n');
const sha256 = createHash('sha256').update(bytes).digest();
const sha512 = createHash('sha512').update(bytes).digest();
const b64 = (b: Buffer) => b.toString('base64');
const other256 = createHash('sha256').update('other').digest();
const INVALID = { code: 'CIKU_ERR_UPLOAD_DIGEST_INVALID', statusCode: 400 };

t.test('no header, an empty one or a blank one asks for no verification', async (t) => {
  t.equal(parseDigestHeader(undefined), undefined);
  t.equal(parseDigestHeader(''), undefined);
  t.equal(parseDigestHeader('   '), undefined);
});

t.test('a sha-256 digest is read as hex', async (t) => {
  t.same(parseDigestHeader(`sha-256=:${b64(sha256)}:`), { sha256: sha256.toString('hex') });
});

t.test('a sha-512 digest is read as hex', async (t) => {
  t.same(parseDigestHeader(`sha-512=:${b64(sha512)}:`), { sha512: sha512.toString('hex') });
});

t.test('several digests in one header are all read', async (t) => {
  t.same(parseDigestHeader(`sha-256=:${b64(sha256)}:, sha-512=:${b64(sha512)}:`), {
    sha256: sha256.toString('hex'),
    sha512: sha512.toString('hex'),
  });
});

t.test('an unknown algorithm beside a known one is ignored', async (t) => {
  const md5 = createHash('md5').update(bytes).digest();
  t.same(parseDigestHeader(`md5=:${b64(md5)}:, sha-256=:${b64(sha256)}:, unixsum=:AAAA:`), {
    sha256: sha256.toString('hex'),
  });
});

t.test('a header naming only algorithms we do not verify is refused', async (t) => {
  t.throws(() => parseDigestHeader(`md5=:${b64(createHash('md5').update(bytes).digest())}:`), INVALID);
  t.throws(() => parseDigestHeader('sha=:AAAA:'), INVALID, 'sha-1 is not verified');
});

t.test('a digest of the wrong length for its algorithm is refused', async (t) => {
  t.throws(() => parseDigestHeader('sha-256=:AAAA:'), INVALID);
  t.throws(() => parseDigestHeader(`sha-512=:${b64(sha256)}:`), INVALID, 'a sha-256 value labelled sha-512');
  t.throws(() => parseDigestHeader(`sha-256=:${b64(sha512)}:`), INVALID, 'a sha-512 value labelled sha-256');
});

t.test('a digest that is not a byte sequence is refused', async (t) => {
  for (const v of [
    `sha-256=${sha256.toString('hex')}`,
    `sha-256="${b64(sha256)}"`,
    'sha-256',
    'sha-256=?1',
    'sha-256=42',
    `sha-256=(:${b64(sha256)}:)`,
  ])
    t.throws(() => parseDigestHeader(v), INVALID, v);
});

t.test('bad base64 in a byte sequence is refused', async (t) => {
  t.throws(() => parseDigestHeader('sha-256=:!!!!:'), INVALID);
  t.throws(() => parseDigestHeader('sha-256=:ab$d:'), INVALID);
});

t.test('a header that is not a structured-field dictionary is refused', async (t) => {
  for (const v of [
    `SHA-256=:${b64(sha256)}:`,
    `sha-256=:${b64(sha256)}:,`,
    ',,,',
    `sha-256=:${b64(sha256)}`,
    'sha-256=:AAAA: garbage',
  ])
    t.throws(() => parseDigestHeader(v), INVALID, v);
});

t.test('parameters on a digest are allowed and ignored', async (t) => {
  t.same(parseDigestHeader(`sha-256=:${b64(sha256)}:;note=1`), { sha256: sha256.toString('hex') });
});

t.test('a digest named twice in one header counts once, the last one winning', async (t) => {
  t.same(parseDigestHeader(`sha-256=:${b64(other256)}:, sha-256=:${b64(sha256)}:`), {
    sha256: sha256.toString('hex'),
  });
});

t.test('Content-Digest and Repr-Digest together give the union of their digests', async (t) => {
  t.same(requestDigests(`sha-256=:${b64(sha256)}:`, `sha-512=:${b64(sha512)}:`), {
    sha256: sha256.toString('hex'),
    sha512: sha512.toString('hex'),
  });
});

t.test('either header alone is enough, and neither asks for no verification', async (t) => {
  t.same(requestDigests(`sha-256=:${b64(sha256)}:`, undefined), { sha256: sha256.toString('hex') });
  t.same(requestDigests(undefined, `sha-512=:${b64(sha512)}:`), { sha512: sha512.toString('hex') });
  t.equal(requestDigests(undefined, undefined), undefined);
  t.equal(requestDigests('', ' '), undefined);
});

t.test('the same digest in both headers is accepted', async (t) => {
  const h = `sha-256=:${b64(sha256)}:`;
  t.same(requestDigests(h, h), { sha256: sha256.toString('hex') });
});

t.test('two different values for one algorithm in the two headers are refused as a mismatch', async (t) => {
  t.throws(() => requestDigests(`sha-256=:${b64(sha256)}:`, `sha-256=:${b64(other256)}:`), {
    code: 'CIKU_ERR_UPLOAD_DIGEST_MISMATCH',
    statusCode: 400,
  });
});

t.test('an invalid header is refused even when the other one is valid', async (t) => {
  t.throws(() => requestDigests('md5=:AAAA:', `sha-256=:${b64(sha256)}:`), INVALID);
  t.throws(() => requestDigests(`sha-256=:${b64(sha256)}:`, 'sha-256=:!!!!:'), INVALID);
});

t.test('the Repr-Digest we send is read back by our own parser', async (t) => {
  const header = reprDigestHeader(sha512.toString('hex'));
  t.equal(header, `sha-512=:${b64(sha512)}:`);
  t.same(parseDigestHeader(header), { sha512: sha512.toString('hex') });
});
