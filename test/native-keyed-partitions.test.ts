// The native producer partitions keyed records itself once their topic's partition count is
// known (with the configured partitioner, the very function librdkafka exposes) and enqueues
// each partition's records together. Every key must land where librdkafka's own partitioner
// puts it: the same keys produced through the per-record path (records with a timestamp:
// rd_kafka_producev, partition left to librdkafka) are the reference, both read back with kcat
// from the mock cluster. Records with headers take the grouped path too (their headers added by
// the on_send interceptor) and land where the reference does. Keyed records keep their order within a partition. A call still consumes a prefix when the queue is full, and a refused record is
// reported at its own index.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createInjectableMockCluster, createNativeProducer, loadNativeProducer, NO_KEY, type InjectableMockCluster } from '../src/shipper/native-producer.js';
import type { LibrdkafkaConfig } from '../src/shipper/producer-config.js';
import { packLines } from '../src/core/batch.js';
import { kcatConsume, type KafkaRecord } from './helpers/cluster.js';
import { acknowledging, silent } from './helpers/native-listeners.js';

let mock: InjectableMockCluster;
before(() => {
  loadNativeProducer();
  mock = createInjectableMockCluster(3);
});
after(() => mock.destroy());

/** Per-record keys `keys` (null: none) as [keyData, keyBounds]. */
function packedKeys(keys: (string | null)[]): [Uint8Array, Uint32Array] {
  const keyBounds = new Uint32Array(2 * keys.length);
  let pos = 0;
  keys.forEach((k, i) => {
    keyBounds[2 * i] = pos;
    keyBounds[2 * i + 1] = k === null ? NO_KEY : Buffer.byteLength(k);
    pos += k === null ? 0 : Buffer.byteLength(k);
  });
  return [Buffer.from(keys.map((k) => k ?? '').join('')), keyBounds];
}

/** key -> the partitions its records landed in. */
function partitionsOfKeys(records: KafkaRecord[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const r of records) {
    if (r.key === null) continue;
    const k = r.key.toString();
    (out.get(k) ?? out.set(k, new Set()).get(k)!).add(r.partition);
  }
  return out;
}

const N = 600;
const values = Array.from({ length: N }, (_, i) => `v-${String(i).padStart(4, '0')}`);
const keys = values.map((_, i) => (i % 50 === 49 ? null : `trace-${(i * 7) % 61}`));

for (const partitioner of [undefined, 'murmur2_random', 'fnv1a']) {
  test(`keyed records (partitioner ${partitioner ?? 'unset: consistent_random'}): each key in the partition librdkafka's partitioner gives it, in order`, async () => {
    const prefix = `keyed.${partitioner ?? 'default'}.${process.pid}`;
    const conf: LibrdkafkaConfig = { 'bootstrap.servers': mock.bootstrap, 'linger.ms': 5, log_level: 0 };
    if (partitioner !== undefined) conf.partitioner = partitioner;
    const { listener, done } = acknowledging(3 * N);
    const p = createNativeProducer(conf, [], listener);
    try {
      const own = p.topic(`${prefix}.own`);
      const ref = p.topic(`${prefix}.ref`);
      const hdr = p.topic(`${prefix}.hdr`);
      await p.metadata(5000); // the partition counts, as the agent's probe learns them
      const { data, bounds } = packLines(values.map((v) => Buffer.from(v)));
      const perRecord = packedKeys(keys);
      // Two calls, so the second one's windows find librdkafka's topic state settled as well.
      assert.equal(p.produce(own, 1, 0, N / 2, data, bounds, perRecord, null, null), N / 2);
      assert.equal(p.produce(own, 1, N / 2, N / 2, data, bounds, perRecord, null, null), N / 2);
      assert.equal(p.refused[0], 0);
      // The reference: record by record, librdkafka's partitioner (a timestamp forces that path).
      assert.equal(p.produceStamped(Date.now(), ref, 2, 0, N, data, bounds, perRecord, null, null), N);
      assert.equal(p.produce(hdr, 3, 0, N, data, bounds, perRecord, ['h', Buffer.from('1')], null), N);
      await done;
    } finally {
      await p.close(5000);
    }
    const ownRecords = await kcatConsume(mock.bootstrap, `${prefix}.own`);
    const refRecords = await kcatConsume(mock.bootstrap, `${prefix}.ref`);
    const hdrRecords = await kcatConsume(mock.bootstrap, `${prefix}.hdr`);
    assert.deepEqual(ownRecords.map((r) => r.value.toString()).sort(), values, 'every record once');
    for (const r of ownRecords) assert.equal(r.key?.toString() ?? null, keys[Number(r.value.toString().slice(2))], `${r.value.toString()}: its own key`);
    const ownOfKey = partitionsOfKeys(ownRecords);
    const refOfKey = partitionsOfKeys(refRecords);
    assert.equal(ownOfKey.size, 61, 'every key');
    for (const [k, parts] of ownOfKey) assert.deepEqual([...parts], [...refOfKey.get(k)!], `key ${k}: one partition, librdkafka's`);
    const hdrOfKey = partitionsOfKeys(hdrRecords);
    for (const [k, parts] of hdrOfKey) assert.deepEqual([...parts], [...refOfKey.get(k)!], `key ${k} with a header: librdkafka's partition`);
    assert.deepEqual(hdrRecords.map((r) => r.value.toString()).sort(), values, 'with a header: every record once');
    assert.ok(hdrRecords.every((r) => r.headers.h === '1'), 'every record keeps its header');
    assert.ok(new Set([...ownOfKey.values()].map((s) => [...s][0])).size > 1, 'keys spread over several partitions (the check is not vacuous)');
    // Keyed records keep call order within their partition (records without a key are left to
    // librdkafka's partitioner: where they land, and their place among keyed records, is its).
    for (let part = 0; part < 4; part++) {
      const inPartition = ownRecords.filter((r) => r.partition === part && r.key !== null).map((r) => r.value.toString());
      assert.deepEqual(inPartition, [...inPartition].sort(), `partition ${part}: keyed records in call order`);
    }
  });
}

