// The offset tracker: positions per identity across readers and reloads, acknowledgement
// verdicts, the lag floor, deleted files. Pure: no filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SourceFile } from '../src/core/file.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';

const identity = { dev: 1, ino: 42 };
const source = (n: number): SourceFile => ({ key: `1:42:${n}`, identity, input: 'app', path: '/var/log/app.log' });
const print = (len: number) => ({ len, hash: `h${len}` });
const marker = { len: 64, hash: 'm' };

describe('OffsetTracker', () => {
  test('a reader continuing where the previous one stood (reload) keeps its acknowledgements, its floor and its batches\' keys — also with a longer fingerprint', () => {
    const tracker = new OffsetTracker();
    const first = tracker.track(source(1), { offset: 0, fingerprint: print(10), marker: null });
    first.handedOver(5_000, marker, print(1024), 0);
    assert.equal(tracker.acknowledged(source(1), { offset: 2_000, fingerprint: print(1024), marker }), 'current');
    const second = tracker.track(source(2), { ...tracker.resumeFor(identity)!, fingerprint: print(1024) });
    assert.equal(second.shippedOffset, 2_000, 'lag counts from the acknowledged offset, not from the hand-over');
    assert.equal(tracker.acknowledged(source(1), { offset: 5_000, fingerprint: print(1024), marker }), 'current', 'the first reader\'s batches still land');
    assert.equal(second.shippedOffset, 5_000);
  });

  test('a copytruncate copy starting where its original stood has nothing before that to ship', () => {
    const tracker = new OffsetTracker();
    const copy = tracker.track({ ...source(3), identity: { dev: 1, ino: 43 } }, { offset: 7_000, fingerprint: print(1024), marker });
    assert.equal(copy.shippedOffset, 7_000);
  });

  test('a copytruncate copy tracked after its original\'s last acknowledgement (its reader waited for the gate): the registry may hold that position for it, not the older one seen when the copy was found', () => {
    const tracker = new OffsetTracker();
    const original = tracker.track(source(6), { offset: 0, fingerprint: print(10), marker: null });
    original.handedOver(7_000, marker, print(1024), 0);
    assert.equal(tracker.acknowledged(source(6), { offset: 5_000, fingerprint: print(1024), marker, epoch: 0 }), 'current');
    // The copy is found now: its original's lines are acknowledged up to 5,000 ...
    const foundAt = tracker.get(identity)!.acknowledgedPosition!;
    // ... and up to 7,000 before the copy's reader opens it and is tracked.
    assert.equal(tracker.acknowledged(source(6), { offset: 7_000, fingerprint: print(1024), marker, epoch: 0 }), 'current');
    const copyIdentity = { dev: 1, ino: 43 };
    const copy = tracker.track({ ...source(7), identity: copyIdentity }, { offset: 7_000, fingerprint: print(1024), marker }, foundAt, { identity, epoch: 0, upTo: 7_000 });
    assert.equal(copy.persistable?.offset, 7_000, 'a restart must not read 5,000..7,000 of the copy again');
    // An acknowledgement of the original's next epoch says nothing about the copy.
    const other = tracker.track({ ...source(8), identity: { dev: 1, ino: 44 } }, { offset: 7_000, fingerprint: print(1024), marker }, foundAt, { identity, epoch: 1, upTo: 7_000 });
    assert.equal(other.persistable?.offset, 5_000);
  });

  test('a new file on a deleted file\'s inode: late acknowledgements of the old one are stale, the deleted one\'s are flagged', () => {
    const tracker = new OffsetTracker();
    const old = tracker.track(source(4), { offset: 0, fingerprint: print(10), marker: null });
    old.handedOver(900, marker, print(10), 0);
    tracker.gone(identity, old);
    assert.equal(tracker.isGone(identity), true);
    assert.equal(tracker.resumeFor(identity), undefined, 'forgotten: a new file there is not taken for it');
    assert.equal(tracker.acknowledged(source(4), { offset: 900, fingerprint: print(10), marker }), 'deleted');
    tracker.track(source(5), { offset: 0, fingerprint: print(3), marker: null });
    assert.equal(tracker.isGone(identity), false);
    assert.equal(tracker.acknowledged(source(4), { offset: 900, fingerprint: print(10), marker }), 'stale');
    assert.equal(tracker.acknowledged(source(5), { offset: 30, fingerprint: print(3), marker }), 'current');
  });

  test('gone() from a reader that was replaced already does not forget its successor', () => {
    const tracker = new OffsetTracker();
    const old = tracker.track(source(6), { offset: 0, fingerprint: print(10), marker: null });
    tracker.track(source(7), { offset: 0, fingerprint: print(5), marker: null });
    tracker.gone(identity, old);
    assert.notEqual(tracker.get(identity), undefined);
  });

  test('after a truncation the lag counts in the new epoch only', () => {
    const tracker = new OffsetTracker();
    const record = tracker.track(source(8), { offset: 0, fingerprint: print(10), marker: null });
    tracker.acknowledged(source(8), { offset: 4_000, fingerprint: print(10), marker, epoch: 0 });
    record.started({ offset: 0, fingerprint: print(0), marker: null, epoch: 1 });
    assert.equal(record.shippedOffset, 0, 'the old epoch\'s offset says nothing about the new content');
  });

  test('rewind: hand-overs fall back to what was acknowledged (else the registry), unknown ones are dropped', () => {
    const tracker = new OffsetTracker();
    const a = tracker.track(source(9), { offset: 0, fingerprint: print(10), marker: null });
    a.handedOver(800, marker, print(10), 0);
    tracker.acknowledged(source(9), { offset: 300, fingerprint: print(10), marker });
    const other = { dev: 1, ino: 77 };
    const b = tracker.track({ ...source(10), identity: other }, { offset: 0, fingerprint: print(10), marker: null });
    b.handedOver(500, marker, print(10), 0);
    tracker.rewindToAcknowledged(() => undefined);
    assert.equal(tracker.resumeFor(identity)?.offset, 300);
    assert.equal(tracker.resumeFor(other), undefined);
  });
});

