import { routeArchiveContract } from '@mesh/testing';
import { MemoryRouteArchive } from './memory-route-archive';

routeArchiveContract('in-memory', () =>
  Promise.resolve({ archive: new MemoryRouteArchive(), dispose: () => Promise.resolve() }),
);
