import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CikuError, errnoCode } from '../errors.ts';
import { hashHandle } from './hash-handle.ts';
import { isInside, openInside } from './safe-open.ts';

/**
 * A BagIt (RFC 8493, and the drafts 0.93–0.97 before it) validator for bags on a local disk. Written here because
 * npm holds no maintained BagIt library: this one checks what RFC 8493 §2–§3 and the 0.97 draft ask, reads tag
 * files in their declared encoding, hashes every payload file once for all its manifests and sha512 (streaming, on
 * the hashing thread), never follows a symbolic link — every file is opened with O_NOFOLLOW and read from the
 * descriptor checked to lie inside the bag (safe-open.ts) — and never fetches: a `fetch.txt` is accepted only when
 * every file it lists is present.
 *
 * The verdict is `valid` (possibly with warnings) or invalid with every reason found; nothing is ingested from an
 * invalid bag.
 */
export interface BagReport {
  path: string;
  valid: boolean;
  version?: string;
  encoding?: string;
  errors: string[];
  warnings: string[];
  /** bag-info.txt (package-info.txt before 0.96): labels in file order, repeated labels kept. */
  info: [string, string][];
  /**
   * Payload files present and listed, relative to the bag (`data/...`), with their sizes and — when the digests
   * were checked — the sha512 of the bytes that matched the manifests (computed in the same pass when the bag has
   * no sha512 manifest): what a batch row checks the file against when it stores it.
   */
  payload: { path: string; size: number; sha512?: string }[];
  /** Digests from the manifests, by payload path (lower-case hex), by algorithm, for the algorithms the bag has. */
  digests: Map<string, Map<string, string>>;
}

const supportedVersions = ['0.93', '0.94', '0.95', '0.96', '0.97', '1.0'];
/** A manifest's algorithm (from its file name: user text) → node:crypto's name. */
const algorithms = new Map([
  ['md5', 'md5'],
  ['sha1', 'sha1'],
  ['sha224', 'sha224'],
  ['sha256', 'sha256'],
  ['sha384', 'sha384'],
  ['sha512', 'sha512'],
]);
/** Files operating systems drop into folders by themselves: listed but missing, they are a warning. */
const systemFiles = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini', '.directory']);
const MAX_TAG_FILE_BYTES = 64 * 1024 * 1024;

interface Entry {
  digest: string;
  path: string;
  line: number;
}

/** What every step of a validation reads and adds to: the bag's two paths, its report, how to read a tag file. */
interface Bag {
  /** The bag as named (its payload is walked here); `real` is where its files are opened and checked to lie. */
  root: string;
  real: string;
  report: BagReport;
  errors: string[];
  warnings: string[];
  version: string;
  /** RFC 8493 proper, whose rules are stricter than the drafts' in places (paths encoded, duplicate entries). */
  v1: boolean;
  readTag(name: string): Promise<string | undefined>;
}

export async function validateBag(
  dir: string,
  options: { checkDigests?: boolean; within?: string } = {},
): Promise<BagReport> {
  const root = path.resolve(dir);
  // Files are checked to lie inside the bag by real path; a bag that is a link is read where it leads, unless
  // that is outside the folder it must lie in.
  const real = await fs.realpath(root).catch(() => root);
  if (options.within !== undefined && !isInside(options.within, real))
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', `${path.basename(root)} is not inside its folder`);
  const report: BagReport = {
    path: root,
    valid: false,
    errors: [],
    warnings: [],
    info: [],
    payload: [],
    digests: new Map(),
  };
  // Each step below returns early when what it found makes the next ones meaningless.
  const bag = await readDeclaration(root, real, report);
  if (!bag) return report;
  const present = new Map<string, number>();
  const dataDir = path.join(root, 'data');
  if (!(await isDir(dataDir))) {
    bag.errors.push('the payload directory data/ is missing (RFC 8493 §2.1.2)');
    return report;
  }
  await walk(dataDir, 'data', present, bag.errors);
  const { payloadEntries, tagEntries } = await readManifests(bag);
  await checkFetch(bag, present);
  const toleratedMissing = matchPayload(bag, payloadEntries, present);
  await checkTagFiles(bag, tagEntries);
  await readBagInfo(bag);
  const structuralErrors = bag.errors.length;
  const oxum = report.info.find(([k]) => k.toLowerCase() === 'payload-oxum')?.[1];
  if (oxum !== undefined) checkOxum(oxum, present, toleratedMissing, bag.errors, bag.warnings);
  // Digests last (the expensive part), and only when the structure is sound.
  if ((options.checkDigests ?? true) && structuralErrors === 0) await checkPayloadDigests(bag);
  report.valid = bag.errors.length === 0;
  return report;
}

