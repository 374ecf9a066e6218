import type { ListAfter } from '../search/search-index.ts';

/**
 * Resumption tokens. A token carries the whole harvest state, so any process answers it and nothing is kept on
 * the server: the request's own arguments, the harvest's upper bound on datestamps (pinned when the harvest began,
 * so records changed or added since wait for the next incremental harvest instead of shifting this one), the
 * keyset position `(updated ms, id)` of the last record sent (so inserts and deletes before it move nothing after
 * it: no record is lost or sent twice), the cursor, the complete list size counted when the harvest began, and an
 * expiry. Base64url of a JSON array: opaque to harvesters, and anything else decodes to `undefined`.
 */
export type ListVerb = 'ListRecords' | 'ListIdentifiers';

export interface HarvestState {
  verb: ListVerb;
  metadataPrefix: string;
  set?: string;
  fromMs?: number;
  /** The harvest's upper datestamp bound (ms, inclusive). */
  untilMs: number;
  after: ListAfter;
  cursor: number;
  completeListSize: number;
  expiresMs: number;
}

const TOKEN_FORMAT = 1;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function encodeToken(s: HarvestState): string {
  const body = [
    TOKEN_FORMAT,
    s.verb,
    s.metadataPrefix,
    s.set ?? null,
    s.fromMs ?? null,
    s.untilMs,
    s.after.updated,
    s.after.id,
    s.cursor,
    s.completeListSize,
    s.expiresMs,
  ];
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function decodeToken(token: string): HarvestState | undefined {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(body) || body.length !== 11 || body[0] !== TOKEN_FORMAT) return undefined;
  const [, verb, prefix, set, fromMs, untilMs, updated, id, cursor, size, expires] = body as unknown[];
  if (verb !== 'ListRecords' && verb !== 'ListIdentifiers') return undefined;
  if (typeof prefix !== 'string' || (set !== null && typeof set !== 'string')) return undefined;
  if ((fromMs !== null && !count(fromMs)) || !count(untilMs) || !count(updated)) return undefined;
  if (typeof id !== 'string' || !ID.test(id) || !count(cursor) || !count(size) || !count(expires))
    return undefined;
  return {
    verb,
    metadataPrefix: prefix,
    ...(set === null ? {} : { set }),
    ...(fromMs === null ? {} : { fromMs }),
    untilMs,
    after: { updated, id },
    cursor,
    completeListSize: size,
    expiresMs: expires,
  };
}
