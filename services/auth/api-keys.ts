import { LRUCache } from 'lru-cache';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readAll, type BlobStore } from '../archive/blob-store.ts';
import type { Principal, Role } from '../archive/access.ts';
import { CikuError, isCikuError } from '../errors.ts';

/**
 * API keys: `ck_<keyId>_<secret>`. Only sha256(secret) is stored (as `ciku-keys/<keyId>.json` in the blob store,
 * outside the OCFL root); the secret is shown once at creation. Lookups are cached for `cacheMs` so a busy API
 * does not read the store per request; a revocation therefore takes effect within that time. The cache is bounded
 * (LRU, `cacheEntries`) and an unknown key id is remembered only briefly (`negativeCacheMs`): random tokens can
 * neither grow it without end nor keep a key created a moment later from working.
 */
export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Exclude<Role, 'anonymous'>;
  organisation?: string;
  hash: string;
  created: string;
  revoked?: string;
}

const PREFIX = 'ciku-keys/';
const TOKEN = /^ck_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

export function createApiKeys(deps: {
  blobs: BlobStore;
  adminKey?: string | undefined;
  clock?: () => Date;
  cacheMs?: number;
  negativeCacheMs?: number;
  cacheEntries?: number;
}) {
  const { blobs } = deps;
  const clock = deps.clock ?? (() => new Date());
  const cacheMs = deps.cacheMs ?? 30_000;
  const negativeCacheMs = deps.negativeCacheMs ?? 5_000;
  // A record, or `false` for "no such key" (lru-cache keeps no undefined values).
  const cache = new LRUCache<string, ApiKeyRecord | false>({
    max: deps.cacheEntries ?? 10_000,
    ttl: cacheMs,
    ttlAutopurge: false,
  });
  const adminHash = deps.adminKey ? sha256(deps.adminKey) : undefined;

  async function read(id: string): Promise<ApiKeyRecord | undefined> {
    try {
      return JSON.parse(
        (await readAll(await blobs.get(`${PREFIX}${id}.json`))).toString('utf8'),
      ) as ApiKeyRecord;
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async function create(input: {
    name: string;
    role: ApiKeyRecord['role'];
    organisation?: string;
  }): Promise<{ token: string; record: ApiKeyRecord }> {
    if (input.role === 'contributor' && !input.organisation) {
      throw new CikuError(
        'CIKU_ERR_AUTH_KEY_INVALID',
        'a contributor key needs the organisation it acts for',
      );
    }
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const id = [...randomBytes(12)].map((b) => alphabet[b % alphabet.length]).join('');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      name: input.name,
      role: input.role,
      ...(input.organisation ? { organisation: input.organisation } : {}),
      hash: sha256(secret).toString('hex'),
      created: clock().toISOString(),
    };
    await blobs.put(`${PREFIX}${id}.json`, JSON.stringify(record, null, 2), { ifAbsent: true });
    return { token: `ck_${id}_${secret}`, record };
  }

  async function list(): Promise<Omit<ApiKeyRecord, 'hash'>[]> {
    const out: Omit<ApiKeyRecord, 'hash'>[] = [];
    for await (const b of blobs.list(PREFIX)) {
      const rec = await read(b.key.slice(PREFIX.length, -'.json'.length));
      if (rec) {
        const { hash: _hash, ...rest } = rec;
        out.push(rest);
      }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  async function revoke(id: string): Promise<ApiKeyRecord> {
    const rec = await read(id);
    if (!rec) throw new CikuError('CIKU_ERR_AUTH_KEY_NOT_FOUND', `no API key ${id}`);
    if (!rec.revoked) {
      rec.revoked = clock().toISOString();
      await blobs.put(`${PREFIX}${id}.json`, JSON.stringify(rec, null, 2));
    }
    cache.delete(id);
    return rec;
  }

  /** The principal a bearer token stands for; throws CIKU_ERR_AUTH_INVALID for unknown, malformed or revoked keys. */
  async function authenticate(token: string): Promise<Principal> {
    if (adminHash && timingSafeEqual(sha256(token), adminHash)) return { role: 'admin', keyId: 'bootstrap' };
    const m = TOKEN.exec(token);
    const invalid = new CikuError('CIKU_ERR_AUTH_INVALID', 'invalid or revoked API key');
    if (!m) throw invalid;
    const [, id, secret] = m as unknown as [string, string, string];
    let rec = cache.get(id);
    if (rec === undefined) {
      rec = (await read(id)) ?? false;
      cache.set(id, rec, rec === false ? { ttl: negativeCacheMs } : {});
    }
    if (!rec || rec.revoked || !timingSafeEqual(sha256(secret), Buffer.from(rec.hash, 'hex'))) throw invalid;
    return { role: rec.role, keyId: rec.id, ...(rec.organisation ? { organisation: rec.organisation } : {}) };
  }

  return { create, list, revoke, authenticate, cachedKeys: () => cache.size };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
