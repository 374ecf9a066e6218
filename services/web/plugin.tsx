import compress from '@fastify/compress';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { VNode } from 'preact';
import { errorCatalogue, isCikuError, type CikuError } from '../errors.ts';
import { projectFile } from '../project-file.ts';
import { anonymous, type Principal } from '../archive/access.ts';
import type { WebDeps } from './deps.ts';
import { chooseLocale, LANG_COOKIE, translator, type Locale } from './i18n.ts';
import type { MessageKey } from './messages/zh-CN.ts';
import { itemPageData } from './item-data.ts';
import { renderDocument, type PageMeta } from './pages/layout.tsx';
import { HomePage } from './pages/home.tsx';
import { ItemPage } from './pages/item.tsx';
import { ErrorPage, LoginPage } from './pages/simple.tsx';
import { searchPageData, SearchPageQuery } from './search-data.ts';
import { SearchPage } from './pages/search.tsx';
import { StatsPage, StatsReport } from './pages/stats.tsx';
import { markOf, type PageContext } from './page-context.ts';
import { CaptionsQuery, captionsRoute, thumbnailRoute } from './media-routes.ts';
import { cachedSitemap, robotsTxt } from './crawlers.ts';

/** The session cookie: the reader's API key (HttpOnly, SameSite=Lax), read for GET and HEAD requests only. */
export const SESSION_COOKIE = 'ciku_session';

/** The built client's logical names → public paths, from the manifest the client build writes. */
function loadAssets(
  folder: string | undefined,
  log: (msg: string) => void,
): (name: string) => string | undefined {
  const manifest = folder === undefined ? undefined : path.join(folder, 'manifest.json');
  if (manifest === undefined || !existsSync(manifest)) {
    log('the portal client is not built (npm run build): pages are served without styles and scripts');
    return () => undefined;
  }
  const names = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, string>;
  return (name) => names[name];
}

function assetsFolder(dir: string | undefined): string | undefined {
  if (dir !== undefined) return dir;
  try {
    return projectFile(import.meta.url, 'dist/web/assets');
  } catch {
    return undefined;
  }
}

const ItemParams = Type.Object({ id: Type.String({ maxLength: 200 }) });
const ItemQuery = Type.Object({
  t: Type.Optional(Type.Number({ minimum: 0, maximum: 1e7 })),
  lang: Type.Optional(Type.String({ maxLength: 10 })),
});
const LangQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 10 })) });
const StatsPageQuery = Type.Object({
  year: Type.Optional(Type.Integer({ minimum: 1900, maximum: 9999 })),
  lang: Type.Optional(Type.String({ maxLength: 10 })),
});
const LoginQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  lang: Type.Optional(Type.String({ maxLength: 10 })),
});
const LoginBody = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 400 })),
  next: Type.Optional(Type.String({ maxLength: 2000 })),
});

/** Pages load only our own scripts, styles and media, and are framed by no one. */
const PAGE_CSP =
  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; script-src 'self'; " +
  "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Page rendering shared by the routes and the not-found page the API's handler answers browsers with: the
 * reader's context and the document, with the built client's manifest read once, at start.
 */
