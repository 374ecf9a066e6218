import type { PageContext } from '../page-context.ts';
import { itemPath } from '../page-context.ts';

/** A list thumbnail: the item's first image (or video poster), or a plain tile when it has none. */
export function Thumb({ id, alt }: { id: string; alt: string }) {
  return (
    <img
      class="thumb"
      src={`${itemPath(id)}/thumbnail`}
      alt={alt}
      width={96}
      height={96}
      loading="lazy"
      decoding="async"
    />
  );
}

/** Marks what anonymous readers do not see, for a signed-in reader who does. */
export function AccessMark({ ctx, level }: { ctx: PageContext; level: string }) {
  if (level === 'public') return null;
  return (
    <span class={`badge badge-${level}`}>
      {ctx.t(level === 'private' ? 'search.private' : 'search.restricted')}
    </span>
  );
}

/** Text the search engine already escaped, with its `<mark>`s kept (and nothing else: see safeMarks). */
export function Marked({ html, as = 'span' }: { html: string; as?: 'span' | 'p' }) {
  const Tag = as;
  return <Tag dangerouslySetInnerHTML={{ __html: safeMarks(html) }} />;
}

/**
 * The engines return text HTML-escaped with `<mark>`/`</mark>` around matches. This is checked rather than trusted:
 * everything is escaped again except those two exact tags, so no engine bug can put markup into a page.
 */
export function safeMarks(html: string): string {
  return html
    .split(/(<mark>|<\/mark>)/)
    .map((part) =>
      part === '<mark>' || part === '</mark>'
        ? part
        : part
            .replace(/&(?!(amp|lt|gt|quot|#39|#x27);)/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;'),
    )
    .join('');
}
