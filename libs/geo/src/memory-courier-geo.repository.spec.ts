import { courierGeoContract, testMarkets } from '@mesh/testing';
import { MemoryCourierGeoRepository } from './memory-courier-geo.repository';

courierGeoContract('in-memory', () => {
  const markets = testMarkets();
  return Promise.resolve({ repo: new MemoryCourierGeoRepository(markets), markets, dispose: () => Promise.resolve() });
});
