import { MemoryCourierGeoRepository } from '@mesh/geo';
import { MemoryOutbox } from '@mesh/outbox';
import { dispatchStoreContract } from '@mesh/testing';
import { MemoryDispatchStore } from './memory-dispatch-store';

dispatchStoreContract('in-memory', () => {
  const [couriers, outbox] = [new MemoryCourierGeoRepository(), new MemoryOutbox()];
  return Promise.resolve({
    store: new MemoryDispatchStore(couriers, outbox),
    couriers,
    outbox,
    dispose: () => outbox.close(),
  });
});
