import { eventBusContract } from '@mesh/contract-suites';
import { MemoryEventBus } from './memory-event-bus';

eventBusContract('in-memory', () => {
  const bus = new MemoryEventBus();
  return Promise.resolve({ bus, dispose: () => bus.close() });
});
