import { itemKinds } from '../../../schemas/item.ts';
import { itemPath, withParams, type PageContext } from '../page-context.ts';
import { SearchBox } from './layout.tsx';
import { AccessMark, Thumb } from './parts.tsx';

export interface HomeData {
  total: number;
  kinds: Record<string, number>;
  recent: { id: string; kind: string; title: string; updated: string; level: string }[];
}

/** The home page: what the archive holds for this reader, the newest changes, a search box. */
export function HomePage({ ctx, data }: { ctx: PageContext; data: HomeData }) {
  const { t } = ctx;
  return (
    <>
      <section class="hero">
        <h1>{t('home.title')}</h1>
        <p class="lead">{t('home.lead')}</p>
        <SearchBox ctx={ctx} q="" />
      </section>
      <section aria-labelledby="holdings">
        <h2 id="holdings">{t('home.holdings')}</h2>
        <p>{t('home.holdingsTotal', { total: data.total })}</p>
        <ul class="kind-grid">
          {itemKinds
            .filter((k) => (data.kinds[k] ?? 0) > 0)
            .map((k) => (
              <li key={k}>
                <a href={withParams('/search', { kind: k })}>
                  <span class="count">{data.kinds[k]}</span>
                  <span class="kind-name">{t(`kind.${k}`)}</span>
                </a>
              </li>
            ))}
        </ul>
      </section>
      <section aria-labelledby="recent">
        <h2 id="recent">{t('home.recent')}</h2>
        {data.recent.length === 0 ? (
          <p>{t('home.noRecent')}</p>
        ) : (
          <ul class="cards">
            {data.recent.map((item) => (
              <li key={item.id} class="card">
                <Thumb id={item.id} alt={item.title} />
                <div>
                  <a href={itemPath(item.id)}>{item.title}</a>
                  <p class="meta">
                    {t(`kind.${item.kind as (typeof itemKinds)[number]}`)} · {item.updated.slice(0, 10)}{' '}
                    <AccessMark ctx={ctx} level={item.level} />
                  </p>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