/**
 * bagit.txt: exactly the two declarations, UTF-8, no byte-order mark. Gives the bag to check further, or nothing
 * when the declaration already makes it invalid (its version or encoding decide how everything else is read).
 */
async function readDeclaration(root: string, real: string, report: BagReport): Promise<Bag | undefined> {
  const { errors, warnings } = report;
  const declaration = await readTagBytes(real, 'bagit.txt');
  if (declaration === undefined) {
    errors.push('bagit.txt is missing: not a bag (RFC 8493 §2.1.1)');
    return undefined;
  }
  if (declaration[0] === 0xef && declaration[1] === 0xbb && declaration[2] === 0xbf) {
    errors.push('bagit.txt starts with a byte-order mark, which RFC 8493 §2.1.1 forbids');
    return undefined;
  }
  const declared = new Map<string, string>();
  for (const line of lines(new TextDecoder('utf-8').decode(declaration))) {
    if (line === '') continue;
    const m = /^([A-Za-z-]+): (\S.*)$/.exec(line);
    if (!m) {
      errors.push(`bagit.txt line ${JSON.stringify(line)} is not "Label: value" (RFC 8493 §2.1.1)`);
      continue;
    }
    declared.set(m[1]!, m[2]!.trim());
  }
  const version = declared.get('BagIt-Version');
  const encoding = declared.get('Tag-File-Character-Encoding');
  if (version === undefined) errors.push('bagit.txt has no BagIt-Version');
  else if (!/^\d+\.\d+$/.test(version))
    errors.push(`BagIt-Version ${JSON.stringify(version)} is not a version number (M.N)`);
  else if (!supportedVersions.includes(version))
    errors.push(
      `BagIt-Version ${version} is not supported (supported: ${supportedVersions.join(', ')}); re-bag it with a current BagIt tool`,
    );
  else report.version = version;
  if (encoding === undefined) errors.push('bagit.txt has no Tag-File-Character-Encoding');
  if (errors.length > 0) return undefined;
  const decoder = decoderFor(encoding!);
  if (!decoder) {
    errors.push(`Tag-File-Character-Encoding ${JSON.stringify(encoding)} is not an encoding we can read`);
    return undefined;
  }
  report.encoding = encoding!;
  if (Number(version) < 0.97)
    warnings.push(
      `BagIt ${version} predates RFC 8493; checked with the 0.97 rules (${version === '0.96' ? 'same layout' : 'package-info.txt read as bag-info.txt'})`,
    );
  return {
    root,
    real,
    report,
    errors,
    warnings,
    version: version!,
    v1: version === '1.0',
    readTag: async (name) => {
      const bytes = await readTagBytes(real, name);
      return bytes === undefined ? undefined : decoder(bytes);
    },
  };
}

