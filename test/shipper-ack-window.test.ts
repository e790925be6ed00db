// AckWindow and Shipper bookkeeping with a fake producer: out-of-order delivery reports,
// failures that must be retried, records that must be skipped, and backpressure.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { AckWindow } from '../src/shipper/ack-window.js';
import { FileRoute, planInput } from '../src/shipper/route.js';
import { Shipper } from '../src/shipper/shipper.js';
import { NO_KEY, type BatchProducer, type HeaderSpec, type ProducerListener, type RecordKeys, type RecordTopics } from '../src/shipper/native-producer.js';
import type { AgentConfig } from '../src/config/types.js';
import type { LineBatch } from '../src/core/batch.js';
import { ChunkPool } from '../src/tailer/chunk-pool.js';
import { batch, shipperConfig as config, source } from './helpers/shipper-fixtures.js';

test('AckWindow commits only the end of the longest fully acknowledged prefix', () => {
  const w = new AckWindow<string>();
  const t1 = w.open(batch(0, ['a', 'b']), 2, 'route', 0);
  const t2 = w.open(batch(4, ['c']), 1, 'route', 0);
  const t3 = w.open(batch(6, ['d']), 1, 'route', 0);
  assert.equal(w.complete(t3), null, 'a later ticket alone commits nothing');
  assert.equal(w.complete(t2), null);
  assert.equal(w.complete(t1)?.offset, 8, 'completing the head commits through every done ticket');
  assert.equal(w.outstanding, 0);
});

interface Produced {
  topic: string;
  value: Buffer;
  key: Uint8Array | null;
  ticket: number;
  index: number;
  headers: Record<string, string> | undefined;
}

