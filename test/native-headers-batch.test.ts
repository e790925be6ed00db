// Records with headers go through rd_kafka_produce_batch like records without (their headers
// added by the native producer's on_send interceptor), except the few that might not fit
// message.max.bytes with their headers: rd_kafka_produce_batch checks a record's size before
// on_send adds them, so those go one by one through rd_kafka_producev, which refuses a record
// too large with its headers at once (MSG_SIZE_TOO_LARGE, listed at its own index) instead of
// sending it oversized. Records keep their order and a call still consumes a prefix. Read back
// with kcat from librdkafka's mock cluster.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createInjectableMockCluster, createNativeProducer, loadNativeProducer, type HeaderSpec, type InjectableMockCluster } from '../src/shipper/native-producer.js';
import { packLines } from '../src/core/batch.js';
import { kcatConsume } from './helpers/cluster.js';
import { acknowledging, silent } from './helpers/native-listeners.js';

const MSG_SIZE_TOO_LARGE = 10;
const MAX_BYTES = 1000;

let mock: InjectableMockCluster;
before(() => {
  loadNativeProducer();
  mock = createInjectableMockCluster(3);
});
after(() => mock.destroy());

// host, path and offset, as `headers: true` gives them; offsets of three digits.
const PATH = `/var/log/${'p'.repeat(91)}`; // 100 bytes
const headers: HeaderSpec = ['host', Buffer.from('h1'), 'path', Buffer.from(PATH), 'offset'];
// Their serialized size in a v2 record (librdkafka's rd_kafka_header_add): name + value + two
// zigzag varint lengths: host 4+2+1+1, path 4+100+1+2, offset 6+3+1+1.
const HEADERS_WIRE = 8 + 107 + 11;
// librdkafka's per-record framing bound checked against message.max.bytes (RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD).
const RECORD_OVERHEAD = 36;

const short = (i: number): string => `r-${String(i).padStart(3, '0')}`;
/** Fits without headers (936 bytes), not with them (1062 > 1000). */
const tooLargeWithHeaders = 'x'.repeat(900);
/** Exactly message.max.bytes with its headers: fits. */
const justFits = 'y'.repeat(MAX_BYTES - RECORD_OVERHEAD - HEADERS_WIRE);

function call(values: string[]): { data: Uint8Array; bounds: Uint32Array; offsets: Float64Array } {
  const { data, bounds } = packLines(values.map((v) => Buffer.from(v)));
  return { data, bounds, offsets: Float64Array.from(values, (_, i) => 100 + i) };
}

test('a record fitting message.max.bytes without its headers but not with them is refused as too large, alone; its neighbours go out with their headers, in order', async () => {
  assert.ok(RECORD_OVERHEAD + tooLargeWithHeaders.length <= MAX_BYTES && RECORD_OVERHEAD + tooLargeWithHeaders.length + HEADERS_WIRE > MAX_BYTES, 'the boundary case');
  const topic = `hdr-size.${process.pid}`;
  const values = [short(0), short(1), tooLargeWithHeaders, short(3), justFits, short(5), short(6)];
  const delivered = values.filter((v) => v !== tooLargeWithHeaders);
  const { listener, done } = acknowledging(2 * delivered.length);
  const p = createNativeProducer({ 'bootstrap.servers': mock.bootstrap, 'linger.ms': 5, 'message.max.bytes': MAX_BYTES, log_level: 0 }, [MSG_SIZE_TOO_LARGE], listener);
  try {
    const batched = p.topic(topic);
    const stamped = p.topic(`${topic}.stamped`);
    await p.metadata(5000); // keyless records of a call then stick to one partition: one order to read back
    const { data, bounds, offsets } = call(values);
    assert.equal(p.produce(batched, 1, 0, values.length, data, bounds, null, headers, offsets), values.length, 'every record consumed');
    assert.deepEqual([...p.refused.subarray(0, 3)], [1, 2, MSG_SIZE_TOO_LARGE], 'exactly record 2 refused, as too large');
    // The same through rd_kafka_producev all along (records with a timestamp): the same outcome.
    assert.equal(p.produceStamped(Date.now(), stamped, 2, 0, values.length, data, bounds, null, headers, offsets), values.length);
    assert.deepEqual([...p.refused.subarray(0, 3)], [1, 2, MSG_SIZE_TOO_LARGE], 'record by record: the same refusal');
    await done;
  } finally {
    await p.close(5000);
  }
  for (const t of [topic, `${topic}.stamped`]) {
    const records = await kcatConsume(mock.bootstrap, t);
    assert.equal(new Set(records.map((r) => r.partition)).size, 1, `${t}: one partition`);
    assert.deepEqual(records.map((r) => r.value.toString()), delivered, `${t}: every other record once, in order`);
    for (const r of records) {
      const i = values.indexOf(r.value.toString());
      assert.deepEqual(r.headers, { host: 'h1', path: PATH, offset: String(100 + i) }, `${t}: record ${i} keeps its own headers`);
    }
  }
});

test('records with headers: a full queue stops the call at a prefix, also at a record that goes one by one; a too-large one is refused alone', async () => {
  // Nothing answers on port 1: records stay queued, so the queue limit is what stops produce().
  const p = createNativeProducer({ 'bootstrap.servers': '127.0.0.1:1', 'queue.buffering.max.messages': 5, 'message.max.bytes': MAX_BYTES, log_level: 0 }, [MSG_SIZE_TOO_LARGE], silent);
  try {
    const t = p.topic('hdr-prefix');
    const values = [short(0), short(1), tooLargeWithHeaders, short(3), short(4), justFits, short(6), short(7)];
    const { data, bounds, offsets } = call(values);
    assert.equal(p.produce(t, 1, 0, 4, data, bounds, null, headers, offsets), 4, 'r0, r1, the refused record, r3');
    assert.deepEqual([...p.refused.subarray(0, 3)], [1, 2, MSG_SIZE_TOO_LARGE], 'exactly record 2 refused, as too large');
    assert.equal(p.produce(t, 1, 4, 4, data, bounds, null, headers, offsets), 2, 'r4, then the one near the limit (one by one): the queue (5) is full after it');
    assert.equal(p.refused[0], 0, 'nothing refused');
    assert.equal(p.produce(t, 1, 6, 2, data, bounds, null, headers, offsets), 0, 'still full: nothing consumed, nothing skipped');
    assert.equal(p.refused[0], 0);
  } finally {
    await p.close(0);
  }
  const p2 = createNativeProducer({ 'bootstrap.servers': '127.0.0.1:1', 'queue.buffering.max.messages': 2, 'message.max.bytes': MAX_BYTES, log_level: 0 }, [MSG_SIZE_TOO_LARGE], silent);
  try {
    const t = p2.topic('hdr-prefix2');
    const values = [short(0), short(1), justFits, short(3)];
    const { data, bounds, offsets } = call(values);
    assert.equal(p2.produce(t, 1, 0, 4, data, bounds, null, headers, offsets), 2, 'r0 and r1; the queue (2) is full at the one near the limit (one by one)');
    assert.equal(p2.refused[0], 0, 'nothing refused');
    assert.equal(p2.produce(t, 1, 2, 2, data, bounds, null, headers, offsets), 0, 'still full');
  } finally {
    await p2.close(0);
  }
});
