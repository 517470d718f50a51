import { TOPICS, type TopicKey } from '@mesh/contracts';
import type { CloudEvent } from './cloud-event';
import { delay } from './concurrency';
import {
  DEAD_LETTER_HEADERS,
  EventBus,
  DependencyUnavailable,
  afterFailure,
  type DeadLetter,
  type DeadLetterSpec,
  type LogPositions,
  type Subscription,
  type SubscriptionSpec,
} from './event-bus.port';
import { headerStrings, toKafkaMessage } from './kafka-binding';
import { stickyAssignment } from './sticky-assigner';

interface Member {
  readonly id: string;
  readonly spec: SubscriptionSpec;
  active: boolean;
}

interface Group {
  /** Next offset to deliver, per partition (the group's committed position). */
  readonly cursor: number[];
  readonly members: Member[];
  /** Which member each partition's events go to (a sticky assignment, as on Kafka). */
  readonly owners: Map<number, Member>;
  readonly draining: Set<number>;
  readonly inFlight: Set<Promise<void>>;
}

interface Topic {
  readonly partitions: CloudEvent[][];
  readonly groups: Map<string, Group>;
  readonly deadLetters: DeadLetter[];
  /** Dead-letter readers: position per group, and a wake-up for new letters. */
  readonly deadLetterReaders: Map<string, { cursor: number; wake: () => void }>;
}

/**
 * The event bus in one process, for the embedded default and small tests.
 * Same semantics as Kafka: partitioned by key, per-group positions starting at
 * the earliest event, ordered per partition, redelivery when a handler throws.
 */
export class MemoryEventBus extends EventBus {
  private readonly topics = new Map<TopicKey, Topic>();
  private closed = false;
  private joined = 0;

  private topic(key: TopicKey): Topic {
    let topic = this.topics.get(key);
    if (!topic) {
      topic = {
        partitions: Array.from({ length: TOPICS[key].partitions }, () => []),
        groups: new Map(),
        deadLetters: [],
        deadLetterReaders: new Map(),
      };
      this.topics.set(key, topic);
    }
    return topic;
  }

  publish(key: TopicKey, event: CloudEvent): Promise<void> {
    if (this.closed) return Promise.reject(new Error('event bus is closed'));
    const topic = this.topic(key);
    const partition = this.partitionOf(key, event.partitionkey);
    // A copy, as a serialized message would be: consumers never share the producer's object.
    (topic.partitions[partition] as CloudEvent[]).push(structuredClone(event));
    for (const group of topic.groups.values()) this.drain(key, group, partition);
    return Promise.resolve();
  }

  partitionOf(topic: TopicKey, key: string): number {
    return hashToPartition(key, TOPICS[topic].partitions);
  }

  subscribe(spec: SubscriptionSpec): Promise<Subscription> {
    if (this.closed) return Promise.reject(new Error('event bus is closed'));
    const topic = this.topic(spec.topic);
    let group = topic.groups.get(spec.group);
    if (!group) {
      group = {
        cursor: topic.partitions.map(() => 0),
        members: [],
        owners: new Map(),
        draining: new Set(),
        inFlight: new Set(),
      };
      topic.groups.set(spec.group, group);
    }
    const member: Member = { id: `member-${++this.joined}`, spec, active: true };
    group.members.push(member);
    const joined = group;
    const handOut = () => assign(joined, topic.partitions.length);
    handOut();
    topic.partitions.forEach((_, partition) => this.drain(spec.topic, joined, partition));
    return Promise.resolve({
      close: async () => {
        member.active = false;
        joined.members.splice(joined.members.indexOf(member), 1);
        await Promise.all(joined.inFlight);
        handOut();
        topic.partitions.forEach((_, partition) => this.drain(spec.topic, joined, partition));
      },
    });
  }

  private drain(key: TopicKey, group: Group, partition: number): void {
    if (group.draining.has(partition) || group.members.length === 0 || this.closed) return;
    group.draining.add(partition);
    const run = (async () => {
      const log = this.topic(key).partitions[partition] as CloudEvent[];
      while (!this.closed) {
        const offset = group.cursor[partition] as number;
        const event = log[offset];
        const member = group.owners.get(partition);
        if (event === undefined || member === undefined) break;
        if (member.spec.types && !member.spec.types.includes(event.type)) {
          group.cursor[partition] = offset + 1;
          continue;
        }
        let failures = 0;
        for (let attempt = 1; member.active && !this.closed; attempt++) {
          try {
            await member.spec.handle(structuredClone(event), {
              topic: key,
              partition,
              offset: String(offset),
              attempt,
              failures,
            });
            group.cursor[partition] = offset + 1;
            break;
          } catch (err) {
            if (!(err instanceof DependencyUnavailable)) failures++;
            const next = afterFailure(err, failures, member.spec.maxAttempts);
            if (next.deadLetter) {
              this.deadLetter(key, member.spec.group, event, err, attempt);
              group.cursor[partition] = offset + 1;
              break;
            }
            await delay(next.delayMs);
          }
        }
        // Its member closing, an event not handled yet stays for the partition's next owner (looping on
        // it here would spin, the closed member still owning the partition until the close hands it out).
        if (!member.active) break;
      }
    })().finally(() => {
      group.draining.delete(partition);
      group.inFlight.delete(run);
      // An event may have arrived between the loop's last look and now.
      const log = this.topic(key).partitions[partition] as CloudEvent[];
      if ((group.cursor[partition] as number) < log.length) this.drain(key, group, partition);
    });
    group.inFlight.add(run);
  }