/** The entries of every payload and tag manifest whose algorithm we can check, by algorithm. */
async function readManifests(
  bag: Bag,
): Promise<{ payloadEntries: Map<string, Entry[]>; tagEntries: Map<string, Entry[]> }> {
  const names = await fs.readdir(bag.root);
  const read = async (prefix: string, unchecked: string): Promise<Map<string, Entry[]>> => {
    const out = new Map<string, Entry[]>();
    const files = names.filter(
      (n) => n.startsWith(prefix) && /^[a-z0-9]+\.txt$/.test(n.slice(prefix.length)),
    );
    for (const m of files.sort()) {
      const alg = m.slice(prefix.length, -'.txt'.length);
      if (!algorithms.has(alg)) {
        bag.warnings.push(`${m}: algorithm ${alg} is not one we can check${unchecked}`);
        continue;
      }
      out.set(alg, parseManifest((await bag.readTag(m)) ?? '', m, bag.version, bag.errors, bag.warnings));
    }
    return out;
  };
  const payloadEntries = await read('manifest-', '; its entries are not verified');
  if (!names.some((n) => /^manifest-[a-z0-9]+\.txt$/.test(n)))
    bag.errors.push('no payload manifest (manifest-<algorithm>.txt)');
  const tagEntries = await read('tagmanifest-', '');
  return { payloadEntries, tagEntries };
}

/** fetch.txt: we never download, so every file it names must already be here. */
async function checkFetch(bag: Bag, present: Map<string, number>): Promise<void> {
  const fetchText = await bag.readTag('fetch.txt');
  if (fetchText === undefined) return;
  const { errors } = bag;
  const toFetch: string[] = [];
  let n = 0;
  for (const line of lines(fetchText)) {
    n += 1;
    if (line.trim() === '') continue;
    const m = /^(\S+)\s+(\d+|-)\s+(.+)$/.exec(line);
    if (!m) {
      errors.push(`fetch.txt line ${n} is not "URL LENGTH FILENAME"`);
      continue;
    }
    const target = decodePath(m[3]!, bag.v1);
    const problem = unsafePath(target);
    if (problem) {
      errors.push(`fetch.txt line ${n}: ${entryText(m[3]!)} ${problem}`);
      continue;
    }
    const p = stripDotSlash(target);
    if (!p.startsWith('data/')) errors.push(`fetch.txt line ${n}: ${p} is outside the payload directory`);
    else if (!present.has(p)) toFetch.push(p);
  }
  if (toFetch.length > 0)
    errors.push(
      `fetch.txt lists ${toFetch.length} file(s) that are not in the bag (e.g. ${toFetch[0]}); ciku never downloads: fetch them into the bag first`,
    );
}

/**
 * Every payload file in every manifest, every manifest entry present — with the known tolerable exceptions, which
 * are counted (Payload-Oxum may include them). Fills the report's digests and payload list.
 */
function matchPayload(bag: Bag, payloadEntries: Map<string, Entry[]>, present: Map<string, number>): number {
  const { errors, report } = bag;
  const listed = new Set<string>();
  const toleratedMissing = new Set<string>();
  for (const [alg, entries] of payloadEntries) {
    const seen = new Map<string, string>();
    const file = `manifest-${alg}.txt`;
    for (const e of entries) {
      if (!payloadEntryUsable(bag, file, e, seen)) continue;
      seen.set(e.path, e.digest);
      if (present.has(e.path)) {
        listed.add(e.path);
        const d = report.digests.get(e.path) ?? new Map<string, string>();
        d.set(alg, e.digest);
        report.digests.set(e.path, d);
        continue;
      }
      const excuse = whyMissingIsTolerable(e.path, seen, present);
      if (excuse === undefined) {
        errors.push(`${file}: ${e.path} is listed but missing from the payload`);
        continue;
      }
      bag.warnings.push(`${file}: ${excuse}`);
      toleratedMissing.add(e.path);
    }
    for (const p of present.keys()) {
      if (!seen.has(p) && !seen.has(p.normalize('NFD')) && !seen.has(p.normalize('NFC')))
        errors.push(`${p} is in the payload but not listed in ${file}`);
    }
  }
  for (const [p, size] of present) if (listed.has(p)) report.payload.push({ path: p, size });
  report.payload.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return toleratedMissing.size;
}

