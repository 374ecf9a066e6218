import { deriveJobFor, type DeriveJobName, type DerivePayload } from '../schemas/jobs.ts';
import type { JobQueue } from '../services/adapters/queue.ts';
import { jobForKind, type DerivativeStore } from '../services/archive/derivatives.ts';
import type { Items } from '../services/archive/items.ts';
import { isCikuError } from '../services/errors.ts';

export interface RederivePlanEntry {
  name: DeriveJobName;
  payload: DerivePayload;
}

/**
 * What `ciku rederive` queues. `--item ID`: every derivative of that item's current files, made again (`force`).
 * `--missing`: over the whole archive, only the kinds whose record entry or blob is missing (a recorded failure is
 * a verdict on unchanged bytes, not something missing) — so a run over a complete archive queues nothing.
 */
export async function* planRederive(
  deps: { items: Items; derivatives: DerivativeStore },
  options: { item?: string; missing?: boolean },
): AsyncIterable<RederivePlanEntry> {
  const seen = new Set<string>();
  const ids: AsyncIterable<string> | string[] =
    options.item !== undefined ? [options.item] : deps.items.list();
  for await (const id of ids) {
    let item;
    try {
      item = await deps.items.get(id);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND') && options.item === undefined) continue;
      throw err;
    }
    if (item.tombstone) continue;
    for (const f of item.files) {
      const mediaType = f.media_type ?? 'application/octet-stream';
      const name = deriveJobFor(mediaType);
      if (name === undefined || seen.has(f.digests.sha512)) continue;
      seen.add(f.digests.sha512);
      const base = {
        itemId: item.id,
        version: item.version,
        file: f.name,
        sha512: f.digests.sha512,
        mediaType,
      };
      if (options.missing) {
        const { missing } = await deps.derivatives.missingKinds(f.digests.sha512, mediaType);
        if (missing.length === 0) continue;
        // A scan's OCR kinds are derive-document's. When the image's own kinds are missing too, derive-image is
        // queued with all of them and hands the OCR kinds over once its record is written (the two jobs never
        // write one record at once).
        const own = missing.filter((k) => jobForKind(mediaType, k) === name);
        yield own.length > 0
          ? { name, payload: { ...base, kinds: missing } }
          : { name: jobForKind(mediaType, missing[0]!)!, payload: { ...base, kinds: missing } };
      } else {
        yield { name, payload: { ...base, force: true } };
      }
    }
  }
}

/** Queues the plan as backfill work (fresh uploads go first), replacing finished jobs with the same ids. */
export async function rederive(
  deps: { items: Items; derivatives: DerivativeStore; queue: JobQueue },
  options: { item?: string; missing?: boolean },
): Promise<{ name: DeriveJobName; jobId: string }[]> {
  const queued: { name: DeriveJobName; jobId: string }[] = [];
  for await (const { name, payload } of planRederive(deps, options)) {
    queued.push({ name, jobId: await deps.queue.enqueue(name, payload, { backfill: true }) });
  }
  return queued;
}
