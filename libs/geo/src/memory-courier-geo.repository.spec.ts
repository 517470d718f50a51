import { testMarkets } from '@mesh/harness';
import { courierGeoContract } from '@mesh/contract-suites';
import { MemoryCourierGeoRepository } from './memory-courier-geo.repository';

courierGeoContract('in-memory', () => {
  const markets = testMarkets();
  return Promise.resolve({ repo: new MemoryCourierGeoRepository(markets), markets, dispose: () => Promise.resolve() });
});
