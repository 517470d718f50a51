import { MemoryCourierGeoRepository } from '@mesh/geo';
import { MemoryOutbox } from '@mesh/outbox';
import { outboxShards } from '@mesh/redis';
import { testMarkets } from '@mesh/harness';
import { dispatchStoreContract } from '@mesh/contract-suites';
import { MemoryDispatchStore } from './memory-dispatch-store';

dispatchStoreContract('in-memory', () => {
  const markets = testMarkets();
  const [couriers, outbox] = [new MemoryCourierGeoRepository(markets), new MemoryOutbox(outboxShards(markets.names))];
  return Promise.resolve({
    store: new MemoryDispatchStore(couriers, outbox),
    couriers,
    outbox,
    markets,
    dispose: () => outbox.close(),
  });
});
