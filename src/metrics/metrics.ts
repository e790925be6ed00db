// Prometheus metrics and health endpoints (GET /metrics, /healthz, /readyz). The pipeline keeps
// plain counters on its hot paths; this module reads them only when scraped, so metrics cost
// nothing between scrapes.

import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FollowedFileState, TailerStats } from '../tailer/types.js';
import type { ShipperStats } from '../shipper/shipper.js';
import type { BrokerStatistics } from '../shipper/statistics.js';
import { allLineStats } from '../lines/stats.js';

export interface FileLag {
  /** The live path the file was discovered under (its topic's name source). */
  path: string;
  /** Where the file is now: differs from `path` for a rotated file still being read. */
  file: string;
  input: string;
  state: FollowedFileState;
  size: number;
  committed: number;
  /** Lines and bytes read from this file since the agent started (FileActivity). */
  linesRead: number;
  bytesRead: number;
  /** Wall-clock ms of the last read that produced lines; null when none since start. */
  lastReadAt: number | null;
}

/** What the agent exposes to the metrics endpoint; each read at scrape time. */
export interface MetricsSources {
  tailer: TailerStats;
  shipper: ShipperStats;
  inFlightBytes: () => number;
  registry: () => { writes: number; writeErrors: number };
  files: () => FileLag[];
  /** Config loaded and Kafka answering. */
  ready: () => boolean;
}

// prom-client is loaded on first use: an agent with `metrics.listen: ""` never needs it, and
// loading it costs ~45 ms of CPU at every start.
const require = createRequire(import.meta.url);
let promClient: typeof import('prom-client') | null = null;
function prom(): typeof import('prom-client') {
  return (promClient ??= require('prom-client') as typeof import('prom-client'));
}

export class MetricsError extends Error {
  constructor(
    message: string,
    readonly listen: string,
  ) {
    super(message);
    this.name = 'MetricsError';
  }
}

/** Counter whose value is owned elsewhere: set from a snapshot at scrape time. */
function mirroredCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: (set: (labels: Record<L, string>, v: number) => void) => void): void {
  const { Counter } = prom();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels as never, v));
    },
  });
}

function perKey(map: ReadonlyMap<string, number>, label: string): (set: (labels: Record<string, string>, v: number) => void) => void {
  return (set) => {
    for (const [k, v] of map) set({ [label]: k }, v);
  };
}

/** Period of the event-loop lag sampling timer, ms (see buildRegistry). */
export const EVENT_LOOP_SAMPLE_MS = 100;

