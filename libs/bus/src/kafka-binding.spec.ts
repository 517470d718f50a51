import { newEvent } from './cloud-event';
import { fromKafkaMessage, MalformedEventError, toKafkaMessage } from './kafka-binding';

describe('CloudEvents Kafka binding (binary mode)', () => {
  const event = newEvent(
    'courier.availability.changed',
    { courierId: 'c-1', available: true },
    { source: '/t', key: 'c-1', subject: 'c-1' },
  );

  it('puts attributes in ce_ headers, the key in the message key and data in the value', () => {
    const message = toKafkaMessage(event);
    expect(message.key).toBe('c-1');
    expect(JSON.parse(String(message.value))).toEqual({ courierId: 'c-1', available: true });
    expect(message.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: event.id,
      ce_type: event.type,
      'content-type': 'application/json',
    });
  });

  it('reads back the same event', () => {
    const message = toKafkaMessage(event);
    const headers = Object.fromEntries(
      Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))]),
    );
    expect(fromKafkaMessage({ key: Buffer.from('c-1'), value: Buffer.from(String(message.value)), headers })).toEqual(
      event,
    );
  });

  it('refuses a message without CloudEvents headers or with a non-JSON value', () => {
    expect(() => fromKafkaMessage({ key: null, value: Buffer.from('{}'), headers: {} })).toThrow(MalformedEventError);
    const headers = Object.fromEntries(
      Object.entries(toKafkaMessage(event).headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))]),
    );
    expect(() => fromKafkaMessage({ key: null, value: Buffer.from('{oops'), headers })).toThrow(MalformedEventError);
  });
});
