// The addon's producer used directly, without the shipper (so without its metadata probe, its
// tickets and its retries): for tests of the native layer's own behaviour.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type OnEvents = (set: number, entries: number, details: number, dropped: number, texts: unknown, textsDropped: number, closed: boolean) => void;

export interface RawProducer {
  readonly outcomeBuffers: Int32Array[];
  topic(name: string): number;
  produce(topic: number, ticket: number, first: number, count: number, data: Uint8Array, bounds: Uint32Array, key: null, headers: null, offsets: null, timestampMs: number): number;
  knownPartitions(topicId: number): number;
  close(flushMs: number, cb: () => void): void;
}

/** One delivery outcome row (see native-producer.ts DeliveryOutcomes), as handed over. */
export interface OutcomeRow {
  ticket: number;
  acked: number;
  failed: number;
  skipped: number;
  firstError: number;
}

/**
 * A raw producer recording every outcome row and failed-record row it hands over;
 * `close()` resolves once everything was handed back (closed).
 */
export function rawProducer(bootstrap: string, extra: Record<string, string> = {}) {
  const rows: OutcomeRow[] = [];
  const details: Array<{ ticket: number; index: number; code: number }> = [];
  let detailsDropped = 0;
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const conf: Record<string, string> = { 'bootstrap.servers': bootstrap, 'linger.ms': '5', 'message.timeout.ms': '0', 'allow.auto.create.topics': 'true', ...extra };
  let producer: RawProducer | undefined;
  const onEvents: OnEvents = (set, entries, detailCount, dropped, _texts, _textsDropped, isClosed) => {
    const e = producer!.outcomeBuffers[set * 2]!;
    const d = producer!.outcomeBuffers[set * 2 + 1]!;
    for (let k = 0; k < entries; k++) rows.push({ ticket: e[k * 5]!, acked: e[k * 5 + 1]!, failed: e[k * 5 + 2]!, skipped: e[k * 5 + 3]!, firstError: e[k * 5 + 4]! });
    for (let k = 0; k < detailCount; k++) details.push({ ticket: d[k * 3]!, index: d[k * 3 + 1]!, code: d[k * 3 + 2]! });
    detailsDropped += dropped;
    if (isClosed) closedResolve();
  };
  const { Producer } = require('@logship/native') as { Producer: new (conf: string[], codes: Int32Array, onEvents: OnEvents, sticky: boolean) => RawProducer };
  producer = new Producer(Object.entries(conf).flat(), new Int32Array(0), onEvents, true);
  return {
    producer,
    rows,
    details,
    detailsDropped: () => detailsDropped,
    acked: () => rows.reduce((n, r) => n + r.acked, 0),
    close: async (flushMs = 0) => {
      producer!.close(flushMs, () => undefined);
      await closed;
    },
  };
}

/** `count` keyless records `${tag}-i` in one produce() call; returns how many were consumed. */
export function produceChunk(p: RawProducer, topicId: number, ticket: number, tag: string, count: number): number {
  const lines = Array.from({ length: count }, (_, i) => Buffer.from(`${tag}-${i}`));
  const data = Buffer.concat(lines);
  const bounds = new Uint32Array(2 * count);
  for (let i = 0, at = 0; i < count; at += lines[i]!.length, i++) {
    bounds[2 * i] = at;
    bounds[2 * i + 1] = lines[i]!.length;
  }
  return p.produce(topicId, ticket, 0, count, data, bounds, null, null, null, 0);
}
