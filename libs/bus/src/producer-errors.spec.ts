import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { producerOutOfStep } from './producer-errors';

/** As kafkajs makes them from a broker's error code (its typings know only the message). */
const protocolError = (type: string, code: number, retriable: boolean, message: string) =>
  new KafkaJSProtocolError({ type, code, retriable, message } as unknown as Error);
const outOfOrder = () =>
  protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false, 'The broker received an out of order sequence number');

describe('an idempotent producer out of step with the broker', () => {
  it('is told by the protocol error, bare or as kafkajs retriers wrap it', () => {
    expect(producerOutOfStep(outOfOrder())).toBe(true);
    // A retrier's bail keeps the failure as `cause`.
    const bailed = Object.assign(new KafkaJSNonRetriableError(outOfOrder()), { cause: outOfOrder() });
    expect(producerOutOfStep(bailed)).toBe(true);
    const retried = new KafkaJSNumberOfRetriesExceeded(outOfOrder(), { retryCount: 3, retryTime: 400 });
    expect(producerOutOfStep(retried)).toBe(true);
  });

  it('is not a broker away or a leader moving: the same producer sends again once they are back', () => {
    expect(producerOutOfStep(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toBe(false);
    const notLeader = protocolError(
      'NOT_LEADER_FOR_PARTITION',
      6,
      true,
      'This server is not the leader for that topic-partition',
    );
    expect(producerOutOfStep(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 3, retryTime: 400 }))).toBe(
      false,
    );
    expect(producerOutOfStep('OUT_OF_ORDER_SEQUENCE_NUMBER')).toBe(false);
  });
});