/** Whether a payload manifest entry names a payload file once; why not goes to the report. */
function payloadEntryUsable(bag: Bag, file: string, e: Entry, seen: Map<string, string>): boolean {
  const problem = unsafePath(e.path);
  if (problem) {
    bag.errors.push(`${file} line ${e.line}: ${entryText(e.path)} ${problem}`);
    return false;
  }
  if (!e.path.startsWith('data/')) {
    bag.errors.push(`${file} line ${e.line}: ${e.path} is not in the payload directory data/`);
    return false;
  }
  const before = seen.get(e.path);
  if (before === undefined) return true;
  if (before !== e.digest)
    bag.errors.push(`${file}: ${e.path} is listed twice with different digests (${before}, ${e.digest})`);
  else if (bag.v1) bag.errors.push(`${file}: ${e.path} is listed twice (RFC 8493 §2.1.3 allows one entry)`);
  else bag.warnings.push(`${file}: ${e.path} is listed twice with the same digest`);
  return false;
}

/**
 * Why a listed file that is not here may be let go (the warning's text): it went missing on its own, as names do
 * between filesystems — another Unicode normalisation or letter case of a name here, or an operating-system file.
 */
function whyMissingIsTolerable(
  p: string,
  seen: Map<string, string>,
  present: Map<string, number>,
): string | undefined {
  const base = p.slice(p.lastIndexOf('/') + 1);
  const forms = [p.normalize('NFC'), p.normalize('NFD')].filter((f) => f !== p);
  const lower = p.toLowerCase();
  if (forms.some((f) => present.has(f) || seen.has(f)))
    return `${JSON.stringify(p)} is another Unicode normalisation of a name listed or present; only one exists here`;
  if ([...seen.keys()].some((s) => s !== p && s.toLowerCase() === lower))
    return `${p} differs only in letter case from another entry; on this case-sensitive filesystem it is missing`;
  if (systemFiles.has(base)) return `${p} is an operating-system file that is not in the bag (ignored)`;
  return undefined;
}

/** Tag manifests: every listed tag file present and matching. */
async function checkTagFiles(bag: Bag, tagEntries: Map<string, Entry[]>): Promise<void> {
  const { errors } = bag;
  for (const [alg, entries] of tagEntries) {
    const file = `tagmanifest-${alg}.txt`;
    for (const e of entries) {
      const problem = unsafePath(e.path);
      if (problem) {
        errors.push(`${file} line ${e.line}: ${entryText(e.path)} ${problem}`);
        continue;
      }
      if (e.path.startsWith('data/')) {
        errors.push(`${file}: ${e.path} is a payload file, not a tag file`);
        continue;
      }
      const actual = await hashInside(bag.real, e.path, [alg]).catch((err: unknown) => {
        if (!(err instanceof CikuError)) throw err;
        errors.push(
          `${file}: tag file ${e.path} is listed but ${err.message === 'is missing' ? 'missing' : err.message}`,
        );
        return undefined;
      });
      if (actual === undefined) continue;
      const digest = actual.get(alg);
      if (digest !== e.digest)
        errors.push(
          `${file}: tag file ${e.path} does not match its digest (listed ${e.digest}, actual ${digest})`,
        );
    }
  }
}

/** bag-info.txt (package-info.txt before 0.96) into the report. */
async function readBagInfo(bag: Bag): Promise<void> {
  const infoName = Number(bag.version) < 0.96 ? 'package-info.txt' : 'bag-info.txt';
  const infoText = (await bag.readTag(infoName)) ?? (await bag.readTag('bag-info.txt'));
  if (infoText !== undefined) bag.report.info = parseInfo(infoText, infoName, bag.warnings);
}

/**
 * Every payload file hashed once for all its manifests' algorithms and sha512 — the digest the archive keeps,
 * which the row checks the bytes it stores against — and compared with the manifests.
 */
