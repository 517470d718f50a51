import { scheduleStoreContract } from '@mesh/contract-suites';
import { MemoryScheduleStore } from './memory-schedule-store';

scheduleStoreContract('memory', () =>
  Promise.resolve({ store: new MemoryScheduleStore(), dispose: () => Promise.resolve() }),
);
