// The poll thread tallies delivery reports on its own and hands them to the shared outcome set
// once per poll: the tally must still land on the right tickets when one poll serves more
// tickets and failed records than it holds (it then merges early), and a ticket's counts and
// its failed records' rows must arrive together.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeProducer } from '../src/shipper/native-producer.js';
import { produceChunk, rawProducer } from './helpers/raw-producer.js';

const PURGE_QUEUE = -152;

test('a purge failing 1,500 tickets of 3 records at once reports each record failed once, on its own ticket', async () => {
  loadNativeProducer();
  // No broker: every record stays queued until close() purges it, and the purge's reports are
  // served in one go — more tickets (1,500) and failed records (4,500) than one tally holds.
  const { producer, rows, details, detailsDropped, close } = rawProducer('127.0.0.1:1', { 'socket.connection.setup.timeout.ms': '1000' });
  const id = producer.topic('stage.purged');
  const tickets = 1500;
  for (let t = 1; t <= tickets; t++) assert.equal(produceChunk(producer, id, t, `t${t}`, 3), 3);
  await close(0);

  const byTicket = new Map<number, { acked: number; failed: number; skipped: number }>();
  for (const r of rows) {
    const sum = byTicket.get(r.ticket) ?? { acked: 0, failed: 0, skipped: 0 };
    sum.acked += r.acked;
    sum.failed += r.failed;
    sum.skipped += r.skipped;
    byTicket.set(r.ticket, sum);
    assert.equal(r.firstError, r.failed > 0 ? PURGE_QUEUE : 0, `ticket ${r.ticket}: first error`);
  }
  assert.equal(byTicket.size, tickets, 'every ticket reported');
  for (let t = 1; t <= tickets; t++) assert.deepEqual(byTicket.get(t), { acked: 0, failed: 3, skipped: 0 }, `ticket ${t}`);
  // Failed records are described one by one (up to 4,096 per hand-over; more are counted).
  const seen = new Set(details.map((d) => `${d.ticket}:${d.index}`));
  assert.equal(seen.size, details.length, 'no record described twice');
  assert.ok(details.every((d) => d.ticket >= 1 && d.ticket <= tickets && d.index >= 0 && d.index < 3 && d.code === PURGE_QUEUE), 'each row names a record of its ticket');
  assert.equal(details.length + detailsDropped(), tickets * 3, 'every failed record described or counted');
});
