import { isEventType } from '@mesh/contracts';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { CloudEvent } from './cloud-event';

/**
 * CloudEvents Kafka protocol binding, binary content mode (CloudEvents spec, kafka-protocol-binding.md).
 * The attributes CloudEvents 1.0 requires; `time`, `subject` and the rest are optional there, so an
 * outside producer's event without them is still an event.
 */
const REQUIRED = ['ce_specversion', 'ce_id', 'ce_source', 'ce_type'] as const;

/**
 * The reverse-DNS prefix of the mesh's event types on the wire, as CloudEvents asks of a `type`
 * (`io.dispatchmesh.order.created`); inside, handlers name them without it (`order.created`).
 */
export const EVENT_TYPE_PREFIX = 'io.dispatchmesh.';

/** A type as it travels: the mesh's own with the prefix, anyone else's as it is. */
export function wireType(type: string): string {
  return isEventType(type) ? `${EVENT_TYPE_PREFIX}${type}` : type;
}

/**
 * A type as handlers name it: the prefix taken off. One without it is read as it is, so the events
 * already in the topics when the prefix came (and a producer that leaves it out) are still understood.
 */
export function localType(type: string): string {
  return type.startsWith(EVENT_TYPE_PREFIX) ? type.slice(EVENT_TYPE_PREFIX.length) : type;
}

export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

export function toKafkaMessage(event: CloudEvent): Message {
  const headers: IHeaders = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_source: event.source,
    ce_type: wireType(event.type),
    ce_partitionkey: event.partitionkey,
    'content-type': event.datacontenttype,
  };
  if (event.time !== undefined) headers.ce_time = event.time;
  if (event.subject !== undefined) headers.ce_subject = event.subject;
  return { key: event.partitionkey, value: JSON.stringify(event.data), headers };
}

/** A message's headers as strings (first value of repeated ones). */
export function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) out[name] = value.toString();
  }
  return out;
}

export function fromKafkaMessage(message: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): CloudEvent {
  const headers = headerStrings(message.headers);
  const header = (name: string): string | undefined => headers[name];
  for (const name of REQUIRED) {
    if (!header(name)) throw new MalformedEventError(`missing header ${name}`);
  }
  if (header('ce_specversion') !== '1.0') throw new MalformedEventError('unsupported ce_specversion');
  const contentType = header('content-type') ?? 'application/json';
  if (!contentType.startsWith('application/json'))
    throw new MalformedEventError(`unsupported content-type ${contentType}`);
  if (message.value === null) throw new MalformedEventError('empty value');
  let data: unknown;
  try {
    data = JSON.parse(message.value.toString('utf8'));
  } catch {
    throw new MalformedEventError('value is not JSON');
  }
  const subject = header('ce_subject');
  const time = header('ce_time');
  if (time !== undefined && Number.isNaN(Date.parse(time))) throw new MalformedEventError('ce_time is not a time');
  return {
    specversion: '1.0',
    id: header('ce_id') as string,
    source: header('ce_source') as string,
    type: localType(header('ce_type') as string),
    ...(time !== undefined ? { time } : {}),
    ...(subject !== undefined ? { subject } : {}),
    datacontenttype: 'application/json',
    partitionkey: header('ce_partitionkey') ?? message.key?.toString('utf8') ?? '',
    data,
  };
}
