// AckWindow and Shipper bookkeeping with a fake producer: out-of-order delivery reports,
// failures that must be retried, records that must be skipped, and backpressure.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { AckWindow } from '../src/shipper/ack-window.js';
import { Shipper, type NativeProducer } from '../src/shipper/shipper.js';
import type { AgentConfig, InputConfig } from '../src/config/types.js';
import type { SourceFile } from '../src/core/file.js';
import type { LineBatch } from '../src/core/batch.js';

const source: SourceFile = { key: '1:2:0', identity: { dev: 1, ino: 2 }, input: 'app', path: '/var/log/app.log' };

function batch(start: number, lines: string[], src: SourceFile = source): LineBatch {
  const ends: number[] = [];
  let pos = start;
  for (const l of lines) ends.push((pos += Buffer.byteLength(l) + 1));
  return {
    source: src,
    epoch: 0,
    lines: lines.map((l) => Buffer.from(l)),
    startOffset: start,
    ends,
    flags: [],
    endOffset: pos,
    marker: { len: 1, hash: `m${pos}` },
    fingerprint: { len: 10, hash: 'fp' },
  };
}

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
  key: Buffer | null | undefined;
  opaque: unknown;
  headers: unknown;
}

class FakeProducer {
  produced: Produced[] = [];
  private handlers = new Map<string, (...args: unknown[]) => void>();
  throwOnNext: Array<{ code: number; message: string } | null> = [];
  connect(_o: unknown, cb: (err: unknown) => void): this {
    setImmediate(() => cb(null));
    return this;
  }
  disconnect(_t: number, cb: () => void): this {
    cb();
    return this;
  }
  produce(topic: string, _p: unknown, value: Buffer, key: Buffer | null | undefined, _ts: unknown, opaque: unknown, headers: unknown): boolean {
    const err = this.throwOnNext.shift();
    if (err) throw Object.assign(new Error(err.message), { code: err.code });
    this.produced.push({ topic, value, key, opaque, headers });
    return true;
  }
  flush(): this {
    return this;
  }
  poll(): this {
    return this;
  }
  setPollInterval(): this {
    return this;
  }
  isConnected(): boolean {
    return true;
  }
  getMetadata(_o: unknown, cb: (err: unknown) => void): void {
    cb(null);
  }
  on(event: string, fn: (...args: unknown[]) => void): this {
    this.handlers.set(event, fn);
    return this;
  }
  deliver(i: number, err: { code: number; message: string } | null = null): void {
    this.handlers.get('delivery-report')!(err, { opaque: this.produced[i]!.opaque });
  }
}

function config(input: Partial<InputConfig> = {}, maxInFlight = 1 << 20): AgentConfig {
  const inp = {
    id: 'app', paths: ['/var/log/*.log'], exclude: [], start_at: 'end', ignore_older: 0, topic: 'logs.{input}.{file.stem}', key: '{host}',
    format: 'raw', headers: true, max_line_bytes: 1 << 20, partial_line_timeout: 0, encoding: 'utf-8', multiline: null,
    rotation: { close_renamed_after: 300_000, close_removed: true, close_removed_after: 300_000 }, fields: {}, ...input,
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
      topic_create: 'auto', tls: { enabled: false, ca_file: null, cert_file: null, key_file: null }, sasl: null, librdkafka: {},
    },
    registry: { flush_interval: 1000, clean_after: 1000 },
    metrics: { listen: '' },
  };
}

async function started(cfg: AgentConfig): Promise<{ shipper: Shipper; fake: FakeProducer; commits: number[] }> {
  const fake = new FakeProducer();
  const commits: number[] = [];
  const shipper = new Shipper({
    config: cfg, librdkafka: { 'bootstrap.servers': 'x:9092' }, log: pino({ level: 'silent' }),
    onCommit: (_s, pos) => commits.push(pos.offset), createProducer: () => fake as unknown as NativeProducer,
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
  assert.equal(fake.produced[0]!.key!.toString(), 'h1');
  assert.deepEqual(fake.produced[1]!.headers, [{ host: 'h1' }, { path: '/var/log/app.log' }, { offset: '4' }]);
  fake.deliver(2);
  assert.deepEqual(commits, [], 'the second batch alone must not commit');
  fake.deliver(0);
  assert.deepEqual(commits, []);
  fake.deliver(1);
  assert.deepEqual(commits, [14], 'both batches acknowledged: commit the end of the second');
  assert.equal(await shipper.drain(100), true);
  await shipper.stop(100);
});

test('Shipper: a retriable delivery failure produces the batch again and holds only that file', async () => {
  const { shipper, fake, commits } = await started(config());
  shipper.ship(batch(0, ['a', 'b']));
  fake.deliver(0);
  fake.deliver(1, { code: -188, message: 'Local: Unknown topic' });
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
  fake.throwOnNext = [null, { code: 10, message: 'Broker: Message size too large' }];
  shipper.ship(batch(0, ['ok', 'huge', 'ok2']));
  assert.equal(fake.produced.length, 2);
  fake.deliver(0);
  fake.deliver(1);
  assert.deepEqual(commits, [12]);
  assert.equal(shipper.stats.skipped.get('logs.app.app'), 1);
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
