import { clientPushContract } from '@mesh/testing';
import { InProcessClientPush } from './in-process-client-push';

clientPushContract('in-process', () => {
  const push = new InProcessClientPush();
  return Promise.resolve({ push, attach: (server) => push.attach(server), dispose: () => Promise.resolve() });
});
