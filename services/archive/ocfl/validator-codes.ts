/**
 * The OCFL 1.1 vocabulary the validator speaks: the spec's validation codes
 * (https://ocfl.io/1.1/spec/validation-codes.html) with their messages, the findings they make, and the names the
 * spec fixes (inventory types, registered extensions, digest algorithms, version directory names).
 */
export interface Finding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  path?: string;
}

export interface ValidationReport {
  valid: boolean;
  findings: Finding[];
  objects: number;
}

export const REGISTERED_EXTENSIONS = new Set([
  '0001-digest-algorithms',
  '0002-flat-direct-storage-layout',
  '0003-hash-and-id-n-tuple-storage-layout',
  '0004-hashed-n-tuple-storage-layout',
  '0005-mutable-head',
  '0006-flat-omit-prefix-storage-layout',
  '0007-n-tuple-omit-prefix-storage-layout',
  '0008-schema-registry',
  '0009-digest-algorithms',
  '0010-differential-ocfl-version',
  '0011-direct-clean-path-layout',
]);

export const INVENTORY_TYPES: Record<string, string> = {
  'https://ocfl.io/1.0/spec/#inventory': '1.0',
  'https://ocfl.io/1.1/spec/#inventory': '1.1',
};

/** Fixity algorithms we can verify, by OCFL name → node crypto name. */
export const FIXITY_ALGORITHMS: Record<string, string | null> = {
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
  'blake2b-512': 'blake2b512',
  'blake2b-160': null,
  'blake2b-256': null,
  'blake2b-384': null,
  'sha512/256': 'sha512-256',
  size: null,
  crc32: null,
};

export const DIGEST_LENGTH: Record<string, number> = { sha512: 128, sha256: 64 };
export const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
export const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;
export const VERSION_DIR = /^v\d+$/;

const MESSAGES: Record<string, string> = {
  E001: 'The OCFL Object Root must not contain files or directories other than those specified',
  E003: 'There must be exactly one version declaration file in the object root',
  E007: 'The version declaration must contain its dvalue followed by a newline',
  E008: 'OCFL Object content must be stored as a sequence of one or more versions',
  E009: 'The version number sequence must start at 1',
  E010: 'The version number sequence must be continuous without missing integers',
  E011: 'Zero-padded version directory numbers must start with the prefix v and then a zero',
  E012: 'All version directories must use the same naming convention',
  E013: 'New versions must follow the version directory naming convention established by earlier versions',
  E015: 'A version directory must contain no files other than an inventory and its digest',
  E017: 'contentDirectory must not contain "/" and must not be "." or ".."',
  E019: 'contentDirectory must be set in the first version and must not change',
  E023: "Every file within a version's content directory must be referenced in the manifest",
  E025: 'For content-addressing, OCFL Objects must use sha512 or sha256',
  E033: 'The inventory must be well-formed JSON of the specified structure',
  E036: 'The inventory must include the keys id, type, digestAlgorithm and head',
  E037: 'The id must be the same in every inventory of the object',
  E038: 'The inventory type must be the inventory URI of the declared specification version',
  E040: 'head must be the version directory name with the highest version number',
  E041: 'The inventory must include manifest and versions blocks',
  E042: 'Content paths in the manifest must be relative to the object root, inside a version content directory',
  E044: 'versions must be a JSON object',
  E046: 'The keys of versions must correspond to the version directories used',
  E047: 'Each version must be a JSON object',
  E048: 'A version must include created and state',
  E049: 'created must be an RFC 3339 date-time with seconds and a time zone',
  E050: 'State digests must be strings that appear in the manifest',
  E052: 'Logical path elements must not be ".", ".." or empty',
  E053: 'A logical path must not begin or end with "/"',
  E054: 'user must be an object with a name',
  E056: 'fixity keys must be known digest algorithms',
  E057: 'fixity values must map digests to content paths of the manifest',
  E058: 'Every inventory must have a digest sidecar',
  E060: 'The sidecar must contain the digest of the inventory',
  E061: 'The sidecar must be of the form "DIGEST inventory.json"',
  E063: 'Every OCFL Object must have an inventory in its root',
  E064: 'The root inventory must be the same as the inventory of the most recent version',
  E066: 'Each version block of a prior inventory must represent the same state as in the current inventory',
  E067: 'The extensions directory must contain only extension sub-directories',
  E069: 'An OCFL Storage Root must contain a root conformance declaration',
  E070: 'ocfl_layout.json must include the keys extension and description',
  E076: 'There must be exactly one version declaration in the storage root',
  E080: 'The storage root declaration must contain its dvalue followed by a newline',
  E081: 'Objects must declare the same or an earlier specification version than their storage root',
  E083: 'There must be a deterministic mapping from an object id to its storage path',
  E084: 'Storage hierarchies must not include files within intermediate directories',
  E085: 'Storage hierarchies must be terminated by OCFL Object Roots',
  E092: 'Each manifest digest must be the digest of the content paths listed for it',
  E093: 'Fixity digests must match the digests of their content paths',
  E094: 'message must be a JSON string',
  E095: 'Within a version, logical paths must be unique and non-conflicting',
  E096: 'Each digest must occur only once in the manifest, regardless of case',
  E097: 'Each digest must occur only once per algorithm in the fixity block, regardless of case',
  E099: 'Content path elements must not be ".", ".." or empty',
  E100: 'A content path must not begin or end with "/"',
  E101: 'Content paths must be unique and non-conflicting',
  E102: 'An inventory must not contain keys that are not specified',
  E103: 'Each version must conform to the same or a later specification version than the preceding version',
  E104: 'Version directory names must be v followed by the version number',
  E106: 'manifest must be a JSON object',
  E107: 'Every manifest digest must be used by some version state',
  E111: 'fixity must be a JSON object',
  W001: 'Version directory names should not be zero-padded',
  W002: 'A version directory should contain no directories other than the content directory',
  W004: 'For content-addressing, OCFL Objects should use sha512',
  W005: 'The inventory id should be a URI',
  W007: 'A version should include message and user',
  W008: 'user should include an address',
  W009: 'The user address should be a URI',
  W010: 'Every version directory should include an inventory',
  W011: 'Prior inventories should keep the created, message and user values of the current inventory',
  W013: 'Extension sub-directories should be named after registered extensions',
  W016: 'Storage root extension sub-directories should be named after registered extensions',
};

/** Findings, each reported once, with the spec message of its code; W… codes are warnings, the rest errors. */
export class Collector {
  readonly findings: Finding[] = [];
  private readonly seen = new Set<string>();

  add(code: string, detail: string, path?: string): void {
    const key = `${code}|${path ?? ''}|${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const base = MESSAGES[code] ?? code;
    this.findings.push({
      code,
      severity: code.startsWith('W') ? 'warning' : 'error',
      message: detail ? `${base}: ${detail}` : base,
      ...(path === undefined ? {} : { path }),
    });
  }
}

export function report(out: Collector, objects: number): ValidationReport {
  return { valid: !out.findings.some((f) => f.severity === 'error'), findings: out.findings, objects };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function versionNo(v: string): number {
  const m = /^v(\d+)$/.exec(v);
  return m ? Number(m[1]) : Number.NaN;
}
