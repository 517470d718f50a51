import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { producerOutOfStep } from './producer-errors';

const outOfOrder = () =>
  new KafkaJSProtocolError({
    type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    code: 45,
    retriable: false,
    message: 'The broker received an out of order sequence number',
  });

describe('an idempotent producer out of step with the broker', () => {
  it('is told by the protocol error, bare or as kafkajs retriers wrap it', () => {
    expect(producerOutOfStep(outOfOrder())).toBe(true);
    expect(producerOutOfStep(new KafkaJSNonRetriableError(outOfOrder(), { cause: outOfOrder() }))).toBe(true);
    const retried = new KafkaJSNumberOfRetriesExceeded(outOfOrder(), { retryCount: 3, retryTime: 400 });
    expect(producerOutOfStep(retried)).toBe(true);
  });

  it('is not a broker away or a leader moving: the same producer sends again once they are back', () => {
    expect(producerOutOfStep(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toBe(false);
    const notLeader = new KafkaJSProtocolError({
      type: 'NOT_LEADER_FOR_PARTITION',
      code: 6,
      retriable: true,
      message: 'This server is not the leader for that topic-partition',
    });
    expect(producerOutOfStep(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 3, retryTime: 400 }))).toBe(
      false,
    );
    expect(producerOutOfStep('OUT_OF_ORDER_SEQUENCE_NUMBER')).toBe(false);
  });
});
