import { CikuError } from '../../errors.ts';

const MAX_LOGICAL_PATH_BYTES = 768;
const MAX_SEGMENT_BYTES = 255;
const MAX_OBJECT_ID_BYTES = 1024;
// C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Normalises a logical path (a file's name inside an object) to NFC and checks it can never escape the object:
 * relative, `/`-separated, no empty / `.` / `..` segments, no control characters or backslashes, bounded length.
 */
export function normaliseLogicalPath(input: string): string {
  const bad = (why: string): never => {
    throw new CikuError('CIKU_ERR_PATH_INVALID', `invalid file name ${JSON.stringify(input)}: ${why}`);
  };
  if (typeof input !== 'string' || input.length === 0) bad('empty');
  if (!input.isWellFormed()) bad('not well-formed Unicode (lone surrogate)');
  const path = input.normalize('NFC');
  if (CONTROL.test(path)) bad('contains a control character');
  if (path.includes('\\')) bad('contains a backslash');
  if (path.startsWith('/') || path.endsWith('/')) bad('begins or ends with "/"');
  if (Buffer.byteLength(path) > MAX_LOGICAL_PATH_BYTES) bad(`longer than ${MAX_LOGICAL_PATH_BYTES} bytes`);
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') bad('has an empty, "." or ".." segment');
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
      bad(`a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return path;
}

/** Object ids are opaque to the layout (it hashes them) but must still be sane text: NFC, no controls, bounded. */
export function normaliseObjectId(input: string): string {
  const bad = (why: string): never => {
    throw new CikuError('CIKU_ERR_ID_INVALID', `invalid object id ${JSON.stringify(input)}: ${why}`);
  };
  if (typeof input !== 'string' || input.length === 0) bad('empty');
  if (!input.isWellFormed()) bad('not well-formed Unicode (lone surrogate)');
  const id = input.normalize('NFC');
  if (CONTROL.test(id)) bad('contains a control character');
  if (Buffer.byteLength(id) > MAX_OBJECT_ID_BYTES) bad(`longer than ${MAX_OBJECT_ID_BYTES} bytes`);
  return id;
}

/** True if one logical path is a folder prefix of another (`a` and `a/b`): OCFL E095 forbids both in one state. */
export function findPathConflict(paths: Iterable<string>): [string, string] | undefined {
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i += 1) {
    const prev = sorted[i - 1] as string;
    const cur = sorted[i] as string;
    if (cur === prev) return [prev, cur];
  }
  const set = new Set(sorted);
  for (const p of sorted) {
    let idx = p.indexOf('/');
    while (idx !== -1) {
      const parent = p.slice(0, idx);
      if (set.has(parent)) return [parent, p];
      idx = p.indexOf('/', idx + 1);
    }
  }
  return undefined;
}
