// The in-flight gate: open once started and under kafka.max_in_flight_bytes, closed otherwise;
// waiters woken when it reopens; its closings counted (the pipeline trace shows them).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightGate } from '../src/shipper/in-flight-gate.js';

test('closed until started, then open under the limit and closed at it; closed for good once stopped', () => {
  const gate = new InFlightGate(100);
  assert.equal(gate.isOpen(), false);
  gate.start();
  assert.equal(gate.isOpen(), true);
  gate.add(99);
  assert.equal(gate.isOpen(), true);
  gate.add(1);
  assert.equal(gate.isOpen(), false);
  gate.release(1);
  assert.equal(gate.isOpen(), true);
  gate.stop();
  gate.start();
  assert.equal(gate.isOpen(), false, 'a stopped gate does not start again');
});

test('counts each time the bytes in flight reach the limit, not each add above it', () => {
  const gate = new InFlightGate(100);
  gate.start();
  gate.add(150);
  gate.add(10); // already closed: not another closing
  assert.equal(gate.closings, 1);
  gate.release(160);
  gate.add(100);
  assert.equal(gate.closings, 2);
});

test('a waiter is woken when acknowledgements bring the bytes under the limit', async () => {
  const gate = new InFlightGate(100);
  gate.start();
  gate.add(120);
  let woken = false;
  const waiting = gate.waitOpen().then(() => (woken = true));
  gate.release(10);
  await Promise.resolve();
  assert.equal(woken, false);
  gate.release(20);
  await waiting;
  assert.equal(woken, true);
});

test('a reader waiting before the start is woken by it', async () => {
  const gate = new InFlightGate(100);
  const waiting = gate.waitOpen();
  gate.start();
  await waiting;
  assert.equal(gate.isOpen(), true);
});
