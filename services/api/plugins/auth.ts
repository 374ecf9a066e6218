import type { FastifyInstance, FastifyRequest } from 'fastify';
import { anonymous, type Principal } from '../../archive/access.ts';
import type { ApiKeys } from '../../auth/api-keys.ts';
import { isCikuError, type CikuError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** Set when the request sent a key that did not authenticate: answered 401 once the rate limit has counted it. */
    authFailure: CikuError | null;
  }
}

/**
 * `Authorization: Bearer <key>` → the caller's principal; no header = anonymous; a bad key = 401. A request whose
 * key fails is treated as anonymous until the rate limiter has counted it (`registerAuthRefusal`, after the
 * limiter's hook), so guessing keys from one address costs that address's anonymous allowance and ends in 429.
 */
export function registerAuth(app: FastifyInstance, keys: ApiKeys, sessionCookie?: string): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('authFailure', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    request.authFailure = null;
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      request.principal = anonymous;
      if (sessionCookie !== undefined) await fromSession(request, keys, sessionCookie);
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    try {
      request.principal = await keys.authenticate(m ? m[1]! : '');
    } catch (err) {
      if (!isCikuError(err, 'CIKU_ERR_AUTH_INVALID')) throw err;
      request.principal = anonymous;
      request.authFailure = err;
      return;
    }
    request.log.debug({ role: request.principal.role, key: request.principal.keyId }, 'authenticated');
  });
  // What is answered to a signed-in caller is theirs: a shared cache must not keep it for anyone else. A request
  // with Authorization is protected by HTTP itself (RFC 9111 §3.5); one signed in by the portal's cookie is not, so
  // every answer that does not say otherwise (the derivatives say `public` when anyone may read them) says private.
  app.addHook('onSend', async (request, reply) => {
    if (
      request.principal?.role !== undefined &&
      request.principal.role !== 'anonymous' &&
      !reply.hasHeader('cache-control')
    )
      void reply.header('Cache-Control', 'private, no-cache');
  });
}

/**
 * The portal's session (an API key in an HttpOnly, SameSite=Lax cookie) counts for reading only: GET and HEAD, so
 * no write ever rides on a cookie a browser attaches by itself (writes need the Authorization header). A session
 * key that no longer authenticates (revoked) reads as anonymous: pages never answer 401 for a stale cookie.
 */
async function fromSession(request: FastifyRequest, keys: ApiKeys, name: string): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return;
  const cookies = (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies;
  const key = cookies?.[name];
  if (key === undefined || key === '') return;
  try {
    request.principal = await keys.authenticate(key);
  } catch (err) {
    if (!isCikuError(err, 'CIKU_ERR_AUTH_INVALID')) throw err;
  }
}

/**
 * The 401 for a key that failed, once the rate limiter has counted the request. The limiter attaches its hook to
 * each route as it is declared (route hooks run after the app's), so this one is attached the same way, after it:
 * call this after registering the limiter and before declaring routes.
 */
export function registerAuthRefusal(app: FastifyInstance): void {
  const refuse = async (request: FastifyRequest): Promise<void> => {
    if (request.authFailure) throw request.authFailure;
  };
  app.addHook('onRoute', (route) => {
    const existing = route.preHandler;
    route.preHandler =
      existing === undefined ? [refuse] : [...(Array.isArray(existing) ? existing : [existing]), refuse];
  });
}
