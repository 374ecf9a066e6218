import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { PremisEvent } from '../../schemas/event.ts';
import { CikuError, errnoCode, isCikuError } from '../errors.ts';
import { HashingStream, readAll, type BlobStore } from './blob-store.ts';
import type { OcflStore } from './ocfl/store.ts';

/**
 * The fixity audit: every content file of every object (all versions, each stored file once) is read back and its
 * sha512 compared with the object's inventory. Reading is paced (`rateBytesPerSec`) so a nightly audit does not
 * crowd out the day's work. Each file checked gets a PREMIS "fixity check" event, kept per item and run under
 * `audit/fixity-events/<item>/<run>.json` (beside the OCFL objects, not inside them: a nightly audit must not add a
 * version to every object every night) and shown in the item's event log; the run ends with one report
 * (`audit/fixity-runs/<run>.json`) listing every mismatch and missing file — one report, not one alert per file.
 */
export interface FixityFinding {
  item: string;
  /** The logical names (in the latest version holding the content) of the damaged file. */
  files: string[];
  version: string;
  content: string;
  status: 'mismatch' | 'missing';
  expected: string;
  actual?: string;
}

export interface FixityReport {
  run: string;
  started: string;
  finished: string;
  objects: number;
  files: number;
  bytes: number;
  ok: number;
  findings: FixityFinding[];
}

export interface FixityOptions {
  runId?: string;
  /** Bytes per second to read at most (0 or undefined: as fast as the store gives them). */
  rateBytesPerSec?: number;
  /** Only these items (by id). */
  items?: string[];
  agent?: string;
  signal?: AbortSignal;
  onProgress?: (p: { objects: number; files: number; bytes: number; findings: number }) => void;
}

const ITEM_PREFIX = 'urn:ciku:item:';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fixityRunId(now = new Date()): string {
  return `fx-${now
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14)}-${randomUUID().slice(0, 6)}`;
}

export async function auditFixity(
  deps: { ocfl: OcflStore; blobs: BlobStore },
  options: FixityOptions = {},
): Promise<FixityReport> {
  const { ocfl, blobs } = deps;
  const run = options.runId ?? fixityRunId();
  const started = new Date();
  const report: FixityReport = {
    run,
    started: started.toISOString(),
    finished: '',
    objects: 0,
    files: 0,
    bytes: 0,
    ok: 0,
    findings: [],
  };
  const rate = options.rateBytesPerSec ?? 0;
  const t0 = Date.now();
  const only = options.items ? new Set(options.items) : undefined;

  for await (const obj of ocfl.listObjects()) {
    if (options.signal?.aborted) throw new CikuError('CIKU_ERR_UNAVAILABLE', 'fixity audit stopped');
    if (!obj.id.startsWith(ITEM_PREFIX)) continue;
    const item = obj.id.slice(ITEM_PREFIX.length);
    if (only && !only.has(item)) continue;
    const inv = await ocfl.getInventory(obj.id);
    report.objects += 1;
    const events: PremisEvent[] = [];
    const versions = Object.keys(inv.versions).sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)));
    for (const [digest, paths] of Object.entries(inv.manifest)) {
      // Name it as the latest version that holds it does (item files live under files/ in the object).
      let names: string[] = [];
      let version = versions.at(-1)!;
      for (const v of versions) {
        const logical = inv.versions[v]!.state[digest];
        if (logical) {
          names = logical.map((l) => (l.startsWith('files/') ? l.slice('files/'.length) : l));
          version = v;
          break;
        }
      }
      for (const contentPath of paths) {
        const key = `${ocfl.rootPrefix}/${obj.objectPath}/${contentPath}`;
        report.files += 1;
        const actual = await storedDigest(blobs, key, async (bytes) => {
          report.bytes += bytes;
          if (rate > 0) {
            const ahead = (report.bytes / rate) * 1000 - (Date.now() - t0);
            if (ahead > 5) await sleep(ahead);
          }
        });
        const outcome = actual === digest ? 'success' : 'failure';
        if (outcome === 'success') report.ok += 1;
        else
          report.findings.push({
            item,
            files: names,
            version,
            content: contentPath,
            status: actual === undefined ? 'missing' : 'mismatch',
            expected: digest,
            ...(actual === undefined ? {} : { actual }),
          });
        events.push({
          id: randomUUID(),
          type: 'fixity check',
          date_time: new Date().toISOString(),
          agent: options.agent ?? 'system:fixity',
          outcome,
          version,
          objects: names,
          detail:
            actual === undefined
              ? `missing: ${contentPath} (expected sha512:${digest})`
              : actual === digest
                ? `sha512:${digest} matches (run ${run})`
                : `mismatch: ${contentPath} expected sha512:${digest}, actual sha512:${actual} (run ${run})`,
        });
        options.onProgress?.({
          objects: report.objects,
          files: report.files,
          bytes: report.bytes,
          findings: report.findings.length,
        });
      }
    }
    if (events.length > 0)
      await blobs.put(`audit/fixity-events/${item}/${run}.json`, `${JSON.stringify(events)}\n`, {
        durable: false,
      });
  }
  report.finished = new Date().toISOString();
  await blobs.put(`audit/fixity-runs/${run}.json`, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/**
 * The sha512 of a stored blob, through the `HashingStream` every put uses (past 1 MiB on the hashing thread, so
 * the next bytes are read while the last ones are hashed); undefined when the blob is gone. `read` sees each
 * chunk once it is hashed, and the stream waits for it: that is where the audit paces itself.
 */
async function storedDigest(
  blobs: BlobStore,
  key: string,
  read: (bytes: number) => Promise<void>,
): Promise<string | undefined> {
  const hasher = new HashingStream(['sha512']);
  try {
    await pipeline(await blobs.get(key), hasher, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) await read(chunk.length);
    });
  } catch (err) {
    if (isCikuError(err, 'CIKU_ERR_BLOB_NOT_FOUND') || errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return hasher.digests().sha512!;
}

/** The fixity-check events recorded for an item across audit runs, oldest first. */
export async function fixityEvents(blobs: BlobStore, item: string): Promise<PremisEvent[]> {
  const out: PremisEvent[] = [];
  for await (const b of blobs.list(`audit/fixity-events/${item}/`)) {
    try {
      out.push(...(JSON.parse((await readAll(await blobs.get(b.key))).toString('utf8')) as PremisEvent[]));
    } catch (err) {
      // A record lost to a power cut (written without fsync): the next audit writes it again.
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  return out.sort((a, b) => (a.date_time < b.date_time ? -1 : a.date_time > b.date_time ? 1 : 0));
}

/** The last audit report, if any audit ran. */
export async function lastFixityReport(blobs: BlobStore): Promise<FixityReport | undefined> {
  let last: string | undefined;
  for await (const b of blobs.list('audit/fixity-runs/'))
    if (last === undefined || b.key > last) last = b.key;
  if (last === undefined) return undefined;
  return JSON.parse((await readAll(await blobs.get(last))).toString('utf8')) as FixityReport;
}
