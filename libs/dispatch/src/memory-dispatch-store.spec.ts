import { MemoryCourierGeoRepository } from '@mesh/geo';
import { dispatchStoreContract } from '@mesh/testing';
import { MemoryDispatchStore } from './memory-dispatch-store';

dispatchStoreContract('in-memory', () => {
  const couriers = new MemoryCourierGeoRepository();
  return Promise.resolve({ store: new MemoryDispatchStore(couriers), couriers, dispose: () => Promise.resolve() });
});
