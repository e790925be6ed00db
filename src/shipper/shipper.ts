// Shipper: turns LineBatches into Kafka records through librdkafka's native Producer
// (produce + delivery reports) and reports, per file, the offset up to which Kafka has
// acknowledged every line. At-least-once: a record is only ever given up on for a
// permanent, per-record reason (too large, not authorised), and that is logged and counted.

import Kafka from '@confluentinc/kafka-javascript';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/types.js';
import type { SourceFile } from '../core/file.js';
import type { LineBatch } from '../core/batch.js';
import { AckWindow, type CommittedPosition, type Ticket } from './ack-window.js';
import { identityKey } from '../core/file.js';
import { InFlightGate } from './in-flight-gate.js';
import { redactLibrdkafkaConfig, type LibrdkafkaConfig } from './producer-config.js';
import { FileRoute, planInput, type InputRoutePlan } from './route.js';

const codes = Kafka.CODES.ERRORS;

/** Errors that concern one record only: skip it (logged, counted), never block the file. */
const SKIP_RECORD = new Set<number>([
  codes.ERR_MSG_SIZE_TOO_LARGE,
  codes.ERR_TOPIC_AUTHORIZATION_FAILED,
  codes.ERR_INVALID_RECORD,
  codes.ERR_INVALID_MSG,
  codes.ERR_RECORD_LIST_TOO_LARGE,
]);

export type CommitListener = (source: SourceFile, position: CommittedPosition) => void;

export interface ShipperStats {
  produced: Map<string, number>; // per topic
  acked: Map<string, number>;
  failed: Map<string, number>; // delivery attempts that failed and will be retried
  skipped: Map<string, number>; // records given up for a permanent per-record error
  connected: boolean;
  /** The last metadata probe was answered in time: Kafka is neither down nor stalled. */
  reachable: boolean;
  lastError: string | null;
}

/** The native producer surface we use; a seam for unit tests. */
export type NativeProducer = Pick<
  InstanceType<typeof Kafka.Producer>,
  'connect' | 'disconnect' | 'produce' | 'flush' | 'poll' | 'setPollInterval' | 'on' | 'isConnected' | 'getMetadata'
>;

export function newShipperStats(): ShipperStats {
  return { produced: new Map(), acked: new Map(), failed: new Map(), skipped: new Map(), connected: false, reachable: false, lastError: null };
}

export interface ShipperOptions {
  config: AgentConfig;
  /** Counters to add to (kept across producer swaps on reload); fresh ones by default. */
  stats?: ShipperStats;
  librdkafka: LibrdkafkaConfig;
  log: Logger;
  onCommit: CommitListener;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  createProducer?: (conf: LibrdkafkaConfig) => NativeProducer;
}

type ShipTicket = Ticket<FileRoute>;

interface Pending {
  ticket: ShipTicket;
  /** Index of the next line of the ticket's batch to produce. */
  next: number;
}

const ROUTE_IDLE_MS = 60_000;
/**
 * Estimated memory per record in flight beyond its payload (librdkafka's rd_kafka_msg_t and
 * payload copy, record headers, our Buffer and ticket share), counted against
 * kafka.max_in_flight_bytes so that the bound holds for memory, not only for payload bytes.
 */
export const RECORD_MEMORY_OVERHEAD = 384;
const PROBE_EVERY_MS = 2_000;
/**
 * One connection attempt (metadata request). Kept short: an attempt in progress cannot be
 * cancelled, and process exit waits for it, so it bounds how far a stop can overrun.
 */
const CONNECT_TIMEOUT_MS = 2_000;
const PROBE_TIMEOUT_MS = 3_000;
const ERROR_LOG_EVERY_MS = 10_000;

export class Shipper {
  readonly gate: InFlightGate;
  readonly stats: ShipperStats;
  private producer: NativeProducer;
  private readonly create: (conf: LibrdkafkaConfig) => NativeProducer;
  private readonly plans = new Map<string, InputRoutePlan>();
  /** Topic, key and record shape per followed file (SourceFile.key); rebuilt on reload. */
  private routes = new Map<string, FileRoute>();
  /**
   * Commit order per file identity, not per SourceFile: a file handed from one tailer to the
   * next (reload) keeps one window, so no commit can overtake an older batch still in flight.
   */
  private readonly windows = new Map<string, AckWindow<FileRoute>>();
  /** Records that could not be handed to librdkafka yet (local queue full), in order. */
  private backlog: Pending[] = [];
  private backlogTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private outstandingTickets = 0;
  private drainWaiters: Array<() => void> = [];
  private stopping = false;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly env: NodeJS.ProcessEnv;
  private config: AgentConfig;