export function portalPages(deps: WebDeps) {
  const info = (msg: string) => (deps.logger === false ? undefined : deps.logger.warn(msg));
  const folder = assetsFolder(deps.assetsDir);
  const asset = loadAssets(folder, info);
  const secure = deps.publicUrl.startsWith('https:');
  function context(request: FastifyRequest, reply: FastifyReply): PageContext {
    // Read before validation too (the error page of a bad query string): a repeated `lang` is an array.
    const given = (request.query as { lang?: unknown } | undefined)?.lang;
    const lang = typeof given === 'string' ? given : undefined;
    const locale: Locale = chooseLocale({
      query: lang,
      cookie: request.cookies[LANG_COOKIE],
      acceptLanguage: request.headers['accept-language'],
    });
    if (lang !== undefined && request.cookies[LANG_COOKIE] !== locale) {
      void reply.setCookie(LANG_COOKIE, locale, {
        path: '/',
        sameSite: 'lax',
        httpOnly: true,
        secure,
        maxAge: 365 * 86400,
      });
    }
    return {
      locale,
      t: translator(locale),
      principal: request.principal,
      url: request.url,
      publicUrl: deps.publicUrl,
      asset,
      now: deps.clock,
    };
  }

  function page(reply: FastifyReply, ctx: PageContext, meta: PageMeta, body: VNode, status = 200) {
    return (
      reply
        .status(status)
        .header('Content-Type', 'text/html; charset=utf-8')
        .header('Content-Language', ctx.locale)
        // A page differs by reader (signed in or not) and language: never shared by a cache as-is; a signed-in
        // reader's pages (restricted titles) are not kept at all, so a shared reading-room browser forgets them.
        .header(
          'Cache-Control',
          ctx.principal.role === 'anonymous' ? 'private, no-cache' : 'private, no-store',
        )
        .header('Vary', 'Accept-Language, Cookie')
        .header('Content-Security-Policy', PAGE_CSP)
        .header('X-Content-Type-Options', 'nosniff')
        .header('Referrer-Policy', 'same-origin')
        .send(renderDocument(ctx, meta, body))
    );
  }

  return { context, page, folder };
}

export type PortalPages = ReturnType<typeof portalPages>;

/** The not-found page for browsers (an unknown URL outside /v1 asked for HTML). */
export function notFoundPage({ context, page }: PortalPages) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = context(request, reply);
    return page(
      reply,
      ctx,
      { title: ctx.t('error.title'), noindex: true },
      <ErrorPage ctx={ctx} message={ctx.t('error.404')} />,
      404,
    );
  };
}

/**
 * A path on our own origin to return to after signing in; anything else goes home. Parsed as a browser would
 * (which drops tabs and newlines, so `/\t/evil.example` is another host) and written back percent-encoded.
 */
export function localPath(next: string | undefined, origin: string): string {
  if (next === undefined || !next.startsWith('/') || /[\p{Cc}\\]/u.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return '/';
  }
  return url.origin === origin ? `${url.pathname}${url.search}${url.hash}` : '/';
}

/**
 * The portal under `/`: pages rendered on the server from the same application services (and access decisions)
 * as /v1, in 简体中文 or English, each a complete document that works without JavaScript.
 */
