import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACTED_PATHS } from './logger';

describe('log redaction', () => {
  it('writes no bearer token or cookie, whichever way a request is logged', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' } }, sink);
    const secret = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl';
    logger.warn(
      {
        req: {
          method: 'GET',
          url: '/v1/orders',
          headers: { authorization: `Bearer ${secret}`, cookie: `s=${secret}` },
        },
      },
      'request',
    );
    logger.warn({ headers: { authorization: `Bearer ${secret}` } }, 'headers');
    logger.warn({ handshake: { auth: { token: secret } } }, 'handshake');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(line).toContain('[redacted]');
    }
  });
});
