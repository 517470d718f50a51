// Waits until the Kafka broker really answers (metadata readable), then creates
// the mesh's topics from libs/contracts/src/topics.json. Idempotent.
// Usage: node infra/scripts/kafka-topics.mjs --bootstrap 127.0.0.1:9092 [--replication 3] --wait 90
// With replication above 1 each topic also gets min.insync.replicas = replication - 1 (2 of 3):
// a producer with acks=all is then told of a write only once two brokers hold it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    replication: { type: 'string', default: '1' },
    wait: { type: 'string', default: '60' },
  },
});
const replication = Number(values.replication);
const topicsFile = new URL('../../libs/contracts/src/topics.json', import.meta.url);
const { topics } = JSON.parse(readFileSync(topicsFile, 'utf8'));
const deadline = Date.now() + Number(values.wait) * 1000;

const kafka = new Kafka({
  clientId: 'mesh-infra',
  brokers: values.bootstrap.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 0 },
  connectionTimeout: 1000,
});

// Every topic has a dead-letter topic beside it, where functions put the events they gave up on.
const wanted = Object.values(topics).flatMap((t) => [t, { name: `${t.name}.dlq`, partitions: 1 }]);

// A broker that has just started may answer metadata before it can create topics (its controller
// is still catching up): the whole step is retried until the deadline, not only the connection.
async function ensureTopics() {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: replication,
          configEntries: [
            ...(t.retentionMs ? [{ name: 'retention.ms', value: String(t.retentionMs) }] : []),
            ...(replication > 1 ? [{ name: 'min.insync.replicas', value: String(replication - 1) }] : []),
          ],
        })),
      });
    }
    // Topics made before their retention was set get it now (a rebuild of Redis reads this far back).
    const kept = wanted.filter((t) => t.retentionMs && existing.has(t.name));
    if (kept.length > 0) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: kept.map((t) => ({
          type: 2,
          name: t.name,
          configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
        })),
      });
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

for (;;) {
  try {
    await ensureTopics();
    break;
  } catch (err) {
    if (Date.now() > deadline) {
      console.error(`[infra] kafka: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
console.log(`[infra] kafka: answering on ${values.bootstrap}; topics ready: ${wanted.map((t) => t.name).join(', ')}`);