  constructor(private readonly opts: ShipperOptions) {
    this.log = opts.log.child({ module: 'shipper' });
    this.now = opts.now ?? Date.now;
    this.env = opts.env ?? process.env;
    this.stats = opts.stats ?? newShipperStats();
    this.stats.connected = false;
    this.stats.reachable = false;
    this.config = opts.config;
    this.gate = new InFlightGate(opts.config.kafka.max_in_flight_bytes);
    for (const input of opts.config.inputs) this.plans.set(input.id, planInput(input));
    this.create = opts.createProducer ?? ((conf: LibrdkafkaConfig) => new Kafka.Producer(conf));
    this.log.info({ librdkafka: redactLibrdkafkaConfig(opts.librdkafka) }, 'producer configuration');
    this.producer = this.newProducer();
  }

  /**
   * A fresh client for each connection attempt: the binding registers its callbacks again on
   * every connect() of the same instance, after which each delivery report would arrive twice
   * (acknowledging tickets early: offsets committed before Kafka has every record).
   */
  private newProducer(): NativeProducer {
    const producer = this.create(this.opts.librdkafka);
    producer.on('delivery-report', (err, report) => this.onDelivery(err, report.opaque as ShipTicket));
    producer.on('event.log', (entry: { severity: number; fac: string; message: string }) => {
      // syslog severities: 0-3 error, 4 warning, 5-6 notice/info, 7 debug
      const level = entry.severity <= 3 ? 'error' : entry.severity === 4 ? 'warn' : entry.severity <= 6 ? 'info' : 'debug';
      this.log[level]({ librdkafka: entry.fac }, entry.message);
    });
    producer.on('event.error', (err) => {
      this.stats.lastError = err.message;
      this.log.warn({ code: err.code, err: err.message }, 'kafka client error (librdkafka keeps retrying)');
    });
    return producer;
  }

  /** Connects in the background: an unreachable Kafka at startup is a warning, not a failure. */
  start(): void {
    this.connect(1_000);
    this.sweepTimer = setInterval(() => this.sweepIdle(), ROUTE_IDLE_MS).unref();
  }

  private connect(retryMs: number): void {
    if (this.stopping) return;
    this.producer.connect({ timeout: CONNECT_TIMEOUT_MS }, (err) => {
      if (this.stopping) return;
      if (err) {
        this.stats.lastError = err.message;
        this.log.warn({ brokers: this.opts.librdkafka['bootstrap.servers'], err: err.message, retryInMs: retryMs }, 'Kafka is unreachable; tailers wait, nothing is lost, retrying');
        // Nothing was produced yet (the gate opens only once connected): a new client is safe.
        this.producer = this.newProducer();
        this.connectTimer = setTimeout(() => this.connect(Math.min(retryMs * 2, 30_000)), retryMs);
        return;
      }
      this.log.info({ brokers: this.opts.librdkafka['bootstrap.servers'] }, 'connected to Kafka');
      this.stats.connected = true;
      // Delivery reports are dispatched as soon as librdkafka has them; a poll timer would add
      // its period to every line's latency.
      const p = this.producer as NativeProducer & { setPollInBackground?: (on: boolean) => void };
      if (typeof p.setPollInBackground === 'function') p.setPollInBackground(true);
      else this.producer.setPollInterval(5);
      this.gate.setConnected(true);
      this.stats.reachable = true;
      this.probeTimer = setInterval(() => this.probe(), PROBE_EVERY_MS).unref();
    });
  }

