import { setImmediate as nextTurn } from 'node:timers/promises';
import webvtt from 'webvtt-parser';
import type { TranscriptSegmentT } from '../../schemas/technical.ts';
import { CikuError } from '../errors.ts';

/**
 * The one module that imports webvtt-parser (the W3C validator's parser: it reports each malformed line instead
 * of silently dropping it). SRT is read by turning its timing lines into WebVTT ones first — the cue syntax is
 * otherwise the same. A bad cue is reported and skipped; it never fails the transcript.
 *
 * The parser takes a whole text and parses it in one synchronous call (a 140,000-cue file held the event loop
 * for ~1 s — the API's too, in `ciku start`). So the transcript is streamed in, cut into batches of whole cue
 * blocks at blank lines (where the parser is between blocks, its state empty), and each batch parsed on its own
 * turn of the event loop, bounded in bytes, block size and cues. What the parser carries from one block to the
 * next — the start of the previous cue (for its ordering report) and whether a cue came before (STYLE blocks) —
 * is handed to the next batch as a synthetic first cue, and its report lines are shifted back to the file's, so
 * the problems read as if the file had been parsed whole.
 */
interface CueNode {
  type?: string;
  name?: string;
  value?: string;
  children?: CueNode[];
}
interface ParsedCue {
  id: string;
  startTime: number;
  endTime: number;
  text: string;
  tree: CueNode;
}
interface Parser {
  parse(input: string, mode: string): { cues: ParsedCue[]; errors: { message: string; line: number }[] };
}
interface TimingsParser {
  parse(cue: { startTime: number; endTime: number }, previousCueStart: number): boolean | undefined;
}
const { WebVTTParser, WebVTTCueTimingsAndSettingsParser } = webvtt as {
  WebVTTParser: new () => Parser;
  WebVTTCueTimingsAndSettingsParser: new (line: string, onError: () => void) => TimingsParser;
};

export interface TranscriptLimits {
  /** Bytes read at most (CIKU_TRANSCRIPT_MAX_BYTES). */
  maxBytes: number;
  /** Cues parsed at most (CIKU_TRANSCRIPT_MAX_CUES). */
  maxCues: number;
}

export interface ParsedTranscript {
  format: 'webvtt' | 'srt';
  /** Ordered by start, then end. */
  segments: TranscriptSegmentT[];
  /** The first problems found (`line N: …`), at most `PROBLEMS_KEPT`; `problemCount` counts them all. */
  problems: string[];
  problemCount: number;
  /** The latest end of a segment. */
  duration: number | undefined;
  /** The first 100 distinct speakers. */
  speakers: string[];
}

export const PROBLEMS_KEPT = 100;
/** A batch is parsed once it holds this many characters (~250 cues: a few ms of parsing). */
const BATCH_CHARS = 16 * 1024;
/** One cue block (lines between blank lines) longer than this is not a transcript: the file is refused. */
export const MAX_BLOCK_CHARS = 1024 * 1024;
/** Bytes decoded at once: a stream's large chunk is split, so no single step splits megabytes of lines. */
const PIECE_BYTES = 64 * 1024;
const NEWLINE = /\r\n|\r|\n/;
const SYNTHETIC_ID = 'ciku-previous-cue';

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
function srtLineToVtt(line: string): string {
  return line.replace(
    /^(\s*\d{1,2}:\d{2}:\d{2}),(\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}),(\d{1,3})/,
    '$1.$2.$3',
  );
}

const timestamp = (ms: number): string => {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
};

function tooLarge(what: string): CikuError {
  // CIKU_ERR_MEDIA_TOO_LARGE: recorded as `media-limits-exceeded: …` like every other bound.
  return new CikuError('CIKU_ERR_MEDIA_TOO_LARGE', what);
}

/** The start of the cue a simple block makes (`[id] timing text…`), or null if its timing does not parse. */
function startOfSimpleCue(timing: string): number | null {
  const cue = { startTime: 0, endTime: 0 };
  return new WebVTTCueTimingsAndSettingsParser(timing, () => undefined).parse(cue, 0) ? cue.startTime : null;
}