export function buildRegistry(src: MetricsSources): Registry {
  const { Gauge, Registry, collectDefaultMetrics } = prom();
  const r = new Registry();
  // prom-client measures event-loop lag with perf_hooks.monitorEventLoopDelay, a libuv timer
  // that fires every `eventLoopMonitoringPrecision` ms (default 10): 100 wake-ups a second, the
  // largest part of an idle agent's CPU (0.3-0.5 % of a core measured with 1,000 idle files).
  // Sampled ten times a second the lag histogram still shows any stall longer than 100 ms.
  collectDefaultMetrics({ register: r, prefix: 'logship_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  mirroredCounter(r, 'logship_lines_read_total', 'Lines read from files, per input', ['input'], perKey(src.tailer.linesRead, 'input'));
  mirroredCounter(r, 'logship_bytes_read_total', 'Bytes read from files, per input', ['input'], perKey(src.tailer.bytesRead, 'input'));
  mirroredCounter(r, 'logship_records_produced_total', 'Records handed to librdkafka, per topic', ['topic'], perKey(src.shipper.produced, 'topic'));
  mirroredCounter(r, 'logship_records_acknowledged_total', 'Records acknowledged by Kafka, per topic', ['topic'], perKey(src.shipper.acked, 'topic'));
  mirroredCounter(r, 'logship_records_failed_total', 'Delivery attempts that failed and are retried, per topic', ['topic'], perKey(src.shipper.failed, 'topic'));
  mirroredCounter(r, 'logship_records_skipped_total', 'Records Kafka rejected permanently (too large, not authorised), per topic', ['topic'], perKey(src.shipper.skipped, 'topic'));
  mirroredCounter(r, 'logship_records_dead_lettered_total', 'Records Kafka rejected permanently that were acknowledged in kafka.dead_letter_topic, per original topic', ['topic'], perKey(src.shipper.deadLettered, 'topic'));
  // Line processing (src/lines/stats.ts): filters, container parsers, JSON field routing.
  mirroredCounter(r, 'logship_lines_dropped_total', 'Lines dropped by include_lines / exclude_lines (their offsets are committed), per input', ['input', 'reason'], (set) => {
    for (const [input, s] of allLineStats()) for (const [reason, n] of Object.entries(s.dropped)) if (n > 0) set({ input, reason }, n);
  });
  mirroredCounter(r, 'logship_container_lines_malformed_total', 'Lines in neither container runtime format, shipped raw and flagged, per input', ['input'], (set) => {
    for (const [input, s] of allLineStats()) if (s.container.malformedLines > 0) set({ input }, s.container.malformedLines);
  });
  mirroredCounter(r, 'logship_json_fallbacks_total', 'Lines whose {json.*} template fields fell back to their defaults (not a JSON object, or a field missing), per input', ['input', 'reason'], (set) => {
    for (const [input, s] of allLineStats()) {
      if (s.json.notJson > 0) set({ input, reason: 'not_json' }, s.json.notJson);
      if (s.json.missingField > 0) set({ input, reason: 'missing_field' }, s.json.missingField);
    }
  });
  const single = (name: string, help: string, read: () => number): void =>
    mirroredCounter(r, name, help, [], (set) => set({}, read()));
  single('logship_rotations_total', 'File rotations seen (rename/create)', () => src.tailer.rotations);
  single('logship_truncations_total', 'Truncations seen (copytruncate): file read again from 0', () => src.tailer.truncations);
  single('logship_lines_split_total', 'Lines longer than max_line_bytes, split into pieces', () => src.tailer.splitLines);
  single('logship_lines_partial_total', 'Last lines emitted without newline after partial_line_timeout', () => src.tailer.partialLines);
  single('logship_chars_replaced_total', 'Invalid byte sequences replaced with U+FFFD', () => src.tailer.replacedChars);
  single('logship_bytes_abandoned_total', 'Bytes of removed files given up after close_removed_after', () => src.tailer.bytesAbandoned);
  single('logship_read_errors_total', 'File read errors', () => src.tailer.readErrors);
  single('logship_registry_writes_total', 'Registry files written', () => src.registry().writes);
  single('logship_registry_write_errors_total', 'Registry writes that failed (retried)', () => src.registry().writeErrors);
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [r],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('logship_in_flight_bytes', 'Bytes produced and not yet acknowledged', src.inFlightBytes);
  gauge('logship_files_open', 'Open file handles', () => src.tailer.filesOpen);
  gauge('logship_files_followed', 'Files followed', () => src.tailer.filesFollowed);
  gauge('logship_kafka_connected', '1 when the producer is connected', () => (src.shipper.connected ? 1 : 0));
  gauge('logship_kafka_reachable', '1 when the last metadata probe was answered in time (Kafka neither down nor stalled)', () => (src.shipper.reachable ? 1 : 0));
  gauge('logship_ready', '1 when the agent is ready (see /readyz)', () => (src.ready() ? 1 : 0));
  single('logship_producer_restarts_total', 'Producers replaced after a fatal librdkafka error', () => src.shipper.producerRestarts);
  // From librdkafka's statistics (every 10 s): absent until the first report.
  gauge('logship_kafka_queue_messages', "Records in librdkafka's producer queues (waiting or in flight)", () => src.shipper.kafka?.queueMessages ?? 0);
  gauge('logship_kafka_queue_bytes', "Payload bytes in librdkafka's producer queues", () => src.shipper.kafka?.queueBytes ?? 0);
  const perBroker = (name: string, help: string, read: (b: BrokerStatistics) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['broker'],
      registers: [r],
      collect() {
        this.reset();
        for (const b of src.shipper.kafka?.brokers ?? []) this.set({ broker: b.name }, read(b));
      },
    });
  };
  perBroker('logship_kafka_broker_rtt_seconds', 'Average request round-trip time per broker over the last statistics interval', (b) => b.rttAvgSeconds);
  perBroker('logship_kafka_broker_rtt_p99_seconds', 'p99 request round-trip time per broker over the last statistics interval', (b) => b.rttP99Seconds);
  perBroker('logship_kafka_broker_waiting_responses', 'Requests sent to the broker and awaiting its response', (b) => b.waitingResponses);
  perBroker('logship_kafka_broker_up', '1 when librdkafka reports the broker connection UP', (b) => (b.state === 'UP' ? 1 : 0));
  // Per followed file (file: where it is now, path: its live name). `logship top` reads these.
  const perFile = (labels: FileLag): Record<'path' | 'file' | 'input', string> => ({ path: labels.path, file: labels.file, input: labels.input });
  new Gauge({
    name: 'logship_file_lag_bytes',
    help: 'File size minus committed offset, per followed file (file: where it is now, path: its live name)',
    labelNames: ['path', 'file', 'input'],
    registers: [r],
    collect() {
      this.reset();
      for (const f of src.files()) this.set(perFile(f), Math.max(0, f.size - f.committed));
    },
  });
  mirroredCounter(r, 'logship_file_lines_read_total', 'Lines read since start, per followed file', ['path', 'file', 'input'], (set) => {
    for (const f of src.files()) set(perFile(f), f.linesRead);
  });
  mirroredCounter(r, 'logship_file_bytes_read_total', 'Bytes read since start, per followed file', ['path', 'file', 'input'], (set) => {
    for (const f of src.files()) set(perFile(f), f.bytesRead);
  });
  new Gauge({
    name: 'logship_file_last_read_timestamp_seconds',
    help: 'When the last line of each followed file was read (unix time); absent until one was',
    labelNames: ['path', 'file', 'input'],
    registers: [r],
    collect() {
      this.reset();
      for (const f of src.files()) if (f.lastReadAt !== null) this.set(perFile(f), f.lastReadAt / 1_000);
    },
  });
  new Gauge({
    name: 'logship_file_state',
    help: 'Where each followed file stands: 1 for its state (live: at its path; rotated: renamed, read to the end; removed: deleted, read to the end)',
    labelNames: ['path', 'file', 'input', 'state'],
    registers: [r],
    collect() {
      this.reset();
      for (const f of src.files()) this.set({ ...perFile(f), state: f.state }, 1);
    },
  });
  return r;
}

/** Serves the endpoints on `listen` ("host:port"). Resolves with the bound address. */
export async function serveMetrics(listen: string, src: MetricsSources, log: Logger): Promise<{ server: Server; address: AddressInfo }> {
  const registry = buildRegistry(src);
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(colon + 1));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          log.error({ err }, 'metrics collection failed');
          res.writeHead(500).end('metrics collection failed\n');
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = src.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready: Kafka unreachable or not answering\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MetricsError(`metrics.listen ${listen}: ${err.message}`, listen)));
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const address = server.address() as AddressInfo;
  log.info({ address: `${address.address}:${address.port}` }, 'metrics endpoint listening (/metrics, /healthz, /readyz)');
  return { server, address };
}