/** A BatchProducer that records what it is given and reports outcomes on demand. */
class FakeProducer implements BatchProducer {
  produced: Produced[] = [];
  /** The bytes and bounds of each produce() call. */
  calls: Array<{ data: ArrayBufferLike | Uint8Array; bounds: Uint32Array }> = [];
  /** Per record produced next: null = queued, a code = refused outright. */
  refuseNext: Array<number | null> = [];
  /** Records the next produce() call accepts before "QUEUE_FULL" (Infinity = no limit). */
  room = Infinity;
  readonly refused = new Int32Array(64);
  private readonly topics: string[] = [];
  listener!: ProducerListener;
  closed = false;
  topic(name: string): number {
    const i = this.topics.indexOf(name);
    if (i >= 0) return i;
    this.topics.push(name);
    return this.topics.length - 1;
  }
  produce(topic: RecordTopics, ticket: number, first: number, count: number, data: ArrayBufferLike | Uint8Array, bounds: Uint32Array, key: RecordKeys, headers: HeaderSpec | null, offsets: Float64Array | null): number {
    this.refused[0] = 0;
    this.calls.push({ data, bounds });
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    let consumed = 0;
    for (let i = first; i < first + count && consumed < this.room; i++, consumed++) {
      const code = this.refuseNext.shift();
      if (code) {
        this.refused[1 + 2 * this.refused[0]!] = i;
        this.refused[2 + 2 * this.refused[0]!] = code;
        this.refused[0]!++;
        continue;
      }
      let h: Record<string, string> | undefined;
      if (headers) {
        h = {};
        for (let k = 0; k + 1 < headers.length; k += 2) h[String(headers[k])] = Buffer.from(headers[k + 1] as Uint8Array).toString();
        if (headers.length % 2 === 1) h[String(headers.at(-1))] = String(offsets![i]);
      }
      const name = this.topics[typeof topic === 'number' ? topic : topic[i]!]!;
      const own = Array.isArray(key) ? (key[1][2 * i + 1] === NO_KEY ? null : key[0].subarray(key[1][2 * i]!, key[1][2 * i]! + key[1][2 * i + 1]!)) : key;
      this.produced.push({ topic: name, value: Buffer.from(bytes.subarray(bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!)), key: own, ticket, index: i, headers: h });
    }
    if (this.room !== Infinity) this.room -= consumed;
    return consumed;
  }
  metadata(): Promise<number> {
    return Promise.resolve(3);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  /** Delivery outcome of the i-th produced record (0 = acknowledged). */
  deliver(i: number, code = 0, permanent = false): void {
    const p = this.produced[i]!;
    const entries = Int32Array.from([p.ticket, code === 0 ? 1 : 0, code !== 0 && !permanent ? 1 : 0, permanent ? 1 : 0, code]);
    const details = Int32Array.from([p.ticket, p.index, code]);
    this.listener.outcomes({ entries, entryCount: 1, details, detailCount: code === 0 ? 0 : 1, detailsDropped: 0 });
  }
}

async function started(cfg: AgentConfig): Promise<{ shipper: Shipper; fake: FakeProducer; commits: number[] }> {
  const fake = new FakeProducer();
  const commits: number[] = [];
  const shipper = new Shipper({
    config: cfg, librdkafka: { 'bootstrap.servers': 'x:9092' }, log: pino({ level: 'silent' }),
    onCommit: (_s, pos) => commits.push(pos.offset),
    createProducer: (_conf, _codes, listener) => {
      fake.listener = listener;
      return fake;
    },
  });
  shipper.start();
  await shipper.gate.waitOpen();
  return { shipper, fake, commits };
}

test('Shipper: per-file topic and key, headers, commit after out-of-order acknowledgements', async () => {
  const { shipper, fake, commits } = await started(config());
  shipper.ship(batch(0, ['one', 'two']));
  shipper.ship(batch(8, ['three']));
  assert.deepEqual(fake.produced.map((p) => p.topic), ['logs.app.app', 'logs.app.app', 'logs.app.app']);
  assert.equal(Buffer.from(fake.produced[0]!.key!).toString(), 'h1');
  assert.deepEqual(fake.produced[1]!.headers, { host: 'h1', path: '/var/log/app.log', offset: '4' });
  fake.deliver(2);
  assert.deepEqual(commits, [], 'the second batch alone must not commit');
  fake.deliver(0);
  assert.deepEqual(commits, []);
  fake.deliver(1);
  assert.deepEqual(commits, [14], 'both batches acknowledged: commit the end of the second');
  assert.equal(await shipper.drain(100), true);
  await shipper.stop(100);
});

test('Shipper: a truncated file\'s last batch before the truncation acknowledged after the next epoch\'s first: both ends are committed, in order', async () => {
  const { shipper, fake, commits } = await started(config());
  shipper.ship(batch(100, ['a', 'b'])); // epoch 0, ends at 104
  shipper.ship({ ...batch(0, ['c']), epoch: 1 }); // read again from 0 after a truncation
  fake.deliver(2);
  fake.deliver(0);
  assert.deepEqual(commits, []);
  fake.deliver(1);
  assert.deepEqual(commits, [104, 2], 'the end of epoch 0 (what a copytruncate copy holds), then epoch 1\'s');
  await shipper.stop(100);
});

test('Shipper: a retriable delivery failure produces the batch again and holds only that file', async () => {
  const { shipper, fake, commits } = await started(config());
  shipper.ship(batch(0, ['a', 'b']));
  fake.deliver(0);
  fake.deliver(1, -188);
  assert.equal(shipper.gate.isOpen(source), false, 'the failing file is held back');
  assert.equal(shipper.gate.isOpen({ ...source, key: 'other' }), true, 'other files keep flowing');
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (fake.produced.length === 4) {
        clearInterval(t);
        resolve();
      }
    }, 1);
  });
  assert.deepEqual(fake.produced.slice(2).map((p) => p.value.toString()), ['a', 'b'], 'the whole batch is produced again');
  fake.deliver(2);
  fake.deliver(3);
  assert.deepEqual(commits, [4]);
  assert.equal(shipper.gate.isOpen(source), true, 'released once it succeeds');
  await shipper.stop(100);
});

