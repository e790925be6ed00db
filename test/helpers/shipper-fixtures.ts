// LineBatches and agent configurations for shipper tests that run without the tailer.

import type { AgentConfig, InputConfig, KafkaSection } from '../../src/config/types.js';
import { packLines, type LineBatch } from '../../src/core/batch.js';
import type { SourceFile } from '../../src/core/file.js';

export const source: SourceFile = { key: '1:2:0', identity: { dev: 1, ino: 2 }, input: 'app', path: '/var/log/app.log' };

/** A batch of `lines` starting at byte `start` of the file (each line plus its newline). */
export function batch(start: number, lines: string[], src: SourceFile = source): LineBatch {
  const ends: number[] = [];
  let pos = start;
  for (const l of lines) ends.push((pos += Buffer.byteLength(l) + 1));
  return {
    source: src,
    epoch: 0,
    ...packLines(lines.map((l) => Buffer.from(l))),
    startOffset: start,
    ends,
    flags: [],
    endOffset: pos,
    marker: { len: 1, hash: `m${pos}` },
    fingerprint: { len: 10, hash: 'fp' },
  };
}

/** A configuration with one input like `logs.{input}.{file.stem}`; `kafka` overrides merge in. */
export function shipperConfig(input: Partial<InputConfig> = {}, maxInFlight = 1 << 20, kafka: Partial<KafkaSection> = {}): AgentConfig {
  const inp = {
    id: 'app', paths: ['/var/log/*.log'], exclude: [], start_at: 'end', ignore_older: 0, topic: 'logs.{input}.{file.stem}', key: '{host}',
    format: 'raw', headers: true, max_line_bytes: 1 << 20, partial_line_timeout: 0, encoding: 'utf-8', multiline: null,
    rotation: { close_renamed_after: 300_000, close_removed: true, close_removed_after: 300_000 }, fields: {},
    parser: 'none', parse: 'none', include_lines: [], exclude_lines: [], ...input,
  } as InputConfig;
  return {
    source: '/etc/logship/agent.yaml',
    agent: { name: 'h1', data_dir: '/tmp/x', shutdown_timeout: 1000, max_open_files: 10, drain_on_stop: false },
    log: { level: 'info', format: 'json' },
    inputs: [inp],
    kafka: {
      brokers: ['x:9092'], client_id: 'c', acks: 'all', compression: 'lz4', compression_level: -1,
      flush: { max_messages: 10, max_bytes: 1000, frequency: 5 }, retries: { max: 10, backoff: 1, backoff_max: 2 },
      idempotence: true, max_message_bytes: 1_000_000, partitioner: 'consistent_random', max_in_flight_bytes: maxInFlight,
      topic_create: 'auto', dead_letter_topic: null, tls: { enabled: false, ca_file: null, cert_file: null, key_file: null }, sasl: null, librdkafka: {},
      ...kafka,
    },
    registry: { flush_interval: 1000, clean_after: 1000 },
    metrics: { listen: '' },
  };
}

