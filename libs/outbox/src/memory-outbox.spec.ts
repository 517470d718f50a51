import { outboxContract } from '@mesh/testing';
import { MemoryOutbox } from './memory-outbox';

outboxContract('in-memory', () => {
  const outbox = new MemoryOutbox();
  return Promise.resolve({ outbox, peer: outbox, dispose: () => outbox.close() });
});
