import { eventBusContract } from '@mesh/testing';
import { MemoryEventBus } from './memory-event-bus';

eventBusContract('in-memory', () => {
  const bus = new MemoryEventBus();
  return Promise.resolve({ bus, dispose: () => bus.close() });
});