test('Shipper: a record Kafka rejects permanently is skipped, counted, and the offset moves on', async () => {
  const { shipper, fake, commits } = await started(config());
  fake.refuseNext = [null, 10];
  shipper.ship(batch(0, ['ok', 'huge', 'ok2']));
  assert.equal(fake.produced.length, 2);
  fake.deliver(0);
  fake.deliver(1);
  assert.deepEqual(commits, [12]);
  assert.equal(shipper.stats.skipped.get('logs.app.app'), 1);
  await shipper.stop(100);
});

/** Resolves once the fake producer has been handed `n` records. */
function produced(fake: FakeProducer, n: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (fake.produced.length >= n) {
        clearInterval(t);
        resolve();
      }
    }, 1);
  });
}

const DLQ = { dead_letter_topic: 'logship.dead' };

test('Shipper: with a dead-letter topic, a record refused mid-batch goes there with its origin; the offset waits for its ack', async () => {
  const { shipper, fake, commits } = await started(config({}, 1 << 20, DLQ));
  fake.refuseNext = [null, 10];
  shipper.ship(batch(0, ['ok', 'huge', 'ok2']));
  assert.deepEqual(fake.produced.map((p) => [p.topic, p.value.toString()]), [['logs.app.app', 'ok'], ['logs.app.app', 'ok2'], ['logship.dead', 'huge']], 'exactly the refused record is dead-lettered');
  const letter = fake.produced[2]!;
  assert.deepEqual(letter.headers, {
    'logship.topic': 'logs.app.app', 'logship.input': 'app', 'logship.host': 'h1', 'logship.path': '/var/log/app.log', 'logship.offset': '3',
    'logship.error': 'MSG_SIZE_TOO_LARGE', 'logship.error_code': '10', 'logship.error_message': 'Broker: Message size too large', 'logship.value_bytes': '4', 'logship.truncated': 'false',
  });
  assert.equal(Buffer.from(letter.key!).toString(), 'h1', 'the original key');
  fake.deliver(0);
  fake.deliver(1);
  assert.deepEqual(commits, [], 'the file does not pass the record before its dead letter is acknowledged');
  fake.deliver(2);
  assert.deepEqual(commits, [12]);
  assert.equal(shipper.stats.deadLettered.get('logs.app.app'), 1);
  assert.equal(shipper.stats.skipped.get('logs.app.app'), undefined, 'dead-lettered, not skipped');
  assert.equal(await shipper.drain(100), true);
  await shipper.stop(100);
});

test('Shipper: a permanent error in a delivery report dead-letters that record; a dead letter failing retriably is retried', async () => {
  const { shipper, fake, commits } = await started(config({}, 1 << 20, DLQ));
  shipper.ship(batch(0, ['a', 'denied', 'c']));
  fake.deliver(0);
  fake.deliver(2);
  fake.deliver(1, 29, true); // TOPIC_AUTHORIZATION_FAILED, in the delivery report
  assert.equal(fake.produced.length, 4);
  assert.deepEqual([fake.produced[3]!.topic, fake.produced[3]!.value.toString(), fake.produced[3]!.headers?.['logship.error']], ['logship.dead', 'denied', 'TOPIC_AUTHORIZATION_FAILED']);
  assert.equal(fake.produced[3]!.headers?.['logship.offset'], '2');
  fake.deliver(3, -195); // transport failure: retriable
  assert.equal(shipper.gate.isOpen(source), false, 'the file waits while its dead letter fails');
  assert.equal(shipper.gate.isOpen({ ...source, key: 'other' }), true, 'other files keep flowing');
  await produced(fake, 5);
  assert.deepEqual([fake.produced[4]!.topic, fake.produced[4]!.value.toString()], ['logship.dead', 'denied'], 'the dead letter alone is produced again');
  assert.deepEqual(commits, []);
  fake.deliver(4);
  assert.deepEqual(commits, [11]);
  assert.equal(shipper.gate.isOpen(source), true, 'released once the dead letter is delivered');
  assert.equal(shipper.stats.deadLettered.get('logs.app.app'), 1);
  await shipper.stop(100);
});

