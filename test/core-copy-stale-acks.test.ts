// A copytruncate copy's registry entry follows its original's acknowledgements of the bytes it
// holds (OffsetTracker.copiesHolding) — also those the original's record calls stale. Soak
// --gap 1.5 seed 2907 (lives 31 and 32): w2.log's reader (A) had handed 11,340 bytes over behind
// a stalled Kafka, blocked at the gate, when the file was copytruncated; a reload came before A
// saw it. The successor found the copy continuing A's hand-over, and its own reader (B) found the
// file no longer holding it and read it from 0. A's batches were acknowledged after that: stale
// to the original's record (B's now), they moved no entry, and the copy's stayed where it was
// registered; the clean restart after it read the copy's rest again (the other half of that
// failure, the copy's entry overwritten with B's position, is the model test's regression).
// Pure: no filesystem, no clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SourceFile } from '../src/core/file.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { acknowledgementEntries } from '../src/core/registration.js';

const original = { dev: 65024, ino: 2859692 };
const copy = { dev: 65024, ino: 2859700 };
const reader = (n: number): SourceFile => ({ key: `65024:2859692:${n}`, identity: original, input: 'beta', path: '/soak/beta/w2.log' });
const copySource: SourceFile = { key: '65024:2859700:73', identity: copy, input: 'beta', path: '/soak/beta/w2.log' };
const oldPrint = { len: 1024, hash: 'old content' };
const newPrint = { len: 90, hash: 'new content' };
const at = (offset: number, epoch: number, fingerprint = oldPrint) => ({ offset, fingerprint, marker: { len: 64, hash: `m${offset}` }, epoch });
/** What the agent persists for the acknowledgement (Agent.createShipper): entry -> offset, by inode. */
const persisted = (tracker: OffsetTracker, source: SourceFile, offset: number, epoch: number, fingerprint = oldPrint): Record<number, number> =>
  Object.fromEntries(acknowledgementEntries(tracker, source, at(offset, epoch, fingerprint), 0).map((entry) => [entry.identity.ino, entry.offset]));

/** The scene up to Kafka's answer: A handed 11,340 bytes over, the copy was found from there, B restarted the file from 0. */
function scene(readBy: readonly string[] | undefined): OffsetTracker {
  const tracker = new OffsetTracker();
  tracker.track(reader(1), { offset: 0, fingerprint: oldPrint, marker: null, epoch: 0 }).handedOver(11_340, { len: 64, hash: 'm11340' }, oldPrint, 0);
  // The successor's startup search: the copy continues A's hand-over; who read it: the keys of
  // the tracker's record of the original then (Tailer.followCopy, KnownFiles.readersOf), A's.
  const copyOf = { identity: original, epoch: 0, upTo: 11_340, ...(readBy === undefined ? {} : { readBy }) };
  tracker.announce(copySource, at(4_536, 0), at(11_340, 0), 156_375, copyOf);
  // B's start no longer matched (offset past EOF): from 0, in the next epoch.
  tracker.track(reader(72), { offset: 0, fingerprint: newPrint, marker: null, epoch: 1 }).handedOver(6_570, { len: 64, hash: 'm6570' }, newPrint, 1);
  return tracker;
}

test('seed 2907: the predecessor\'s acknowledgements, stale to the original, move the copy it read the bytes of', () => {
  const tracker = scene([reader(1).key]);
  assert.deepEqual(persisted(tracker, reader(1), 11_340, 0), { [copy.ino]: 11_340 }, 'the original\'s entry is B\'s to move; the copy\'s moves to 11,340');
  assert.deepEqual(persisted(scene([reader(1).key]), reader(1), 11_341, 0), {}, 'not past what the copy holds');
});

test('the successor\'s own acknowledgements (the new content, the next epoch) move the original, never the copy', () => {
  const tracker = scene([reader(1).key]);
  assert.deepEqual(persisted(tracker, reader(72), 6_570, 1, newPrint), { [original.ino]: 6_570 });
});

test('a stale acknowledgement of a reader that did not read the copied bytes (an earlier file on a reused inode) moves no copy', () => {
  assert.deepEqual(persisted(scene([reader(1).key]), reader(5), 4_000, 0), {});
  assert.deepEqual(persisted(scene(undefined), reader(1), 11_340, 0), {}, 'who read the bytes unknown: as before, stale moves nothing');
});
