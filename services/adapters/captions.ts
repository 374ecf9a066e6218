import webvtt from 'webvtt-parser';
import type { TranscriptSegmentT } from '../../schemas/technical.ts';

/**
 * The one module that imports webvtt-parser (the W3C validator's parser: it reports each malformed line instead
 * of silently dropping it). SRT is read by turning its timing lines into WebVTT ones first — the cue syntax is
 * otherwise the same. A bad cue is reported and skipped; it never fails the transcript.
 */
interface CueNode {
  type?: string;
  name?: string;
  value?: string;
  children?: CueNode[];
}
interface ParsedCue {
  startTime: number;
  endTime: number;
  text: string;
  tree: CueNode;
}
interface Parser {
  parse(input: string, mode: string): { cues: ParsedCue[]; errors: { message: string; line: number }[] };
}
const { WebVTTParser } = webvtt as { WebVTTParser: new () => Parser };

export interface ParsedTranscript {
  format: 'webvtt' | 'srt';
  segments: TranscriptSegmentT[];
  problems: string[];
}

const entities: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  nbsp: '\u00a0',
  lrm: '\u200e',
  rlm: '\u200f',
  quot: '"',
  apos: "'",
};

function cueText(raw: string): string {
  return raw
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ref: string) => {
      if (ref.startsWith('#x') || ref.startsWith('#X'))
        return String.fromCodePoint(parseInt(ref.slice(2), 16));
      if (ref.startsWith('#')) return String.fromCodePoint(Number(ref.slice(1)));
      return entities[ref.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+/g, ' ')
    .trim();
}

function voiceOf(node: CueNode): string | undefined {
  if (node.type === 'object' && node.name === 'v' && node.value) return node.value.trim() || undefined;
  for (const child of node.children ?? []) {
    const v = voiceOf(child);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** `00:01:02,500 --> 00:01:04,000` → WebVTT's `.`; index lines stay (WebVTT reads them as cue identifiers). */
function srtToVtt(text: string): string {
  return `WEBVTT\n\n${text.replace(
    /^(\s*\d{1,2}:\d{2}:\d{2}),(\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}),(\d{1,3})/gm,
    '$1.$2.$3',
  )}`;
}

export function parseTranscript(text: string, mediaType: string): ParsedTranscript {
  const format = mediaType === 'application/x-subrip' ? 'srt' : 'webvtt';
  const source = (format === 'srt' ? srtToVtt(text.replace(/^\uFEFF/, '')) : text).replace(/\r\n?/g, '\n');
  const result = new WebVTTParser().parse(source, 'metadata');
  // SRT lines are shifted by the two header lines we added.
  const shift = format === 'srt' ? 2 : 0;
  const problems = result.errors.map((e) => `line ${Math.max(1, e.line - shift)}: ${e.message}`);
  const segments: TranscriptSegmentT[] = [];
  for (const cue of result.cues) {
    // The parser has already reported such a cue ("End timestamp is not greater…") but keeps it.
    if (!(cue.endTime > cue.startTime)) continue;
    const body = cueText(cue.text);
    if (body === '') continue;
    let speaker = voiceOf(cue.tree);
    let said = body;
    if (speaker === undefined) {
      // "涂金水：…" / "Interviewer: …" — a short name before a colon at the start of the cue.
      const m = /^([^\s:：]{1,16}|[A-Za-z][A-Za-z .'-]{0,30})[:：]\s*(.+)$/su.exec(body);
      if (m) {
        speaker = m[1]!.trim();
        said = m[2]!.trim();
      }
    }
    segments.push({
      start: Math.round(cue.startTime * 1000) / 1000,
      end: Math.round(cue.endTime * 1000) / 1000,
      ...(speaker === undefined ? {} : { speaker: speaker.slice(0, 200) }),
      text: said.slice(0, 20_000),
    });
  }
  segments.sort((a, b) => a.start - b.start || a.end - b.end);
  return { format, segments, problems };
}
