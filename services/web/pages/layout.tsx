import type { ComponentChildren, VNode } from 'preact';
import { render } from 'preact-render-to-string';
import { locales } from '../i18n.ts';
import { withParams, type PageContext } from '../page-context.ts';

export interface PageMeta {
  title: string;
  /** The page's permanent address (path), written as `<link rel=canonical>` on the public origin. */
  canonical?: string;
  description?: string;
  /** Open Graph tags (item pages). */
  og?: { type: string; image?: string };
  /** Client modules this page loads (names of built files, e.g. `player.js`). */
  scripts?: string[];
  /** Pages a crawler should not index (search results, sign-in). */
  noindex?: boolean;
}

/** A complete HTML document: the page's body inside the header, navigation and footer every page shares. */
export function renderDocument(ctx: PageContext, meta: PageMeta, body: VNode): string {
  return `<!doctype html>${render(
    <Layout ctx={ctx} meta={meta}>
      {body}
    </Layout>,
  )}`;
}

function Layout({ ctx, meta, children }: { ctx: PageContext; meta: PageMeta; children: ComponentChildren }) {
  const { t } = ctx;
  const css = ctx.asset('portal.css');
  const canonical = meta.canonical === undefined ? undefined : `${ctx.publicUrl}${meta.canonical}`;
  const path = ctx.url.split('?')[0] ?? '/';
  const signedIn = ctx.principal.role !== 'anonymous';
  return (
    <html lang={ctx.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${meta.title} · ${t('site.name')}`}</title>
        {meta.description === undefined ? null : <meta name="description" content={meta.description} />}
        {meta.noindex ? <meta name="robots" content="noindex" /> : null}
        {canonical === undefined ? null : <link rel="canonical" href={canonical} />}
        {canonical === undefined
          ? null
          : locales.map((l) => <link key={l} rel="alternate" hreflang={l} href={`${canonical}?lang=${l}`} />)}
        {meta.og === undefined ? null : (
          <>
            <meta property="og:type" content={meta.og.type} />
            <meta property="og:title" content={meta.title} />
            <meta property="og:site_name" content={t('site.name')} />
            <meta property="og:locale" content={ctx.locale.replace('-', '_')} />
            {canonical === undefined ? null : <meta property="og:url" content={canonical} />}
            {meta.description === undefined ? null : (
              <meta property="og:description" content={meta.description} />
            )}
            {meta.og.image === undefined ? null : <meta property="og:image" content={meta.og.image} />}
          </>
        )}
        {css === undefined ? null : <link rel="stylesheet" href={css} />}
        {(meta.scripts ?? []).map((name) => {
          const src = ctx.asset(name);
          return src === undefined ? null : <script key={name} type="module" src={src} />;
        })}
      </head>
      <body>
        <a class="skip" href="#main">
          {t('site.skip')}
        </a>
        <header class="site-header">
          <a class="brand" href="/">
            <span class="brand-name">{t('site.name')}</span>
            <span class="brand-tagline">{t('site.tagline')}</span>
          </a>
          <nav aria-label={t('nav.primary')}>
            <ul>
              <li>
                <a href="/" aria-current={path === '/' ? 'page' : undefined}>
                  {t('nav.home')}
                </a>
              </li>
              <li>
                <a href="/search" aria-current={path === '/search' ? 'page' : undefined}>
                  {t('nav.search')}
                </a>
              </li>
              <li>
                <a href="/stats" aria-current={path === '/stats' ? 'page' : undefined}>
                  {t('nav.stats')}
                </a>
              </li>
              <li>
                {signedIn ? (
                  <form method="post" action="/logout" class="inline">
                    <span class="role">{t('nav.signedInAs', { role: ctx.principal.role })}</span>{' '}
                    <button type="submit" class="link">
                      {t('nav.signout')}
                    </button>
                  </form>
                ) : (
                  <a href={withParams('/login', { next: ctx.url })}>{t('nav.signin')}</a>
                )}
              </li>
            </ul>
          </nav>
          <nav aria-label={t('nav.language')} class="lang-switch">
            <ul>
              {locales.map((l) => (
                <li key={l}>
                  {l === ctx.locale ? (
                    <span aria-current="true" lang={l}>
                      {t(`lang.${l}`)}
                    </span>
                  ) : (
                    <a href={withParams(ctx.url, { lang: l })} lang={l} hreflang={l}>
                      {t(`lang.${l}`)}
                    </a>
                  )}
                </li>
              ))}
            </ul>
          </nav>
        </header>
        <main id="main" tabindex={-1}>
          {children}
        </main>
        <footer class="site-footer">
          <p>
            <a href="/docs">{t('footer.api')}</a> · {t('footer.rights')}
          </p>
        </footer>
      </body>
    </html>
  );
}

/** The search form (home and search pages): a plain GET form, so the URL holds the query. */
export function SearchBox({ ctx, q, hidden }: { ctx: PageContext; q: string; hidden?: [string, string][] }) {
  const { t } = ctx;
  return (
    <form class="search-box" role="search" method="get" action="/search">
      <label for="q">{t('search.label')}</label>
      <div class="search-row">
        <input
          id="q"
          name="q"
          type="search"
          value={q}
          placeholder={t('search.placeholder')}
          aria-describedby="q-hint"
          maxLength={1000}
        />
        {(hidden ?? []).map(([k, v], i) => (
          <input key={`${k}${i}`} type="hidden" name={k} value={v} />
        ))}
        <button type="submit">{t('search.submit')}</button>
      </div>
      <p id="q-hint" class="hint">
        {t('search.hint')}
      </p>
    </form>
  );
}
