import type { MessageKey } from '../messages/zh-CN.ts';
import type { PageContext } from '../page-context.ts';

/** An error as a page: what happened in the reader's language, and a way back. */
export function ErrorPage({ ctx, message }: { ctx: PageContext; message: string }) {
  return (
    <section class="error-page">
      <h1>{ctx.t('error.title')}</h1>
      <p>{message}</p>
      <p>
        <a href="/">{ctx.t('error.home')}</a>
      </p>
    </section>
  );
}

/** Sign-in with an API key (until the staff workspace has accounts): a form that posts and redirects. */
export function LoginPage({ ctx, next, error }: { ctx: PageContext; next: string; error?: MessageKey }) {
  const { t } = ctx;
  return (
    <section class="login-form">
      <h1>{t('signin.title')}</h1>
      <p>{t('signin.lead')}</p>
      <form method="post" action="/login" novalidate>
        <input type="hidden" name="next" value={next} />
        <label for="key">{t('signin.key')}</label>
        {error === undefined ? null : (
          <p id="key-error" class="field-error">
            {t(error)}
          </p>
        )}
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="current-password"
          required
          maxLength={400}
          {...(error === undefined ? {} : { 'aria-invalid': 'true', 'aria-describedby': 'key-error' })}
        />
        <button type="submit">{t('signin.submit')}</button>
      </form>
    </section>
  );
}
