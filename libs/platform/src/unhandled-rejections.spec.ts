import { silentLogger } from '@mesh/harness';
import { onUnhandledRejection } from './unhandled-rejections';

describe('a promise that failed with nobody awaiting it', () => {
  const handle = onUnhandledRejection(silentLogger);

  it('does not stop the service when it is a Redis node going away under a command', () => {
    expect(() => handle(new Error('Connection is closed.'))).not.toThrow();
    expect(() => handle(new Error('CLUSTERDOWN The cluster is down'))).not.toThrow();
  });

  it('stops it when it is anything else (a bug), as Node would', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    expect(() => handle(bug)).toThrow(bug);
    expect(() => handle(new Error('ERR wrong number of arguments for command'))).toThrow();
  });
});
