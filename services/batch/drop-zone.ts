import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BlobStore } from '../archive/blob-store.ts';
import { isCikuError } from '../errors.ts';
import type { Batches } from './batches.ts';

/**
 * The nightly drop-zone scan: every bag, manifest folder, CSV or JSON-lines file at the top of the drop folder
 * becomes a batch, once. "Once" is a claim written with if-absent before the batch starts
 * (`batches/dropzone/<digest of name + size + mtime>.json`), so two scans never start the same entry, and an entry
 * that changes (a re-delivered bag) is picked up again as new. Entries younger than `settleMs` are left for the
 * next scan: they may still be copying in.
 */
export interface DropScanResult {
  started: { entry: string; batch: string; refused?: string }[];
  skipped: { entry: string; reason: string }[];
}

export async function scanDropZone(
  deps: { batches: Batches; blobs: BlobStore },
  dir: string,
  options: { settleMs?: number; by?: string; now?: number } = {},
): Promise<DropScanResult> {
  const out: DropScanResult = { started: [], skipped: [] };
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const now = options.now ?? Date.now();
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const abs = path.join(dir, e.name);
    const isSource = e.isDirectory() || (e.isFile() && /\.(csv|jsonl|ndjson|tsv)$/i.test(e.name));
    if (!isSource) continue;
    const { size, mtime } = await fingerprint(abs);
    if (now - mtime < (options.settleMs ?? 60_000)) {
      out.skipped.push({ entry: e.name, reason: 'changed within the settle time; next scan' });
      continue;
    }
    const claim = `batches/dropzone/${createHash('sha256').update(`${e.name}\n${size}\n${mtime}`).digest('hex')}.json`;
    try {
      await deps.blobs.put(
        claim,
        JSON.stringify({ entry: e.name, size, mtime, claimed: new Date().toISOString() }),
        {
          ifAbsent: true,
        },
      );
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_BLOB_EXISTS')) {
        out.skipped.push({ entry: e.name, reason: 'already picked up' });
        continue;
      }
      throw err;
    }
    try {
      const { view } = await deps.batches.start(abs, { by: options.by ?? 'system:dropzone' });
      out.started.push({ entry: e.name, batch: view.id, ...(view.refused ? { refused: view.refused } : {}) });
    } catch (err) {
      out.started.push({ entry: e.name, batch: '', refused: (err as Error).message });
    }
  }
  return out;
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