async function checkPayloadDigests(bag: Bag): Promise<void> {
  const { errors, report } = bag;
  for (const p of report.payload) {
    const expected = report.digests.get(p.path) ?? new Map<string, string>();
    const algs = [...new Set([...expected.keys(), 'sha512'])];
    const actual = await hashInside(bag.real, p.path, algs).catch((err: unknown) => {
      if (!(err instanceof CikuError)) throw err;
      errors.push(`${p.path} ${err.message}`);
      return undefined;
    });
    if (actual === undefined) continue;
    p.sha512 = actual.get('sha512')!;
    for (const [alg, digest] of expected) {
      if (actual.get(alg) !== digest)
        errors.push(
          `${p.path} does not match manifest-${alg}.txt (listed ${digest}, actual ${actual.get(alg)})`,
        );
    }
  }
}

/**
 * RFC 8493 §2.2.2: Payload-Oxum is the payload's octet count and file count, exactly. The one tolerance: files the
 * manifests list that are known to go missing on their own (operating-system files, another Unicode normalisation
 * or letter case of a listed name) may still be counted — then the count includes them and the octets cannot be
 * fewer than the payload holds.
 */
function checkOxum(
  oxum: string,
  present: Map<string, number>,
  toleratedMissing: number,
  errors: string[],
  warnings: string[],
): void {
  const m = /^(\d+)\.(\d+)$/.exec(oxum.trim());
  if (!m) {
    warnings.push(`Payload-Oxum ${JSON.stringify(oxum)} is not OCTETS.COUNT`);
    return;
  }
  const octets = [...present.values()].reduce((a, b) => a + b, 0);
  const saysOctets = Number(m[1]);
  const saysFiles = Number(m[2]);
  if (saysOctets === octets && saysFiles === present.size) return;
  if (toleratedMissing > 0 && saysFiles === present.size + toleratedMissing && saysOctets >= octets)
    warnings.push(
      `Payload-Oxum ${oxum} counts the ${toleratedMissing} listed file(s) that are not here; the payload holds ${octets}.${present.size}`,
    );
  else
    errors.push(`Payload-Oxum says ${oxum} but the payload holds ${octets}.${present.size} (octets.files)`);
}

/** Reads a tag file at the bag's top level (never through a link), bounded in size; undefined when absent. */
async function readTagBytes(root: string, name: string): Promise<Buffer | undefined> {
  let opened;
  try {
    opened = await openInside(root, path.join(root, name));
  } catch (err) {
    if (err instanceof CikuError) return undefined; // missing, a link, not a regular file: not a tag file
    throw err;
  }
  try {
    if (opened.stat.size > MAX_TAG_FILE_BYTES)
      throw new CikuError('CIKU_ERR_BATCH_SOURCE', `${name} is larger than ${MAX_TAG_FILE_BYTES} bytes`);
    return await opened.handle.readFile();
  } finally {
    await opened.handle.close();
  }
}

/** The digests of a file of the bag (`rel` from its top), read from a descriptor checked to lie inside it. */
async function hashInside(root: string, rel: string, algs: string[]): Promise<Map<string, string>> {
  const { handle } = await openInside(root, path.join(root, rel));
  try {
    return await hashHandle(
      handle,
      algs.map((a) => algorithms.get(a) ?? a),
    ).then((d) => new Map(algs.map((a) => [a, d.get(algorithms.get(a) ?? a)!])));
  } finally {
    await handle.close();
  }
}

function decoderFor(encoding: string): ((b: Buffer) => string) | undefined {
  const e = encoding.trim().toLowerCase();
  if (e === 'utf-16' || e === 'utf16') {
    // RFC 2781: a byte-order mark decides; big-endian without one.
    return (b) =>
      b[0] === 0xff && b[1] === 0xfe
        ? new TextDecoder('utf-16le').decode(b)
        : new TextDecoder('utf-16be').decode(b);
  }
  try {
    const d = new TextDecoder(e);
    return (b) => d.decode(b);
  } catch {
    return undefined;
  }
}

function lines(text: string): string[] {
  const out = text.split(/\r\n|\r|\n/);
  if (out.at(-1) === '') out.pop();
  return out;
}