describe('OffsetTracker: a follow announced from 0 whose reader never began (the gate held it off)', () => {
  const zero = { offset: 0, fingerprint: print(0), marker: null };
  test('a successor continues from 0, nothing of the file read since the follow (soak seed 2202)', () => {
    const tracker = new OffsetTracker();
    tracker.announce(source(1), zero, zero, 30_160);
    assert.deepEqual(tracker.resumeFor(identity), { ...zero, path: '/var/log/app.log', input: 'app', unreadSince: 30_160 });
  });
  test('its reader begins: the record takes over (its own "unread since")', () => {
    const tracker = new OffsetTracker();
    tracker.announce(source(1), zero, zero, 30_160);
    const record = tracker.track(source(1), zero);
    record.handedOver(500, marker, print(10), 0);
    assert.equal(tracker.resumeFor(identity)?.offset, 500);
    assert.equal(tracker.resumeFor(identity)?.unreadSince, undefined);
  });
  test('deleted and closed: forgotten with it', () => {
    const tracker = new OffsetTracker();
    tracker.announce(source(1), zero, zero, 30_160);
    tracker.gone(identity, null);
    assert.equal(tracker.resumeFor(identity), undefined);
  });
});

describe('OffsetTracker: a copytruncate copy announced whose reader never began (a reload came first)', () => {
  const copy = { dev: 1, ino: 43 };
  const copySource = (n: number): SourceFile => ({ key: `1:43:${n}`, identity: copy, input: 'app', path: '/var/log/app.log' });
  // Seed 2205: the original's reader handed 24,885 bytes over, Kafka acknowledged 20,457; the copy
  // is found and announced, and a reload stops the tailer before the copy's reader opens it.
  const acknowledged = { offset: 20_457, fingerprint: print(1024), marker };
  const handedOver = { offset: 24_885, fingerprint: print(1024), marker: { len: 64, hash: 'm2' } };
  test('a successor continues it where the original\'s reader stood, not where the registry has it (soak seed 2205: 492 lines twice)', () => {
    const tracker = new OffsetTracker();
    tracker.announce(copySource(1), acknowledged, handedOver, 142_600);
    assert.deepEqual(tracker.resumeFor(copy), { ...handedOver, path: '/var/log/app.log', input: 'app' });
  });
  test('its reader begins: the record takes over', () => {
    const tracker = new OffsetTracker();
    tracker.announce(copySource(1), acknowledged, handedOver, 142_600);
    tracker.track(copySource(1), handedOver).handedOver(30_000, marker, print(1024), 0);
    assert.equal(tracker.resumeFor(copy)?.offset, 30_000);
  });
  test('rewind (the producer replaced undrained): the original\'s hand-over is read again, so the copy continues from what the registry holds for it', () => {
    const tracker = new OffsetTracker();
    tracker.announce(copySource(1), acknowledged, handedOver, 142_600);
    tracker.rewindToAcknowledged(() => undefined);
    assert.equal(tracker.resumeFor(copy)?.offset, 20_457);
  });
});

describe('OffsetTracker: a copytruncate copy stays one across a reload until its own lines are acknowledged', () => {
  const copy = { dev: 1, ino: 43 };
  const copySource = (n: number): SourceFile => ({ key: `1:43:${n}`, identity: copy, input: 'app', path: '/var/log/app.log' });
  const copyOf = { identity, epoch: 0, upTo: 24_885 };
  const acknowledged = { offset: 20_457, fingerprint: print(1024), marker };
  const handedOver = { offset: 24_885, fingerprint: print(1024), marker: { len: 64, hash: 'm2' } };
  const originalAcked = (offset: number) => ({ offset, fingerprint: print(1024), marker, epoch: 0 });
  const holding = (tracker: OffsetTracker, offset: number): number[] => tracker.copiesHolding(source(1), originalAcked(offset)).map((c) => c.identity.ino);
  test('announced, its reader not begun: the original\'s acknowledgements reach its entry', () => {
    const tracker = new OffsetTracker();
    tracker.announce(copySource(1), acknowledged, handedOver, 142_600, copyOf);
    assert.deepEqual(holding(tracker, 24_885), [43]);
    assert.deepEqual(holding(tracker, 24_886), [], 'past what the copy holds of its original');
  });
  test('a successor\'s reader starting where the announcement said: still a copy (a clean restart re-reads nothing of it)', () => {
    const tracker = new OffsetTracker();
    tracker.announce(copySource(1), acknowledged, handedOver, 142_600, copyOf);
    tracker.track(copySource(2), handedOver); // the successor follows it as a known rotated file: no copyOf
    assert.deepEqual(holding(tracker, 24_885), [43]);
  });
  test('a begun copy continued by a successor: still a copy; no longer once its own lines are acknowledged', () => {
    const tracker = new OffsetTracker();
    tracker.track(copySource(1), handedOver, acknowledged, copyOf);
    tracker.track(copySource(2), handedOver).handedOver(30_000, marker, print(1024), 0);
    assert.deepEqual(holding(tracker, 24_885), [43]);
    assert.equal(tracker.acknowledged(copySource(2), { offset: 30_000, fingerprint: print(1024), marker, epoch: 0 }), 'current');
    assert.deepEqual(holding(tracker, 24_885), []);
  });
});
