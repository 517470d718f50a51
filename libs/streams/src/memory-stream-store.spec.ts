import { MemoryOutbox } from '@mesh/outbox';
import { STREAMS_TAG } from '@mesh/redis';
import { streamStoreContract } from '@mesh/contract-suites';
import { MemoryStreamStore } from './memory-stream-store';

streamStoreContract('in-memory', () => {
  const outbox = new MemoryOutbox([STREAMS_TAG]);
  return Promise.resolve({ store: new MemoryStreamStore(outbox), outbox, dispose: () => outbox.close() });
});
