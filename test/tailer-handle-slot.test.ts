// A handle slot's life alone (src/tailer/handle-pool.ts): busy · idle · closing · free, every
// legal move and each illegal one refused with a typed error naming the file, the state and the
// move. No file, no clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandleSlot, HandleSlotError, type HandleSlotState, type PooledReader } from '../src/tailer/handle-pool.js';

const reader = (reopenable = true): PooledReader => ({ evict: async () => undefined, atEof: false, reopenable, path: '/var/log/app.log' });

function refused(act: () => unknown, from: HandleSlotState, transition: string): void {
  assert.throws(act, (err: unknown) => {
    assert.ok(err instanceof HandleSlotError, String(err));
    assert.equal(err.from, from);
    assert.equal(err.transition, transition);
    assert.equal(err.path, '/var/log/app.log');
    return true;
  });
}

test('a slot is reserved busy; use and rest move it between busy and idle, repeating either is a no-op', () => {
  const slot = new HandleSlot(reader());
  assert.equal(slot.state, 'busy');
  assert.equal(slot.evictable, false, 'a busy slot is never evicted');
  slot.use();
  assert.equal(slot.state, 'busy');
  slot.rest();
  assert.equal(slot.state, 'idle');
  assert.equal(slot.evictable, true);
  slot.rest();
  assert.equal(slot.state, 'idle');
  slot.use();
  assert.equal(slot.state, 'busy');
});

test("an idle slot of a file that cannot be reopened (deleted) is not evictable", () => {
  const slot = new HandleSlot(reader(false));
  slot.rest();
  assert.equal(slot.evictable, false);
});

test('eviction: only from idle; closing until the pool says it is over, then free; its reader freeing it meanwhile does not drop it', () => {
  const slot = new HandleSlot(reader());
  refused(() => slot.evict(), 'busy', 'evict');
  slot.rest();
  slot.evict();
  assert.equal(slot.state, 'closing');
  assert.equal(slot.evictable, false);
  refused(() => slot.use(), 'closing', 'use');
  refused(() => slot.rest(), 'closing', 'rest');
  refused(() => slot.evict(), 'closing', 'evict');
  assert.equal(slot.free(), false, 'the evicting pool drops it, not the reader');
  assert.equal(slot.state, 'closing');
  slot.evicted();
  assert.equal(slot.state, 'free');
});

test('free from busy or idle drops it once; a free slot refuses every move but free (a no-op)', () => {
  for (const rest of [false, true]) {
    const slot = new HandleSlot(reader());
    if (rest) slot.rest();
    assert.equal(slot.free(), true);
    assert.equal(slot.state, 'free');
    assert.equal(slot.free(), false, 'freed twice: dropped once');
    assert.equal(slot.evictable, false);
    refused(() => slot.use(), 'free', 'use');
    refused(() => slot.rest(), 'free', 'rest');
    refused(() => slot.evict(), 'free', 'evict');
    refused(() => slot.evicted(), 'free', 'evicted');
  }
  refused(() => new HandleSlot(reader()).evicted(), 'busy', 'evicted');
});