  /**
   * A metadata request with a short deadline tells a stalled or vanished cluster apart from a
   * quiet one: librdkafka itself keeps a frozen broker's connection "up" for a long time.
   */
  private probe(): void {
    if (this.probing || this.stopping) return;
    this.probing = true;
    this.producer.getMetadata({ timeout: PROBE_TIMEOUT_MS }, (err) => {
      this.probing = false;
      const reachable = !err;
      if (reachable !== this.stats.reachable) {
        if (reachable) this.log.info('Kafka answers again');
        else this.log.warn({ err: err?.message }, 'Kafka does not answer (down or stalled): not ready; lines wait in the files');
      }
      this.stats.reachable = reachable;
    });
  }

  /** The BatchSink handed to the tailer. Never throws for Kafka reasons. */
  readonly ship = (batch: LineBatch): void => {
    if (batch.lines.length === 0) return;
    const route = this.route(batch.source);
    if (!route) return;
    // Memory, not just payload: each record also costs librdkafka's copy and message header
    // and our own bookkeeping, which dominate for short lines.
    let bytes = batch.lines.length * RECORD_MEMORY_OVERHEAD;
    for (const line of batch.lines) bytes += line.length;
    const now = this.now();
    route.lastUsed = now;
    const ticket = this.windowFor(batch.source).open(batch, bytes, route, now);
    this.outstandingTickets++;
    this.gate.add(bytes);
    this.enqueue({ ticket, next: 0 });
  };

  private windowFor(source: SourceFile): AckWindow<FileRoute> {
    const key = identityKey(source.identity);
    let window = this.windows.get(key);
    if (!window) {
      window = new AckWindow<FileRoute>();
      this.windows.set(key, window);
    }
    return window;
  }

  private route(source: SourceFile): FileRoute | null {
    const existing = this.routes.get(source.key);
    if (existing) return existing;
    const plan = this.plans.get(source.input);
    if (!plan) {
      this.log.error({ input: source.input, path: source.path }, 'batch from an unknown input dropped (internal error)');
      return null;
    }
    const route = new FileRoute(source, plan, this.config.agent.name, this.env);
    this.routes.set(source.key, route);
    this.log.debug({ path: source.path, topic: route.topic }, 'file routed to topic');
    return route;
  }

  private enqueue(p: Pending): void {
    if (this.backlog.length > 0) {
      this.backlog.push(p);
      return;
    }
    if (!this.produceFrom(p)) {
      this.backlog.push(p);
      this.scheduleBacklog();
    }
  }

  /** Produces the rest of a ticket. False when librdkafka's queue is full (try again later). */
  private produceFrom(p: Pending): boolean {
    const { ticket } = p;
    const route = ticket.via;
    const batch = ticket.batch;
    const n = batch.lines.length;
    const iso = route.input.format === 'json' ? new Date(this.now()).toISOString() : '';
    let produced = 0;
    try {
      for (; p.next < n; p.next++) {
        const i = p.next;
        try {
          this.producer.produce(route.topic, null, route.value(batch, i, iso), route.key, null, ticket, route.headers(batch, i));
          produced++;
        } catch (e) {
          const code = (e as { code?: number }).code ?? -1;
          if (code === codes.ERR__QUEUE_FULL) return false;
          if (SKIP_RECORD.has(code)) this.skipRecord(route, batch, i, e as Error);
          else this.recordFailed(route, ticket, e as Error);
          this.settleOne(ticket);
        }
      }
      return true;
    } finally {
      if (produced > 0) bump(this.stats.produced, route.topic, produced);
    }
  }

  private scheduleBacklog(): void {
    if (this.backlogTimer) return;
    this.backlogTimer = setTimeout(() => {
      this.backlogTimer = null;
      while (this.backlog.length > 0) {
        if (!this.produceFrom(this.backlog[0]!)) {
          this.scheduleBacklog();
          return;
        }
        this.backlog.shift();
      }
    }, 10);
  }

  private onDelivery(err: { code: number; message: string } | null | undefined, ticket: ShipTicket): void {
    const route = ticket.via;
    if (err) {
      if (SKIP_RECORD.has(err.code)) this.skipRecord(route, ticket.batch, -1, err);
      else this.recordFailed(route, ticket, err);
    } else {
      bump(this.stats.acked, route.topic, 1);
    }
    this.settleOne(ticket);
  }

