import { OUTBOX_TEST_SHARDS, outboxContract } from '@mesh/contract-suites';
import { MemoryOutbox } from './memory-outbox';

outboxContract('in-memory', () => {
  const outbox = new MemoryOutbox(OUTBOX_TEST_SHARDS);
  return Promise.resolve({ outbox, peer: outbox, dispose: () => outbox.close() });
});
