// The native producer's per-record topics (records routed by a field of the line): records of
// interleaved topics are produced grouped per topic — each topic's keyless records of a call
// in one sticky partition, in order — and a call still consumes a prefix when librdkafka's
// queue is full. Read back with kcat from librdkafka's mock cluster.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createInjectableMockCluster, createNativeProducer, loadNativeProducer, NO_KEY, type InjectableMockCluster } from '../src/shipper/native-producer.js';
import { packLines } from '../src/core/batch.js';
import { byPartition, kcatConsume } from './helpers/cluster.js';
import { acknowledging, silent } from './helpers/native-listeners.js';

let mock: InjectableMockCluster;
before(() => {
  loadNativeProducer();
  mock = createInjectableMockCluster(3);
});
after(() => mock.destroy());

/** Records of one call: values packed into one buffer, (start, length) bounds by record index. */
function packed(values: string[]): { data: Uint8Array; bounds: Uint32Array } {
  return packLines(values.map((v) => Buffer.from(v)));
}

const SERVICES = ['cart', 'checkout', 'search', 'auth'];

/**
 * A producer on the mock cluster with a topic per service under `prefix` (their partitions known
 * from metadata, as in the agent); `produce` makes its calls; resolves once `n` records are
 * acknowledged and the producer is closed.
 */
async function producing(prefix: string, n: number, produce: (p: ReturnType<typeof createNativeProducer>, ids: number[]) => void): Promise<void> {
  const { listener, done } = acknowledging(n);
  const p = createNativeProducer({ 'bootstrap.servers': mock.bootstrap, 'linger.ms': 5, log_level: 0 }, [], listener);
  try {
    const ids = SERVICES.map((s) => p.topic(`${prefix}.${s}`));
    await p.metadata(5000);
    produce(p, ids);
    await done;
  } finally {
    await p.close(5000);
  }
}

test('per-record topics: interleaved keyless records land grouped, each topic in one partition per call, in order', async () => {
  const prefix = `grouped.${process.pid}`;
  const n = 400;
  await producing(prefix, 2 * n, (p, ids) => {
    for (const call of [0, 1]) {
      const values = Array.from({ length: n }, (_, i) => `${SERVICES[i % 4]}-${call}-${String(i).padStart(3, '0')}`);
      const topics = Int32Array.from(values, (_, i) => ids[i % 4]!);
      const { data, bounds } = packed(values);
      assert.equal(p.produce(topics, call + 1, 0, n, data, bounds, null, null, null), n, 'all consumed');
      assert.equal(p.refused[0], 0);
    }
  });
  for (const service of SERVICES) {
    const records = await kcatConsume(mock.bootstrap, `${prefix}.${service}`);
    assert.equal(records.length, 2 * (n / 4), `${service}: every record once`);
    const partitions = byPartition(records);
    for (const call of [0, 1]) {
      const ofCall = records.filter((r) => r.value.toString().startsWith(`${service}-${call}-`));
      assert.equal(new Set(ofCall.map((r) => r.partition)).size, 1, `${service}, call ${call}: one partition (sticky), not one per record`);
      const inPartition = partitions.get(ofCall[0]!.partition)!.map((r) => r.value.toString()).filter((v) => v.startsWith(`${service}-${call}-`));
      assert.deepEqual(inPartition, [...inPartition].sort(), `${service}, call ${call}: in record order`);
    }
  }
});