export function webRoutes(deps: WebDeps, rendering: PortalPages = portalPages(deps)) {
  return async function web(app: FastifyInstance): Promise<void> {
    const { context, page, folder } = rendering;
    const secure = deps.publicUrl.startsWith('https:');
    const origin = new URL(deps.publicUrl).origin;
    const sitemap = cachedSitemap(deps.app, deps.publicUrl, deps.clock);

    await app.register(formbody, { bodyLimit: 8 * 1024 });
    // Pages and the client files are text that compresses 5–10×; media under /v1 is not touched (another scope).
    await app.register(compress, { global: true, threshold: 1024, encodings: ['br', 'gzip'] });
    if (folder !== undefined && existsSync(folder)) {
      await app.register(fastifyStatic, {
        root: folder,
        prefix: '/assets/',
        preCompressed: true,
        // File names carry their content hash: a new build is a new URL.
        immutable: true,
        maxAge: '365d',
        index: false,
        list: false,
      });
    }

    app.setErrorHandler((err: FastifyError | CikuError | Error, request, reply) => {
      const ctx = context(request, reply);
      const code = isCikuError(err) ? err.code : undefined;
      let status =
        code !== undefined
          ? errorCatalogue[code]
          : 'validation' in err && err.validation
            ? 400
            : ((err as FastifyError).statusCode ?? 500);
      if (status === 404 || code === 'CIKU_ERR_ITEM_NOT_FOUND' || code === 'CIKU_ERR_VERSION_NOT_FOUND')
        status = 404;
      const key: MessageKey =
        status === 404
          ? 'error.404'
          : status === 410
            ? 'error.410'
            : status === 429
              ? 'error.429'
              : status === 503
                ? 'error.503'
                : status >= 500
                  ? 'error.500'
                  : 'error.400';
      if (status >= 500) request.log.error({ err }, 'page failed');
      else request.log.info({ code, msg: err.message }, 'page refused');
      return page(
        reply,
        ctx,
        { title: ctx.t('error.title'), noindex: true },
        <ErrorPage ctx={ctx} message={ctx.t(key, { message: status >= 500 ? '' : err.message })} />,
        status,
      );
    });

    app.get('/', { schema: { hide: true, querystring: LangQuery } }, async (request, reply) => {
      const ctx = context(request, reply);
      const principal = request.principal;
      const [answer, recent] = await Promise.all([
        deps.app.search.items(principal, {
          q: '',
          sort: 'relevance',
          page: 1,
          limit: 1,
          facets: ['kind'],
        }),
        deps.app.items.list(principal, { sort: '-updated', limit: 8 }),
      ]);
      const now = deps.clock();
      return page(
        reply,
        ctx,
        { title: ctx.t('site.tagline'), canonical: '/', description: ctx.t('home.lead') },
        <HomePage
          ctx={ctx}
          data={{
            total: answer.total,
            kinds: answer.facets.kind ?? {},
            recent: recent.items.map((i) => ({
              id: i.id,
              kind: i.kind,
              title: typeof i.metadata.title === 'string' ? i.metadata.title : i.id,
              updated: i.updated,
              level: markOf(i.access, now),
            })),
          }}
        />,
      );
    });

    app.get('/stats', { schema: { hide: true, querystring: StatsPageQuery } }, async (request, reply) => {
      const ctx = context(request, reply);
      const { year } = request.query as Static<typeof StatsPageQuery>;
      const data = await deps.stats.compute(request.principal, year === undefined ? {} : { year });
      return page(
        reply,
        ctx,
        {
          title: ctx.t('stats.title'),
          canonical: '/stats',
          description: ctx.t('stats.lead', { year: data.year }),
        },
        <StatsPage ctx={ctx} data={data} />,
      );
    });

    app.get(
      '/stats/report',
      { schema: { hide: true, querystring: StatsPageQuery } },
      async (request, reply) => {
        const ctx = context(request, reply);
        const { year } = request.query as Static<typeof StatsPageQuery>;
        const data = await deps.stats.compute(request.principal, year === undefined ? {} : { year });
        return page(
          reply,
          ctx,
          { title: ctx.t('stats.reportTitle', { year: data.year }), noindex: true },
          <StatsReport ctx={ctx} data={data} />,
        );
      },
    );

    app.get('/search', { schema: { hide: true, querystring: SearchPageQuery } }, async (request, reply) => {
      const ctx = context(request, reply);
      const query = request.query as Static<typeof SearchPageQuery>;
      const data = await searchPageData(deps.app, request.principal, query, ctx);
      return page(
        reply,
        ctx,
        {
          title: data.q ? ctx.t('search.titleWithQuery', { q: data.q }) : ctx.t('search.title'),
          noindex: true,
          scripts: ['search.js'],
        },
        <SearchPage ctx={ctx} data={data} />,
      );
    });

    app.get(
      '/items/:id',
      { schema: { hide: true, params: ItemParams, querystring: ItemQuery } },
      async (request, reply) => {
        const ctx = context(request, reply);
        const { id } = request.params as Static<typeof ItemParams>;
        const { t: given } = request.query as Static<typeof ItemQuery>;
        // `1e309` passes the schema's maximum as Infinity: a moment is a finite second.
        const t = given !== undefined && Number.isFinite(given) ? given : undefined;
        const data = await itemPageData(deps.app, request.principal, id, {
          ...(t === undefined ? {} : { start: t }),
          publicUrl: deps.publicUrl,
          now: deps.clock(),
        });
        const title = typeof data.metadata.title === 'string' ? data.metadata.title : data.id;
        const description =
          typeof data.metadata.description === 'string' ? data.metadata.description.slice(0, 200) : undefined;
        const scripts = [
          ...(data.image ? ['zoom.js'] : []),
          ...(data.media || data.transcript ? ['player.js'] : []),
        ];
        return page(
          reply,
          ctx,
          {
            title,
            canonical: `/items/${encodeURIComponent(data.id)}`,
            ...(description === undefined ? {} : { description }),
            og: {
              type: data.media ? (data.media.video ? 'video.other' : 'music.song') : 'article',
              ...(data.image && data.access.level === 'public'
                ? { image: `${deps.publicUrl}${data.image.preview}` }
                : {}),
            },
            scripts,
            // Only what anyone may read is for search engines.
            noindex: data.access.level !== 'public',
          },
          <ItemPage ctx={ctx} data={data} />,
        );
      },
    );

    app.get('/items/:id/thumbnail', { schema: { hide: true, params: ItemParams } }, thumbnailRoute(deps));
    app.get(
      '/items/:id/captions.vtt',
      { schema: { hide: true, params: ItemParams, querystring: CaptionsQuery } },
      captionsRoute(deps),
    );

    app.get('/login', { schema: { hide: true, querystring: LoginQuery } }, async (request, reply) => {
      const ctx = context(request, reply);
      const { next } = request.query as Static<typeof LoginQuery>;
      return page(
        reply,
        ctx,
        { title: ctx.t('signin.title'), noindex: true },
        <LoginPage ctx={ctx} next={localPath(next, origin)} />,
      );
    });

    /** Forms post from our own pages only: a POST from another origin is refused (login CSRF). */
    function sameOrigin(request: FastifyRequest): boolean {
      const from = request.headers.origin;
      return from === undefined || from === origin || from === `${request.protocol}://${request.host}`;
    }

    app.post('/login', { schema: { hide: true, body: LoginBody } }, async (request, reply) => {
      const ctx = context(request, reply);
      const { key, next } = request.body as Static<typeof LoginBody>;
      const back = localPath(next, origin);
      const refuse = (error: MessageKey, status: number) =>
        page(
          reply,
          ctx,
          { title: ctx.t('signin.title'), noindex: true },
          <LoginPage ctx={ctx} next={back} error={error} />,
          status,
        );
      if (!sameOrigin(request)) return refuse('signin.invalid', 403);
      if (key === undefined || key.trim() === '') return refuse('signin.required', 400);
      let principal: Principal;
      try {
        principal = await deps.keys.authenticate(key.trim());
      } catch (err) {
        if (!isCikuError(err, 'CIKU_ERR_AUTH_INVALID')) throw err;
        return refuse('signin.invalid', 401);
      }
      request.log.info({ role: principal.role, key: principal.keyId }, 'signed in to the portal');
      void reply.setCookie(SESSION_COOKIE, key.trim(), {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure,
      });
      return reply.redirect(back, 303);
    });

    app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
      if (sameOrigin(request)) {
        void reply.clearCookie(SESSION_COOKIE, { path: '/' });
        // What the browser kept of restricted media while signed in goes with the session.
        void reply.header('Clear-Site-Data', '"cache"');
      }
      request.principal = anonymous;
      return reply.redirect('/', 303);
    });

    app.get('/robots.txt', { schema: { hide: true } }, async (_request, reply) =>
      reply.header('Content-Type', 'text/plain; charset=utf-8').send(robotsTxt(deps.publicUrl)),
    );
    app.get('/sitemap.xml', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .header('Content-Type', 'application/xml; charset=utf-8')
        .header('Cache-Control', 'public, max-age=3600')
        .send(await sitemap()),
    );
  };
}
