import type { TranscriptSegmentT } from '../../../schemas/technical.ts';
import { isMessageKey } from '../i18n.ts';
import { byteSize, clock, filePath, itemPath, withParams, type PageContext } from '../page-context.ts';
import { AccessMark } from './parts.tsx';

export interface PageFile {
  name: string;
  role: string;
  size: number;
  media_type?: string;
  /** Derivatives that are ready to serve. */
  ready: Set<string>;
  width?: number;
  height?: number;
}

export interface RelatedGroup {
  label:
    | 'item.related.projects'
    | 'item.related.inheritors'
    | 'item.related.interviews'
    | 'item.related.objects'
    | 'item.related.interviewee';
  items: { id: string; title: string; kind: string }[];
}

export interface ItemPageData {
  id: string;
  kind: string;
  version: string;
  updated: string;
  created: string;
  access: { level: string; embargo_until?: string };
  metadata: Record<string, unknown>;
  /** The kind's field names in schema order (Dublin Core first). */
  fieldOrder: string[];
  files: PageFile[];
  /** Whether the reader may download originals (anyone who may read the item may). */
  related: RelatedGroup[];
  media?: { file: PageFile; video: boolean; poster?: string; waveform?: string; captions?: string };
  image?: { file: PageFile; info?: string; preview: string };
  transcript?: { segments: TranscriptSegmentT[]; shown: number; truncated: boolean; file: string };
  /** `?t=` of the URL (seconds), when it names a moment. */
  start?: number;
  citation: string;
}

/** Fields shown as paragraphs below the field list, not in it. */
const longFields = new Set(['description', 'biography', 'ocr_text', 'consent']);

