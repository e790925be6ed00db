// The hot path's producer: logship's own N-API addon (native/, package @logship/native) over
// the librdkafka that @confluentinc/kafka-javascript builds. One call produces a whole read
// chunk; delivery outcomes come back aggregated per ticket in typed arrays from a native
// poll thread (see native/src/producer.c for the threads and the hand-over).
//
// One librdkafka per process: the dynamic loader binds the addon's librdkafka.so.1 to
// whichever copy is loaded first, so the binding is loaded first (loadBinding) and the
// result is checked — file, version, and that no second copy is mapped — before anything runs.

import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadBinding } from './binding.js';
import type { LibrdkafkaConfig } from './producer-config.js';

const require = createRequire(import.meta.url);

/** The addon's surface (native/src/producer.c). */
interface Addon {
  Producer: new (conf: string[], permanentCodes: Int32Array, onEvents: EventsCallback, stickyKeyless: boolean) => AddonProducer;
  MockCluster: new (brokers: number) => AddonMockCluster;
  librdkafka(): { path: string; version: string; versionInt: number; compiledVersionInt: number };
  errorString(code: number): string;
  jsonEnvelopes(data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, count: number, offsets: Float64Array, head: Uint8Array, middle: Uint8Array, tail: Uint8Array, outBounds: Uint32Array, scratch: Buffer | null): Buffer;
  constants: { ENTRY_INTS: number; DETAIL_INTS: number };
}

type TextEvent = [kind: number, num: number, a: string | null, b: string | null];
type EventsCallback = (set: number, entries: number, details: number, detailsDropped: number, texts: TextEvent[] | null, textsDropped: number, closed: boolean) => void;

interface AddonProducer {
  readonly outcomeBuffers: [Int32Array, Int32Array, Int32Array, Int32Array];
  readonly immediate: Int32Array;
  topic(name: string): number;
  produce(topic: RecordTopics, ticket: number, first: number, count: number, data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, key: RecordKeys, headers: HeaderSpec | null, offsets: Float64Array | null, timestampMs: number): number;
  metadata(timeoutMs: number, cb: (err: number, brokers: number, message: string) => void): void;
  close(flushMs: number, cb: () => void): void;
  outqLen(): number;
  testFatalError(code: number, reason: string): number;
}

interface AddonMockCluster {
  readonly bootstrap: string;
  pushRequestErrors(apiKey: number, codes: Int32Array): void;
  destroy(): void;
}

/**
 * Record headers for one produce call: [name, value] pairs, then optionally the name of a
 * header carrying each record's file offset (decimal, from the `offsets` argument). A value is
 * the same for every record, or one per record as [data, (start, length) by record index]
 * (headers rendered from a line's fields).
 */
export type HeaderSpec = Array<string | Uint8Array | [Uint8Array, Uint32Array]>;

/** The topic of a produce call's records: one topic id, or one per record (indexed by record index). */
export type RecordTopics = number | Int32Array;

/**
 * The keys of a produce call's records: one key (or null) for all, or one per record as
 * [keyData, keyBounds]: (start, length) pairs into keyData by record index, length NO_KEY for none.
 */
export type RecordKeys = Uint8Array | null | [Uint8Array, Uint32Array];

/** keyBounds length of a record without a key. */
export const NO_KEY = 0xffffffff;

export class NativeProducerError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'NativeProducerError';
  }
}

export class KafkaError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'KafkaError';
  }
}

const REBUILD = 'rebuild it with `bash scripts/setup.sh` or `CKJS_LINKING=dynamic npm rebuild @confluentinc/kafka-javascript @logship/native`';

let addon: Addon | null = null;
let loaded: LoadedLibrdkafka | null = null;

export interface LoadedLibrdkafka {
  /** The librdkafka file mapped into this process (the binding's build/deps/librdkafka.so.1). */
  path: string;
  version: string;
}

/**
 * Loads the addon and proves there is exactly one librdkafka in the process, the binding's,
 * of the version the addon was compiled against. Throws NativeProducerError saying how to
 * rebuild otherwise.
 */
