import { silentLogger, uniqueName } from '@mesh/harness';
import { eventBusContract } from '@mesh/contract-suites';
import { KafkaEventBus } from './kafka-event-bus';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

eventBusContract('Kafka', async () => {
  const bus = new KafkaEventBus({
    brokers,
    clientId: 'contract',
    topicPrefix: `${uniqueName('t')}.`,
    logger: silentLogger,
  });
  await bus.ensureTopics();
  return { bus, dispose: () => bus.close() };
});