/** An item page: title, media (zoom or player + transcript), fields, files, related records, citation. */
export function ItemPage({ ctx, data }: { ctx: PageContext; data: ItemPageData }) {
  const { t } = ctx;
  const kindKey = `kind.${data.kind}`;
  const title = typeof data.metadata.title === 'string' ? data.metadata.title : data.id;
  const permalink = `${ctx.publicUrl}${itemPath(data.id)}`;
  return (
    <article class="item" lang="zh-CN">
      <header class="item-head">
        <p class="meta" lang={ctx.locale}>
          {isMessageKey(kindKey) ? t(kindKey) : data.kind} <AccessMark ctx={ctx} level={data.access.level} />
        </p>
        <h1>{title}</h1>
        {data.access.level === 'public' ? null : (
          <p class="notice" lang={ctx.locale}>
            {t('access.notice', { level: t(`access.${data.access.level as 'restricted' | 'private'}`) })}
            {data.access.embargo_until === undefined
              ? null
              : ` ${t('access.embargo', { date: data.access.embargo_until })}`}
          </p>
        )}
      </header>
      {data.image ? <Zoom ctx={ctx} data={data} title={title} /> : null}
      {data.media ? (
        <div class="av-layout">
          <Player ctx={ctx} data={data} />
          {data.transcript ? <Transcript ctx={ctx} data={data} /> : null}
        </div>
      ) : data.transcript ? (
        <Transcript ctx={ctx} data={data} />
      ) : null}
      <div class="item-layout" lang={ctx.locale}>
        <section aria-labelledby="fields-title">
          <h2 id="fields-title">{t('item.metadata')}</h2>
          <Fields ctx={ctx} data={data} />
          {data.fieldOrder
            .filter((f) => longFields.has(f) && typeof data.metadata[f] === 'string')
            .map((f) => (
              <section key={f} class="long-field">
                <h3>{isMessageKey(`field.${f}`) ? t(`field.${f}` as never) : f}</h3>
                {String(data.metadata[f])
                  .split(/\n+/)
                  .slice(0, 200)
                  .map((para, i) => (
                    <p key={i} lang="zh-CN">
                      {para}
                    </p>
                  ))}
              </section>
            ))}
        </section>
        <Files ctx={ctx} data={data} />
        {data.related.length === 0 ? null : (
          <section class="related" aria-labelledby="related-title">
            <h2 id="related-title">{t('item.related')}</h2>
            {data.related.map((g) => (
              <section key={g.label}>
                <h3>{t(g.label)}</h3>
                <ul>
                  {g.items.map((r) => (
                    <li key={r.id}>
                      <a href={itemPath(r.id)} lang="zh-CN">
                        {r.title}
                      </a>
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </section>
        )}
        <section class="citation" aria-labelledby="cite-title">
          <h2 id="cite-title">{t('item.cite')}</h2>
          <p class="hint">{t('item.citeNote')}</p>
          <p class="cite" lang="zh-CN">
            {data.citation}
          </p>
          <p class="permalink">
            {t('item.permalink')}: <a href={permalink}>{permalink}</a>
          </p>
          <p class="meta">{t('item.version', { version: data.version, date: data.updated.slice(0, 10) })}</p>
        </section>
      </div>
    </article>
  );
}

function fieldValue(ctx: PageContext, field: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => fieldValue(ctx, field, v)).join(ctx.t('value.list'));
  if (field === 'coordinates' && value !== null && typeof value === 'object') {
    const c = value as { lat: number; lon: number };
    return ctx.t('item.map', { lat: c.lat, lon: c.lon });
  }
  if (field === 'batch' && typeof value === 'number') return ctx.t('value.batch', { n: value });
  if (field === 'duration' && typeof value === 'number')
    return ctx.t('value.duration', { minutes: Math.floor(value / 60), seconds: Math.round(value % 60) });
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    return JSON.stringify(value) ?? '';
  const text = String(value);
  const key = `value.${field}.${text}`;
  return isMessageKey(key) ? ctx.t(key) : text;
}

function Fields({ ctx, data }: { ctx: PageContext; data: ItemPageData }) {
  const shown = data.fieldOrder.filter(
    // interviewee_ref is shown as the interviewee's record under "related", and only when the reader may read it.
    (f) =>
      f !== 'title' &&
      f !== 'interviewee_ref' &&
      !longFields.has(f) &&
      data.metadata[f] !== undefined &&
      data.metadata[f] !== '',
  );
  return (
    <dl class="fields">
      {shown.map((f) => {
        const key = `field.${f}`;
        const value = data.metadata[f];
        return (
          <div key={f}>
            <dt>{isMessageKey(key) ? ctx.t(key) : f}</dt>
            <dd lang="zh-CN">{fieldValue(ctx, f, value)}</dd>
          </div>
        );
      })}
    </dl>
  );
}

function Files({ ctx, data }: { ctx: PageContext; data: ItemPageData }) {
  const { t } = ctx;
  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title">{t('item.files')}</h2>
      {data.files.length === 0 ? (
        <p>{t('item.noFiles')}</p>
      ) : (
        <div class="table-scroll">
          <table class="files">
            <thead>
              <tr>
                <th scope="col">{t('item.file.name')}</th>
                <th scope="col">{t('item.file.role')}</th>
                <th scope="col">{t('item.file.format')}</th>
                <th scope="col">{t('item.file.size')}</th>
                <th scope="col">{t('item.file.download')}</th>
              </tr>
            </thead>
            <tbody>
              {data.files.map((f) => (
                <tr key={f.name}>
                  <td lang="zh-CN">{f.name}</td>
                  <td>{isMessageKey(`item.role.${f.role}`) ? t(`item.role.${f.role}` as never) : f.role}</td>
                  <td>
                    {f.media_type ?? '—'}
                    {f.width === undefined || f.height === undefined ? null : ` · ${f.width}×${f.height}`}
                  </td>
                  <td>{byteSize(f.size)}</td>
                  <td>
                    <a
                      href={filePath(data.id, f.name)}
                      download
                      aria-label={t('item.file.downloadName', { name: f.name })}
                    >
                      {t('item.file.download')}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Zoom({ ctx, data, title }: { ctx: PageContext; data: ItemPageData; title: string }) {
  const { t } = ctx;
  const image = data.image!;
  const alt = altText(data, title);
  return (
    <section
      class="viewer"
      data-zoom
      {...(image.info === undefined ? { 'data-image': image.preview } : { 'data-info': image.info })}
      aria-label={t('item.image')}
    >
      <img
        src={image.preview}
        alt={alt}
        {...(image.file.width ? { width: image.file.width, height: image.file.height } : {})}
      />
      <div class="viewer-controls" hidden>
        <button type="button" data-zoom-in>
          {t('item.zoomIn')}
        </button>{' '}
        <button type="button" data-zoom-out>
          {t('item.zoomOut')}
        </button>{' '}
        <button type="button" data-zoom-home>
          {t('item.zoomHome')}
        </button>{' '}
        <button type="button" data-zoom-full>
          {t('item.zoomFull')}
        </button>
      </div>
      <p class="hint" hidden data-zoom-hint>
        {t('item.zoomHint')}
      </p>
    </section>
  );
}

/** Alt text from the metadata: the title, with what the object is and when it was made where those are known. */
export function altText(data: Pick<ItemPageData, 'metadata'>, title: string): string {
  const m = data.metadata;
  const extra = ['object_name', 'period', 'glaze', 'site_type', 'event']
    .map((f) => m[f])
    .filter((v): v is string => typeof v === 'string' && v !== '' && !title.includes(v));
  return extra.length === 0 ? title : `${title}（${extra.join('，')}）`;
}

function Player({ ctx, data }: { ctx: PageContext; data: ItemPageData }) {
  const { t } = ctx;
  const media = data.media!;
  const src = filePath(data.id, media.file.name, 'proxy');
  const track =
    media.captions === undefined ? null : (
      <track kind="captions" src={media.captions} srclang="zh" label={t('player.captions')} default />
    );
  return (
    <section
      id="player"
      class="player"
      aria-label={t('player.title')}
      data-player
      {...(data.start === undefined ? {} : { 'data-start': String(data.start) })}
      data-msg-hits={t('transcript.hits')}
      data-msg-hit-of={t('transcript.hitOf')}
      data-msg-no-hits={t('transcript.noHits')}
      data-msg-copied={t('transcript.linkCopied')}
      lang={ctx.locale}
    >
      {media.video ? (
        <video
          id="media"
          controls
          preload="metadata"
          src={src}
          {...(media.poster ? { poster: media.poster } : {})}
        >
          {track}
        </video>
      ) : (
        <>
          <audio id="media" controls preload="metadata" src={src}>
            {track}
          </audio>
          {media.waveform ? <img class="waveform" src={media.waveform} alt={t('player.audioOnly')} /> : null}
        </>
      )}
      <button type="button" data-share-moment hidden>
        {t('transcript.link')}
      </button>
      <p class="status" role="status" aria-live="polite" data-status></p>
    </section>
  );
}

function Transcript({ ctx, data }: { ctx: PageContext; data: ItemPageData }) {
  const { t } = ctx;
  const tr = data.transcript!;
  const cues = tr.segments.slice(0, tr.shown);
  return (
    <section
      id="transcript"
      class="transcript"
      data-transcript
      aria-labelledby="transcript-title"
      lang={ctx.locale}
    >
      <h2 id="transcript-title">{t('transcript.title')}</h2>
      {data.media ? (
        <div class="transcript-tools">
          <form role="search" data-transcript-search action="#transcript">
            <label for="tq">{t('transcript.search')}</label> <input id="tq" name="tq" type="search" />{' '}
            <button type="submit">{t('transcript.searchSubmit')}</button>{' '}
            <button type="button" data-prev hidden>
              {t('transcript.prev')}
            </button>{' '}
            <button type="button" data-next hidden>
              {t('transcript.next')}
            </button>{' '}
            <span data-hit-count aria-live="polite"></span>
          </form>
          <label hidden data-autoscroll-label>
            <input type="checkbox" data-autoscroll checked /> {t('transcript.autoscroll')}
          </label>
        </div>
      ) : null}
      {tr.truncated ? <p class="hint">{t('transcript.truncated', { n: tr.shown })}</p> : null}
      <ol class="cues" aria-label={t('transcript.cues')}>
        {cues.map((s, i) => (
          <li key={i} class="cue" id={`cue-${i}`} data-start={String(s.start)} data-end={String(s.end)}>
            {data.media ? (
              <a
                class="cue-time"
                href={`${withParams(ctx.url, { t: String(s.start) })}#player`}
                aria-label={t('transcript.playFrom', { time: clock(s.start) })}
              >
                {clock(s.start)}
              </a>
            ) : (
              <span class="cue-time">{clock(s.start)}</span>
            )}{' '}
            {s.speaker === undefined ? null : <span class="speaker">{s.speaker}</span>}{' '}
            <span class="cue-text" lang="zh-CN">
              {s.text}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
