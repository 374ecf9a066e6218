import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { randomUUID } from 'node:crypto';
import { createApplication } from '../app/application.ts';
import type { AppDeps } from './deps.ts';
import { CikuError } from '../errors.ts';
import { registerAuth, registerAuthRefusal } from './plugins/auth.ts';
import { registerJsonBody } from './plugins/json-body.ts';
import { registerErrorHandling } from './plugins/errors.ts';
import { fileRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { itemRoutes } from './routes/items.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { derivativeRoutes } from './routes/derivatives.ts';
import { pageRoutes } from './routes/pages.ts';
import { searchRoutes } from './routes/search.ts';
import { iiifSearchRoutes } from './routes/iiif-search.ts';
import { batchRoutes } from './routes/batches.ts';
import { iiifRoutes } from './routes/iiif.ts';
import { oaiRoutes } from './routes/oai.ts';
import { exportRoutes } from './routes/exports.ts';
import { statsRoutes } from './routes/stats.ts';
import { createStatsService } from '../stats/stats.ts';
import { notFoundPage, portalPages, SESSION_COOKIE, webRoutes } from '../web/plugin.tsx';

/** Builds the Fastify app from explicit dependencies (tests drive it with `inject`; server.ts makes it listen). */
export async function buildApp(input: Omit<AppDeps, 'app'>): Promise<FastifyInstance> {
  const deps: AppDeps = { ...input, app: createApplication(input) };
  const app = Fastify({
    loggerInstance: deps.logger === false ? undefined : deps.logger,
    logger: deps.logger === false ? false : undefined,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    trustProxy: deps.options.trustProxy ?? false,
    // File names reach 768 bytes (255 per segment): URL-encoded Chinese is 9 characters per character, so the
    // router's default of 100 refused a name of 12 Chinese characters.
    routerOptions: { maxParamLength: 8 * 1024 },
    // The router's own refusals (a URL that does not decode, a parameter past maxParamLength) in our coded shape.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void reply.status(tooLong ? 414 : 400).send({
        code: tooLong ? 'CIKU_ERR_URI_TOO_LONG' : 'CIKU_ERR_REQUEST_INVALID',
        message: tooLong ? 'a part of the URL is too long' : 'the URL does not decode (bad percent-encoding)',
      });
    },
    bodyLimit: deps.options.jsonBodyLimit,
    // Request bodies are read from the socket in 64 KiB pieces; with Node's default 16 KiB stream buffer every
    // piece overflows it, so the socket was stopped and restarted for each one during an upload.
    http: { highWaterMark: 1024 * 1024 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  } as never).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  const webDeps = {
    app: deps.app,
    keys: deps.keys,
    stats: createStatsService({ search: deps.search, blobs: deps.blobs, clock: deps.clock }),
    clock: deps.clock,
    publicUrl: deps.options.publicUrl,
    logger: deps.logger,
    ...(deps.options.assetsDir === undefined ? {} : { assetsDir: deps.options.assetsDir }),
  };
  const portal = portalPages(webDeps);
  registerErrorHandling(app, { htmlNotFound: notFoundPage(portal) });
  if (deps.starting) {
    const starting = deps.starting;
    app.addHook('onRequest', async (request, reply) => {
      const status = starting();
      if (status === undefined || request.url === '/healthz' || request.url.startsWith('/healthz?')) return;
      // Answered here, not thrown: a planned 503 while preparing is not a failure for the error log.
      return reply
        .status(503)
        .header('Retry-After', '5')
        .send({
          code: 'CIKU_ERR_UNAVAILABLE',
          message: `the archive is starting (${status.stage ?? 'preparing'}${status.progress ? ` ${status.progress.done}/${status.progress.total}` : ''}): retry shortly`,
        });
    });
  }
  await app.register(cookie);
  registerAuth(app, deps.keys, SESSION_COOKIE);
  await app.register(rateLimit, {
    hook: 'preHandler',
    max: deps.options.anonymousRateLimit,
    timeWindow: 60_000,
    allowList: (request) => request.principal.role !== 'anonymous',
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'CIKU_ERR_RATE_LIMITED',
      message: `anonymous callers may make ${context.max} requests per minute; retry in ${context.after}`,
    }),
  });
  registerAuthRefusal(app);
  registerJsonBody(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'ciku 瓷库 API',
        version: '1',
        description: 'Archive and asset repository for the Jingdezhen ceramic heritage zone',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }, {}],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(healthRoutes(deps));
  await app.register(itemRoutes(deps));
  await app.register(fileRoutes(deps));
  await app.register(uploadRoutes(deps));
  await app.register(derivativeRoutes(deps));
  await app.register(pageRoutes(deps));
  await app.register(searchRoutes(deps));
  await app.register(iiifSearchRoutes(deps));
  await app.register(batchRoutes(deps));
  await app.register(iiifRoutes(deps));
  await app.register(oaiRoutes(deps));
  await app.register(exportRoutes(deps));
  await app.register(statsRoutes(deps));
  await app.register(queueDashboard(deps));
  // The portal under `/`, beside /v1, on the same application services.
  await app.register(webRoutes(webDeps, portal));
  return app;
}

/**
 * bull-board at /admin/queues, for admins only (others get the same 404 as an unknown path). The dashboard is a
 * separate Fastify app built on the first admin request and reached through `inject`, so an API that no admin looks
 * at never loads it (it adds ~10 MB to the server's RSS, which the 200 MB upload bound counts).
 */
function queueDashboard(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    let board: Promise<FastifyInstance> | undefined;
    const build = async (): Promise<FastifyInstance> => {
      const [{ FastifyAdapter }, { createBullBoard }, { BullMQAdapter }] = await Promise.all([
        import('@bull-board/fastify'),
        import('@bull-board/api'),
        import('@bull-board/api/bullMQAdapter'),
      ]);
      const adapter = new FastifyAdapter();
      adapter.setBasePath('/admin/queues');
      createBullBoard({
        queues: deps.queue.rawQueues().map((q) => new BullMQAdapter(q)),
        serverAdapter: adapter,
        options: { uiConfig: { boardTitle: 'ciku 瓷库 queues' } },
      });
      const inner = Fastify({ logger: false });
      await inner.register(adapter.registerPlugin(), { prefix: '/admin/queues' });
      await inner.ready();
      return inner;
    };
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.principal.role !== 'admin')
        throw new CikuError('CIKU_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
      board ??= build();
      const res = await (
        await board
      ).inject({
        method: request.method as 'GET',
        url: request.url,
        headers: { ...request.headers, authorization: '' },
        ...(request.body === undefined ? {} : { payload: request.body as never }),
      });
      void reply.status(res.statusCode);
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined && !['content-length', 'transfer-encoding', 'connection'].includes(k))
          void reply.header(k, v);
      }
      return reply.send(res.rawPayload);
    };
    for (const url of ['/admin/queues', '/admin/queues/*']) {
      app.route({ method: ['GET', 'PUT', 'POST', 'DELETE'], url, handler, schema: { hide: true } });
    }
  };
}
