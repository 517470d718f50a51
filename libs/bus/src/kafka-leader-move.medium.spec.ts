import { TOPICS, topicName } from '@mesh/contracts';
import { CLUSTER_DEPENDENCIES, deleteTopics, eventually, silentLogger, uniqueName } from '@mesh/harness';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { newEvent } from './cloud-event';
import { KafkaEventBus } from './kafka-event-bus';

/** The three brokers of the cluster topology (`npm run infra:up -- --cluster`). */
const brokers = CLUSTER_DEPENDENCIES.KAFKA_BROKERS.split(',');
/** Per publish round: enough distinct keys that every partition gets some. */
const EVENTS_PER_ROUND = 240;

/**
 * A publish that resolved is on Kafka, also when some of its partitions changed leader since
 * the bus last read the cluster's metadata (a broker died, or took its leadership back): their
 * old leader refuses them, and the retry must take them to the new one, even when that broker
 * took the publish's other partitions already (kafkajs#1303, patched in patches/).
 */
describe('KafkaEventBus on three brokers, when partitions move to another leader', () => {
  let admin: Admin;
  let prefix: string;

  beforeEach(async () => {
    prefix = uniqueName('t');
    admin = new Kafka({ clientId: 'leader-move', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  afterEach(async () => {
    await admin.disconnect();
    await deleteTopics(brokers, prefix);
  });

  it('has every event of a publish that resolved, those of the moved partitions too', async () => {
    const topic = topicName('orders', `${prefix}.`);
    const nodes = (await admin.describeCluster()).brokers.map((b) => b.nodeId).sort((x, y) => x - y);
    expect(nodes).toHaveLength(3);
    // Partition i is led by the i-th broker (mod 3), the next two following it.
    const replicasOf = (i: number) => [0, 1, 2].map((k) => nodes[(i + k) % 3]!);
    const partitions = Array.from({ length: TOPICS.orders.partitions }, (_, i) => i);
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic, replicaAssignment: partitions.map((i) => ({ partition: i, replicas: replicasOf(i) })) }],
    });
    // Brokers learn of a new topic a moment apart ("does not host this topic-partition" meanwhile).
    const leaders = async () =>
      new Map(
        (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => [
          p.partitionId,
          p.leader,
        ]),
      );
    await eventually(
      async () => {
        const now = await leaders();
        expect(partitions.map((i) => now.get(i))).toEqual(partitions.map((i) => replicasOf(i)[0]));
      },
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    const bus = new KafkaEventBus({
      brokers,
      clientId: 'leader-move',
      topicPrefix: `${prefix}.`,
      logger: silentLogger,
    });
    const publishRound = (round: string) =>
      Promise.all(
        Array.from({ length: EVENTS_PER_ROUND }, (_, i) => {
          const orderId = `${round}-${i}`;
          return bus.publish(
            'orders',
            newEvent('order.deadline_reached', { orderId }, { source: '/t', key: orderId, subject: orderId }),
          );
        }),
      );
    try {
      // The bus learns where every partition is led, sending to all three brokers.
      await publishRound('before');

      // The second broker's partitions go to the other two (it is no longer among their replicas), so their
      // leaders move to brokers that lead partitions of their own; the bus is not told.
      const moved = partitions.filter((i) => replicasOf(i)[0] === nodes[1]);
      await admin.alterPartitionReassignments({
        topics: [
          {
            topic,
            partitionAssignment: moved.map((i) => ({
              partition: i,
              replicas: replicasOf(i).filter((n) => n !== nodes[1]),
            })),
          },
        ],
      });
      await eventually(
        async () => {
          const now = await leaders();
          expect(moved.filter((i) => now.get(i) === nodes[1])).toEqual([]);
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );

      await publishRound('after');

      const ends = await admin.fetchTopicOffsets(topic);
      const onKafka = ends.reduce((sum, p) => sum + Number(p.high), 0);
      expect(onKafka).toBe(2 * EVENTS_PER_ROUND);
    } finally {
      await bus.close();
    }
  });
});
