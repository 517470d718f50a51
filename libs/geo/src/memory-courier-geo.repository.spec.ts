import { courierGeoContract } from '@mesh/testing';
import { MemoryCourierGeoRepository } from './memory-courier-geo.repository';

courierGeoContract('in-memory', () =>
  Promise.resolve({ repo: new MemoryCourierGeoRepository(), dispose: () => Promise.resolve() }),
);
