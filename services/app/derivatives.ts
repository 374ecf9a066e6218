import type { DerivativeKind } from '../../schemas/technical.ts';
import { anonymous, canRead, type Principal } from '../archive/access.ts';
import { expectedKinds, type DerivativeStore } from '../archive/derivatives.ts';
import type { ItemFile, ItemView } from '../archive/items.ts';
import { normaliseLogicalPath } from '../archive/ocfl/names.ts';
import { CikuError } from '../errors.ts';
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
export function createDerivativeService(deps: {
  guards: Guards;
  derivatives: DerivativeStore;
  clock: () => Date;
}) {
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
    if (!expectedKinds(mediaType, record?.technical).includes(kind)) {
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
    const shareable = canRead(anonymous, item.access, deps.clock());
    return { item, file, record, shareable, entry: { ...entry, path: entry.path } };
  }

  return { locate };
}

export type DerivativeService = ReturnType<typeof createDerivativeService>;
export type LocatedDerivative = Awaited<ReturnType<DerivativeService['locate']>>;