test('Shipper: a dead letter the dead-letter topic refuses for good falls back to skipping the record', async () => {
  const { shipper, fake, commits } = await started(config({}, 1 << 20, DLQ));
  fake.refuseNext = [10, null, 10]; // the record, the next one, then the record's dead letter
  shipper.ship(batch(0, ['huge', 'next']));
  assert.deepEqual(fake.produced.map((p) => p.value.toString()), ['next']);
  fake.deliver(0);
  assert.deepEqual(commits, [10], 'the file is not blocked');
  assert.equal(shipper.stats.skipped.get('logs.app.app'), 1);
  assert.equal(shipper.stats.deadLettered.get('logs.app.app'), undefined);
  // The same in a delivery report of the dead letter.
  shipper.ship(batch(10, ['x', 'y']));
  fake.deliver(1, 10, true);
  fake.deliver(3, 10, true);
  fake.deliver(2);
  assert.deepEqual(commits, [10, 14]);
  assert.equal(shipper.stats.skipped.get('logs.app.app'), 2);
  await shipper.stop(100);
});

test('Shipper: a json input dead-letters the envelope it produced, refused outright or in a delivery report', async () => {
  const { shipper, fake, commits } = await started(config({ format: 'json' }, 1 << 20, DLQ));
  fake.refuseNext = [null, 10];
  shipper.ship(batch(0, ['ok', 'refused-at-once', 'ok2']));
  shipper.ship(batch(23, ['refused-later']));
  const envelope = (i: number): Record<string, unknown> => JSON.parse(fake.produced[i]!.value.toString()) as Record<string, unknown>;
  assert.deepEqual(fake.produced.map((p) => p.topic), ['logs.app.app', 'logs.app.app', 'logship.dead', 'logs.app.app']);
  assert.deepEqual([envelope(2).message, envelope(2).offset, envelope(2).path], ['refused-at-once', 3, '/var/log/app.log']);
  fake.deliver(3, 10, true);
  assert.equal(fake.produced[4]!.topic, 'logship.dead');
  assert.deepEqual([envelope(4).message, envelope(4).offset], ['refused-later', 23], 'the envelope built again for the record');
  assert.equal(fake.produced[4]!.headers?.['logship.offset'], '23');
  for (const i of [0, 1, 2]) fake.deliver(i);
  assert.deepEqual(commits, [23]);
  fake.deliver(4);
  assert.deepEqual(commits, [23, 37]);
  assert.equal(shipper.stats.deadLettered.get('logs.app.app'), 2);
  await shipper.stop(100);
});

