import type { TopicKey } from '@mesh/contracts';
import type { CloudEvent } from './cloud-event';

export interface Delivery {
  readonly topic: TopicKey;
  readonly partition: number;
  readonly offset: string;
  /** 1 on first delivery; higher when the handler threw before and the event came again. */
  readonly attempt: number;
}

export type EventHandler = (event: CloudEvent, delivery: Delivery) => Promise<void>;

export interface SubscriptionSpec {
  /** Consumer group: each group gets every event once; its members share the partitions. */
  readonly group: string;
  readonly topic: TopicKey;
  readonly handle: EventHandler;
  /** Events of different keys handled at once by this member (events of one key are always sequential). */
  readonly concurrency?: number;
  /** A message that is not a CloudEvent; it is skipped after this is called. */
  readonly onMalformed?: (reason: string, raw: { key: string | null; value: string | null }) => void;
}

export interface Subscription {
  /** Stops fetching, finishes in-flight events, commits, leaves the group. */
  close(): Promise<void>;
}

/**
 * The event bus port. At-least-once, ordered per partition key. `publish`
 * resolves only once the event is durably accepted. A handler that throws gets
 * the same event again after a backoff, and later events of that key wait.
 * A group with no committed position starts from the earliest event.
 */
export abstract class EventBus {
  abstract publish(topic: TopicKey, event: CloudEvent): Promise<void>;
  abstract subscribe(spec: SubscriptionSpec): Promise<Subscription>;
  /** Resolves when the bus answers; rejects with the reason otherwise. */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}

export const REDELIVERY_BACKOFF_MS = { initial: 100, max: 5_000 } as const;

export function redeliveryDelay(attempt: number): number {
  return Math.min(REDELIVERY_BACKOFF_MS.max, REDELIVERY_BACKOFF_MS.initial * 2 ** Math.max(0, attempt - 1));
}
