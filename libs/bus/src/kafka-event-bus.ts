import { TOPICS, topicName, type TopicKey } from '@mesh/contracts';
import type { Logger } from '@mesh/telemetry';
import {
  Kafka,
  logLevel,
  PartitionAssigners,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type LogEntry,
  type Message,
  type Producer,
} from 'kafkajs';
import type { CloudEvent } from './cloud-event';
import { delay, forEachLimit, InFlight } from './concurrency';
import { stickyAssigner } from './sticky-assigner';
import {
  DEAD_LETTER_HEADERS,
  EventBus,
  DependencyUnavailable,
  PublishTimeout,
  afterFailure,
  deadLetterTopicName,
  redeliveryDelay,
  type DeadLetterSpec,
  type LogPositions,
  type PublishOptions,
  type Subscription,
  type SubscriptionSpec,
} from './event-bus.port';
import { fromKafkaMessage, headerStrings, localType, MalformedEventError, toKafkaMessage } from './kafka-binding';
import { OffsetCommitter } from './offset-committer';
import { producerOutOfStep } from './producer-errors';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Prepended to every topic name (tests use a fresh prefix each). */
  topicPrefix: string;
  /**
   * Fetches of one consumer start at most this often while it is busy (0: back to back).
   * An idle consumer's fetch waits at the broker and answers as soon as one event
   * comes, so pacing costs nothing at low rates; under load it bounds the fetch
   * requests both sides must encode and answer (each fetch names every partition).
   */
  minFetchIntervalMs?: number;
  /**
   * A member that has not heartbeated for this long is dropped and its partitions
   * go to the others (default 2.5 s, so a killed worker's share is served again
   * within about three seconds). The broker's group.min.session.timeout.ms must allow it.
   */
  sessionTimeoutMs?: number;
  /**
   * Under load, produce requests start at most this often (Kafka's linger.ms): what
   * is published in between goes out together. A publish after a quiet spell goes
   * at once, so it costs latency only when requests would otherwise be back to back
   * (each request is a syscall and a broker round of its own; 0: back to back).
   */
  lingerMs?: number;
  logger: Logger;
}

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Taken into a produce request: from then on it cannot be called back. */
  sent?: boolean;
}

/** Events per produce request at most; larger bursts go out in several requests. */
const MAX_BATCH = 2_000;
/** How long a starting process waits for the mesh's topics to be there, led, on every broker's metadata. */
const ENSURE_TOPICS_MS = 30_000;

/** How often consumers commit their positions. After a crash up to this much comes again; handlers are idempotent. */
const COMMIT_INTERVAL_MS = 1_000;
const DEFAULT_SESSION_TIMEOUT_MS = 2_500;
const HEARTBEAT_INTERVAL_MS = 250;
const REPLAY_STALL_MS = 30_000;
const PRODUCE_RETRY = { initialRetryTime: 100, retries: 3, maxRetryTime: 400 };

/**
 * The event bus on Apache Kafka (kafkajs). The producer is idempotent (acks=all,
 * one request in flight, so retries cannot reorder or duplicate); publishes that
 * arrive while a request is in flight, or within the linger after the last one
 * started, are sent together in the next one, which batches under load without
 * adding latency when idle.
 */
