import { roomLeasesContract } from '@mesh/contract-suites';
import { MemoryRoomLeases } from './room-leases';

roomLeasesContract('in-memory', () =>
  Promise.resolve({ leases: new MemoryRoomLeases(), dispose: () => Promise.resolve() }),
);
