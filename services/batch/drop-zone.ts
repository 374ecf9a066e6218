import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Principal } from '../archive/access.ts';
import type { BlobStore } from '../archive/blob-store.ts';
import { isCikuError } from '../errors.ts';
import type { Batches } from './batches.ts';
import { ORGANISATIONS, organisationFolder } from './drop-folder.ts';

/**
 * The nightly drop-zone scan: every bag, manifest folder, CSV or JSON-lines file at the top of the drop folder, or
 * at the top of an organisation's folder in it (`organisations/<name>/`, drop-folder.ts), becomes a batch, once.
 * Staff's sources run as staff; an organisation's run as a contributor of that organisation — its rows can create
 * and change that organisation's items only, exactly as its contributors' own batches. "Once" is a claim written
 * with if-absent before the batch starts (`batches/dropzone/<digest of entry + size + mtime>.json`, the entry named
 * by its path in the drop folder), so two scans never start the same entry, and an entry that changes (a
 * re-delivered bag) is picked up again as new. Entries younger than `settleMs` are left for the next scan: they may
 * still be copying in.
 */
export interface DropScanResult {
  /** `entry` is the path in the drop folder (`records.csv`, `organisations/<name>/bag-1`). */
  started: { entry: string; batch: string; refused?: string }[];
  skipped: { entry: string; reason: string }[];
}

/** Staff's part of the drop folder runs as an archivist would. */
const staff: Principal = { role: 'archivist' };

export async function scanDropZone(
  deps: { batches: Batches; blobs: BlobStore },
  dir: string,
  options: { settleMs?: number; by?: string; now?: number } = {},
): Promise<DropScanResult> {
  const out: DropScanResult = { started: [], skipped: [] };
  const root = await fs.realpath(dir).catch(() => undefined);
  if (root === undefined) return out;
  const by = options.by ?? 'system:dropzone';
  await scanFolder(deps, root, '', staff, by, out, options);
  const orgs = await fs.readdir(path.join(root, ORGANISATIONS), { withFileTypes: true }).catch(() => []);
  for (const e of orgs.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const organisation = e.name.normalize('NFC');
    const folder = e.isDirectory() ? await organisationFolder(root, organisation) : undefined;
    const entry = `${ORGANISATIONS}/${e.name}`;
    if (folder === undefined) {
      if (!e.name.startsWith('.'))
        out.skipped.push({
          entry,
          reason: 'not an organisation folder (a link, a file, or a second spelling)',
        });
      continue;
    }
    const principal: Principal = { role: 'contributor', organisation };
    await scanFolder(deps, folder, `${entry}/`, principal, `${by}:${organisation}`, out, options);
  }
  return out;
}

async function scanFolder(
  deps: { batches: Batches; blobs: BlobStore },
  dir: string,
  prefix: string,
  principal: Principal,
  by: string,
  out: DropScanResult,
  options: { settleMs?: number; now?: number },
): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const now = options.now ?? Date.now();
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    // The organisations' folders are theirs, scanned as theirs (above), never as one of staff's sources.
    if (prefix === '' && e.name === ORGANISATIONS) continue;
    const abs = path.join(dir, e.name);
    const entry = `${prefix}${e.name}`;
    const isSource = e.isDirectory() || (e.isFile() && /\.(csv|jsonl|ndjson|tsv)$/i.test(e.name));
    if (!isSource) continue;
    const { size, mtime } = await fingerprint(abs);
    if (now - mtime < (options.settleMs ?? 60_000)) {
      out.skipped.push({ entry, reason: 'changed within the settle time; next scan' });
      continue;
    }
    const claim = `batches/dropzone/${createHash('sha256').update(`${entry}\n${size}\n${mtime}`).digest('hex')}.json`;
    try {
      await deps.blobs.put(claim, JSON.stringify({ entry, size, mtime, claimed: new Date().toISOString() }), {
        ifAbsent: true,
      });
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_EXISTS')) {
        out.skipped.push({ entry, reason: 'already picked up' });
        continue;
      }
      throw err;
    }
    try {
      const { view } = await deps.batches.start(abs, { by, principal, within: dir });
      out.started.push({ entry, batch: view.id, ...(view.refused ? { refused: view.refused } : {}) });
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_UNAVAILABLE')) {
        // The planner is full (plan-thread.ts): not this entry's verdict. Unclaimed, it is the next scan's.
        await deps.blobs.delete(claim);
        out.skipped.push({ entry, reason: 'the planner was busy; next scan' });
        continue;
      }
      out.started.push({ entry, batch: '', refused: (err as Error).message });
    }
  }
}

/** Total size and newest modification time of a file or a folder tree (links not followed). */
async function fingerprint(abs: string): Promise<{ size: number; mtime: number }> {
  const st = await fs.lstat(abs);
  if (!st.isDirectory()) return { size: st.size, mtime: st.mtimeMs };
  let size = 0;
  let mtime = st.mtimeMs;
  for (const d of await fs.readdir(abs, { withFileTypes: true })) {
    if (d.isSymbolicLink()) continue;
    const sub = await fingerprint(path.join(abs, d.name));
    size += sub.size;
    mtime = Math.max(mtime, sub.mtime);
  }
  return { size, mtime: Math.floor(mtime) };
}