export class KafkaEventBus extends EventBus {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | undefined;
  private admin: Promise<Admin> | undefined;
  private readonly queue: Pending[] = [];
  private flushing = false;
  /** When the last produce request started (performance.now()). */
  private lastRequestAt = -Infinity;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    super();
    const log = options.logger.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      retry: { initialRetryTime: 100, retries: 6, maxRetryTime: 2_000 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...rest } = entry;
          if (level <= logLevel.ERROR) log.error(rest, message);
          else log.warn(rest, message);
        },
    });
  }

  /**
   * A consumer group's name on the broker: prefixed like the topics, so that
   * stacks sharing a broker under different prefixes share no group either (a
   * group spanning them would rebalance all of them whenever one member came or went).
   */
  private groupId(group: string): string {
    return `${this.options.topicPrefix}${group}`;
  }

  private name(topic: TopicKey): string {
    return topicName(topic, this.options.topicPrefix);
  }

  /**
   * Creates the mesh's topics and their dead-letter topics (with this bus's prefix)
   * where missing, and resolves once every partition of them has a leader that the
   * cluster's metadata names. Several processes starting at once on a cluster of
   * brokers race to create them and see metadata that lags behind for a moment
   * ("does not host this topic-partition"): that is retried, for up to 30 s.
   */
  async ensureTopics(): Promise<void> {
    const deadline = Date.now() + ENSURE_TOPICS_MS;
    for (;;) {
      try {
        return await this.ensureTopicsOnce();
      } catch (err) {
        const retriable = err instanceof Error && (err as { retriable?: boolean }).retriable === true;
        if (!retriable || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** Connects the producer (its id, the cluster's metadata) and loads the leaders of the mesh's topics. */
  async warmUp(): Promise<void> {
    const producer = await this.connectProducer();
    const names = (Object.keys(TOPICS) as TopicKey[]).map((key) => this.name(key));
    // An empty batch per topic sends nothing, but has the producer learn every partition's leader.
    await producer.sendBatch({ acks: -1, topicMessages: names.map((topic) => ({ topic, messages: [] })) });
  }

  private async ensureTopicsOnce(): Promise<void> {
    const admin = await this.connectAdmin();
    const existing = new Set(await admin.listTopics());
    const wanted = (Object.keys(TOPICS) as TopicKey[]).flatMap((key) => [
      {
        topic: this.name(key),
        numPartitions: TOPICS[key].partitions,
        configEntries: [{ name: 'retention.ms', value: String(TOPICS[key].retentionMs) }],
      },
      { topic: deadLetterTopicName(this.name(key)), numPartitions: 1 },
    ]);
    const missing = wanted.filter((t) => !existing.has(t.topic));
    // Replicated as the cluster's operator set it (default.replication.factor, min.insync.replicas):
    // three times, two in sync, on the cluster topology; once on a single broker.
    if (missing.length > 0) await admin.createTopics({ waitForLeaders: true, topics: missing });
    const { topics } = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
    const leaderless = topics.filter((t) => t.partitions.some((p) => p.leader < 0));
    if (leaderless.length > 0) {
      throw Object.assign(new Error(`no leader yet for ${leaderless.map((t) => t.name).join(', ')}`), {
        retriable: true,
      });
    }
  }

  publish(topic: TopicKey, event: CloudEvent, options: PublishOptions = {}): Promise<void> {
    return this.send(this.name(topic), toKafkaMessage(event), options.timeoutMs);
  }

  private send(topic: string, message: Message, timeoutMs?: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('event bus is closed'));
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { topic, message, resolve, reject };
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => {
          // Still queued (behind a request the broker is not answering): it is withdrawn and never sent.
          const queued = this.queue.indexOf(pending);
          if (queued >= 0) this.queue.splice(queued, 1);
          reject(new PublishTimeout(pending.sent === true));
        }, timeoutMs);
        pending.resolve = () => {
          clearTimeout(timer);
          resolve();
        };
        pending.reject = (err) => {
          clearTimeout(timer);
          reject(err);
        };
      }
      this.queue.push(pending);
      this.scheduleFlush();
    });
  }

  /** Flushes now after a quiet spell, else once the linger since the last request is over. */
  private scheduleFlush(): void {
    if (this.flushing || this.lingerTimer) return;
    const wait = this.lingerLeft();
    if (wait <= 0) {
      void this.flush();
      return;
    }
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      void this.flush();
    }, wait);
  }

  private lingerLeft(): number {
    if (this.queue.length >= MAX_BATCH) return 0;
    return this.lastRequestAt + (this.options.lingerMs ?? 0) - performance.now();
  }

  /** Puts a message on its topic's dead-letter topic; retries until Kafka has it, so nothing is dropped. */
  private async deadLetter(
    spec: SubscriptionSpec,
    message: KafkaMessage,
    error: string,
    attempts: number,
    log: Logger,
  ): Promise<void> {
    const headers = {
      ...headerStrings(message.headers),
      [DEAD_LETTER_HEADERS.error]: error.slice(0, 2_000),
      [DEAD_LETTER_HEADERS.group]: spec.group,
      [DEAD_LETTER_HEADERS.topic]: spec.topic,
      [DEAD_LETTER_HEADERS.attempts]: String(attempts),
      [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(deadLetterTopicName(this.name(spec.topic)), {
          key: message.key,
          value: message.value,
          headers,
        });
        log.warn({ offset: message.offset, error, attempts }, 'dead-lettered an event');
        return;
      } catch (err) {
        if (this.closed) throw err;
        log.error({ err, attempt }, 'could not dead-letter an event yet; retrying');
        await delay(redeliveryDelay(attempt));
      }
    }
  }

  async groupMembers(group: string): Promise<number> {
    const admin = await this.connectAdmin();
    const { groups } = await admin.describeGroups([this.groupId(group)]);
    return groups[0]?.members.length ?? 0;
  }

  async consumerLag(group: string, topic: TopicKey): Promise<number> {
    const admin = await this.connectAdmin();
    const name = this.name(topic);
    // A topic just created may not have its leaders yet: "not the leader" is retriable, and retried.
    const [ends, committed] = await whileTransient(() =>
      Promise.all([
        admin.fetchTopicOffsets(name),
        admin.fetchOffsets({ groupId: this.groupId(group), topics: [name] }),
      ]),
    );
    const positions = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    let lag = 0;
    for (const end of ends) {
      const position = positions.get(end.partition) ?? -1;
      // A group that never committed starts from the earliest event still kept.
      // Offsets and positions are read at slightly different moments; a negative difference is no lag.
      lag += Math.max(0, Number(end.high) - (position >= 0 ? position : Number(end.low)));
    }
    return lag;
  }

  async committedPositions(group: string, topic: TopicKey): Promise<LogPositions> {
    const admin = await this.connectAdmin();
    const [committed] = await admin.fetchOffsets({ groupId: this.groupId(group), topics: [this.name(topic)] });
    return Object.fromEntries(
      (committed?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [String(p.partition), p.offset]),
    );
  }

  async endPositions(topic: TopicKey): Promise<LogPositions> {
    const admin = await this.connectAdmin();
    const ends = await whileTransient(() => admin.fetchTopicOffsets(this.name(topic)));
    return Object.fromEntries(ends.map((e) => [String(e.partition), e.high]));
  }

  async replay(
    topic: TopicKey,
    from: LogPositions | 'earliest',
    handle: (event: CloudEvent) => void,
  ): Promise<LogPositions> {
    const name = this.name(topic);
    const admin = await this.connectAdmin();
    // A partition whose leader is moving (or, on a new topic, still being settled) answers again shortly.
    const ends = await whileTransient(() => admin.fetchTopicOffsets(name));
    const end = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    const start = new Map(
      ends.map((e) => {
        const wanted = from === 'earliest' ? 0 : Number(from[e.partition] ?? 0);
        return [e.partition, Math.max(Number(e.low), wanted)];
      }),
    );
    const reached: LogPositions = Object.fromEntries([...end].map(([p, high]) => [String(p), String(high)]));
    const remaining = new Set([...end].filter(([p, high]) => (start.get(p) ?? 0) < high).map(([p]) => p));
    if (remaining.size === 0) return reached;
    // A throwaway group of its own: nothing is committed and no member of a real group is disturbed.
    const groupId = `${this.options.clientId}.replay.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
    let finish: () => void = () => undefined;
    let fail: (err: Error) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
    // A replay that stops getting anywhere (the broker gone, an end it cannot reach) fails rather than hangs.
    let progressAt = performance.now();
    let done = false;
    const stall = setInterval(() => {
      if (performance.now() - progressAt > REPLAY_STALL_MS) fail(new Error(`replay of ${name} made no progress`));
    }, 1_000);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: name, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          // Fetched after the end was reached, while the consumer is being let go: not the caller's any more.
          if (done) return;
          progressAt = performance.now();
          const { partition } = batch;
          const [first, last] = [start.get(partition) ?? 0, end.get(partition) ?? 0];
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (offset < first || offset >= last) continue;
            try {
              handle(fromKafkaMessage(message));
            } catch (err) {
              if (!(err instanceof MalformedEventError)) throw err;
            }
          }
          if (Number(batch.lastOffset()) + 1 >= last && remaining.delete(partition) && remaining.size === 0) finish();
          return Promise.resolve();
        },
      });
      for (const [partition, offset] of start) consumer.seek({ topic: name, partition, offset: String(offset) });
      await finished;
    } finally {
      done = true;
      clearInterval(stall);
      // Let go in the background: a replay after a failover holds a market's changes back until it returns.
      void consumer
        .disconnect()
        .catch(() => undefined)
        .then(() => admin.deleteGroups([groupId]))
        .catch(() => undefined);
    }
    return reached;
  }

  async subscribeDeadLetters(spec: DeadLetterSpec): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId(spec.group),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: deadLetterTopicName(this.name(spec.topic)), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = headerStrings(message.headers);
        await spec.handle({
          topic: spec.topic,
          group: headers[DEAD_LETTER_HEADERS.group] ?? '',
          key: message.key?.toString('utf8') ?? null,
          value: message.value?.toString('utf8') ?? null,
          headers,
          error: headers[DEAD_LETTER_HEADERS.error] ?? '',
          attempts: Number(headers[DEAD_LETTER_HEADERS.attempts] ?? 0),
          failedAt: headers[DEAD_LETTER_HEADERS.failedAt] ?? '',
        });
      },
    });
    return this.track(consumer);
  }

  /** A running consumer as a Subscription, closed with the bus; `drain` runs before it leaves the group. */
  private track(consumer: Consumer, drain?: () => Promise<void>): Subscription {
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        await drain?.();
        await consumer.disconnect();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.lingerLeft();
        if (wait > 0) await delay(wait);
        if (this.queue.length === 0) break;
        this.lastRequestAt = performance.now();
        const batch = this.queue.splice(0, MAX_BATCH);
        for (const p of batch) p.sent = true;
        try {
          const producer = await this.connectProducer();
          const byTopic = new Map<string, Message[]>();
          for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
          await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          });
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
          // Seen after a leader was killed mid-request: every later send failed the same way, and a
          // gateway refused every order for the rest of the run. Callers send again (apps, the relay).
          if (producerOutOfStep(err)) this.replaceProducer(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Lets the producer go: the next send connects a new one, with a new producer id and sequence numbers. */
  private replaceProducer(err: unknown): void {
    const old = this.producer;
    this.producer = undefined;
    this.options.logger.warn({ err }, 'the producer is out of step with the brokers; starting a new one');
    void old?.then((producer) => producer.disconnect()).catch(() => undefined);
  }

  private connectProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // A send fails within about a second when the broker is away; callers that must not give up
        // (the outbox relay, dead-lettering) retry on their own, and none waits behind a long retry.
        retry: PRODUCE_RETRY,
      });
      await producer.connect();
      return producer;
    })().catch((err: unknown) => {
      this.producer = undefined;
      throw err;
    });
    return this.producer;
  }

  private connectAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 1, initialRetryTime: 100 } });
      await admin.connect();
      return admin;
    })().catch((err: unknown) => {
      this.admin = undefined;
      throw err;
    });
    return this.admin;
  }

  async ping(): Promise<void> {
    const admin = await this.connectAdmin();
    await admin.describeCluster();
  }

  partitionOf(topic: TopicKey, key: string): number {
    // kafkajs's default partitioner (Java's: murmur2 of the key), which the producer uses.
    const partitionMetadata = Array.from({ length: TOPICS[topic].partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [],
      isr: [],
      partitionErrorCode: 0,
    }));
    return KEYED_PARTITIONER({ topic: this.name(topic), partitionMetadata, message: { key, value: null } });
  }

  async subscribe(spec: SubscriptionSpec): Promise<Subscription> {
    const log = this.options.logger.child({ component: 'consumer', group: spec.group, topic: spec.topic });
    const topic = this.name(spec.topic);
    /** The partitions this member holds: told to the group when it joins again, so it keeps them where it can. */
    let holds: number[] = [];
    const consumer = this.kafka.consumer({
      groupId: this.groupId(spec.group),
      // Sticky first: a replica joining or leaving moves only the partitions it must (a live room keeps its
      // mixer, a courier's stream its consumer). Round robin for a group whose older members know only that.
      partitionAssigners: [stickyAssigner(() => ({ [topic]: holds })), PartitionAssigners.roundRobin],
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      rebalanceTimeout: 15_000,
      // Busy members learn of a rebalance (a replica joining) on their next heartbeat; a short
      // interval keeps a scale-out's join quick. An idle member's fetch wait bounds it as well.
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: 250,
      // A broker gone: fetching is retried while its partitions get new leaders (about a second on
      // the cluster topology), each retry on fresh metadata (patches/kafkajs+2.2.4.patch); waits of
      // at most half a second, so the first one after the move finds them.
      retry: { initialRetryTime: 100, maxRetryTime: 500, retries: 8 },
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      const stop = consumer.on(consumer.events.GROUP_JOIN, () => {
        stop();
        resolve();
      });
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = payload.memberAssignment[topic] ?? [];
      holds = [...partitions];
      log.info({ durationMs: payload.duration, partitions, uptimeMs: uptimeMs() }, 'joined the group');
      if (spec.onAssigned) {
        Promise.resolve(spec.onAssigned(partitions)).catch((err: unknown) =>
          log.error({ err, partitions }, 'taking up the partitions failed'),
        );
      }
    });
    const concurrency = spec.concurrency ?? 64;
    const pace = this.fetchPacer(consumer, spec.fetchIntervalMs ?? this.options.minFetchIntervalMs ?? 0);
    const committer = new OffsetCommitter(consumer, topic, COMMIT_INTERVAL_MS, log);
    const inFlight = new InFlight();
    let closing = false;
    await consumer.run({
      // Positions are committed by the OffsetCommitter, not after every batch.
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Every partition's batch at once, so one slow partition does not hold the others back.
      partitionsConsumedConcurrently: TOPICS[spec.topic].partitions,
      eachBatch: async (payload) => {
        // A closing member takes no new batch: the partition's next owner handles it, once.
        if (closing) return;
        await inFlight.run(async () => {
          const finished = await this.handleBatch(spec, payload, concurrency, log, () => closing);
          if (finished) committer.handled(payload.batch.partition, payload.batch.lastOffset());
        });
        await pace();
      },
    });
    await joined;
    return this.track(consumer, async () => {
      // Graceful drain: stop fetching, finish what is in hand, commit it, then leave the group.
      closing = true;
      consumer.pause([{ topic }]);
      await inFlight.idle();
      await committer.close();
    });
  }

  /**
   * kafkajs fetches again only once every batch of the last fetch is handled, so
   * holding the last batch until the interval since the fetch began is over
   * spaces fetches out; events that arrive meanwhile come in the next one.
   */
  private fetchPacer(consumer: Consumer, interval: number): () => Promise<void> {
    let fetchStartedAt = 0;
    if (interval > 0) consumer.on(consumer.events.FETCH_START, () => (fetchStartedAt = performance.now()));
    return async () => {
      const wait = fetchStartedAt + interval - performance.now();
      if (wait >= 1) await delay(wait);
    };
  }

  private async handleBatch(
    spec: SubscriptionSpec,
    payload: EachBatchPayload,
    concurrency: number,
    log: Logger,
    closing: () => boolean,
  ): Promise<boolean> {
    const { batch } = payload;
    const byKey = new Map<string, KafkaMessage[]>();
    for (const message of batch.messages) {
      // Passed over unread when its type is not taken here (a message with no type is malformed: read, and refused).
      if (spec.types && !takes(spec.types, message)) continue;
      const key = message.key?.toString('utf8') ?? '';
      const list = byKey.get(key);
      if (list) list.push(message);
      else byKey.set(key, [message]);
    }
    let aborted = false;
    // kafkajs heartbeats only between batches and when asked: a handler slower than the session (a trail
    // waiting for the archive) would have the group hand this member's partitions to another meanwhile.
    const keepAlive = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_INTERVAL_MS);
    await forEachLimit([...byKey.values()], concurrency, async (messages) => {
      for (const message of messages) {
        if (aborted) return;
        let event: CloudEvent;
        try {
          event = fromKafkaMessage(message);
        } catch (err) {
          if (!(err instanceof MalformedEventError)) throw err;
          const raw = { key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? null };
          if (spec.onMalformed) spec.onMalformed(err.message, raw);
          else log.warn({ offset: message.offset, reason: err.message }, 'skipped a message that is not a CloudEvent');
          if (spec.maxAttempts !== undefined) await this.deadLetter(spec, message, `malformed: ${err.message}`, 1, log);
          continue;
        }
        let failures = 0;
        for (let attempt = 1; ; attempt++) {
          try {
            await spec.handle(event, {
              topic: spec.topic,
              partition: batch.partition,
              offset: message.offset,
              attempt,
              failures,
            });
            break;
          } catch (err) {
            if (!(err instanceof DependencyUnavailable)) failures++;
            const next = afterFailure(err, failures, spec.maxAttempts);
            if (next.deadLetter) {
              await this.deadLetter(spec, message, describeError(err), attempt, log);
              break;
            }
            log.warn({ err, eventId: event.id, attempt }, 'handler failed; the event will be delivered again');
            // Closing (a drain), the event is left uncommitted for the partition's next owner rather than
            // tried again here: a handler waiting on something that is closing too would hold the drain up.
            if (closing() || !payload.isRunning() || payload.isStale()) {
              aborted = true;
              return;
            }
            await delay(next.delayMs);
          }
        }
      }
    }).finally(() => clearInterval(keepAlive));
    if (aborted || payload.isStale()) return false;
    payload.resolveOffset(batch.lastOffset());
    await payload.heartbeat();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    // What is lingering goes out before the producer leaves.
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      void this.flush();
    }
    while (this.flushing) await delay(10);
    const producer = await this.producer?.catch(() => undefined);
    const admin = await this.admin?.catch(() => undefined);
    await Promise.all([producer?.disconnect(), admin?.disconnect()]);
  }
}

const KEYED_PARTITIONER = Partitioners.DefaultPartitioner();

const uptimeMs = (): number => Math.round(process.uptime() * 1000);

/** Whether a message's CloudEvents type (header ce_type) is among `types`; true when it has none to check. */
function takes(types: readonly string[], message: KafkaMessage): boolean {
  const raw = message.headers?.ce_type;
  const type = (Array.isArray(raw) ? raw[0] : raw)?.toString();
  return type === undefined || types.includes(localType(type));
}

/** Runs `work` again while Kafka calls its error retriable (a leader moving), for a few seconds at most. */
async function whileTransient<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 15 || !(err as { retriable?: boolean }).retriable) throw err;
      await delay(200);
    }
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
