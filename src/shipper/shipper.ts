// Shipper: turns LineBatches into Kafka records through logship's batch producer (one native
// call per read chunk, delivery outcomes aggregated per ticket; see native-producer.ts) and
// reports, per file, the offset up to which Kafka has acknowledged every line. At-least-once:
// a record is only ever given up on for a permanent, per-record reason (too large, not
// authorised), and that is logged and counted — or, with kafka.dead_letter_topic, produced
// there, the file's offset passing it only once the dead letter is acknowledged.

import type { Logger } from 'pino';
import type { AgentConfig } from '../config/types.js';
import type { SourceFile } from '../core/file.js';
import type { LineBatch } from '../core/batch.js';
import { AckWindow, type CommittedPosition, type Ticket } from './ack-window.js';
import { identityKey } from '../core/file.js';
import { InFlightGate } from './in-flight-gate.js';
import { createNativeProducer, DETAIL_INTS, ENTRY_INTS, librdkafkaErrorString, type BatchProducer, type DeliveryOutcomes, type HeaderSpec, type ProducerListener } from './native-producer.js';
import { RECORD_MEMORY_OVERHEAD, redactLibrdkafkaConfig, type LibrdkafkaConfig } from './producer-config.js';
import { FileRoute, keep, lineStartOffsets, planInput, recordCount, recordStart, type InputRoutePlan, type RecordValues } from './route.js';
import { parseKafkaStatistics, type KafkaStatistics } from './statistics.js';
import { errorCodes } from './binding.js';
import { deadLetter } from './dead-letter.js';

let skipRecord: ReadonlySet<number> | null = null;

/**
 * Errors that concern one record only: skip it (logged, counted), never block the file. Read
 * from the binding on first use, not at import: the binding's table loads its native module,
 * which the startup snapshot (src/cli/snapshot.ts) cannot hold.
 */
export function skipRecordCodes(): ReadonlySet<number> {
  if (skipRecord !== null) return skipRecord;
  const codes = errorCodes();
  return (skipRecord = new Set<number>([
    codes.ERR_MSG_SIZE_TOO_LARGE,
    codes.ERR_TOPIC_AUTHORIZATION_FAILED,
    codes.ERR_INVALID_RECORD,
    codes.ERR_INVALID_MSG,
    codes.ERR_RECORD_LIST_TOO_LARGE,
  ]));
}

export type CommitListener = (source: SourceFile, position: CommittedPosition) => void;

export interface ShipperStats {
  produced: Map<string, number>; // per topic
  acked: Map<string, number>;
  failed: Map<string, number>; // delivery attempts that failed and will be retried
  skipped: Map<string, number>; // records given up for a permanent per-record error
  deadLettered: Map<string, number>; // per original topic: refused records acknowledged in the dead-letter topic
  connected: boolean;
  /** The last metadata probe was answered in time: Kafka is neither down nor stalled. */
  reachable: boolean;
  lastError: string | null;
  /** Producers replaced after a fatal librdkafka error. */
  producerRestarts: number;
  /** From librdkafka's statistics (statistics.interval.ms); null until the first report. */
  kafka: KafkaStatistics | null;
}

export function newShipperStats(): ShipperStats {
  return { produced: new Map(), acked: new Map(), failed: new Map(), skipped: new Map(), deadLettered: new Map(), connected: false, reachable: false, lastError: null, producerRestarts: 0, kafka: null };
}

/** Creates the producer for a configuration; a seam for tests (fakes, wrappers). */
export type ProducerFactory = (conf: LibrdkafkaConfig, permanentCodes: readonly number[], listener: ProducerListener) => BatchProducer;

export interface ShipperOptions {
  config: AgentConfig;
  /** Counters to add to (kept across producer swaps on reload); fresh ones by default. */
  stats?: ShipperStats;
  librdkafka: LibrdkafkaConfig;
  log: Logger;
  onCommit: CommitListener;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  createProducer?: ProducerFactory;
}

