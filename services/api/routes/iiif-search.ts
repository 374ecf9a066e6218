import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorBody, ItemIdParam } from '../../../schemas/api.ts';
import {
  AutocompleteQuerystring,
  ContentSearchQuerystring,
  SEARCH_CONTEXT,
  SEARCH1_CONTEXT,
  SEARCH_PAGE_SIZE,
  Search1AnnotationList,
  SearchAnnotationPage,
  TermPage,
} from '../../../schemas/iiif-search.ts';
import { MAX_LIMIT, type PageHitT } from '../../../schemas/search.ts';
import type { DerivativeRecordT, PageTextT } from '../../../schemas/technical.ts';
import type { Principal } from '../../archive/access.ts';
import { anonymous, canRead } from '../../archive/access.ts';
import type { ItemView } from '../../archive/items.ts';
import { pageCanvasSize } from '../../iiif/manifest.ts';
import {
  motivationMatches,
  pageMatches,
  searchAnnotationList1,
  searchAnnotationPage,
  termPage,
  transcriptMatches,
  unmark,
  type PageMatch,
  type SearchParams,
  type TextMatch,
} from '../../iiif/search.ts';
import { analyzer } from '../../search/analyzer.ts';
import { needlesOf } from '../../search/highlight.ts';
import type { AppDeps } from '../deps.ts';
import { readHocr, readPageTexts } from './iiif-documents.ts';

/** The spec's parameters we accept but cannot act on: no cue records who made it or when. */
const IGNORED = ['date', 'user'] as const;

const errors = { 400: ErrorBody, 404: ErrorBody, 410: ErrorBody, 503: ErrorBody };

/**
 * IIIF Content Search 2.0 inside one item (`/iiif/{id}/search`, `/iiif/{id}/autocomplete`): the item is read
 * through the one access decision first (hidden 404, deleted 410, never an empty page that would confirm it
 * exists), then the engine searches its segments and its documents' pages under the caller's read scope.
 *
 * Paging: the transcripts' cues come first, a cue an annotation; then the documents' pages, SEARCH_PAGE_SIZE pages
 * of hits per answer page, each page's annotations (one per OCR box the words are in, or the page itself) together
 * on one answer page. `total` counts cues and pages.
 */