test('Shipper: a dead letter is truncated to fit max_message_bytes with its headers, at a character boundary', async () => {
  const { shipper, fake } = await started(config({}, 1 << 20, { ...DLQ, max_message_bytes: 1000 }));
  fake.refuseNext = [10];
  const long = 'é'.repeat(2000); // 4000 bytes
  shipper.ship(batch(0, [long]));
  const letter = fake.produced[0]!;
  assert.equal(letter.topic, 'logship.dead');
  assert.ok(letter.value.length < 1000 - 200 && letter.value.length > 300, `value of ${letter.value.length} bytes`);
  assert.equal(letter.value.toString(), 'é'.repeat(letter.value.length / 2), 'whole characters only');
  assert.equal(letter.headers?.['logship.value_bytes'], '4000');
  assert.equal(letter.headers?.['logship.truncated'], 'true');
  let size = letter.value.length + (letter.key?.length ?? 0);
  for (const [k, v] of Object.entries(letter.headers!)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  assert.ok(size <= 1000 - 100, `key, headers and value (${size} bytes) fit with room for framing`);
  await shipper.stop(100);
});

test('Shipper: the gate closes at max_in_flight_bytes and reopens on acknowledgement', async () => {
  const { shipper, fake } = await started(config({}, 10));
  shipper.ship(batch(0, ['0123456789ab']));
  assert.equal(shipper.gate.isOpen(), false, '12 bytes in flight > 10');
  let reopened = false;
  const waiting = shipper.gate.waitOpen().then(() => (reopened = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(reopened, false);
  fake.deliver(0);
  await waiting;
  assert.equal(shipper.inFlightBytes, 0);
  await shipper.stop(100);
});

test('Shipper: json envelope carries host, input, path, start offset, message and fields', async () => {
  const { shipper, fake } = await started(config({ format: 'json', fields: { env: 'prod', message: 'must not override' } }));
  shipper.ship(batch(100, ['first', 'sécond "q"']));
  const doc = JSON.parse(fake.produced[1]!.value.toString()) as Record<string, unknown>;
  assert.equal(doc.message, 'sécond "q"');
  assert.equal(doc.offset, 106);
  assert.equal(doc.host, 'h1');
  assert.equal(doc.input, 'app');
  assert.equal(doc.path, '/var/log/app.log');
  assert.equal(doc.env, 'prod');
  assert.ok(!Number.isNaN(Date.parse(String(doc['@timestamp']))));
  await shipper.stop(100);
});

test('json envelope built natively equals the JSON.stringify rendering byte for byte', () => {
  const cfg = config({ format: 'json', fields: { env: 'prod', n: 3 } });
  const route = new FileRoute(source, planInput(cfg.inputs[0]!), 'h1', {});
  const lines = ['plain', 'quote " and \\ backslash', 'tab\there, cr\r, nl\n, bell\u0007, esc\u001b, del\u007f', 'ünïcödé ✓ 😀 \u2028', '', '{"already":"json"}'];
  const b = batch(1000, lines);
  const iso = '2026-11-29T10:00:00.000Z';
  const { data, bounds } = route.values(b, iso);
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  lines.forEach((line, i) => {
    const start = i === 0 ? b.startOffset : b.ends[i - 1]!;
    const expected = `{"@timestamp":"${iso}","host":"h1","input":"app","path":"/var/log/app.log","offset":${start},"message":${JSON.stringify(line)},"env":"prod","n":3}`;
    assert.equal(Buffer.from(bytes.subarray(bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!)).toString(), expected, `line ${i}`);
  });
});

test("Shipper: a raw ticket produces its batch's bytes and bounds (no copy, no object per line); retries and headers still produce the same records", async () => {
  const { shipper, fake, commits } = await started(config());
  // Lines as the framer makes them: bounds into one read chunk.
  const chunk = Buffer.from('alpha\nbeta\ngamma\n');
  const b = { ...batch(0, ['alpha', 'beta', 'gamma']), data: chunk, bounds: Uint32Array.of(0, 5, 6, 4, 11, 5) };
  shipper.ship(b);
  assert.equal(fake.calls[0]!.data, chunk, 'values are the read chunk itself');
  assert.equal(fake.calls[0]!.bounds, b.bounds, 'bounds are the batch own ones');
  assert.deepEqual(fake.produced.map((p) => [p.value.toString(), p.headers?.offset]), [['alpha', '0'], ['beta', '6'], ['gamma', '11']]);
  fake.deliver(0);
  fake.deliver(1, -188); // retriable: the ticket is produced again, from its kept values
  fake.deliver(2);
  await until(() => fake.produced.length === 6);
  assert.deepEqual(fake.produced.slice(3).map((p) => [p.value.toString(), p.headers?.offset]), [['alpha', '0'], ['beta', '6'], ['gamma', '11']]);
  fake.deliver(3);
  fake.deliver(4);
  assert.deepEqual(commits, []);
  fake.deliver(5);
  assert.deepEqual(commits, [17]);
  await shipper.stop(100);
});

function until(cond: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      }
    }, 1);
  });
}

