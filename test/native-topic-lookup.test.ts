// A topic's own partition lookup in the native producer: keyless records stick to one partition
// per produce() call (no per-record partitioner) as soon as the topic's partitions are known.
// The shipper's probe (a metadata request every 2 s) used to be the only source, so a new
// topic's first seconds — all of a 1M-line shipment — ran librdkafka's partitioner per record.
// These producers have no probe: what they learn, they learn by their own lookup.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createInjectableMockCluster, loadNativeProducer, type InjectableMockCluster } from '../src/shipper/native-producer.js';
import { until } from './helpers/agent-process.js';
import { produceChunk, rawProducer } from './helpers/raw-producer.js';
import { kcatConsume } from './helpers/cluster.js';

let mock: InjectableMockCluster;
before(() => {
  loadNativeProducer();
  mock = createInjectableMockCluster(3);
});
after(() => mock.destroy());

test('a new producer looks up an existing topic on its first produce call, and sticks each later call to one partition', async () => {
  const topic = 'lookup.existing';
  const creator = rawProducer(mock.bootstrap);
  assert.equal(produceChunk(creator.producer, creator.producer.topic(topic), 1, 'create', 1), 1);
  await until(() => creator.acked() === 1, 20_000, 'the topic is created');
  await creator.close();

  const { producer, acked, close } = rawProducer(mock.bootstrap);
  const id = producer.topic(topic);
  assert.equal(producer.knownPartitions(id), 0, 'nothing is known before the first call');
  assert.equal(produceChunk(producer, id, 2, 'first', 20), 20);
  await until(() => producer.knownPartitions(id) > 0, 10_000, "the topic's own lookup answered");
  assert.equal(producer.knownPartitions(id), 4, 'the mock cluster auto-creates 4 partitions, each with a leader');
  for (let k = 0; k < 4; k++) assert.equal(produceChunk(producer, id, 3 + k, `sticky${k}`, 20), 20);
  await until(() => acked() === 100, 20_000, 'every record acknowledged');
  await close();

  const recs = await kcatConsume(mock.bootstrap, topic);
  assert.equal(recs.length, 1 + 100, 'each record once');
  for (let k = 0; k < 4; k++) {
    const parts = new Set(recs.filter((r) => r.value.toString().startsWith(`sticky${k}-`)).map((r) => r.partition));
    assert.equal(parts.size, 1, `call ${k}: one partition (${[...parts].join(', ')})`);
  }
});

test('a topic that did not exist at the first lookup is looked up again by later calls, after a backoff', async () => {
  const topic = 'lookup.late';
  // Auto-creation off: this producer's records wait, and its lookups find no partitions.
  const waiting = rawProducer(mock.bootstrap, { 'allow.auto.create.topics': 'false' });
  const id = waiting.producer.topic(topic);
  assert.equal(produceChunk(waiting.producer, id, 1, 'early', 1), 1);
  // Another producer creates the topic meanwhile.
  const creator = rawProducer(mock.bootstrap);
  assert.equal(produceChunk(creator.producer, creator.producer.topic(topic), 1, 'create', 1), 1);
  await until(() => creator.acked() === 1, 20_000, 'the topic is created');
  await creator.close();
  // Each call may ask again once its backoff passed; nothing else asks (no probe here).
  let ticket = 2;
  await until(() => produceChunk(waiting.producer, id, ticket++, 'later', 1) === 1 && waiting.producer.knownPartitions(id) > 0, 10_000, 'a later lookup found the partitions');
  await waiting.close();
});
