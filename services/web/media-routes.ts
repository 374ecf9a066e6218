import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { anonymous, canRead } from '../archive/access.ts';
import { CikuError } from '../errors.ts';
import { readSegments } from './item-data.ts';
import type { WebDeps } from './deps.ts';

/** A plain tile for items without a picture (our own fixed SVG, no script, no outside reference). */
const PLACEHOLDER = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">' +
    '<rect width="96" height="96" fill="#e8e4dc"/>' +
    '<path d="M40 22h16v8q16 8 14 30q-2 18-14 22H40q-12-4-14-22q-2-22 14-30z" fill="#c9c2b4"/></svg>',
);

export /** Captions read more of a long transcript than a page shows (a page shows its first cues only). */
const MAX_CAPTIONS_BYTES = 32 * 1024 * 1024;

export const CaptionsQuery = Type.Object({ file: Type.String({ maxLength: 2000 }) });

/**
 * `/items/:id/thumbnail`: the list thumbnail of an item, as its reader may see it — the first file's thumbnail (or
 * a video's poster), else a plain tile. The item is read through the same access decision as its page.
 */
export function thumbnailRoute(deps: WebDeps) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    const item = await deps.app.items.read(request.principal, id);
    const shareable = canRead(anonymous, item.access, deps.clock());
    void reply
      .header('Cache-Control', shareable ? 'public, max-age=3600' : 'private, max-age=600')
      .header('X-Content-Type-Options', 'nosniff');
    for (const kind of ['thumbnail', 'poster'] as const) {
      const file = item.files.find((f) => f.derivatives?.[kind]?.status === 'ready');
      if (!file) continue;
      const record = await deps.app.derivativeStore.readRecord(file.digests.sha512);
      const entry = record?.derivatives[kind];
      if (entry?.status !== 'ready' || entry.path === undefined) continue;
      const body = await deps.app.derivativeStore.open(file.digests.sha512, entry.path);
      return reply.header('Content-Type', entry.media_type ?? 'image/jpeg').send(body);
    }
    return reply
      .header('Content-Type', 'image/svg+xml')
      .header('Content-Security-Policy', "default-src 'none'; sandbox")
      .send(PLACEHOLDER);
  };
}

/** Escapes cue text for WebVTT (where `<` starts a tag and `&` an entity). */
const vttText = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    // A blank line ends a cue: text that held one (or a decoded `&#10;`) would start a cue of its own.
    .replace(/(\r?\n)+/g, '\n')
    .trim();

function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/**
 * `/items/:id/captions.vtt?file=NAME`: the captions track of the player, written from the transcript's time-coded
 * segments (so an SRT transcript plays as captions too), with each cue's speaker as a voice.
 */
export function captionsRoute(deps: WebDeps) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    const query = request.query as Static<typeof CaptionsQuery>;
    const item = await deps.app.items.read(request.principal, id);
    const read = await readSegments(deps.app, item, query.file, MAX_CAPTIONS_BYTES);
    const segments = read?.segments;
    if (segments === undefined)
      throw new CikuError('CIKU_ERR_DERIVATIVE_NOT_FOUND', `${query.file} has no time-coded transcript`);
    const cues = segments.map(
      (s, i) =>
        `${i + 1}\n${vttTime(s.start)} --> ${vttTime(Math.max(s.end, s.start + 0.001))}\n${
          s.speaker === undefined ? '' : `<v ${vttText(s.speaker)}>`
        }${vttText(s.text)}\n`,
    );
    const shareable = canRead(anonymous, item.access, deps.clock());
    return reply
      .header('Content-Type', 'text/vtt; charset=utf-8')
      .header('Cache-Control', shareable ? 'public, max-age=3600' : 'private, max-age=600')
      .header('X-Content-Type-Options', 'nosniff')
      .send(`WEBVTT\n\n${cues.join('\n')}`);
  };
}