test('Shipper: readers go as soon as it starts, before Kafka first answers; lines are produced and wait in librdkafka', async () => {
  const fake = new FakeProducer();
  let answer: ((brokers: number) => void) | null = null;
  fake.metadata = () => new Promise<number>((resolve) => (answer = resolve));
  const commits: number[] = [];
  const shipper = new Shipper({
    config: config({}), librdkafka: { 'bootstrap.servers': 'x:9092' }, log: pino({ level: 'silent' }),
    onCommit: (_s, pos) => commits.push(pos.offset),
    createProducer: (_conf, _codes, listener) => {
      fake.listener = listener;
      return fake;
    },
  });
  assert.equal(shipper.gate.isOpen(), false, 'closed before the start');
  shipper.start();
  assert.equal(shipper.gate.isOpen(), true, 'open at the start, the first metadata request unanswered');
  assert.equal(shipper.stats.connected, false);
  shipper.ship(batch(0, ['a', 'b']));
  assert.equal(fake.produced.length, 2, 'handed to librdkafka, which holds them until its brokers answer');
  assert.deepEqual(commits, [], 'nothing committed before an acknowledgement');
  answer!(3);
  await new Promise((r) => setImmediate(r));
  assert.equal(shipper.stats.connected, true);
  fake.deliver(0);
  fake.deliver(1);
  assert.deepEqual(commits, [4]);
  await shipper.stop(100);
});

/** `b` with its bytes in a chunk of `pool` that the batch holds (as the tailer emits it). */
function pooled(b: LineBatch, pool: ChunkPool): LineBatch {
  const taken = pool.take(b.data.length);
  b.data.copy(taken.bytes);
  return { ...b, data: taken.bytes, chunk: taken.hold };
}

test('AckWindow: a batch lets its read chunk go at completion, not before (its ticket may wait behind older ones)', () => {
  const pool = new ChunkPool({ capacity: 64, max: 4, poison: true });
  const w = new AckWindow<string>();
  const older = w.open(batch(0, ['a']), 1, 'route', 0);
  const b = pooled(batch(2, ['held', 'bytes']), pool);
  const t = w.open(b, 2, 'route', 0);
  assert.equal(pool.lentCount, 1);
  assert.equal(w.complete(t), null, 'waits behind the older ticket');
  assert.equal(pool.lentCount, 0, 'released at its own completion');
  assert.equal(b.chunk, null);
  assert.equal(w.complete(older)?.offset, 13);
});

test('Shipper: pooled chunks are released only once every record is settled — retries, refusals, dead letters and json envelopes read intact bytes', async () => {
  for (const format of ['raw', 'json'] as const) {
    const pool = new ChunkPool({ capacity: 256, max: 8, poison: true });
    const { shipper, fake, commits } = await started(config({ format, headers: false }, 1 << 20, DLQ));
    const value = (i: number): string => {
      const v = fake.produced[i]!.value.toString();
      return format === 'json' ? String((JSON.parse(v) as { message: string }).message) : v;
    };
    fake.refuseNext = [null, 10]; // 'refused' goes to the dead-letter topic at once
    shipper.ship(pooled(batch(0, ['first', 'refused', 'third']), pool));
    shipper.ship(pooled(batch(20, ['retried', 'lettered-later']), pool));
    assert.deepEqual([0, 1, 2, 3, 4].map(value), ['first', 'third', 'refused', 'retried', 'lettered-later']);
    assert.equal(fake.produced[2]!.topic, 'logship.dead');
    fake.deliver(4, 29, true); // refused in a delivery report: dead-lettered from the batch's bytes
    assert.equal(value(5), 'lettered-later');
    fake.deliver(3, -195); // retriable: once its dead letter is settled, the batch is produced again from its bytes
    fake.deliver(5);
    await produced(fake, 8);
    assert.deepEqual([6, 7].map(value), ['retried', 'lettered-later'], 'retried from intact bytes');
    assert.equal(pool.lentCount, 2, 'no batch settled yet: both chunks held');
    for (const i of [0, 1]) fake.deliver(i);
    assert.equal(pool.lentCount, 2, "the first batch's dead letter is not acknowledged yet");
    fake.deliver(2);
    assert.equal(pool.lentCount, 1, 'the first batch is done: its chunk released');
    fake.deliver(6);
    fake.deliver(7, 29, true); // refused again after the retry: dead-lettered again, from the still-held chunk
    assert.equal(value(8), 'lettered-later');
    assert.equal(pool.lentCount, 1);
    fake.deliver(8);
    assert.equal(pool.lentCount, 0, 'every record settled: released');
    assert.deepEqual(commits, [20, 43]);
    await shipper.stop(100);
  }
});