/** What the shipper keeps with each ticket: the file's route and the id records carry. */
interface ShipVia {
  route: FileRoute;
  id: number;
  /** Records of the ticket's batch. */
  records: number;
  /** Raw lines: their values (the batch's own bounds into its read chunk), taken once. Null: built per attempt. */
  values: RecordValues | null;
  /** Each record's file offset, when headers need them (raw lines: taken once). */
  offsets: Float64Array | null;
}

type ShipTicket = Ticket<ShipVia>;

/**
 * A refused record on its way to the dead-letter topic. Its ticket counts it as unsettled
 * until the dead letter is acknowledged (or refused in turn): only then may the file's
 * offset pass it.
 */
interface PendingDeadLetter {
  /** The id its one record carries through librdkafka (from the tickets' id space). */
  id: number;
  ticket: ShipTicket;
  index: number;
  /** The original refusal. */
  err: { code: number; message: string };
  value: Buffer;
  bounds: Uint32Array;
  headers: HeaderSpec;
  /** Consecutive failed attempts (backoff like a ticket's). */
  failures: number;
}

/** One produce attempt of a ticket, possibly spread over several calls (QUEUE_FULL). */
interface Pending {
  ticket: ShipTicket;
  /** Index of the next line of the ticket's batch to produce. */
  next: number;
  /** Built at the attempt's first call; kept until every record is handed over. */
  values: RecordValues | null;
  offsets: Float64Array | null;
}

const ROUTE_IDLE_MS = 60_000;
const PROBE_EVERY_MS = 2_000;
/**
 * One connection attempt (metadata request). Kept short: an attempt in progress cannot be
 * cancelled, and process exit waits for it, so it bounds how far a stop can overrun.
 */
const CONNECT_TIMEOUT_MS = 2_000;
const PROBE_TIMEOUT_MS = 3_000;
const ERROR_LOG_EVERY_MS = 10_000;
/** Retry of records librdkafka's queue had no room for, when no delivery report wakes us. */
const BACKLOG_RETRY_MS = 20;
/** Extra time for close() beyond its flush deadline (purge and serve every report). */
const CLOSE_GRACE_MS = 5_000;
const TICKET_ID_MASK = 0x7fffffff;

