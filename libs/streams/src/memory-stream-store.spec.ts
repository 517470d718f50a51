import { MemoryOutbox } from '@mesh/outbox';
import { streamStoreContract } from '@mesh/testing';
import { MemoryStreamStore } from './memory-stream-store';

streamStoreContract('in-memory', () => {
  const outbox = new MemoryOutbox();
  return Promise.resolve({ store: new MemoryStreamStore(outbox), outbox, dispose: () => outbox.close() });
});
