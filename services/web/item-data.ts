import { dublinCore, metadataSchemas, type ItemKind } from '../../schemas/item.ts';
import type { SearchQuerystringT } from '../../schemas/search.ts';
import type { TranscriptSegmentT } from '../../schemas/technical.ts';
import type { Principal } from '../archive/access.ts';
import { readAll } from '../archive/blob-store.ts';
import type { Application } from '../app/application.ts';
import { filePath, itemPath, markOf } from './page-context.ts';
import type { ItemPageData, PageFile, RelatedGroup } from './pages/item.tsx';

/** Cues rendered into the page; a longer transcript shows its first ones (the API serves them all). */
export const MAX_CUES_ON_PAGE = 3000;
/** The segments JSON read for a page (a transcript of ~15,000 cues). */
const MAX_SEGMENTS_BYTES = 8 * 1024 * 1024;

type ReadItem = Awaited<ReturnType<Application['items']['read']>>;

const searchDefaults = (): SearchQuerystringT => ({ q: '', sort: 'relevance', page: 1, limit: 10 });

/** Everything an item page shows, read as `principal` through the application's access decisions. */
export async function itemPageData(
  app: Application,
  principal: Principal,
  id: string,
  options: { start?: number; publicUrl: string; now: Date },
): Promise<ItemPageData> {
  const item = await app.items.read(principal, id);
  const files: PageFile[] = item.files.map((f) => {
    const ready = new Set(
      Object.entries(f.derivatives ?? {})
        .filter(([, d]) => d.status === 'ready')
        .map(([k]) => k),
    );
    const tech = f.technical as { width?: number; height?: number } | undefined;
    return {
      name: f.name,
      role: f.role,
      size: f.size,
      ...(f.media_type === undefined ? {} : { media_type: f.media_type }),
      ready,
      ...(typeof tech?.width === 'number' && typeof tech.height === 'number'
        ? { width: tech.width, height: tech.height }
        : {}),
    };
  });
  const imageFile = files.find((f) => f.media_type?.startsWith('image/') && f.ready.has('preview'));
  const avFile = files.find((f) => /^(audio|video)\//.test(f.media_type ?? '') && f.ready.has('proxy'));
  const transcriptFile = files.find((f) => f.ready.has('segments'));
  const read = transcriptFile ? await readSegments(app, item, transcriptFile.name) : undefined;
  const segments = read?.segments;
  const title = typeof item.metadata.title === 'string' ? item.metadata.title : item.id;
  return {
    id: item.id,
    kind: item.kind,
    version: item.version,
    updated: item.updated,
    created: item.created,
    access: {
      level: markOf(item.access, options.now),
      ...(item.access.embargo_until === undefined ? {} : { embargo_until: item.access.embargo_until }),
    },
    metadata: item.metadata,
    fieldOrder: fieldOrder(item.kind),
    files,
    related: await related(app, principal, item),
    ...(imageFile
      ? {
          image: {
            file: imageFile,
            preview: filePath(item.id, imageFile.name, 'preview'),
            ...(imageFile.ready.has('iiif')
              ? { info: `${filePath(item.id, imageFile.name, 'iiif')}/info.json` }
              : {}),
          },
        }
      : {}),
    ...(avFile
      ? {
          media: {
            file: avFile,
            video: avFile.media_type!.startsWith('video/'),
            ...(avFile.ready.has('poster') ? { poster: filePath(item.id, avFile.name, 'poster') } : {}),
            ...(avFile.ready.has('waveform') ? { waveform: filePath(item.id, avFile.name, 'waveform') } : {}),
            ...(transcriptFile
              ? {
                  captions: `${itemPath(item.id)}/captions.vtt?file=${encodeURIComponent(transcriptFile.name)}`,
                }
              : {}),
          },
        }
      : {}),
    ...(segments && transcriptFile
      ? {
          transcript: {
            segments,
            shown: Math.min(segments.length, MAX_CUES_ON_PAGE),
            truncated: read?.truncated === true || segments.length > MAX_CUES_ON_PAGE,
            file: transcriptFile.name,
          },
        }
      : {}),
    ...(options.start === undefined ? {} : { start: options.start }),
    citation: citation(item, title, `${options.publicUrl}${itemPath(item.id)}`, options.now),
  };
}

/** The field names of a kind, Dublin Core first, in the schema's order. */
export function fieldOrder(kind: string): string[] {
  const schema = metadataSchemas[kind as ItemKind] as { properties?: Record<string, unknown> } | undefined;
  const all = Object.keys(schema?.properties ?? dublinCore);
  const dc = Object.keys(dublinCore);
  return [...dc.filter((f) => all.includes(f)), ...all.filter((f) => !dc.includes(f))];
}

export interface Segments {
  segments: TranscriptSegmentT[];
  /** The transcript had more segments than were read (only its first `limit` bytes were). */
  truncated: boolean;
}

/**
 * The time-coded segments of a transcript file of an item the caller may read (read already decided), at most
 * `limit` bytes of them: a longer segments file (a long interview finely cued) is cut after its last whole segment,
 * so the page and the captions still come, with the first part of the transcript.
 */
export async function readSegments(
  app: Application,
  item: Pick<ReadItem, 'files'>,
  name: string,
  limit = MAX_SEGMENTS_BYTES,
): Promise<Segments | undefined> {
  const file = item.files.find((f) => f.name === name);
  if (!file) return undefined;
  const sha512 = file.digests.sha512;
  const record = await app.derivativeStore.readRecord(sha512);
  const entry = record?.derivatives.segments;
  if (entry?.status !== 'ready' || entry.path === undefined) return undefined;
  const size = (await app.derivativeStore.stat(sha512, entry.path))?.size ?? 0;
  const truncated = size > limit;
  const raw = (
    await readAll(
      await app.derivativeStore.open(
        sha512,
        entry.path,
        truncated ? { start: 0, end: limit - 1 } : undefined,
      ),
      limit,
    )
  ).toString('utf8');
  const parsed = JSON.parse(truncated ? wholeSegments(raw) : raw) as { segments?: TranscriptSegmentT[] };
  return Array.isArray(parsed.segments) ? { segments: parsed.segments, truncated } : undefined;
}

/**
 * The head of a segments file (`{"version":1,"segments":[{…},{…},…`, as the transcript job writes it) closed
 * after its last whole segment. `},{"` occurs only between segments: inside a string JSON escapes the quote.
 */
export function wholeSegments(head: string): string {
  const cut = head.lastIndexOf('},{"');
  return cut < 0 ? '{"segments":[]}' : `${head.slice(0, cut + 1)}]}`;
}

const texts = (v: unknown): string[] =>
  typeof v === 'string' && v !== ''
    ? [v]
    : Array.isArray(v)
      ? v.filter((x): x is string => typeof x === 'string')
      : [];

/**
 * Links between authority records, found through the search engine with the reader's scope (so a hidden record is
 * never linked): an inheritor's ICH projects, interviews and works; a project's inheritors; an interview's
 * interviewee; an object's maker.
 */
async function related(app: Application, principal: Principal, item: ReadItem): Promise<RelatedGroup[]> {
  const m = item.metadata;
  const find = async (
    q: string,
    kind: ItemKind,
    accept: (title: string) => boolean = () => true,
    limit = 8,
  ) => {
    if (q.trim() === '') return [];
    const answer = await app.search.items(principal, { ...searchDefaults(), q, kind: [kind], limit });
    return answer.hits
      .filter((h) => h.id !== item.id && accept(h.title))
      .map((h) => ({ id: h.id, title: h.title, kind: h.kind }));
  };
  const groups: RelatedGroup[] = [];
  const add = (label: RelatedGroup['label'], items: RelatedGroup['items']) => {
    const seen = new Set<string>();
    const unique = items.filter((i) => !seen.has(i.id) && seen.add(i.id));
    if (unique.length > 0) groups.push({ label, items: unique });
  };
  switch (item.kind) {
    case 'inheritor': {
      const name = texts(m.name)[0] ?? '';
      const projects = texts(m.ich_projects).slice(0, 5);
      const found = await Promise.all(projects.map((p) => find(p, 'ich_project', (t) => t === p, 3)));
      const [byRef, byName, objects] = await Promise.all([
        find(item.id, 'oral_history'),
        find(name, 'oral_history'),
        find(name, 'collection_object'),
      ]);
      // Interviews they gave: those whose interviewee_ref is this record or whose interviewee is this name, each
      // read (through the same access decision) to check, since a search for a name or an id finds more.
      const candidates = [...new Map([...byRef, ...byName].map((h) => [h.id, h])).values()].slice(0, 12);
      const checked = await Promise.all(
        candidates.map(async (h) => {
          const other = await app.items.read(principal, h.id).catch(() => undefined);
          const m2 = other?.metadata;
          const given =
            m2?.interviewee_ref === item.id ||
            (name !== '' && texts(m2?.interviewee).some((v) => v.includes(name)));
          return given ? h : undefined;
        }),
      );
      const interviews = checked.filter((h): h is NonNullable<typeof h> => h !== undefined);
      add('item.related.projects', found.flat());
      add('item.related.interviews', interviews);
      add('item.related.objects', objects);
      break;
    }
    case 'ich_project': {
      const name = texts(m.name)[0] ?? (typeof m.title === 'string' ? m.title : '');
      add('item.related.inheritors', await find(name, 'inheritor', (t) => t.includes(name), 12));
      break;
    }
    case 'oral_history': {
      const ref = typeof m.interviewee_ref === 'string' ? m.interviewee_ref : undefined;
      if (ref !== undefined) {
        const person = await app.items.read(principal, ref).catch(() => undefined);
        if (person && person.kind === 'inheritor')
          add('item.related.interviewee', [
            { id: person.id, title: String(person.metadata.title), kind: person.kind },
          ]);
      }
      break;
    }
    case 'collection_object': {
      const makers = texts(m.creator).slice(0, 3);
      const found = await Promise.all(makers.map((c) => find(c, 'inheritor', (t) => t.includes(c), 3)));
      add('item.related.inheritors', found.flat());
      break;
    }
    case 'archive_document':
    case 'heritage_site':
    case 'media':
      break;
  }
  return groups;
}

/**
 * GB/T 7714—2015 for an online resource: 主要责任者. 题名[文献类型标识/OL]. 出版地: 出版者, 出版年(更新日期)[引用日期].
 * 获取和访问路径. Archive documents are 档案 (A), everything else an electronic record (EB).
 */
export function citation(
  item: Pick<ReadItem, 'kind' | 'metadata' | 'created' | 'updated'>,
  title: string,
  url: string,
  now: Date,
): string {
  const m = item.metadata;
  const first = ['creator', 'interviewee', 'museum', 'fonds', 'name']
    .map((f) => texts(m[f]))
    .find((l) => l.length > 0);
  const creators = first ?? [];
  const who =
    creators.length === 0 ? '' : `${creators.slice(0, 3).join(', ')}${creators.length > 3 ? ', 等' : ''}. `;
  const type = item.kind === 'archive_document' ? 'A/OL' : 'EB/OL';
  // 出版年: the item's own date where it has one, else the year it entered the archive.
  const year = (typeof m.date === 'string' ? m.date : item.created).slice(0, 4);
  const day = (d: string) => d.slice(0, 10);
  return `${who}${title}[${type}]. 景德镇: 瓷库, ${year}(${day(item.updated)})[${day(now.toISOString())}]. ${url}.`;
}
