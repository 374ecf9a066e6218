/**
 * Manifests arrive from spreadsheets on Chinese Windows machines, so a CSV may be GBK/GB18030 rather than UTF-8.
 * Valid UTF-8 is read as such (a BOM dropped). Otherwise, when most lines are not UTF-8 and the whole file decodes
 * strictly as GB18030 (a superset of GBK and GB2312) or Big5 into Chinese text (≥ 90 % of its non-ASCII characters
 * CJK), it is read so and says so. (Detectors such as chardet guess wrongly on short Chinese text; a strict decode
 * plus a CJK share is a sharper test for the two encodings that matter here.) Else it is read as UTF-8 with the bad
 * bytes replaced, and the rows holding them are refused one by one (`hasBadBytes`).
 */
export interface DecodedText {
  text: string;
  encoding: string;
  /** Set when the encoding was detected rather than valid UTF-8. */
  note?: string;
}

const cjk = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]/u;

function strictChinese(body: Buffer, encoding: string): string | undefined {
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
  let other = 0;
  let han = 0;
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) continue;
    if (cjk.test(ch)) han += 1;
    else other += 1;
  }
  return han > 0 && han >= 9 * other ? text : undefined;
}

export function decodeText(bytes: Buffer): DecodedText {
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(body), encoding: 'utf-8' };
  } catch {
    // not UTF-8 throughout: decide below
  }
  let bad = 0;
  let nonAscii = 0;
  for (const line of splitLines(body)) {
    if (!line.some((b) => b >= 0x80)) continue;
    nonAscii += 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(line);
    } catch {
      bad += 1;
    }
  }
  if (bad * 2 > nonAscii) {
    for (const target of ['gb18030', 'big5']) {
      const text = strictChinese(body, target);
      if (text !== undefined)
        return {
          text,
          encoding: target,
          note: `read as ${target.toUpperCase()} (detected: the file is not UTF-8)`,
        };
    }
  }
  return {
    text: new TextDecoder('utf-8').decode(body),
    encoding: 'utf-8',
    note: `${bad} line(s) hold bytes that are not UTF-8; those rows are refused`,
  };
}

/** True when a decoded value holds U+FFFD, i.e. bytes that were not valid in the file's encoding. */
export function hasBadBytes(value: string): boolean {
  return value.includes('\uFFFD');
}

function* splitLines(b: Buffer): Generator<Buffer> {
  let start = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, start)) {
    yield b.subarray(start, i);
    start = i + 1;
  }
  if (start < b.length) yield b.subarray(start);
}
