// Maps the `kafka:` section of agent.yaml onto librdkafka properties, one place for every
// option, so that what an operator wrote is exactly what librdkafka receives. The
// `librdkafka:` passthrough is applied last and wins.

import { readFileSync } from 'node:fs';
import { isSecretProperty, REDACTED } from '../config/redact.js';
import type { KafkaSection } from '../config/types.js';

export type LibrdkafkaConfig = Record<string, string | number | boolean>;

/**
 * Estimated memory per record in flight beyond its payload (librdkafka's rd_kafka_msg_t and
 * payload copy, record headers, our share of the batch's bookkeeping), counted against
 * kafka.max_in_flight_bytes so that the bound holds for memory, not only for payload bytes.
 */
export const RECORD_MEMORY_OVERHEAD = 384;
const STATISTICS_INTERVAL_MS = 10_000;

export class ProducerConfigError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'ProducerConfigError';
  }
}

/** A copy safe to log: secret-looking properties replaced. */
export function redactLibrdkafkaConfig(conf: LibrdkafkaConfig): LibrdkafkaConfig {
  const out: LibrdkafkaConfig = {};
  for (const [k, v] of Object.entries(conf)) out[k] = isSecretProperty(k) ? REDACTED : v;
  return out;
}

/**
 * @param bootstrap resolved broker list ("embedded" has already been replaced by the mock's).
 * @param readFile seam for tests; reads sasl.password_file.
 */
export function producerConfig(
  kafka: KafkaSection,
  bootstrap: string,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): LibrdkafkaConfig {
  const conf: LibrdkafkaConfig = {
    'bootstrap.servers': bootstrap,
    'client.id': kafka.client_id,
    acks: kafka.acks === 'all' ? -1 : kafka.acks,
    'compression.codec': kafka.compression,
    'compression.level': kafka.compression_level,
    'batch.num.messages': kafka.flush.max_messages,
    'batch.size': kafka.flush.max_bytes,
    'linger.ms': kafka.flush.frequency,
    'message.send.max.retries': kafka.retries.max,
    'retry.backoff.ms': kafka.retries.backoff,
    'retry.backoff.max.ms': Math.max(kafka.retries.backoff, kafka.retries.backoff_max),
    'enable.idempotence': kafka.idempotence,
    'message.max.bytes': kafka.max_message_bytes,
    partitioner: kafka.partitioner,
    'allow.auto.create.topics': kafka.topic_create === 'auto',
    // A line is never given up on while the agent runs: no local delivery timeout. Retriable
    // errors are retried by librdkafka; only permanent ones come back to the shipper.
    'message.timeout.ms': 0,
    // librdkafka's own queue is bounded by the same budget as the InFlightGate, so it is a
    // real limit rather than a formality: when a read chunk overshoots the gate, produce()
    // stops at QUEUE_FULL and the rest of the chunk waits (a prefix went, no hole). Messages:
    // the gate counts RECORD_MEMORY_OVERHEAD per record, so it never admits more than this.
    // (Never below one record of the largest size: librdkafka refuses a message larger than the
    // limit even into an empty queue, which would stall its file for good.)
    'queue.buffering.max.kbytes': Math.min(2_147_483_647, Math.ceil(Math.max(kafka.max_in_flight_bytes, kafka.max_message_bytes + RECORD_OVERHEAD_BYTES) / 1024)),
    'queue.buffering.max.messages': Math.min(2_147_483_647, Math.max(1000, Math.ceil(kafka.max_in_flight_bytes / RECORD_MEMORY_OVERHEAD))),
    'socket.keepalive.enable': true,
    // Queue depth and per-broker round-trip times for /metrics.
    'statistics.interval.ms': STATISTICS_INTERVAL_MS,
  };
  const tls = kafka.tls;
  const sasl = kafka.sasl;
  conf['security.protocol'] = sasl ? (tls.enabled ? 'sasl_ssl' : 'sasl_plaintext') : tls.enabled ? 'ssl' : 'plaintext';
  if (tls.enabled) {
    if (tls.ca_file) conf['ssl.ca.location'] = tls.ca_file;
    if (tls.cert_file) conf['ssl.certificate.location'] = tls.cert_file;
    if (tls.key_file) conf['ssl.key.location'] = tls.key_file;
  }
  if (sasl) {
    conf['sasl.mechanisms'] = sasl.mechanism;
    conf['sasl.username'] = sasl.username;
    if (sasl.password !== null) {
      conf['sasl.password'] = sasl.password;
    } else if (sasl.password_file !== null) {
      let secret: string;
      try {
        secret = readFile(sasl.password_file);
      } catch (err) {
        throw new ProducerConfigError(`kafka.sasl.password_file: cannot read ${sasl.password_file}: ${(err as Error).message}`, 'kafka.sasl.password_file');
      }
      // A trailing newline from `echo secret > file` is not part of the password.
      conf['sasl.password'] = secret.replace(/\r?\n$/, '');
    }
  }
  for (const [k, v] of Object.entries(kafka.librdkafka)) conf[k] = v;
  return conf;
}

/**
 * Room left in a record for key, headers and record framing. A line piece never exceeds
 * max_message_bytes less this, so a long line is split into records Kafka accepts instead of
 * being rejected whole (`max_line_bytes` 1MiB against `max_message_bytes` 1000000 is the
 * documented default pairing).
 */
export const RECORD_OVERHEAD_BYTES = 4096;

/** The line-piece size the tailer must split at for every record to fit in one message. */
export function effectiveMaxLineBytes(maxLineBytes: number, kafka: KafkaSection): number {
  return Math.max(1024, Math.min(maxLineBytes, kafka.max_message_bytes - RECORD_OVERHEAD_BYTES));
}