  replay(key: TopicKey, from: LogPositions | 'earliest', handle: (event: CloudEvent) => void): Promise<LogPositions> {
    const reached: LogPositions = {};
    this.topic(key).partitions.forEach((log, partition) => {
      const start = from === 'earliest' ? 0 : Number(from[partition] ?? 0);
      const end = log.length;
      for (let offset = start; offset < end; offset++) handle(structuredClone(log[offset] as CloudEvent));
      reached[partition] = String(end);
    });
    return Promise.resolve(reached);
  }

  committedPositions(group: string, key: TopicKey): Promise<LogPositions> {
    const cursor = this.topic(key).groups.get(group)?.cursor ?? [];
    return Promise.resolve(
      Object.fromEntries(
        cursor.flatMap((offset, partition) => (offset > 0 ? [[String(partition), String(offset)]] : [])),
      ),
    );
  }

  endPositions(key: TopicKey): Promise<LogPositions> {
    return Promise.resolve(
      Object.fromEntries(this.topic(key).partitions.map((log, partition) => [String(partition), String(log.length)])),
    );
  }

  groupMembers(group: string): Promise<number> {
    let members = 0;
    for (const topic of this.topics.values()) members += topic.groups.get(group)?.members.length ?? 0;
    return Promise.resolve(members);
  }

  consumerLag(group: string, topic: TopicKey): Promise<number> {
    const { partitions, groups } = this.topic(topic);
    const cursor = groups.get(group)?.cursor;
    return Promise.resolve(partitions.reduce((lag, log, i) => lag + log.length - (cursor?.[i] ?? 0), 0));
  }

  private deadLetter(key: TopicKey, group: string, event: CloudEvent, err: unknown, attempts: number): void {
    const message = toKafkaMessage(event);
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const failedAt = new Date().toISOString();
    const headers: Record<string, string> = {
      ...headerStrings(message.headers),
      [DEAD_LETTER_HEADERS.error]: error,
      [DEAD_LETTER_HEADERS.group]: group,
      [DEAD_LETTER_HEADERS.topic]: key,
      [DEAD_LETTER_HEADERS.attempts]: String(attempts),
      [DEAD_LETTER_HEADERS.failedAt]: failedAt,
    };
    const topic = this.topic(key);
    topic.deadLetters.push({
      topic: key,
      group,
      key: event.partitionkey,
      value: String(message.value),
      headers,
      error,
      attempts,
      failedAt,
    });
    for (const reader of topic.deadLetterReaders.values()) reader.wake();
  }

  subscribeDeadLetters(spec: DeadLetterSpec): Promise<Subscription> {
    const topic = this.topic(spec.topic);
    const reader = topic.deadLetterReaders.get(spec.group) ?? { cursor: 0, wake: () => undefined };
    let active = true;
    let pumping: Promise<void> = Promise.resolve();
    reader.wake = () => {
      pumping = pumping.then(async () => {
        while (active && reader.cursor < topic.deadLetters.length) {
          await spec.handle(structuredClone(topic.deadLetters[reader.cursor] as DeadLetter));
          reader.cursor += 1;
        }
      });
    };
    topic.deadLetterReaders.set(spec.group, reader);
    reader.wake();
    return Promise.resolve({
      close: async () => {
        active = false;
        await pumping;
      },
    });
  }

  ping(): Promise<void> {
    return this.closed ? Promise.reject(new Error('event bus is closed')) : Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.topics.values()].flatMap((t) => [...t.groups.values()].flatMap((g) => [...g.inFlight])));
  }
}

/** FNV-1a: a stable key → partition mapping, so one key's events share a partition. */
/** Hands the partitions out again (members keep what they hold where they can) and tells each member its own. */
function assign(group: Group, partitions: number): void {
  const all = Array.from({ length: partitions }, (_, p) => p);
  const holds = (member: Member) => all.filter((p) => group.owners.get(p) === member);
  const assignment = stickyAssignment(
    group.members.map((member) => ({ id: member.id, holds: { topic: holds(member) } })),
    { topic: all },
  );
  group.owners.clear();
  for (const member of group.members) {
    const mine = assignment.get(member.id)?.topic ?? [];
    for (const p of mine) group.owners.set(p, member);
    void Promise.resolve(member.spec.onAssigned?.(mine)).catch(() => undefined);
  }
}

function hashToPartition(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