test('one key for a whole call: every record in the partition librdkafka gives that key', async () => {
  const prefix = `keyed.one.${process.pid}`;
  const { listener, done } = acknowledging(2 * 40);
  const p = createNativeProducer({ 'bootstrap.servers': mock.bootstrap, 'linger.ms': 5, log_level: 0 }, [], listener);
  try {
    const own = p.topic(`${prefix}.own`);
    const ref = p.topic(`${prefix}.ref`);
    await p.metadata(5000);
    const { data, bounds } = packLines(values.slice(0, 40).map((v) => Buffer.from(v)));
    assert.equal(p.produce(own, 1, 0, 40, data, bounds, Buffer.from('host-a'), null, null), 40);
    // The reference: the same key given record by record, with a timestamp (librdkafka partitions).
    assert.equal(p.produceStamped(Date.now(), ref, 2, 0, 40, data, bounds, packedKeys(Array.from({ length: 40 }, () => 'host-a')), null, null), 40);
    await done;
  } finally {
    await p.close(5000);
  }
  const ownParts = new Set((await kcatConsume(mock.bootstrap, `${prefix}.own`)).map((r) => r.partition));
  const refParts = new Set((await kcatConsume(mock.bootstrap, `${prefix}.ref`)).map((r) => r.partition));
  assert.equal(ownParts.size, 1);
  assert.deepEqual([...ownParts], [...refParts]);
});

test('keyed records, partitions known: a full queue leaves a prefix consumed; a refused record is reported at its own index', async () => {
  // linger.ms holds every record in librdkafka's queue, so its limit is what stops produce().
  const p = createNativeProducer({ 'bootstrap.servers': mock.bootstrap, 'linger.ms': 60000, 'queue.buffering.max.messages': 10, 'message.max.bytes': 1000, log_level: 0 }, [], silent);
  try {
    const id = p.topic(`keyed.full.${process.pid}`);
    await p.metadata(5000);
    const vals = Array.from({ length: 16 }, (_, i) => (i === 3 ? 'x'.repeat(2000) : `r${i}`));
    const { data, bounds } = packLines(vals.map((v) => Buffer.from(v)));
    const perRecord = packedKeys(vals.map((_, i) => `k${i}`));
    assert.equal(p.produce(id, 1, 0, 6, data, bounds, perRecord, null, null), 6, 'room for all 6: all consumed');
    assert.equal(p.refused[0], 1, 'one record refused');
    assert.deepEqual([p.refused[1], p.refused[2]], [3, 10 /* RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE */], 'record 3, too large');
    assert.equal(p.produce(id, 1, 6, 10, data, bounds, perRecord, null, null), 5, 'room for 5 of 10: records 6..10, a prefix, whatever their partitions');
    assert.equal(p.refused[0], 0, 'nothing refused: the rest waits');
    assert.equal(p.produce(id, 1, 11, 5, data, bounds, perRecord, null, null), 0, 'still full');
  } finally {
    await p.close(0);
  }
});