export const iiifSearchRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function iiifSearch(app) {
    const { publicUrl } = deps.options;

    /** The item as the caller may read it, and whether anyone may (which decides caching and CORS). */
    async function readItem(principal: Principal, id: string) {
      const item = await deps.app.items.read(principal, id);
      return { item, shareable: canRead(anonymous, item.access, deps.clock()) };
    }

    /** The item's segments the engine finds for `q` (only this item's, whatever the engine answers). */
    async function segmentsOf(principal: Principal, id: string, q: string, page: number, limit: number) {
      const answer = await deps.app.search.segments(principal, { q, item: id, page, limit });
      const segments = answer.items.filter((g) => g.id === id).flatMap((g) => g.segments);
      return { total: answer.total, segments };
    }

    function headers(
      request: FastifyRequest,
      reply: FastifyReply,
      shareable: boolean,
      context: string = SEARCH_CONTEXT,
    ): void {
      const accept = request.headers.accept ?? '';
      const plainJson = accept.includes('application/json') && !accept.includes('application/ld+json');
      // Answers follow the index, which follows each edit: cached briefly, unlike content-addressed tiles. Only
      // what anyone may read is cached publicly and shared across origins (viewers search from other sites).
      void reply
        .header('Content-Type', plainJson ? 'application/json' : `application/ld+json;profile="${context}"`)
        .header('Cache-Control', shareable ? 'public, max-age=300' : 'private, max-age=60')
        .header('Vary', 'Accept');
      if (shareable) void reply.header('Access-Control-Allow-Origin', '*');
    }

    const ignoredOf = (query: Partial<Record<(typeof IGNORED)[number], string>>): string[] =>
      IGNORED.filter((k) => query[k] !== undefined);

    const paramsOf = (query: { q: string; motivation?: string }): SearchParams =>
      query.motivation === undefined ? { q: query.q } : { q: query.q, motivation: query.motivation };

    /** The item's document pages the engine finds for `q` (only this item's). */
    async function pagesOf(principal: Principal, id: string, q: string, page: number, limit: number) {
      const answer = await deps.app.search.pages(principal, { q, item: id, page, limit });
      const pages = answer.items.filter((g) => g.id === id).flatMap((g) => g.pages);
      return { total: answer.total, pages };
    }

    /** Page hits with what the boxes need: the canvas size the manifest gives the page, and its OCR words. */
    async function withWords(item: ItemView, hits: PageHitT[]): Promise<PageMatch[]> {
      const store = deps.app.derivativeStore;
      const records = new Map<
        string,
        Promise<{ record?: DerivativeRecordT; texts: Map<number, PageTextT> }>
      >();
      const fileData = (name: string) => {
        let found = records.get(name);
        if (!found) {
          const file = item.files.find((f) => f.name === name);
          found = (async () => {
            const record = file ? await store.readRecord(file.digests.sha512) : undefined;
            return {
              ...(record ? { record } : {}),
              texts: record ? await readPageTexts(store, record) : new Map<number, PageTextT>(),
            };
          })();
          records.set(name, found);
        }
        return found;
      };
      const out: PageMatch[] = [];
      for (const h of hits) {
        const { record, texts } = await fileData(h.file);
        const text = texts.get(h.page);
        const canvas = pageCanvasSize(record ?? {}, {
          page: h.page,
          ...(text?.width !== undefined && text.height !== undefined
            ? { width: text.width, height: text.height }
            : {}),
          tiles: false,
          text: true,
        });
        const hocr = h.ocr && record ? await readHocr(store, record, h.page) : undefined;
        out.push({
          file: h.file,
          page: h.page,
          snippet: h.snippet,
          ocr: h.ocr,
          canvas,
          ...(hocr ? { hocr } : {}),
        });
      }
      return out;
    }

    /**
     * One answer page of an item's matches: cues first (SEARCH_PAGE_SIZE a page), then document pages. Answers the
     * matches, the total (cues and pages) and the last answer page.
     */
    async function matchesOf(principal: Principal, item: ItemView, q: string, page: number) {
      const size = SEARCH_PAGE_SIZE;
      const cues = await segmentsOf(principal, item.id, q, page, size);
      const cuePages = Math.ceil(cues.total / size);
      const pageAt = page - cuePages;
      const docs = await pagesOf(principal, item.id, q, Math.max(1, pageAt), pageAt >= 1 ? size : 1);
      const last = Math.max(1, cuePages + Math.ceil(docs.total / size));
      const total = cues.total + docs.total;
      if (pageAt < 1) return { total, last, matches: transcriptMatches(publicUrl, item, cues.segments) };
      const needles = needlesOf(analyzer().parseQuery(q));
      const matches: TextMatch[] = pageMatches(publicUrl, item, await withWords(item, docs.pages), needles);
      return { total, last, matches };
    }

    /**
     * What both Content Search views answer from: the item read through the access decision, then its segments
     * matching `q` on the page asked for — unless the motivation list names none of ours (`annotated` is what our
     * annotations are in that version of the API), which matches nothing.
     */
    async function searchInput(
      principal: Principal,
      id: string,
      query: Static<typeof ContentSearchQuerystring>,
      annotated: string,
    ) {
      const { item, shareable } = await readItem(principal, id);
      const found = motivationMatches(query.motivation, annotated)
        ? await matchesOf(principal, item, query.q, query.page)
        : { total: 0, last: 1, matches: [] };
      return {
        shareable,
        input: {
          publicUrl,
          item,
          params: paramsOf(query),
          page: query.page,
          pageSize: SEARCH_PAGE_SIZE,
          total: found.total,
          last: found.last,
          matches: found.matches,
          ignored: ignoredOf(query),
        },
      };
    }

    app.get(
      '/iiif/:id/search',
      {
        schema: {
          tags: ['iiif'],
          summary: 'IIIF Content Search 2.0 within an item: the moments of its transcripts that match q',
          params: ItemIdParam,
          querystring: ContentSearchQuerystring,
          response: { 200: SearchAnnotationPage, ...errors },
        },
      },
      async (request, reply) => {
        // Every annotation we answer supplements its canvas.
        const { shareable, input } = await searchInput(
          request.principal,
          request.params.id,
          request.query,
          'supplementing',
        );
        headers(request, reply, shareable);
        return searchAnnotationPage(input);
      },
    );

    app.get(
      '/iiif/:id/search1',
      {
        schema: {
          tags: ['iiif'],
          summary: 'The same search as IIIF Content Search 1.0 (sc:AnnotationList with hits), for Mirador 4',
          params: ItemIdParam,
          querystring: ContentSearchQuerystring,
          response: { 200: Search1AnnotationList, ...errors },
        },
      },
      async (request, reply) => {
        // 1.0 has no `supplementing`: its text annotations are `sc:painting`, and that is what a motivation must ask.
        const { shareable, input } = await searchInput(
          request.principal,
          request.params.id,
          request.query,
          'painting',
        );
        headers(request, reply, shareable, SEARCH1_CONTEXT);
        return searchAnnotationList1(input);
      },
    );

    app.get(
      '/iiif/:id/autocomplete',
      {
        schema: {
          tags: ['iiif'],
          summary: 'IIIF AutoCompleteService2 within an item: words of its transcripts that begin with q',
          params: ItemIdParam,
          querystring: AutocompleteQuerystring,
          response: { 200: TermPage, ...errors },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const query = request.query;
        const { item, shareable } = await readItem(request.principal, id);
        // The best-ranked segments the prefix is found in are enough to offer completions from.
        const ours = motivationMatches(query.motivation, 'supplementing');
        const found = ours
          ? await segmentsOf(request.principal, item.id, query.q, 1, MAX_LIMIT)
          : { total: 0, segments: [] };
        const pages = ours
          ? await pagesOf(request.principal, item.id, query.q, 1, MAX_LIMIT)
          : { total: 0, pages: [] };
        headers(request, reply, shareable);
        return termPage({
          publicUrl,
          itemId: item.id,
          params: paramsOf(query),
          texts: [
            ...found.segments.map((s) => unmark(s.text).text),
            ...pages.pages.map((p) => unmark(p.snippet).text),
          ],
          min: query.min,
          ignored: ignoredOf(query),
        });
      },
    );
  };