class TranscriptBuilder {
  readonly segments: TranscriptSegmentT[] = [];
  readonly problems: string[] = [];
  problemCount = 0;
  duration: number | undefined;
  readonly speakers = new Set<string>();
  private cues = 0;
  private batches = 0;
  private lineNo = 0;
  private batch: string[] = [];
  private batchChars = 0;
  private batchFirstLine = 1;
  private blockStart = 0;
  private blockChars = 0;
  private blocksSeen = 0;
  /** Start of the last cue the parser made so far (undefined: none yet), and whether we know it exactly. */
  private lastStart: number | undefined;
  private lastKnown = true;
  /** `lastStart` where the batch being gathered begins: the synthetic first cue of its parse. */
  private carried: number | undefined;

  constructor(
    readonly format: 'webvtt' | 'srt',
    private readonly limits: TranscriptLimits,
    private readonly batchSize: number,
  ) {}

  /** Takes the next line; true when a batch is ready to be parsed (`flush`). */
  add(raw: string): boolean {
    const line = this.format === 'srt' ? srtLineToVtt(raw) : raw;
    this.lineNo += 1;
    this.batch.push(line);
    this.batchChars += line.length + 1;
    // A WebVTT file's first line is its signature, even when blank: the header runs on to the next blank line.
    if (line !== '' || (this.format === 'webvtt' && this.lineNo === 1)) {
      this.blockChars += line.length + 1;
      if (this.blockChars > MAX_BLOCK_CHARS) {
        throw tooLarge(
          `a cue block of more than ${MAX_BLOCK_CHARS} characters ends past line ${this.lineNo}`,
        );
      }
      return false;
    }
    this.afterBlock(this.batch.slice(this.blockStart, -1));
    this.blockStart = this.batch.length;
    this.blockChars = 0;
    // The first batches run the parser's code cold (interpreted, before the JIT): they start at 1 KiB and double.
    const size = Math.min(this.batchSize, 1024 * 2 ** this.batches);
    return this.batchChars >= (this.lastKnown ? size : size * 8);
  }

  /**
   * Follows the start of the parser's last cue block by block. A block without `-->`, or one opening with NOTE or
   * STYLE, makes no cue; a simple block (`[id]`, one timing line, text) makes one if its timing parses (the
   * parser's own timing parser says). Anything else (several timing lines, a header running into cues) leaves the
   * start unknown until the next simple block, and the batch is not cut there unless it has grown to 8 times its
   * size — then the next batch takes the batch's latest start instead (only a file that is already malformed can
   * get an ordering report that differs from a whole-file parse).
   */
  private afterBlock(block: string[]): void {
    if (block.length === 0) return;
    const header = this.format === 'webvtt' && this.blocksSeen === 0;
    this.blocksSeen += 1;
    const arrows = block.filter((l) => l.includes('-->')).length;
    if (arrows === 0) return;
    const first = block[0]!;
    if (!first.includes('-->') && /^(NOTE|STYLE)($|[ \t])/.test(first) && !header) return;
    const timingAt = first.includes('-->') ? 0 : 1;
    if (header || arrows > 1 || !block[timingAt]?.includes('-->')) {
      this.lastKnown = false;
      return;
    }
    const start = startOfSimpleCue(block[timingAt]);
    if (start === null) return;
    this.lastStart = start;
    this.lastKnown = true;
  }