export function loadNativeProducer(): LoadedLibrdkafka {
  if (loaded) return loaded;
  const binding = loadBinding();
  let mod: Addon;
  try {
    mod = require('@logship/native') as Addon;
  } catch (err) {
    throw new NativeProducerError(`the native producer (@logship/native) cannot be loaded: ${(err as Error).message}; ${REBUILD}`, err);
  }
  const info = mod.librdkafka();
  const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
  if (info.versionInt !== info.compiledVersionInt) {
    throw new NativeProducerError(
      `the native producer was compiled against librdkafka ${hex(info.compiledVersionInt)} but ${info.version} (${hex(info.versionInt)}) is loaded from ${info.path}; ${REBUILD}`,
    );
  }
  const expected = bindingLibrdkafka();
  const actual = safeRealpath(info.path);
  if (expected !== null && actual !== expected) {
    throw new NativeProducerError(`the native producer runs librdkafka from ${actual}, not the binding's ${expected}: two librdkafka builds would share this process; ${REBUILD}`);
  }
  const mapped = mappedLibrdkafkas();
  if (mapped.length > 1) {
    throw new NativeProducerError(`${mapped.length} librdkafka files are mapped into this process (${mapped.join(', ')}); exactly one is supported; ${REBUILD}`);
  }
  if (binding.librdkafkaVersion !== info.version) {
    throw new NativeProducerError(`the binding reports librdkafka ${binding.librdkafkaVersion}, the native producer ${info.version}; ${REBUILD}`);
  }
  addon = mod;
  loaded = { path: actual, version: info.version };
  return loaded;
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The binding's own librdkafka (null when it was linked statically: then nothing to compare). */
function bindingLibrdkafka(): string | null {
  try {
    const dir = dirname(require.resolve('@confluentinc/kafka-javascript/package.json'));
    return realpathSync(join(dir, 'build', 'deps', 'librdkafka.so.1'));
  } catch {
    return null;
  }
}

function mappedLibrdkafkas(): string[] {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return [];
  }
  const files = new Set<string>();
  for (const line of maps.split('\n')) {
    const m = /\s(\/\S*\/librdkafka\.so[.\d]*)$/.exec(line);
    if (m) files.add(safeRealpath(m[1]!));
  }
  return [...files];
}

function mod(): Addon {
  if (!addon) loadNativeProducer();
  return addon!;
}

export function librdkafkaErrorString(code: number): string {
  return mod().errorString(code);
}

/**
 * JSON envelopes of `count` lines, packed into one new buffer: record i is
 * head + offsets[i] + middle + the line as a JSON string + tail; `outBounds` receives each
 * record's (start, length). Lines must be valid UTF-8: the escaping then equals
 * JSON.stringify's byte for byte, without a JavaScript string per line. Written into `scratch`
 * when it is large enough (and `scratch` returned), else into a new, larger buffer.
 */
export function jsonEnvelopes(data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, count: number, offsets: Float64Array, head: Uint8Array, middle: Uint8Array, tail: Uint8Array, outBounds: Uint32Array, scratch: Buffer | null): Buffer {
  return mod().jsonEnvelopes(data, bounds, count, offsets, head, middle, tail, outBounds, scratch);
}

/**
 * Delivery outcomes handed over in one batch. `entries` holds `entryCount` rows of
 * ENTRY_INTS: ticket id, records acknowledged, failed retriably, failed permanently (skip),
 * first error code. `details` holds `detailCount` rows (ticket id, record index, error code)
 * of failed records; `detailsDropped` more failed than the rows could describe. The arrays are
 * reused after the listener returns: read them synchronously.
 */
export interface DeliveryOutcomes {
  entries: Int32Array;
  entryCount: number;
  details: Int32Array;
  detailCount: number;
  detailsDropped: number;
}

export const ENTRY_INTS = 5;
export const DETAIL_INTS = 3;

/** Everything a producer reports, on the JavaScript thread. */
export interface ProducerListener {
  outcomes(o: DeliveryOutcomes): void;
  /** librdkafka's log (syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug). */
  log(level: number, facility: string, message: string): void;
  /** A client error librdkafka keeps retrying through (transport, all brokers down...). */
  error(code: number, name: string, reason: string): void;
  /** The producer can produce no more (e.g. idempotence fenced): it must be replaced. */
  fatal(code: number, name: string, reason: string): void;
  /** librdkafka's statistics JSON (statistics.interval.ms). */
  stats(json: string): void;
}

/** The producer surface the shipper uses; a seam for unit tests. */
export interface BatchProducer {
  /** A handle for a topic name (stable for this producer). */
  topic(name: string): number;
  /**
   * Produces records first .. first+count-1 of a batch whose values are `bounds` pairs
   * (start, length) into `data`. Returns how many were consumed, always a prefix: it stops at
   * the first record librdkafka's queue has no room for. Records refused outright (too large,
   * fatal state...) are consumed and listed in `refused()`; all others are reported later
   * through the listener's outcomes, with the record opaque (ticket, index).
   */
  produce(topic: RecordTopics, ticket: number, first: number, count: number, data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, key: RecordKeys, headers: HeaderSpec | null, offsets: Float64Array | null): number;
  /** Records refused by the last produce(): pairs (index, code); `[0]` is the count. */
  readonly refused: Int32Array;
  /** One metadata request: resolves with the broker count, rejects with a KafkaError. */
  metadata(timeoutMs: number): Promise<number>;
  /**
   * Flushes until `flushMs` passes, purges what is left, hands every record's outcome to the
   * listener (purged ones as failed), then releases librdkafka. Resolves after the last outcome.
   */
  close(flushMs: number): Promise<void>;
}

export type ProducerFactory = (conf: LibrdkafkaConfig, listener: ProducerListener) => BatchProducer;

/**
 * Whether keyless records may go to one partition per produce() call (a read chunk): true when
 * librdkafka itself would stick keyless records to a random partition for a while (the
 * *_random partitioners with sticky.partitioning.linger.ms > 0, its default), so the native
 * side can skip the per-record partitioner. `consistent`/`murmur2`/`fnv1a` hash a missing key
 * to one fixed partition instead: librdkafka keeps partitioning those.
 */
