import { z } from 'zod';
import { LocationReport } from './courier.schemas';
import type { TopicKey } from './topics';

/**
 * The data of every event on the mesh, by CloudEvents `type`. One schema per
 * type: the producer builds it, the consuming function validates it.
 */
export const EVENT_DATA = {
  // The courier's own report, with who sent it and when (the gateway fills `at` when the app did not).
  'courier.location.reported': LocationReport.extend({
    courierId: z.string().min(1),
    at: z.iso.datetime({ offset: true }),
  }),
  'courier.availability.changed': z.strictObject({
    courierId: z.string().min(1),
    available: z.boolean(),
  }),
} as const;

export type EventType = keyof typeof EVENT_DATA;
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA)[T]>;

/** Which topic carries which event types; one entity's events share a topic so they stay ordered. */
export const TOPIC_OF_EVENT: Readonly<Record<EventType, TopicKey>> = {
  'courier.location.reported': 'couriers',
  'courier.availability.changed': 'couriers',
};

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_DATA, type);
}
