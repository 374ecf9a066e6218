import { Readable } from 'node:stream';
import { parse as csvParser } from 'csv-parse';
import { CikuError, isCikuError } from '../errors.ts';
import { isObject } from './mapping.ts';
import { openInside } from './safe-open.ts';
import { decodeText } from './text.ts';

/** A manifest's records, read streaming: CSV (csv-parse's stream API) or JSON lines, line by line. */

/** One record, column → cell: a Map, so a column named `__proto__` or `constructor` is a column like any other. */
export type SourceRecord = Map<string, unknown>;

const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

export class ManifestSyntaxError extends Error {}

export interface ManifestText {
  encoding: string;
  note?: string;
  chunks(): AsyncIterable<string>;
  close(): Promise<void>;
}

/**
 * A manifest opened once (inside its folder, never through a link), read as text in chunks. Valid UTF-8 — what
 * nearly every manifest is — is checked in one streaming pass and decoded in a second, so memory stays flat
 * whatever its size; a file that is not UTF-8 is read whole (≤ 512 MiB) for text.ts's encoding detection.
 */
export async function openManifest(root: string, file: string): Promise<ManifestText> {
  const { handle, stat } = await openInside(root, file);
  try {
    if (stat.size > MAX_MANIFEST_BYTES)
      throw new CikuError('CIKU_ERR_BATCH_SOURCE', `is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const read = () => handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 256 * 1024 });
    let utf8 = true;
    const check = new TextDecoder('utf-8', { fatal: true });
    try {
      for await (const chunk of read()) check.decode(chunk as Buffer, { stream: true });
      check.decode();
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      utf8 = false;
    }
    const close = () => handle.close();
    if (utf8)
      return {
        encoding: 'utf-8',
        close,
        async *chunks() {
          const decoder = new TextDecoder('utf-8'); // drops a byte-order mark
          for await (const chunk of read()) yield decoder.decode(chunk as Buffer, { stream: true });
          const rest = decoder.decode();
          if (rest !== '') yield rest;
        },
      };
    const decoded = decodeText(await handle.readFile());
    return {
      encoding: decoded.encoding,
      ...(decoded.note ? { note: decoded.note } : {}),
      close,
      async *chunks() {
        for (let i = 0; i < decoded.text.length; i += 64 * 1024) yield decoded.text.slice(i, i + 64 * 1024);
      },
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** CSV records (arrays of cells, the header first) from text chunks, streaming. */
export async function* csvRecords(
  chunks: AsyncIterable<string>,
  delimiter: string,
): AsyncGenerator<string[]> {
  const text = Readable.from(chunks);
  const parser = csvParser({ delimiter, skip_empty_lines: true, relax_column_count: true, bom: true });
  let readFailed: Error | undefined;
  // pipe() does not pass a read error on: end the parser with it, as a read error (not a CSV syntax error).
  text.on('error', (err) => {
    readFailed = err;
    parser.destroy(err);
  });
  text.pipe(parser);
  try {
    for await (const record of parser) yield record as string[];
  } catch (err) {
    if (readFailed !== undefined || isCikuError(err)) throw err;
    throw new ManifestSyntaxError((err as Error).message);
  } finally {
    text.destroy();
  }
}

/** JSON-lines records from text chunks: a Map per object line, an error per line that is not one. */
export async function* jsonLines(
  chunks: AsyncIterable<string>,
): AsyncGenerator<SourceRecord | { error: string }> {
  let carry = '';
  let n = 0;
  const one = (line: string): SourceRecord | { error: string } => {
    n += 1;
    try {
      const v = JSON.parse(line) as unknown;
      if (!isObject(v)) throw new Error('not an object');
      return new Map(Object.entries(v));
    } catch (err) {
      return { error: `line ${n} is not a JSON object: ${(err as Error).message}` };
    }
  };
  for await (const chunk of chunks) {
    const lines = (carry + chunk).split(/\r?\n/);
    carry = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') yield one(line);
  }
  if (carry.trim() !== '') yield one(carry);
}
