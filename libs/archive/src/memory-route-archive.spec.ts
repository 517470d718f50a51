import { routeArchiveContract } from '@mesh/contract-suites';
import { MemoryRouteArchive } from './memory-route-archive';

routeArchiveContract('in-memory', () =>
  Promise.resolve({ archive: new MemoryRouteArchive(), dispose: () => Promise.resolve() }),
);