export class Shipper {
  readonly gate: InFlightGate;
  readonly stats: ShipperStats;
  private producer: BatchProducer;
  /** Topic handles of the current producer. */
  private topicIds = new Map<string, number>();
  /** Producers replaced after a fatal error, still handing back their records' outcomes. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly create: ProducerFactory;
  /** Tickets by the id their records carry through librdkafka. */
  private readonly tickets = new Map<number, ShipTicket>();
  /** Dead letters produced and not settled yet, by the id their record carries. */
  private readonly deadLetters = new Map<number, PendingDeadLetter>();
  private deadLetterErrorLogAt = -Infinity;
  private nextTicketId = 1;
  private readonly plans = new Map<string, InputRoutePlan>();
  /** Topic, key and record shape per followed file (SourceFile.key); rebuilt on reload. */
  private routes = new Map<string, FileRoute>();
  /**
   * Commit order per file identity, not per SourceFile: a file handed from one tailer to the
   * next (reload) keeps one window, so no commit can overtake an older batch still in flight.
   */
  private readonly windows = new Map<string, AckWindow<ShipVia>>();
  /** Records that could not be handed to librdkafka yet (local queue full), in order. */
  private backlog: Pending[] = [];
  private backlogTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private outstandingTickets = 0;
  /** Produce attempts stopped short by librdkafka's full queue, and delivery hand-overs (traces). */
  private queueFullStops = 0;
  private handOvers = 0;
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
    this.create = opts.createProducer ?? createNativeProducer;
    this.log.info({ librdkafka: redactLibrdkafkaConfig(opts.librdkafka) }, 'producer configuration');
    this.producer = this.newProducer();
  }

  private newProducer(): BatchProducer {
    const listener: ProducerListener = {
      outcomes: (o) => this.onOutcomes(o),
      log: (severity, facility, message) => {
        // syslog severities: 0-3 error, 4 warning, 5-6 notice/info, 7 debug
        const level = severity <= 3 ? 'error' : severity === 4 ? 'warn' : severity <= 6 ? 'info' : 'debug';
        this.log[level]({ librdkafka: facility }, message);
      },
      error: (code, name, reason) => {
        this.stats.lastError = reason;
        this.log.warn({ code, name, err: reason }, 'kafka client error (librdkafka keeps retrying)');
      },
      fatal: (code, name, reason) => this.onFatal(code, name, reason),
      stats: (json) => {
        const parsed = parseKafkaStatistics(json);
        if (parsed) this.stats.kafka = parsed;
      },
    };
    const producer = this.create(this.opts.librdkafka, [...skipRecordCodes()], listener);
    this.topicIds = new Map();
    return producer;
  }

  /**
   * A fatal librdkafka error (idempotence fenced, ...): this producer can produce no more.
   * A new one takes over; the old one purges what it holds, so every record it had comes back
   * failed on its ticket and is produced again by the new one — nothing unacknowledged is
   * committed.
   */
  private onFatal(code: number, name: string, reason: string): void {
    this.stats.lastError = reason;
    if (this.stopping) {
      this.log.error({ code, name, err: reason }, 'fatal librdkafka error while stopping');
      return;
    }
    this.stats.producerRestarts++;
    this.log.error({ code, name, err: reason }, 'fatal librdkafka error: replacing the producer; unacknowledged lines are produced again (nothing lost)');
    const old = this.producer;
    this.producer = this.newProducer();
    const closing = old.close(0).catch((err: unknown) => this.log.error({ err }, 'closing the failed producer'));
    this.retiring.add(closing);
    void closing.finally(() => this.retiring.delete(closing));
    this.drainBacklog();
  }

  /**
   * Opens the gate and connects in the background: an unreachable Kafka at startup is a warning,
   * not a failure. Readers do not wait for the first answer: librdkafka holds their records until
   * its brokers answer, within the gate's bound (see in-flight-gate.ts).
   */
  start(): void {
    this.gate.start();
    this.connect(1_000);
    this.sweepTimer = setInterval(() => this.sweepIdle(), ROUTE_IDLE_MS).unref();
  }

  private connect(retryMs: number): void {
    if (this.stopping) return;
    this.producer.metadata(CONNECT_TIMEOUT_MS).then(
      () => {
        if (this.stopping) return;
        this.log.info({ brokers: this.opts.librdkafka['bootstrap.servers'] }, 'connected to Kafka');
        this.stats.connected = true;
        this.stats.reachable = true;
        this.probeTimer = setInterval(() => this.probe(), PROBE_EVERY_MS).unref();
      },
      (err: Error) => {
        if (this.stopping) return;
        this.stats.lastError = err.message;
        this.log.warn({ brokers: this.opts.librdkafka['bootstrap.servers'], err: err.message, retryInMs: retryMs }, 'Kafka is unreachable; lines wait (up to kafka.max_in_flight_bytes in memory, the rest in the files), nothing is lost, retrying');
        this.connectTimer = setTimeout(() => this.connect(Math.min(retryMs * 2, 30_000)), retryMs);
      },
    );
  }

  /**
   * A metadata request with a short deadline tells a stalled or vanished cluster apart from a
   * quiet one: librdkafka itself keeps a frozen broker's connection "up" for a long time.
   */
  private probe(): void {
    if (this.probing || this.stopping) return;
    this.probing = true;
    const producer = this.producer;
    const answered = (err: Error | null): void => {
      this.probing = false;
      if (producer !== this.producer) return; // replaced meanwhile: its answer says nothing
      const reachable = !err;
      if (reachable !== this.stats.reachable) {
        if (reachable) this.log.info('Kafka answers again');
        else this.log.warn({ err: err?.message }, 'Kafka does not answer (down or stalled): not ready; lines wait in the files');
      }
      this.stats.reachable = reachable;
    };
    producer.metadata(PROBE_TIMEOUT_MS).then(() => answered(null), answered);
  }

  /** The BatchSink handed to the tailer. Never throws for Kafka reasons. */
  readonly ship = (batch: LineBatch): void => {
    const route = this.route(batch.source);
    if (!route) return;
    const records = recordCount(batch);
    if (records === 0) {
      // Every line of it was dropped by a filter: nothing to produce, but its offset is
      // committed in order, once everything before it is acknowledged.
      const ticket = this.windowFor(batch.source).open(batch, 0, { route, id: 0, records: 0, values: null, offsets: null }, this.now());
      const position = ticket.window.complete(ticket, this.opts.onCommit);
      if (position) this.opts.onCommit(batch.source, position);
      return;
    }
    // Memory, not just payload: each record also costs librdkafka's copy and message header
    // and our own bookkeeping, which dominate for short lines.
    let bytes = records * RECORD_MEMORY_OVERHEAD;
    for (let i = 1; i < batch.bounds.length; i += 2) bytes += batch.bounds[i]!;
    const now = this.now();
    route.lastUsed = now;
    const id = this.allocateTicketId();
    // Raw values are the batch's bounds into its read chunk, valid as long as the ticket holds
    // the batch: no object per line is made or kept until Kafka acknowledges them.
    let values: RecordValues | null = null;
    let offsets: Float64Array | null = null;
    if (route.input.format === 'raw') {
      values = route.values(batch, '');
      if (route.headers()) offsets = lineStartOffsets(batch);
    }
    const ticket = this.windowFor(batch.source).open(batch, bytes, { route, id, records, values, offsets }, now, records);
    this.tickets.set(id, ticket);
    this.outstandingTickets++;
    this.gate.add(bytes);
    this.enqueue({ ticket, next: 0, values: null, offsets: null });
  };

  private allocateTicketId(): number {
    let id = this.nextTicketId;
    while (this.tickets.has(id) || this.deadLetters.has(id)) id = (id + 1) & TICKET_ID_MASK;
    this.nextTicketId = (id + 1) & TICKET_ID_MASK;
    return id;
  }

  private windowFor(source: SourceFile): AckWindow<ShipVia> {
    const key = identityKey(source.identity);
    let window = this.windows.get(key);
    if (!window) {
      window = new AckWindow<ShipVia>();
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

  private topicId(topic: string): number {
    let id = this.topicIds.get(topic);
    if (id === undefined) {
      id = this.producer.topic(topic);
      this.topicIds.set(topic, id);
    }
    return id;
  }

  /**
   * Hands the rest of a ticket's records to librdkafka in one call. False when its queue had
   * no room for all of them: `p.next` then says where to resume (always a prefix went).
   */
  private produceFrom(p: Pending): boolean {
    const { ticket } = p;
    const route = ticket.via.route;
    const batch = ticket.batch;
    const n = ticket.via.records;
    if (p.next >= n) return true;
    p.values ??= ticket.via.values ?? route.values(batch, route.input.format === 'json' ? new Date(this.now()).toISOString() : '');
    if (route.input.headers) p.offsets ??= ticket.via.offsets ?? lineStartOffsets(batch);
    const producer = this.producer;
    // Topics and keys routed by line go per record in one call; calls differ only when a
    // stream header changes (one call unless the input has headers and a container parser).
    const topic = route.recordTopicIds(batch, (t) => this.topicId(t)) ?? this.topicId(route.topic);
    const keys = route.recordKeys(batch);
    let run = route.runFrom(batch, p.next);
    const first = p.next;
    for (;;) {
      const consumed = producer.produce(topic, ticket.via.id, p.next, run.end - p.next, p.values.data, p.values.bounds, keys, run.headers, p.offsets);
      p.next += consumed;
      this.afterProduce(p, consumed);
      if (p.next < run.end || p.next >= n) break;
      run = route.runFrom(batch, p.next);
    }
    if (p.next < n) {
      this.queueFullStops++;
      this.log.trace({ topic: route.topic, first, consumed: p.next - first }, 'librdkafka queue full: the rest of the batch waits');
      p.values = keep(p.values); // the next batch's envelopes would overwrite a scratch buffer
      return false;
    }
    p.values = null;
    p.offsets = null;
    return true;
  }

  /** Counts what the last produce call took, and settles what librdkafka refused at once. */
  private afterProduce(p: Pending, consumed: number): void {
    const { ticket } = p;
    const route = ticket.via.route;
    const batch = ticket.batch;
    const producer = this.producer;
    const refused = producer.refused;
    const refusedCount = refused[0]!;
    route.countTopics(batch, p.next - consumed, p.next, this.stats.produced);
    for (let k = 0; k < refusedCount; k++) route.countTopics(batch, refused[1 + 2 * k]!, refused[1 + 2 * k]! + 1, this.stats.produced, -1);
    if (refusedCount > 0) {
      // Refused before queueing (too large, fatal state...): settled now, like a failed delivery
      // (a dead-lettered record once its dead letter is). Copied out first: a dead letter's
      // value may be built in the envelope scratch buffer p.values lives in.
      const list: Array<[index: number, code: number]> = [];
      for (let k = 0; k < refusedCount; k++) list.push([refused[1 + 2 * k]!, refused[2 + 2 * k]!]);
      let settled = 0;
      for (const [index, code] of list) {
        const err = { code, message: librdkafkaErrorString(code) };
        if (!skipRecordCodes().has(code)) {
          this.recordFailed(route, ticket, err, 1);
          settled++;
        } else if (!this.startDeadLetter(ticket, index, err, p.values)) {
          this.skipRecord(route, ticket, index, err);
          settled++;
        }
      }
      this.settle(ticket, settled);
    }
  }

  /**
   * Sends a permanently refused record to the dead-letter topic; false when there is none
   * (the caller skips the record). The record stays unsettled on its ticket until then.
   */
  private startDeadLetter(ticket: ShipTicket, index: number, err: { code: number; message: string }, values: RecordValues | null): boolean {
    const topic = this.config.kafka.dead_letter_topic;
    if (topic === null) return false;
    // Stopping: left unsettled, so its ticket is never committed and the line is read (and
    // dead-lettered) again at the next start.
    if (this.stopping) return true;
    const route = ticket.via.route;
    const batch = ticket.batch;
    let value: Uint8Array;
    values ??= ticket.via.values;
    if (values) {
      const bytes = values.data instanceof Uint8Array ? values.data : new Uint8Array(values.data);
      value = bytes.subarray(values.bounds[2 * index]!, values.bounds[2 * index]! + values.bounds[2 * index + 1]!);
    } else {
      value = route.valueOf(batch, index, route.input.format === 'json' ? new Date(this.now()).toISOString() : '');
    }
    const offset = recordStart(batch, index);
    const letter = deadLetter({ topic: route.topicOf(batch, index), input: route.source.input, host: route.host, path: route.source.path, offset, code: err.code, message: err.message, value, key: route.keyOf(batch, index) }, this.config.kafka.max_message_bytes);
    const id = this.allocateTicketId();
    const pending: PendingDeadLetter = { id, ticket, index, err, value: letter.value, bounds: Uint32Array.of(0, letter.value.length), headers: letter.headers, failures: 0 };
    this.deadLetters.set(id, pending);
    this.log.warn({ path: route.source.path, topic: route.topicOf(batch, index), offset, code: err.code, err: err.message, deadLetterTopic: topic }, 'record rejected permanently by Kafka: sent to the dead-letter topic');
    this.produceDeadLetter(pending);
    return true;
  }

  private produceDeadLetter(d: PendingDeadLetter): void {
    if (this.stopping) return;
    const topic = this.config.kafka.dead_letter_topic;
    if (topic === null) {
      // Turned off by a reload meanwhile: today's behaviour for this record.
      this.deadLetterSettled(d, { code: d.err.code, message: 'kafka.dead_letter_topic was turned off' });
      return;
    }
    const producer = this.producer;
    const consumed = producer.produce(this.topicId(topic), d.id, 0, 1, d.value, d.bounds, d.ticket.via.route.keyOf(d.ticket.batch, d.index), d.headers, null);
    if (consumed === 0) {
      setTimeout(() => this.produceDeadLetter(d), BACKLOG_RETRY_MS); // librdkafka's queue is full
      return;
    }
    if (producer.refused[0]! > 0) {
      const code = producer.refused[2]!;
      this.deadLetterFailed(d, { code, message: librdkafkaErrorString(code) }, skipRecordCodes().has(code));
      return;
    }
    bump(this.stats.produced, topic, 1);
  }

  /** The dead letter failed: retried after a backoff, or (refused for good) the record is skipped. */
  private deadLetterFailed(d: PendingDeadLetter, err: { code: number; message: string }, permanent: boolean): void {
    const topic = this.config.kafka.dead_letter_topic ?? '';
    if (permanent) {
      this.log.error({ deadLetterTopic: topic, code: err.code, err: err.message }, 'the dead-letter topic refused the dead letter too: the record is skipped');
      this.deadLetterSettled(d, d.err);
      return;
    }
    bump(this.stats.failed, topic, 1);
    d.failures++;
    // The file waits, like a failing ticket's: reading on would pile its later batches up in
    // the commit window behind the record (memory), with nothing committed.
    this.gate.hold(d.ticket.batch.source);
    const { backoff, backoff_max } = this.config.kafka.retries;
    const delay = Math.min(backoff_max, backoff * 2 ** Math.min(d.failures - 1, 20));
    const now = this.now();
    if (now - this.deadLetterErrorLogAt >= ERROR_LOG_EVERY_MS) {
      this.deadLetterErrorLogAt = now;
      this.log.warn({ deadLetterTopic: topic, code: err.code, err: err.message, retryInMs: delay, pending: this.deadLetters.size }, 'dead letter not delivered; retrying (its file does not commit past the record meanwhile)');
    }
    setTimeout(() => this.produceDeadLetter(d), delay);
  }

  /** The dead letter is done: acknowledged (`skipped` null) or given up, the record skipped. */
  private deadLetterSettled(d: PendingDeadLetter, skipped: { code: number; message: string } | null): void {
    this.deadLetters.delete(d.id);
    const route = d.ticket.via.route;
    const source = d.ticket.batch.source;
    if (d.failures > 0 && route.failures === 0 && ![...this.deadLetters.values()].some((o) => o.failures > 0 && o.ticket.batch.source.key === source.key)) {
      this.gate.unhold(source);
      this.log.info({ path: source.path, deadLetterTopic: this.config.kafka.dead_letter_topic }, 'dead letters are delivered again');
    }
    if (skipped) this.skipRecord(route, d.ticket, d.index, skipped);
    else bump(this.stats.deadLettered, route.topicOf(d.ticket.batch, d.index), 1);
    this.settle(d.ticket, 1);
  }

  private scheduleBacklog(): void {
    if (this.backlogTimer || this.stopping) return;
    this.backlogTimer = setTimeout(() => {
      this.backlogTimer = null;
      this.drainBacklog();
    }, BACKLOG_RETRY_MS);
  }

  /** Produces waiting records, oldest first, until librdkafka's queue is full again. */
  private drainBacklog(): void {
    while (this.backlog.length > 0 && !this.stopping) {
      if (!this.produceFrom(this.backlog[0]!)) {
        this.scheduleBacklog();
        return;
      }
      this.backlog.shift();
    }
  }

  /** Delivery outcomes of many records, aggregated per ticket by the native poll thread. */
  private onOutcomes(o: DeliveryOutcomes): void {
    this.handOvers++;
    // Records refused for good that went to the dead-letter topic, per ticket id: settled when
    // their dead letter is, not with this report's other outcomes.
    let lettered: Map<number, number> | null = null;
    for (let k = 0; k < o.detailCount; k++) {
      const row = k * DETAIL_INTS;
      const code = o.details[row + 2]!;
      if (!skipRecordCodes().has(code)) continue;
      const ticket = this.tickets.get(o.details[row]!);
      if (!ticket) continue;
      const err = { code, message: librdkafkaErrorString(code) };
      if (this.startDeadLetter(ticket, o.details[row + 1]!, err, null)) {
        lettered ??= new Map();
        lettered.set(ticket.via.id, (lettered.get(ticket.via.id) ?? 0) + 1);
      } else {
        this.logSkipped(ticket.via.route, ticket, o.details[row + 1]!, err);
      }
    }
    for (let k = 0; k < o.entryCount; k++) {
      const row = k * ENTRY_INTS;
      const id = o.entries[row]!;
      const acked = o.entries[row + 1]!;
      const failed = o.entries[row + 2]!;
      const deferred = lettered?.get(id) ?? 0;
      const skipped = o.entries[row + 3]! - deferred;
      const letter = this.deadLetters.get(id);
      if (letter) {
        const code = o.entries[row + 4]!;
        const topic = this.config.kafka.dead_letter_topic ?? '';
        if (acked > 0) {
          bump(this.stats.acked, topic, acked);
          this.deadLetterSettled(letter, null);
        } else if (failed + skipped > 0) this.deadLetterFailed(letter, { code, message: librdkafkaErrorString(code) }, skipped > 0);
        continue;
      }
      const ticket = this.tickets.get(id);
      if (!ticket) {
        this.log.error({ ticket: id, records: acked + failed + skipped }, 'delivery report for an unknown batch (internal error); ignored');
        continue;
      }
      const route = ticket.via.route;
      if (acked > 0) route.countAcknowledged(ticket.batch, acked, this.stats.acked);
      if (skipped > 0) bump(this.stats.skipped, route.topic, skipped);
      if (failed > 0) {
        const code = o.entries[row + 4]!;
        this.recordFailed(route, ticket, { code, message: librdkafkaErrorString(code) }, failed);
      }
      this.settle(ticket, acked + failed + skipped);
    }
    if (o.detailsDropped > 0) this.log.warn({ records: o.detailsDropped }, 'more failed records than described individually in one report (counted in the metrics)');
    if (this.backlog.length > 0 && !this.backlogTimer) this.drainBacklog();
  }

  /** `n` records of the ticket are settled (acknowledged, skipped, dead-lettered or failed). */
  private settle(ticket: ShipTicket, n: number): void {
    ticket.remaining -= n;
    if (ticket.remaining > 0 || n === 0) return;
    const source = ticket.batch.source;
    const route = ticket.via.route;
    if (ticket.failed > 0) {
      if (!this.stopping) this.retryTicket(route, ticket);
      // Stopping: the producer purges what it still holds. A failed ticket is never committed;
      // its lines are read again at the next start (or by the next producer after a reload).
      else this.tickets.delete(ticket.via.id);
      return;
    }
    this.tickets.delete(ticket.via.id);
    if (route.failures > 0) {
      route.failures = 0;
      this.gate.unhold(source);
      this.log.info({ path: source.path, topic: route.topic }, 'deliveries to the topic succeed again');
    }
    this.gate.release(ticket.bytes);
    this.outstandingTickets--;
    // Each epoch's end is committed too: a copytruncate copy holds it (see AckWindow.complete).
    const position = ticket.window.complete(ticket, this.opts.onCommit);
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
      if (this.stopping) {
        this.tickets.delete(ticket.via.id);
        return;
      }
      ticket.failed = 0;
      ticket.remaining = ticket.via.records;
      this.enqueue({ ticket, next: 0, values: null, offsets: null });
    }, delay);
  }

  private recordFailed(route: FileRoute, ticket: ShipTicket, err: { code?: number; message: string }, records: number): void {
    ticket.failed += records;
    bump(this.stats.failed, route.topic, records);
    const now = this.now();
    if (now - route.lastErrorLogAt >= ERROR_LOG_EVERY_MS) {
      route.lastErrorLogAt = now;
      this.log.error(
        { path: route.source.path, topic: route.topic, code: err.code, err: err.message, fromOffset: ticket.batch.startOffset, toOffset: ticket.batch.endOffset },
        this.config.kafka.topic_create === 'never' && (err.code === errorCodes().ERR__UNKNOWN_TOPIC || err.code === errorCodes().ERR_UNKNOWN_TOPIC_OR_PART)
          ? 'topic does not exist and topic_create is never: this file waits (others keep flowing); create the topic'
          : 'delivery failed; this file waits and retries (others keep flowing)',
      );
    }
  }

  private skipRecord(route: FileRoute, ticket: ShipTicket, index: number, err: { code?: number; message: string }): void {
    bump(this.stats.skipped, route.topicOf(ticket.batch, index), 1);
    this.logSkipped(route, ticket, index, err);
  }

  private logSkipped(route: FileRoute, ticket: ShipTicket, index: number, err: { code?: number; message: string }): void {
    const { batch, via } = ticket;
    const bytes = (i: number): number => (via.values ? via.values.bounds[2 * i + 1]! : batch.bounds[2 * i + 1]!);
    const where = index >= 0 && index < via.records ? { offset: recordStart(batch, index), bytes: bytes(index) } : { fromOffset: batch.startOffset, toOffset: batch.endOffset };
    this.log.error({ path: route.source.path, topic: route.topicOf(batch, index), code: err.code, err: err.message, ...where }, 'record rejected permanently by Kafka: skipped (counted in records_skipped)');
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

  /** Where the pipeline stands now, for a timeline trace (LOGSHIP_TRACE_FILE, see pipeline-trace.ts). */
  traceSample(): ShipperTraceSample {
    const producer = this.producer as BatchProducer & { outqLen?: () => number };
    return {
      produced: total(this.stats.produced),
      acked: total(this.stats.acked),
      inFlightBytes: this.gate.inFlightBytes,
      gateOpen: this.gate.isOpen(),
      gateClosings: this.gate.closings,
      tickets: this.outstandingTickets,
      backlog: this.backlog.length,
      queueFullStops: this.queueFullStops,
      handOvers: this.handOvers,
      librdkafkaQueue: typeof producer.outqLen === 'function' ? producer.outqLen() : -1,
    };
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

  /**
   * Stops producing and closes the producer: flushes until the deadline, then purges; every
   * record still held comes back failed on its ticket, and a failed ticket is never committed
   * (its lines are read again at the next start). Call drain() first for a clean stop.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.gate.stop();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.backlog = [];
    const deadline = Math.max(0, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const closed = Promise.all([this.producer.close(deadline), ...this.retiring]).then(() => true);
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadline + CLOSE_GRACE_MS);
    });
    const inTime = await Promise.race([closed, late]);
    clearTimeout(timer);
    if (!inTime) this.log.warn({ waitedMs: deadline + CLOSE_GRACE_MS }, 'librdkafka did not close in time; going on (unacknowledged lines are read again at next start)');
    this.stats.connected = false;
  }
}

/** One sample of the shipper's side of the pipeline (see Shipper.traceSample). */
export interface ShipperTraceSample {
  /** Records handed to librdkafka, all topics. */
  produced: number;
  acked: number;
  inFlightBytes: number;
  gateOpen: boolean;
  /** Times the gate closed on kafka.max_in_flight_bytes so far. */
  gateClosings: number;
  /** Tickets not settled yet. */
  tickets: number;
  /** Tickets waiting for room in librdkafka's queue. */
  backlog: number;
  /** Produce attempts stopped short by QUEUE_FULL so far. */
  queueFullStops: number;
  /** Delivery-outcome hand-overs from the poll thread so far. */
  handOvers: number;
  /** rd_kafka_outq_len: messages, requests and events librdkafka holds (-1: unknown). */
  librdkafkaQueue: number;
}

function total(map: Map<string, number>): number {
  let sum = 0;
  for (const n of map.values()) sum += n;
  return sum;
}

function bump(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}
