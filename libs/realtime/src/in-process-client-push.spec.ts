import { clientPushContract } from '@mesh/contract-suites';
import { InProcessClientPush } from './in-process-client-push';
import { MemoryPushHistory } from './memory-push-history';

clientPushContract('in-process', () => {
  const history = new MemoryPushHistory({ windowMs: 60_000, maxPerRoom: 10 });
  const push = new InProcessClientPush(history);
  return Promise.resolve({ push, history, attach: (server) => push.attach(server), dispose: () => Promise.resolve() });
});
