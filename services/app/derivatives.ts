import type { DerivativeKind } from '../../schemas/technical.ts';
import { anonymous, type Principal } from '../archive/access.ts';
import { expectedKinds, type DerivativeStore } from '../archive/derivatives.ts';
import type { ItemFile, ItemView } from '../archive/items.ts';
import { normaliseLogicalPath } from '../archive/ocfl/names.ts';
import { CikuError, isCikuError } from '../errors.ts';
import type { Guards } from './guards.ts';

/** A file of an item version the caller may read. */
export function fileOf(item: ItemView, name: string): ItemFile {
  const logical = normaliseLogicalPath(name);
  const file = item.files.find((f) => f.name === logical);
  if (!file)
    throw new CikuError(
      'CIKU_ERR_FILE_NOT_FOUND',
      `item ${item.id} has no file ${logical} in ${item.version}`,
    );
  return file;
}

/**
 * Finds derivatives through the same access decision as their item (guards.readable): a thumbnail, a tile or a
 * proxy of a restricted item is as hidden as the item itself. What the API serves and the pages and IIIF
 * manifests link to are located here, so they agree on what exists and when it is ready.
 */
export function createDerivativeService(deps: { guards: Guards; derivatives: DerivativeStore }) {
  /**
   * The ready derivative `kind` of a file: 404 CIKU_ERR_DERIVATIVE_NOT_FOUND if its type never has one, 409
   * CIKU_ERR_DERIVATIVE_NOT_READY while pending or after it failed (with the reason). `shareable`: anyone may read
   * it right now, so it may be cached publicly and shared across origins.
   */
  async function locate(
    principal: Principal,
    id: string,
    name: string,
    version: string | undefined,
    kind: DerivativeKind,
  ) {
    const item = await deps.guards.readable(principal, id, version);
    const file = fileOf(item, name);
    const record = await deps.derivatives.readRecord(file.digests.sha512);
    const mediaType = file.media_type ?? 'application/octet-stream';
    if (!expectedKinds(mediaType, record?.technical, record?.derivatives).includes(kind)) {
      throw new CikuError(
        'CIKU_ERR_DERIVATIVE_NOT_FOUND',
        `${file.name} (${mediaType}) has no ${kind} derivative`,
      );
    }
    const entry = record?.derivatives[kind];
    if (!record || !entry || entry.status !== 'ready' || entry.path === undefined) {
      const status = entry?.status ?? 'pending';
      throw new CikuError(
        'CIKU_ERR_DERIVATIVE_NOT_READY',
        status === 'failed'
          ? `the ${kind} of ${file.name} could not be made: ${entry?.reason ?? 'unknown reason'}`
          : `the ${kind} of ${file.name} is not made yet`,
        { details: { status, ...(entry?.reason === undefined ? {} : { reason: entry.reason }) } },
      );
    }
    const shareable = await anonymousMayRead(principal, id, version);
    return { item, file, record, shareable, entry: { ...entry, path: entry.path } };
  }

  /**
   * Whether anonymous may read this version right now, by the same decision (guards.readable): an earlier version
   * is public only under the head's access and its own, and nothing of a deleted item is — the version's own access
   * alone would call a researcher's view of a now-restricted item's public v1 shareable, and cache it publicly.
   */
  async function anonymousMayRead(principal: Principal, id: string, version: string | undefined) {
    if (principal.role === 'anonymous') return true;
    try {
      await deps.guards.readable(anonymous, id, version);
      return true;
    } catch (err) {
      if (isCikuError(err) && err.statusCode < 500) return false;
      throw err;
    }
  }

  return { locate };
}

export type DerivativeService = ReturnType<typeof createDerivativeService>;
export type LocatedDerivative = Awaited<ReturnType<DerivativeService['locate']>>;
