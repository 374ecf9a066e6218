import { parseDictionary, type Dictionary } from 'structured-headers';
import type { ClientDigests } from '../archive/ingest.ts';
import { CikuError } from '../errors.ts';

/**
 * RFC 9530 `Content-Digest` / `Repr-Digest` (structured-field dictionaries of byte sequences) → hex digests we can
 * check. A header naming only algorithms we do not verify is refused: the client asked for verification.
 */
export function parseDigestHeader(value: string | undefined): ClientDigests | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const out: ClientDigests = {};
  for (const [alg, member] of parse(value)) {
    const bytes: unknown = Array.isArray(member) ? member[0] : undefined;
    if (!(bytes instanceof ArrayBuffer)) {
      throw new CikuError(
        'CIKU_ERR_UPLOAD_DIGEST_INVALID',
        `digest ${alg} must be a byte sequence (:base64:)`,
      );
    }
    const hex = Buffer.from(bytes).toString('hex');
    if (alg === 'sha-256' && hex.length === 64) out.sha256 = hex;
    else if (alg === 'sha-512' && hex.length === 128) out.sha512 = hex;
    else if (alg === 'sha-256' || alg === 'sha-512') {
      throw new CikuError('CIKU_ERR_UPLOAD_DIGEST_INVALID', `digest ${alg} has the wrong length`);
    }
  }
  if (out.sha256 === undefined && out.sha512 === undefined) {
    throw new CikuError(
      'CIKU_ERR_UPLOAD_DIGEST_INVALID',
      'only sha-256 and sha-512 digests are verified; none was given',
    );
  }
  return out;
}

function parse(value: string): Dictionary {
  try {
    return parseDictionary(value);
  } catch (err) {
    throw new CikuError(
      'CIKU_ERR_UPLOAD_DIGEST_INVALID',
      `cannot parse digest header: ${(err as Error).message}`,
    );
  }
}

/**
 * The digests a request names in `Content-Digest` and `Repr-Digest` together (for an upload without content
 * coding they describe the same bytes): both are verified. Two different values for one algorithm cannot both be
 * right, so the request is refused before any byte is read.
 */
export function requestDigests(
  contentDigest: string | undefined,
  reprDigest: string | undefined,
): ClientDigests | undefined {
  const content = parseDigestHeader(contentDigest);
  const repr = parseDigestHeader(reprDigest);
  if (!content || !repr) return content ?? repr;
  const out: ClientDigests = { ...repr, ...content };
  for (const alg of ['sha256', 'sha512'] as const) {
    if (content[alg] !== undefined && repr[alg] !== undefined && content[alg] !== repr[alg])
      throw new CikuError(
        'CIKU_ERR_UPLOAD_DIGEST_MISMATCH',
        `Content-Digest and Repr-Digest give different ${alg} values: nothing was stored`,
      );
  }
  return out;
}

export function reprDigestHeader(sha512Hex: string): string {
  return `sha-512=:${Buffer.from(sha512Hex, 'hex').toString('base64')}:`;
}
