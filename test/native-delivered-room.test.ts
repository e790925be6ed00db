// The native producer frees delivered records on the JavaScript thread: their delivery-report
// events travel with the outcomes and are destroyed just before the outcomes reach JavaScript.
// Only then does librdkafka's queue have room again; so once a listener has seen records
// acknowledged, their room must be back — else a shipper waiting for acknowledgements to
// produce more would find the queue full for good. Also across a close, where every held
// record must be freed before the handle goes (rd_kafka_destroy would otherwise wait or crash).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createInjectableMockCluster, createNativeProducer, loadNativeProducer, type InjectableMockCluster } from '../src/shipper/native-producer.js';
import { packLines } from '../src/core/batch.js';
import { kcatConsume } from './helpers/cluster.js';
import { silent } from './helpers/native-listeners.js';

let mock: InjectableMockCluster;
before(() => {
  loadNativeProducer();
  mock = createInjectableMockCluster(3);
});
after(() => mock.destroy());

const QUEUE = 20;

for (const headers of [false, true]) {
  test(`records acknowledged to JavaScript have given their room in librdkafka's queue back${headers ? ' (with headers)' : ''}`, { timeout: 60_000 }, async () => {
    const topic = `room.${headers ? 'hdr' : 'raw'}.${process.pid}`;
    const rounds = 5;
    const values = Array.from({ length: QUEUE }, (_, i) => `v-${String(i).padStart(3, '0')}`);
    const { data, bounds } = packLines(values.map((v) => Buffer.from(v)));
    let acked = 0;
    let round: { need: number; resolve: () => void } | null = null;
    const p = createNativeProducer({ 'bootstrap.servers': mock.bootstrap, 'linger.ms': 1, 'queue.buffering.max.messages': QUEUE, log_level: 0 }, [], {
      ...silent,
      outcomes: (o) => {
        for (let k = 0; k < o.entryCount; k++) {
          assert.equal(o.entries[k * 5 + 2]! + o.entries[k * 5 + 3]!, 0, 'no record failed');
          acked += o.entries[k * 5 + 1]!;
        }
        if (round !== null && acked >= round.need) round.resolve();
      },
    });
    const alive = setInterval(() => undefined, 1000);
    try {
      const t = p.topic(topic);
      await p.metadata(5000);
      for (let r = 0; r < rounds; r++) {
        const delivered = new Promise<void>((resolve) => (round = { need: (r + 1) * QUEUE, resolve }));
        // A full queue's worth: all of it fits only if every record of the rounds before gave its room back.
        assert.equal(p.produce(t, r + 1, 0, QUEUE, data, bounds, null, headers ? ['h', Buffer.from('1')] : null, null), QUEUE, `round ${r}: the whole queue is free again`);
        assert.equal(p.produce(t, r + 1, 0, 1, data, bounds, null, null, null), 0, `round ${r}: and then full (the check is not vacuous)`);
        await delivered;
      }
    } finally {
      clearInterval(alive);
      await p.close(5000);
    }
    assert.equal((await kcatConsume(mock.bootstrap, topic)).length, rounds * QUEUE, 'every record once');
  });
}
