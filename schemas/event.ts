import { Type, type Static } from '@sinclair/typebox';

/** PREMIS 3 event types we record (https://id.loc.gov/vocabulary/preservation/eventType). */
export const EventType = Type.Union(
  [
    'ingestion',
    'message digest calculation',
    'fixity check',
    'metadata modification',
    'policy assignment',
    'deletion',
    'modification',
    'filename change',
    'format identification',
  ].map((t) => Type.Literal(t)),
);

export const PremisEvent = Type.Object({
  id: Type.String(),
  type: EventType,
  date_time: Type.String(),
  agent: Type.String(),
  /** `warning`: done, with a finding to look at (bytes no signature identified, kept as application/octet-stream). */
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('warning')]),
  detail: Type.Optional(Type.String()),
  /** Logical names of the item's files the event concerns. */
  objects: Type.Optional(Type.Array(Type.String())),
  version: Type.String(),
});
export type PremisEvent = Static<typeof PremisEvent>;
export type EventType = Static<typeof EventType>;
