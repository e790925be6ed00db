// The reader's life alone (src/tailer/reader-life.ts): every transition from the states it comes
// from, and each illegal one refused with a typed error naming the file, the state and the
// transition. No file, no clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StartPoint } from '../src/tailer/prospector.js';
import { ReaderLifecycle, ReaderStateError, type ReaderLifeKind } from '../src/tailer/reader-life.js';

const START: StartPoint = { fallback: 0 };
const identity = { dev: 1, ino: 2 };
const life = (): ReaderLifecycle => new ReaderLifecycle(START, identity, () => '/var/log/app.log');

/** Asserts `act` is refused with a ReaderStateError from `from`. */
function refused(act: () => unknown, from: ReaderLifeKind, transition: string): void {
  assert.throws(act, (err: unknown) => {
    assert.ok(err instanceof ReaderStateError, String(err));
    assert.equal(err.from, from);
    assert.equal(err.transition, transition);
    assert.equal(err.path, '/var/log/app.log');
    assert.deepEqual(err.identity, identity);
    assert.match(err.message, new RegExp(`/var/log/app.log \\(1:2\\): '${transition}' is not possible while ${from}`));
    return true;
  });
}

test('starting: the start settles once — the read that settled it goes on with no truncation check, the next one is fresh', () => {
  const l = life();
  assert.deepEqual(l.current, { kind: 'starting', start: START, mismatchTold: false });
  assert.equal(l.started, false);
  l.settleStart(null);
  assert.equal(l.started, true);
  assert.equal(l.takeNextRead(), 'continuing');
  assert.equal(l.takeNextRead(), 'fresh');
  assert.equal(l.takeNextRead(), 'fresh');
  refused(() => l.settleStart(null), 'reading', 'start');
  refused(() => l.skip('compressed archive'), 'reading', 'skip');
  refused(() => l.tellMismatch(), 'reading', 'tell a mismatch');
});

test('starting: a mismatch is told once, then the start settles; reading before it settles is refused', () => {
  const l = life();
  refused(() => l.takeNextRead(), 'starting', 'read');
  refused(() => l.truncate(1), 'starting', 'truncate');
  l.tellMismatch();
  assert.deepEqual(l.current, { kind: 'starting', start: START, mismatchTold: true });
  refused(() => l.tellMismatch(), 'starting', 'tell a mismatch');
  // The follower's answer to the mismatch's 'truncated' outcome: nothing to restart, the next read settles the start.
  assert.equal(l.restart(), null);
  assert.equal(l.current.kind, 'starting');
  l.settleStart(5);
  assert.deepEqual(l.current, { kind: 'reading', next: 'continuing', unreadSince: 5 });
});

test('skipped is an end: no read, no restart', () => {
  const l = life();
  l.skip('compressed archive');
  assert.deepEqual(l.current, { kind: 'skipped', reason: 'compressed archive' });
  assert.equal(l.started, true, 'its start was settled (a successor is not handed the start point)');
  refused(() => l.takeNextRead(), 'skipped', 'read');
  refused(() => l.restart(), 'skipped', 'restart after a truncation');
  l.halt();
  assert.deepEqual(l.current, { kind: 'stopped', unsettled: null });
});

test('unread since: reported once before the first bytes, and the read after the search checks for truncation without a tail read', () => {
  const l = life();
  l.settleStart(1_000);
  assert.equal(l.takeNextRead(), 'continuing', 'the read that settled the start goes on');
  assert.equal(l.unreadSince, 1_000);
  assert.equal(l.reportUnread(), 1_000);
  assert.equal(l.unreadSince, null);
  refused(() => l.reportUnread(), 'reading', 'report unread since');
  assert.equal(l.takeNextRead(), 'after-search');
  assert.equal(l.takeNextRead(), 'fresh');
});

test('truncated: waits for the answer about its copy, then restarts in the next epoch; unread since carries over until the first bytes are read', () => {
  const l = life();
  l.settleStart(7);
  l.takeNextRead();
  l.truncate(1);
  assert.deepEqual(l.current, { kind: 'truncated', epoch: 1, unreadSince: 7 });
  refused(() => l.takeNextRead(), 'truncated', 'read');
  refused(() => l.truncate(2), 'truncated', 'truncate');
  refused(() => l.restartedFrom0(null), 'truncated', 'restart from 0');
  assert.equal(l.restart(), 1);
  // Restarted, its first bytes not read yet (a read failing here leaves it reading on, as before).
  assert.deepEqual(l.current, { kind: 'reading', next: 'continuing', unreadSince: 7 });
  l.restartedFrom0(null);
  assert.deepEqual(l.current, { kind: 'reading', next: 'continuing', unreadSince: null });
  refused(() => l.restart(), 'reading', 'restart after a truncation');
  assert.equal(l.takeNextRead(), 'continuing', 'the read that found the truncation goes on without checking again');
  assert.equal(l.takeNextRead(), 'fresh');
});

test('restarted into an emptied file: unread since the restart', () => {
  const l = life();
  l.settleStart(null);
  l.truncate(3);
  assert.equal(l.restart(), 3);
  l.restartedFrom0(9_000);
  assert.equal(l.unreadSince, 9_000);
});

test('halt from each state: stopped, keeping the start not settled yet', () => {
  const cases: Array<[string, (l: ReaderLifecycle) => void, { start: StartPoint; mismatchTold: boolean } | null]> = [
    ['starting', () => undefined, { start: START, mismatchTold: false }],
    ['starting, mismatch told', (l) => l.tellMismatch(), { start: START, mismatchTold: true }],
    ['reading', (l) => l.settleStart(null), null],
    ['truncated', (l) => (l.settleStart(null), l.truncate(1)), null],
    ['skipped', (l) => l.skip('x'), null],
  ];
  for (const [name, into, unsettled] of cases) {
    const l = life();
    into(l);
    l.halt();
    assert.deepEqual(l.current, { kind: 'stopped', unsettled }, name);
    assert.equal(l.stopped, true, name);
    assert.equal(l.started, unsettled === null, name);
    l.halt();
    assert.deepEqual(l.current, { kind: 'stopped', unsettled }, `${name}: halting again changes nothing`);
  }
});

test('stopped wins over a read in flight: it stays stopped, but a start not settled yet is settled by it (and told mismatches recorded)', () => {
  const settling = life();
  settling.halt();
  assert.equal(settling.started, false);
  settling.tellMismatch();
  assert.deepEqual(settling.current, { kind: 'stopped', unsettled: { start: START, mismatchTold: true } });
  refused(() => settling.tellMismatch(), 'stopped', 'tell a mismatch');
  settling.settleStart(null);
  assert.deepEqual(settling.current, { kind: 'stopped', unsettled: null }, 'settled: the file is tracked from there, a successor is handed that position');
  assert.equal(settling.started, true);
  refused(() => settling.settleStart(null), 'stopped', 'start');
  const skipping = life();
  skipping.halt();
  skipping.skip('compressed archive');
  assert.deepEqual(skipping.current, { kind: 'stopped', unsettled: null });
  const reading = life();
  reading.settleStart(null);
  reading.halt();
  reading.truncate(1);
  assert.equal(reading.restart(), null, 'nothing to restart once stopped');
  reading.restartedFrom0(null);
  assert.deepEqual(reading.current, { kind: 'stopped', unsettled: null });
  refused(() => reading.takeNextRead(), 'stopped', 'read');
  refused(() => reading.reportUnread(), 'stopped', 'report unread since');
  refused(() => reading.skip('x'), 'stopped', 'skip');
});
