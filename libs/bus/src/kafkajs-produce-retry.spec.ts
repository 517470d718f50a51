/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs' producer internals have no types */
/**
 * kafkajs' send, as patched (patches/kafkajs+2.2.4.patch, kafkajs#1303): a retry after a
 * partition's leader moved sends that partition again, to its new leader, even when that
 * broker had acknowledged the send's other partitions. Unpatched, the send resolved without
 * it, and the outbox relay removed events Kafka never had.
 */
const createSendMessages = require('kafkajs/src/producer/sendMessages') as (deps: object) => Send;
const createRetry = require('kafkajs/src/retry') as (config: object) => unknown;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode: (code: number) => Error;
};

type Send = (request: {
  acks: number;
  timeout: number;
  topicMessages: { topic: string; messages: { partition: number; key: string; value: string }[] }[];
}) => Promise<{ partition: number; errorCode: number }[]>;

interface ProduceRequest {
  topicData: { topic: string; partitions: { partition: number; messages: { key: string }[] }[] }[];
}

/** NOT_LEADER_OR_FOLLOWER: the partition's leader moved (a broker died or took its leadership back). */
const NOT_LEADER = 6;

describe('kafkajs send, retried after a leader moved', () => {
  it('sends the moved partition again to its new leader, even one that acknowledged the rest', async () => {
    // Partition 0 led by broker 1, partition 1 by broker 2, until broker 2 gives partition 1 up to broker 1.
    let leaders: Record<number, number> = { 0: 1, 1: 2 };
    const sent: { broker: number; partitions: number[]; keys: string[] }[] = [];
    const broker = (nodeId: number) => ({
      nodeId,
      produce: (request: ProduceRequest) => {
        const partitions = request.topicData.flatMap((t) => t.partitions);
        sent.push({
          broker: nodeId,
          partitions: partitions.map((p) => p.partition),
          keys: partitions.flatMap((p) => p.messages.map((m) => m.key)),
        });
        if (nodeId === 2) return Promise.reject(createErrorFromCode(NOT_LEADER));
        return Promise.resolve({
          topics: request.topicData.map((t) => ({
            topicName: t.topic,
            partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
          })),
        });
      },
    });
    const brokers = new Map([1, 2].map((id) => [String(id), broker(id)]));
    const cluster = {
      refreshMetadataIfNecessary: () => Promise.resolve(),
      // What the retry finds: broker 1 leads both.
      refreshMetadata: () => {
        leaders = { 0: 1, 1: 1 };
        return Promise.resolve();
      },
      addMultipleTargetTopics: () => Promise.resolve(),
      isConnected: () => true,
      findTopicPartitionMetadata: () =>
        Object.entries(leaders).map(([partitionId, leader]) => ({ partitionId: Number(partitionId), leader })),
      findLeaderForPartitions: (_topic: string, partitions: string[]) => {
        const perLeader: Record<string, number[]> = {};
        for (const id of partitions.map(Number)) (perLeader[leaders[id]!] ??= []).push(id);
        return perLeader;
      },
      findBroker: ({ nodeId }: { nodeId: string }) => Promise.resolve(brokers.get(nodeId)),
    };
    const eosManager = {
      isTransactional: () => false,
      getSequence: () => 0,
      updateSequence: () => undefined,
      getProducerId: () => -1,
      getProducerEpoch: () => 0,
      acquireBrokerLock: () => Promise.resolve(),
      releaseBrokerLock: () => Promise.resolve(),
    };
    const send = createSendMessages({
      logger: kafkajsLogger(),
      cluster,
      eosManager,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      retrier: createRetry({ initialRetryTime: 1, maxRetryTime: 5, retries: 3 }),
    });

    const answers = await send({
      acks: -1,
      timeout: 1_000,
      topicMessages: [
        {
          topic: 'orders',
          messages: [
            { partition: 0, key: 'a', value: '1' },
            { partition: 1, key: 'b', value: '2' },
          ],
        },
      ],
    });

    // Broker 1 took partition 0, broker 2 refused partition 1, and the retry took it to broker 1.
    expect(sent).toEqual([
      { broker: 1, partitions: [0], keys: ['a'] },
      { broker: 2, partitions: [1], keys: ['b'] },
      { broker: 1, partitions: [1], keys: ['b'] },
    ]);
    expect(answers.map((a) => [a.partition, a.errorCode]).sort()).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });
});

/** kafkajs' logger interface, silent. */
function kafkajsLogger() {
  const log = () => undefined;
  const logger = { info: log, warn: log, error: log, debug: log, namespace: () => logger, setLogLevel: log };
  return logger;
}
