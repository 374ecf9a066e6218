import { Type, type Static } from '@sinclair/typebox';

/**
 * Job names → payloads. Payloads carry ids only; a handler re-reads the state it needs (what comes out of Redis
 * is input, validated again by the worker). Job ids are deterministic so that enqueueing twice is harmless.
 */
const Digest = Type.String({ pattern: '^[0-9a-f]{128}$' });

export const jobSchemas = {
  'extract-metadata': Type.Object({
    itemId: Type.String(),
    version: Type.String(),
    file: Type.String(),
    sha512: Digest,
  }),
  derive: Type.Object({
    itemId: Type.String(),
    version: Type.String(),
    file: Type.String(),
    sha512: Digest,
    mediaType: Type.String(),
  }),
  'index-item': Type.Object({ itemId: Type.String(), version: Type.String() }),
} as const;

export type JobName = keyof typeof jobSchemas;
export type JobPayload<N extends JobName> = Static<(typeof jobSchemas)[N]>;

/** Deterministic ids (BullMQ refuses ':' in custom ids). Work on content is keyed by digest, indexing by version. */
export function jobIdFor<N extends JobName>(name: N, payload: JobPayload<N>): string {
  switch (name) {
    case 'extract-metadata':
    case 'derive':
      return `${name}-${(payload as JobPayload<'derive'>).sha512}`;
    case 'index-item': {
      const p = payload;
      return `${name}-${p.itemId}-${p.version}`;
    }
    default:
      throw new Error(`unknown job ${String(name)}`);
  }
}

/** Interactive work (fresh uploads) runs before backfills (rederive, reindex) on the same queues. */
export const priorities = { interactive: 1, backfill: 10 } as const;