/** RFC 8493 §2.1.3: in 1.0 only %0A, %0D and %25 are encoded in paths; earlier drafts encode nothing. */
function decodePath(p: string, v1: boolean): string {
  return v1 ? p.replace(/%0A|%0D|%25/gi, (m) => decodeURIComponent(m)) : p;
}

function stripDotSlash(p: string): string {
  return p.startsWith('./') ? p.slice(2) : p;
}

/**
 * A path from a manifest or fetch.txt as a report quotes it: an absolute one by its last name only (a report never
 * carries a path of the machine, whoever wrote it).
 */
function entryText(p: string): string {
  const absolute = p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
  return JSON.stringify(absolute ? `…/${p.split(/[\\/]/).pop() ?? ''}` : p);
}

/** Why a path in a manifest or fetch.txt is out of the bag's scope, if it is. */
function unsafePath(p: string): string | undefined {
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\')) return 'is an absolute path';
  if (p.startsWith('~') || /%[A-Za-z]+%/.test(p)) return 'uses a home-directory shortcut';
  if (
    stripDotSlash(p)
      .split(/[\\/]/)
      .some((s) => s === '..')
  )
    return 'climbs out of the bag with ..';
  if (p.includes('\0')) return 'contains a NUL character';
  return undefined;
}

function parseManifest(
  text: string,
  file: string,
  version: string,
  errors: string[],
  warnings: string[],
): Entry[] {
  const out: Entry[] = [];
  let n = 0;
  for (const line of lines(text)) {
    n += 1;
    if (line.trim() === '') continue;
    const m = /^([0-9A-Fa-f]+)[ \t]+(\*?)(.+)$/.exec(line);
    if (!m) {
      errors.push(`${file} line ${n} is not "DIGEST PATH"`);
      continue;
    }
    let p = decodePath(m[3]!, version === '1.0');
    if (m[2] === '*')
      warnings.push(
        `${file} line ${n}: "*" before the path is an md5sum binary-mode marker, not part of the name`,
      );
    if (p.startsWith('./')) {
      warnings.push(`${file} line ${n}: path ${p} starts with ./`);
      p = p.slice(2);
    }
    out.push({ digest: m[1]!.toLowerCase(), path: p, line: n });
  }
  return out;
}

/** `Label: value` lines, continuation lines indented; whitespace around the colon tolerated (0.97 §2.2.2). */
function parseInfo(text: string, file: string, warnings: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    if (/^[ \t]/.test(line) && out.length > 0) {
      out[out.length - 1]![1] += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) {
      warnings.push(`${file}: line ${JSON.stringify(line.slice(0, 80))} is not "Label: value" (ignored)`);
      continue;
    }
    out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

async function isDir(p: string): Promise<boolean> {
  const st = await fs.lstat(p).catch(() => undefined);
  return st?.isDirectory() ?? false;
}

async function walk(abs: string, rel: string, out: Map<string, number>, errors: string[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (err) {
    // A reason in the report, by the folder's place in the bag (Node's own message names the server path).
    errors.push(`${rel}/ cannot be read (${errnoCode(err) ?? 'error'})`);
    return;
  }
  for (const d of entries) {
    const childAbs = path.join(abs, d.name);
    const childRel = `${rel}/${d.name}`;
    if (d.isSymbolicLink())
      errors.push(`${childRel} is a symbolic link (refused: a bag holds its own bytes)`);
    else if (d.isDirectory()) await walk(childAbs, childRel, out, errors);
    else if (d.isFile()) out.set(childRel, (await fs.stat(childAbs)).size);
    else errors.push(`${childRel} is not a regular file`);
  }
}

/** The bag-info value of a label (case-insensitive), all values when repeated. */
export function infoValues(report: BagReport, label: string): string[] {
  const l = label.toLowerCase();
  return report.info.filter(([k]) => k.toLowerCase() === l).map(([, v]) => v);
}
