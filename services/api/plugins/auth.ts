import type { FastifyInstance, FastifyRequest } from 'fastify';
import { anonymous, type Principal } from '../../archive/access.ts';
import type { ApiKeys } from '../../auth/api-keys.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** `Authorization: Bearer <key>` → the caller's principal; no header = anonymous; a bad key = 401. */
export function registerAuth(app: FastifyInstance, keys: ApiKeys): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      request.principal = anonymous;
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    request.principal = m ? await keys.authenticate(m[1]!) : await keys.authenticate('');
    request.log.debug({ role: request.principal.role, key: request.principal.keyId }, 'authenticated');
  });
}