  /** One record of the ticket is settled (acknowledged, skipped or failed). */
  private settleOne(ticket: ShipTicket): void {
    if (--ticket.remaining > 0) return;
    const source = ticket.batch.source;
    const route = ticket.via;
    if (ticket.failed > 0) {
      if (!this.stopping) this.retryTicket(route, ticket);
      // Stopping: librdkafka purges what it still holds. A failed ticket is never committed;
      // its lines are read again at the next start (or by the next producer after a reload).
      return;
    }
    if (route.failures > 0) {
      route.failures = 0;
      this.gate.unhold(source);
      this.log.info({ path: source.path, topic: route.topic }, 'deliveries to the topic succeed again');
    }
    this.gate.release(ticket.bytes);
    this.outstandingTickets--;
    const position = ticket.window.complete(ticket);
    if (position) this.opts.onCommit(source, position);
    if (this.outstandingTickets === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Produces a whole ticket again after a backoff; its file is held back meanwhile. */
  private retryTicket(route: FileRoute, ticket: ShipTicket): void {
    route.failures++;
    this.gate.hold(route.source);
    const { backoff, backoff_max } = this.config.kafka.retries;
    const delay = Math.min(backoff_max, backoff * 2 ** Math.min(route.failures - 1, 20));
    setTimeout(() => {
      ticket.failed = 0;
      ticket.remaining = ticket.batch.lines.length;
      this.enqueue({ ticket, next: 0 });
    }, delay);
  }

  private recordFailed(route: FileRoute, ticket: ShipTicket, err: { code?: number; message: string }): void {
    ticket.failed++;
    bump(this.stats.failed, route.topic, 1);
    const now = this.now();
    if (now - route.lastErrorLogAt >= ERROR_LOG_EVERY_MS) {
      route.lastErrorLogAt = now;
      this.log.error(
        { path: route.source.path, topic: route.topic, code: err.code, err: err.message, fromOffset: ticket.batch.startOffset, toOffset: ticket.batch.endOffset },
        this.config.kafka.topic_create === 'never' && (err.code === codes.ERR__UNKNOWN_TOPIC || err.code === codes.ERR_UNKNOWN_TOPIC_OR_PART)
          ? 'topic does not exist and topic_create is never: this file waits (others keep flowing); create the topic'
          : 'delivery failed; this file waits and retries (others keep flowing)',
      );
    }
  }

  private skipRecord(route: FileRoute, batch: LineBatch, index: number, err: { code?: number; message: string }): void {
    bump(this.stats.skipped, route.topic, 1);
    const where = index >= 0 ? { offset: index === 0 ? batch.startOffset : batch.ends[index - 1], bytes: batch.lines[index]!.length } : { fromOffset: batch.startOffset, toOffset: batch.endOffset };
    this.log.error({ path: route.source.path, topic: route.topic, code: err.code, err: err.message, ...where }, 'record rejected permanently by Kafka: skipped (counted in records_skipped)');
  }

  /**
   * Forgets files idle for a while (rebuilt on their next batch), so months of rotations do not
   * accumulate. In-flight tickets keep their own route reference; a window goes only when empty.
   */
  private sweepIdle(): void {
    const cutoff = this.now() - ROUTE_IDLE_MS;
    for (const [key, window] of this.windows) {
      if (window.outstanding === 0 && window.lastUsed < cutoff) this.windows.delete(key);
    }
    for (const [key, route] of this.routes) {
      if (route.lastUsed < cutoff) this.routes.delete(key);
    }
  }

  /**
   * Reload: new inputs (topics, keys, formats) for batches shipped from now on. Batches in
   * flight finish with the route they were produced with; commit order is kept per identity.
   */
  updateConfig(config: AgentConfig): void {
    this.config = config;
    this.plans.clear();
    for (const input of config.inputs) this.plans.set(input.id, planInput(input));
    this.routes = new Map();
  }

  get inFlightBytes(): number {
    return this.gate.inFlightBytes;
  }

  get outstanding(): number {
    return this.outstandingTickets;
  }

  /** Resolves true when every batch shipped so far is acknowledged, false at the deadline. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.outstandingTickets === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops producing and disconnects. Call drain() first for a clean stop. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.gate.stop();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (!this.stats.connected) return;
    const deadline = Math.max(100, timeoutMs);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, deadline + 1_000);
      this.producer.disconnect(deadline, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.stats.connected = false;
  }
}

function bump(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}
