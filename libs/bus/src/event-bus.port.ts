import type { TopicKey } from '@mesh/contracts';
import type { CloudEvent } from './cloud-event';

/** Positions in a topic: partition (as a string) → offset of the next event. */
export type LogPositions = Record<string, string>;

export interface Delivery {
  readonly topic: TopicKey;
  readonly partition: number;
  readonly offset: string;
  /** 1 on first delivery; higher when the handler threw before and the event came again. */
  readonly attempt: number;
  /** Earlier attempts that failed through the event's own fault (not counting DependencyUnavailable). */
  readonly failures: number;
}

export type EventHandler = (event: CloudEvent, delivery: Delivery) => Promise<void>;

export interface SubscriptionSpec {
  /** Consumer group: each group gets every event once; its members share the partitions. */
  readonly group: string;
  readonly topic: TopicKey;
  readonly handle: EventHandler;
  /** Events of different keys handled at once by this member (events of one key are always sequential). */
  readonly concurrency?: number;
  /**
   * The event types this subscriber takes; others on the topic are passed over
   * unread (their data never decoded), their positions moving on as if handled.
   */
  readonly types?: readonly string[];
  /** A message that is not a CloudEvent; it is skipped (or dead-lettered, with `maxAttempts`) after this is called. */
  readonly onMalformed?: (reason: string, raw: { key: string | null; value: string | null }) => void;
  /**
   * Attempts at an event before it is dead-lettered: put on the topic's dead-letter
   * topic with its original payload and headers plus the error, after which the
   * next events go on. A handler that throws PermanentFailure is dead-lettered at
   * once, as is a malformed message. Without it an event is retried until it succeeds.
   */
  readonly maxAttempts?: number;
  /**
   * How often this subscriber's fetches may start while it is busy, instead of the
   * bus's own interval: a subscriber whose events can wait a little (positions, the
   * route log) takes them in fewer, fuller batches, which costs both sides far less
   * per event. An idle subscriber still gets an event as soon as it comes.
   */
  readonly fetchIntervalMs?: number;
  /**
   * Told this member's partitions of the topic whenever the group hands them out (on
   * joining, and at every rebalance): the keys it alone is given events of until the
   * next call (see `partitionOf`). A function that keeps work running per key (a mix)
   * owns that work by it.
   */
  readonly onAssigned?: (partitions: readonly number[]) => void | Promise<void>;
}

export interface PublishOptions {
  readonly timeoutMs?: number;
}

export class PublishTimeout extends Error {
  constructor(readonly sent: boolean) {
    super(sent ? 'the bus did not confirm the event in time' : 'the bus did not take the event in time');
    this.name = 'PublishTimeout';
  }
}

/** Thrown by a handler for an event that no retry can help (it breaks its contract): dead-letter it now. */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

/** An event a group gave up on, as it lies on the dead-letter topic. */
export interface DeadLetter {
  /** The topic it was consumed from. */
  readonly topic: TopicKey;
  readonly group: string;
  readonly key: string | null;
  /** The original payload and headers, byte for byte as UTF-8. */
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: string;
}

export interface DeadLetterSpec {
  readonly group: string;
  /** The topic whose dead letters to read. */
  readonly topic: TopicKey;
  readonly handle: (letter: DeadLetter) => Promise<void>;
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
  /**
   * Resolves once the event is durably on the bus. With `timeoutMs`, rejects with
   * a PublishTimeout if it is not by then: `sent: false` when it never left this
   * process (and never will), `true` when it was sent and may still land.
   */
  abstract publish(topic: TopicKey, event: CloudEvent, options?: PublishOptions): Promise<void>;
  abstract subscribe(spec: SubscriptionSpec): Promise<Subscription>;
  /** The partition of `topic` that events with this partition key go to. */
  abstract partitionOf(topic: TopicKey, key: string): number;
  /** Reads a topic's dead letters, from the earliest, as a consumer group. */
  abstract subscribeDeadLetters(spec: DeadLetterSpec): Promise<Subscription>;
  /** Members of a consumer group right now: the replicas of a function, wherever they run. */
  abstract groupMembers(group: string): Promise<number>;
  /** Events on the topic the group has not committed yet (what scaling reads). */
  abstract consumerLag(group: string, topic: TopicKey): Promise<number>;
  /**
   * Reads `topic` from `from` (partition → offset of the first event to read;
   * a partition not named, or 'earliest': from its earliest event kept) up to its
   * end as of the call, in order within each partition, outside any consumer
   * group; resolves with the positions reached (partition → next offset).
   */
  abstract replay(
    topic: TopicKey,
    from: LogPositions | 'earliest',
    handle: (event: CloudEvent) => void,
  ): Promise<LogPositions>;
  /** A group's committed positions on a topic (partition → next offset to read); partitions it never committed are left out. */
  abstract committedPositions(group: string, topic: TopicKey): Promise<LogPositions>;
  /** Where each partition of a topic ends now: partition → the offset its next event will take. */
  abstract endPositions(topic: TopicKey): Promise<LogPositions>;
  /** Resolves when the bus answers; rejects with the reason otherwise. */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}

/**
 * Whether positions (a group's committed ones) have reached `ends` in every
 * partition: every event that was there when the ends were read is behind them.
 * A partition that had no event needs no position.
 */
export function reached(positions: LogPositions, ends: LogPositions): boolean {
  return Object.entries(ends).every(([partition, end]) => BigInt(positions[partition] ?? '0') >= BigInt(end));
}

/** Kafka header names of a dead letter's extra information, next to the original headers. */
export const DEAD_LETTER_HEADERS = {
  error: 'dlq_error',
  group: 'dlq_group',
  topic: 'dlq_topic',
  attempts: 'dlq_attempts',
  failedAt: 'dlq_failed_at',
} as const;

/** The dead-letter topic of a topic: same name, `.dlq` appended. */
export function deadLetterTopicName(topicName: string): string {
  return `${topicName}.dlq`;
}

export const REDELIVERY_BACKOFF_MS = { initial: 100, max: 5_000 } as const;

/**
 * Thrown by a handler that could not reach a dependency (Redis down, …): the event
 * is not at fault, so it waits for the dependency, tried again at least every
 * second, and an outage never spends its attempts or dead-letters it.
 */
export class DependencyUnavailable extends Error {
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
    this.name = 'DependencyUnavailable';
  }
}

const DEPENDENCY_RETRY_MS = 1_000;

/**
 * After a handler failed: whether to dead-letter the event now, and if not, how
 * long to wait before the next attempt. `failures` counts the event's own
 * failures so far, this one included; outages are not counted.
 */
export function afterFailure(
  err: unknown,
  failures: number,
  maxAttempts: number | undefined,
): { deadLetter: boolean; delayMs: number } {
  if (err instanceof DependencyUnavailable) {
    return { deadLetter: false, delayMs: Math.min(DEPENDENCY_RETRY_MS, redeliveryDelay(Math.max(1, failures))) };
  }
  const deadLetter = maxAttempts !== undefined && (err instanceof PermanentFailure || failures >= maxAttempts);
  return { deadLetter, delayMs: redeliveryDelay(failures) };
}

export function redeliveryDelay(attempt: number): number {
  return Math.min(REDELIVERY_BACKOFF_MS.max, REDELIVERY_BACKOFF_MS.initial * 2 ** Math.max(0, attempt - 1));
}
