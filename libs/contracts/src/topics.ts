import topicsFile from './topics.json';

/** Logical topic keys; `topics.json` holds their Kafka names and partition counts. */
export type TopicKey = keyof typeof topicsFile.topics;

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** How long the topic keeps its events (`retention.ms`). */
  readonly retentionMs: number;
}

export const TOPICS: Readonly<Record<TopicKey, TopicSpec>> = topicsFile.topics;

export function topicName(key: TopicKey, prefix = ''): string {
  return `${prefix}${TOPICS[key].name}`;
}
