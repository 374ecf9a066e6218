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
  ].map((t) => Type.Literal(t)),
);

export const PremisEvent = Type.Object({
  id: Type.String(),
  type: EventType,
  date_time: Type.String(),
  agent: Type.String(),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  detail: Type.Optional(Type.String()),
  /** Logical names of the item's files the event concerns. */
  objects: Type.Optional(Type.Array(Type.String())),
  version: Type.String(),
});
export type PremisEvent = Static<typeof PremisEvent>;
export type EventType = Static<typeof EventType>;
