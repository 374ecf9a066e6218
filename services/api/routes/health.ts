import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health, Ready } from '../../../schemas/api.ts';
import type { AppDeps } from '../deps.ts';

export const healthRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function health(app) {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['ops'],
          summary:
            'The process is up (status "starting", with the stage and its progress, while it prepares)',
          response: { 200: Health },
        },
      },
      async () => deps.starting?.() ?? { status: 'ok' as const },
    );

    app.get(
      '/readyz',
      {
        schema: {
          tags: ['ops'],
          summary: 'The store, Redis (queues) and the search index answer',
          response: { 200: Ready, 503: Ready },
        },
      },
      async (_request, reply) => {
        const check = async (fn: () => Promise<boolean>): Promise<{ ok: boolean; detail?: string }> => {
          try {
            return (await withTimeout(fn(), 2000)) ? { ok: true } : { ok: false, detail: 'no answer' };
          } catch (err) {
            return { ok: false, detail: (err as Error).message };
          }
        };
        const checks = {
          store: await check(
            async () => (await deps.blobs.stat(`${deps.ocfl.rootPrefix}/0=ocfl_1.1`)) !== undefined,
          ),
          redis: await check(() => deps.queue.ping()),
          search: await check(async () => {
            await deps.search.ping();
            return true;
          }),
        };
        const ok = Object.values(checks).every((c) => c.ok);
        return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
      },
    );
  };

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
