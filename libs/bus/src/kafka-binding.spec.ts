import { CloudEvent as SdkEvent, Kafka as SdkKafka, type KafkaMessage as SdkKafkaMessage } from 'cloudevents';
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
      // Reverse-DNS on the wire, as CloudEvents asks of a type.
      ce_type: 'io.dispatchmesh.courier.availability.changed',
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

  it('is an event the official CloudEvents SDK decodes and validates, attributes and data alike', () => {
    const message = toKafkaMessage(event);
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const sent: SdkKafkaMessage<string> = { key: String(message.key), value: String(message.value), headers, body: '' };
    const decoded = SdkKafka.toEvent(sent) as SdkEvent;
    expect(decoded.validate()).toBe(true);
    expect(decoded).toMatchObject({
      specversion: '1.0',
      id: event.id,
      source: event.source,
      type: 'io.dispatchmesh.courier.availability.changed',
      time: event.time,
      subject: 'c-1',
      partitionkey: 'c-1',
      data: { courierId: 'c-1', available: true },
    });
  });

  it('refuses a message without CloudEvents headers or with a non-JSON value', () => {
    expect(() => fromKafkaMessage({ key: null, value: Buffer.from('{}'), headers: {} })).toThrow(MalformedEventError);
    const headers = Object.fromEntries(
      Object.entries(toKafkaMessage(event).headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))]),
    );
    expect(() => fromKafkaMessage({ key: null, value: Buffer.from('{oops'), headers })).toThrow(MalformedEventError);
  });
});

describe('CloudEvents Kafka binding: events of other producers', () => {
  /** A message as the official CloudEvents SDK's Kafka binding makes it, as a producer would send it. */
  function fromOfficialSdk(drop: string[] = [], type = 'courier.availability.changed') {
    const event = new SdkEvent({
      type,
      source: '/outside/fleet-app',
      data: { courierId: 'c-9', available: true },
    });
    const message = SdkKafka.binary(event);
    const headers = Object.fromEntries(
      Object.entries(message.headers)
        .filter(([name, value]) => value !== undefined && !drop.includes(name))
        .map(([name, value]) => [name, Buffer.from(String(value))]),
    );
    return { event, message: { key: null, value: Buffer.from(JSON.stringify(message.value)), headers } };
  }

  it('reads an event the official SDK made, and one without the attributes CloudEvents leaves optional', () => {
    const { event, message } = fromOfficialSdk();
    expect(fromKafkaMessage(message)).toMatchObject({
      id: event.id,
      source: '/outside/fleet-app',
      type: 'courier.availability.changed',
      time: event.time,
      data: { courierId: 'c-9', available: true },
    });
    const timeless = fromKafkaMessage(fromOfficialSdk(['ce_time']).message);
    expect(timeless).not.toHaveProperty('time');
    expect(timeless.data).toEqual({ courierId: 'c-9', available: true });
  });

  it("takes the mesh's reverse-DNS prefix off a type, and reads one without it (events from before it) as it is", () => {
    expect(fromKafkaMessage(fromOfficialSdk([], 'io.dispatchmesh.courier.availability.changed').message).type).toBe(
      'courier.availability.changed',
    );
    expect(fromKafkaMessage(fromOfficialSdk().message).type).toBe('courier.availability.changed');
    expect(fromKafkaMessage(fromOfficialSdk([], 'com.example.thing.happened').message).type).toBe(
      'com.example.thing.happened',
    );
  });

  it('still refuses one without a required attribute, or with a time that is not one', () => {
    expect(() => fromKafkaMessage(fromOfficialSdk(['ce_source']).message)).toThrow(MalformedEventError);
    const { message } = fromOfficialSdk();
    expect(() =>
      fromKafkaMessage({ ...message, headers: { ...message.headers, ce_time: Buffer.from('yesterday') } }),
    ).toThrow(MalformedEventError);
  });
});