export function stickyKeyless(conf: LibrdkafkaConfig): boolean {
  const partitioner = String(conf.partitioner ?? 'consistent_random');
  const linger = conf['sticky.partitioning.linger.ms'];
  return (partitioner === 'random' || partitioner.endsWith('_random')) && (linger === undefined || Number(linger) > 0);
}

/** Properties meaningful to the JavaScript binding only, never to librdkafka. */
const BINDING_ONLY = new Set(['dr_cb', 'dr_msg_cb', 'event_cb', 'rebalance_cb', 'offset_commit_cb']);

class NativeBatchProducer implements BatchProducer {
  private readonly native: AddonProducer;
  private closing: Promise<void> | null = null;
  private closeResolve: (() => void) | null = null;

  constructor(conf: LibrdkafkaConfig, permanentCodes: readonly number[], listener: ProducerListener) {
    const pairs: string[] = [];
    for (const [k, v] of Object.entries(conf)) if (!BINDING_ONLY.has(k)) pairs.push(k, String(v));
    const onEvents: EventsCallback = (set, entryCount, detailCount, detailsDropped, texts, textsDropped, closed) => {
      try {
        if (texts) {
          for (const [kind, num, a, b] of texts) {
            if (kind === 0) listener.log(num, a ?? '', b ?? '');
            else if (kind === 1) listener.error(num, a ?? '', b ?? '');
            else if (kind === 2) listener.fatal(num, a ?? '', b ?? '');
            else if (kind === 3 && b) listener.stats(b);
          }
        }
        if (textsDropped > 0) listener.log(4, 'LOGSHIP', `${textsDropped} librdkafka log lines dropped (more than the native queue holds between two hand-overs)`);
        if (entryCount > 0 || detailCount > 0 || detailsDropped > 0) {
          const buffers = this.native.outcomeBuffers;
          listener.outcomes({ entries: buffers[set * 2]!, entryCount, details: buffers[set * 2 + 1]!, detailCount, detailsDropped });
        }
      } finally {
        if (closed) this.closeResolve?.();
      }
    };
    try {
      this.native = new (mod().Producer)(pairs, Int32Array.from(permanentCodes), onEvents, stickyKeyless(conf));
    } catch (err) {
      throw new NativeProducerError((err as Error).message, err);
    }
    this.refused = this.native.immediate;
  }

  readonly refused: Int32Array;

  topic(name: string): number {
    return this.native.topic(name);
  }

  produce(topic: RecordTopics, ticket: number, first: number, count: number, data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, key: RecordKeys, headers: HeaderSpec | null, offsets: Float64Array | null): number {
    return this.native.produce(topic, ticket, first, count, data, bounds, key, headers, offsets, 0);
  }

  metadata(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.native.metadata(timeoutMs, (err, brokers, message) => (err ? reject(new KafkaError(message, err)) : resolve(brokers)));
    });
  }

  close(flushMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closeResolve = resolve;
      this.native.close(Math.max(0, Math.round(flushMs)), () => undefined);
    });
    return this.closing;
  }

  /**
   * Tests: produce() with every record stamped `timestampMs`. Such records go one by one
   * through rd_kafka_producev (rd_kafka_produce_batch stamps records itself), librdkafka
   * partitioning each: the reference the batched paths are checked against.
   */
  produceStamped(timestampMs: number, topic: RecordTopics, ticket: number, first: number, count: number, data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, key: RecordKeys, headers: HeaderSpec | null, offsets: Float64Array | null): number {
    return this.native.produce(topic, ticket, first, count, data, bounds, key, headers, offsets, timestampMs);
  }

  /** Tests: librdkafka fabricates a fatal error (returns its error code, 0 on success). */
  testFatalError(code: number, reason: string): number {
    return this.native.testFatalError(code, reason);
  }

  /** Messages, requests and events librdkafka still holds. */
  outqLen(): number {
    return this.native.outqLen();
  }
}

export type { NativeBatchProducer };

export function createNativeProducer(conf: LibrdkafkaConfig, permanentCodes: readonly number[], listener: ProducerListener): NativeBatchProducer {
  return new NativeBatchProducer(conf, permanentCodes, listener);
}

/** librdkafka's mock cluster hosted by the addon, with error injection (tests only). */
export interface InjectableMockCluster {
  readonly bootstrap: string;
  /** The next requests of `apiKey` (0 = Produce, 3 = Metadata) fail with these codes, in order. */
  pushRequestErrors(apiKey: number, codes: number[]): void;
  destroy(): void;
}

export function createInjectableMockCluster(brokers = 3): InjectableMockCluster {
  const m = new (mod().MockCluster)(brokers);
  return {
    bootstrap: m.bootstrap,
    pushRequestErrors: (apiKey, codes) => m.pushRequestErrors(apiKey, Int32Array.from(codes)),
    destroy: () => m.destroy(),
  };
}
