import { streamStoreContract } from '@mesh/testing';
import { MemoryStreamStore } from './memory-stream-store';

streamStoreContract('in-memory', () =>
  Promise.resolve({ store: new MemoryStreamStore(), dispose: () => Promise.resolve() }),
);