test('per-record topics with per-record keys: every record in its topic, each key in one partition', async () => {
  const prefix = `grouped-keys.${process.pid}`;
  const n = 200;
  await producing(prefix, n, (p, ids) => {
    const values = Array.from({ length: n }, (_, i) => `${SERVICES[i % 4]}-${String(i).padStart(3, '0')}`);
    const keys = values.map((_, i) => (i % 10 === 9 ? null : `trace-${i % 7}`));
    const keyText = keys.map((k) => k ?? '').join('');
    const keyBounds = new Uint32Array(2 * n);
    let pos = 0;
    keys.forEach((k, i) => {
      keyBounds[2 * i] = pos;
      keyBounds[2 * i + 1] = k === null ? NO_KEY : k.length;
      pos += k?.length ?? 0;
    });
    const { data, bounds } = packed(values);
    const topics = Int32Array.from(values, (_, i) => ids[i % 4]!);
    assert.equal(p.produce(topics, 1, 0, n, data, bounds, [Buffer.from(keyText), keyBounds], null, null), n);
  });
  for (const [s, service] of SERVICES.entries()) {
    const records = await kcatConsume(mock.bootstrap, `${prefix}.${service}`);
    const expected = Array.from({ length: n / 4 }, (_, j) => 4 * j + s);
    assert.deepEqual(records.map((r) => r.value.toString()).sort(), expected.map((i) => `${service}-${String(i).padStart(3, '0')}`).sort(), `${service}: its records, each once`);
    for (const r of records) {
      const i = Number(r.value.toString().split('-')[1]);
      assert.equal(r.key?.toString() ?? null, i % 10 === 9 ? null : `trace-${i % 7}`, `record ${i}: its own key`);
    }
    const partitionOfKey = new Map<string, Set<number>>();
    for (const r of records) if (r.key !== null) (partitionOfKey.get(r.key.toString()) ?? partitionOfKey.set(r.key.toString(), new Set()).get(r.key.toString())!).add(r.partition);
    for (const [key, parts] of partitionOfKey) assert.equal(parts.size, 1, `${service}: key ${key} in one partition`);
  }
});

test('per-record topics: a full queue still leaves a prefix consumed, the rest resumes from it', async () => {
  // Nothing answers on port 1: records stay queued, so the queue limit is what stops produce().
  const p = createNativeProducer({ 'bootstrap.servers': '127.0.0.1:1', 'queue.buffering.max.messages': 10, log_level: 0 }, [], silent);
  try {
    const ids = [p.topic('grouped.full.a'), p.topic('grouped.full.b')];
    const values = Array.from({ length: 16 }, (_, i) => `r${i}`);
    const { data, bounds } = packed(values);
    const topics = Int32Array.from(values, (_, i) => ids[i % 2]!);
    assert.equal(p.produce(topics, 1, 0, 6, data, bounds, null, null, null), 6, 'room for all 6: grouped, all consumed');
    assert.equal(p.produce(topics, 1, 6, 10, data, bounds, null, null, null), 4, 'room for 4 of 10: records 6..9, a prefix, whatever their topics');
    assert.equal(p.refused[0], 0, 'nothing refused: the rest waits');
    assert.equal(p.produce(topics, 1, 10, 6, data, bounds, null, null, null), 0, 'still full');
  } finally {
    await p.close(0);
  }
});

test('per-record topics with per-record header values: each record its own value, keyless records of a topic in one partition per call', async () => {
  const prefix = `grouped-headers.${process.pid}`;
  const n = 200;
  await producing(prefix, n, (p, ids) => {
    const values = Array.from({ length: n }, (_, i) => `${SERVICES[i % 4]}-${String(i).padStart(3, '0')}`);
    const traces = packed(values.map((_, i) => `trace-${i}`));
    const { data, bounds } = packed(values);
    const topics = Int32Array.from(values, (_, i) => ids[i % 4]!);
    assert.equal(p.produce(topics, 1, 0, n, data, bounds, null, ['node', Buffer.from('n1'), 'trace', [traces.data, traces.bounds]], null), n);
  });
  for (const service of SERVICES) {
    const records = await kcatConsume(mock.bootstrap, `${prefix}.${service}`);
    assert.equal(records.length, n / 4, `${service}: every record once`);
    for (const r of records) assert.deepEqual(r.headers, { node: 'n1', trace: `trace-${Number(r.value.toString().split('-')[1])}` }, `${r.value.toString()}: its own trace header`);
    assert.equal(new Set(records.map((r) => r.partition)).size, 1, `${service}: one partition (sticky per topic), not one per record`);
  }
});
