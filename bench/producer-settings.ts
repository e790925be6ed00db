// One description of the producer settings a scenario uses, rendered both as the agent's
// `kafka:` YAML and as kcat's librdkafka properties, so the peer always runs with exactly the
// acks, compression, linger and batching the agent was given.

import type { Compression } from '../src/config/types.js';

export interface ProducerSettings {
  acks: 'all' | 0 | 1;
  compression: Compression;
  /** flush.frequency of the agent, linger.ms of librdkafka. */
  lingerMs: number;
  /** flush.max_messages / batch.num.messages */
  batchMessages: number;
  /** flush.max_bytes / batch.size */
  batchBytes: number;
  idempotence: boolean;
}

/** The agent's defaults, which are also what the scenarios ask for. */
export const DEFAULT_PRODUCER: ProducerSettings = {
  acks: 'all',
  compression: 'lz4',
  lingerMs: 5,
  batchMessages: 10_000,
  batchBytes: 1024 * 1024,
  idempotence: true,
};

/** Lines of the agent's `kafka:` section after `brokers:` (indented two spaces). */
export function kafkaYaml(s: ProducerSettings): string {
  return [
    `  acks: ${s.acks}`,
    `  compression: ${s.compression}`,
    `  idempotence: ${s.idempotence}`,
    `  flush: {max_messages: ${s.batchMessages}, max_bytes: ${s.batchBytes}, frequency: ${s.lingerMs}ms}`,
  ].join('\n');
}

/** librdkafka properties for the same settings, as kcat `-X` arguments. */
export function kcatProducerProperties(s: ProducerSettings): string[] {
  const props: Record<string, string | number | boolean> = {
    acks: s.acks === 'all' ? 'all' : s.acks,
    'compression.codec': s.compression,
    'linger.ms': s.lingerMs,
    'batch.num.messages': s.batchMessages,
    'batch.size': s.batchBytes,
    'enable.idempotence': s.idempotence,
  };
  return Object.entries(props).flatMap(([k, v]) => ['-X', `${k}=${String(v)}`]);
}

/** The same settings for an in-process @confluentinc/kafka-javascript producer. */
export function librdkafkaProducerConfig(s: ProducerSettings, bootstrap: string): Record<string, string | number | boolean> {
  return {
    'bootstrap.servers': bootstrap,
    acks: s.acks === 'all' ? -1 : s.acks,
    'compression.codec': s.compression,
    'linger.ms': s.lingerMs,
    'batch.num.messages': s.batchMessages,
    'batch.size': s.batchBytes,
    'enable.idempotence': s.idempotence,
  };
}