  /** Parses the batch held so far (synchronously: a bounded step), then hands the event loop back. */
  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const prefix: string[] = [];
    if (this.format === 'srt' || this.batches > 0) prefix.push('WEBVTT', '');
    let synthetic: number | undefined;
    if (this.carried !== undefined) {
      synthetic = Math.round(this.carried * 1000);
      prefix.push(SYNTHETIC_ID, `${timestamp(synthetic)} --> ${timestamp(synthetic + 1)}`, '');
    }
    const input = (prefix.length > 0 ? `${prefix.join('\n')}\n` : '') + this.batch.join('\n');
    let result: ReturnType<Parser['parse']>;
    try {
      result = new WebVTTParser().parse(input, 'metadata');
    } catch (err) {
      // The same bytes fail the same way every time: a verdict on the file, not a fault to retry.
      throw new CikuError(
        'CIKU_ERR_MEDIA_UNREADABLE',
        `the transcript parser failed near lines ${this.batchFirstLine}–${this.lineNo}: ${String(err)}`,
        { cause: err },
      );
    }
    const shift = this.batchFirstLine - 1 - prefix.length;
    for (const e of result.errors) {
      if (e.line <= prefix.length) continue;
      this.problemCount += 1;
      if (this.problems.length < PROBLEMS_KEPT) this.problems.push(`line ${e.line + shift}: ${e.message}`);
    }
    let cues = result.cues;
    if (synthetic !== undefined) {
      const at = cues.findIndex(
        (c) =>
          c.id === SYNTHETIC_ID &&
          c.text === '' &&
          Math.round(c.startTime * 1000) === synthetic &&
          Math.round(c.endTime * 1000) === synthetic + 1,
      );
      if (at >= 0) cues = [...cues.slice(0, at), ...cues.slice(at + 1)];
    }
    this.cues += cues.length;
    if (this.cues > this.limits.maxCues) {
      throw tooLarge(`more than ${this.limits.maxCues} cues (CIKU_TRANSCRIPT_MAX_CUES)`);
    }
    let latest: number | undefined;
    for (const cue of cues) {
      latest = latest === undefined || cue.startTime > latest ? cue.startTime : latest;
      this.addCue(cue);
    }
    if (!this.lastKnown && latest !== undefined) {
      this.lastStart = latest;
      this.lastKnown = true;
    }
    this.carried = this.lastStart;
    this.batches += 1;
    this.batchFirstLine = this.lineNo + 1;
    this.batch = [];
    this.batchChars = 0;
    this.blockStart = 0;
    await nextTurn();
  }

  private addCue(cue: ParsedCue): void {
    // The parser has already reported such a cue ("End timestamp is not greater…") but keeps it.
    if (!(cue.endTime > cue.startTime)) return;
    const body = cueText(cue.text);
    if (body === '') return;
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
    const segment: TranscriptSegmentT = {
      start: Math.round(cue.startTime * 1000) / 1000,
      end: Math.round(cue.endTime * 1000) / 1000,
      ...(speaker === undefined ? {} : { speaker: speaker.slice(0, 200) }),
      text: said.slice(0, 20_000),
    };
    this.segments.push(segment);
    if (this.duration === undefined || segment.end > this.duration) this.duration = segment.end;
    if (segment.speaker !== undefined && this.speakers.size < 100) this.speakers.add(segment.speaker);
  }
}

/**
 * WebVTT / SRT from a byte stream → segments and per-line problems, within `limits` (a file past one is refused
 * with CIKU_ERR_MEDIA_TOO_LARGE; reading stops there). Errors of the stream itself pass through unchanged: a
 * storage fault is not a verdict on the file. `batchChars` (default 16 KiB) is for tests of the batch seams.
 */
export async function parseTranscript(
  source: AsyncIterable<Uint8Array | string>,
  mediaType: string,
  limits: TranscriptLimits,
  options: { batchChars?: number } = {},
): Promise<ParsedTranscript> {
  const format = mediaType === 'application/x-subrip' ? 'srt' : 'webvtt';
  const builder = new TranscriptBuilder(format, limits, options.batchChars ?? BATCH_CHARS);
  // Invalid UTF-8 becomes U+FFFD (as Buffer#toString did); a leading BOM is dropped.
  const decoder = new TextDecoder('utf-8');
  let bytes = 0;
  let rest = '';
  const take = async (text: string, last: boolean): Promise<void> => {
    const lines = text.split(NEWLINE);
    rest = last ? '' : lines.pop()!;
    for (const line of lines) if (builder.add(line)) await builder.flush();
  };
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (let at = 0; at < buf.length; at += PIECE_BYTES) {
      const piece = buf.subarray(at, at + PIECE_BYTES);
      bytes += piece.length;
      if (bytes > limits.maxBytes) {
        throw tooLarge(`the transcript is larger than ${limits.maxBytes} bytes (CIKU_TRANSCRIPT_MAX_BYTES)`);
      }
      let text = rest + decoder.decode(piece, { stream: true });
      // A CR at the very end may be the first half of a CRLF split between pieces: it waits for the next one.
      const held = text.endsWith('\r') ? '\r' : '';
      if (held) text = text.slice(0, -1);
      await take(text, false);
      rest += held;
      if (rest.length > MAX_BLOCK_CHARS) {
        throw tooLarge(`a line of more than ${MAX_BLOCK_CHARS} characters`);
      }
    }
  }
  await take(rest + decoder.decode(), true);
  await builder.flush();
  builder.segments.sort((a, b) => a.start - b.start || a.end - b.end);
  return {
    format,
    segments: builder.segments,
    problems: builder.problems,
    problemCount: builder.problemCount,
    duration: builder.duration,
    speakers: [...builder.speakers],
  };
}
