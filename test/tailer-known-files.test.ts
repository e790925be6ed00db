// KnownFiles.byPath: which registry and tracker entries count as a look at their live path —
// no filesystem (no file is opened), no clock (the time is passed in).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint } from '../src/core/file.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { KnownFiles } from '../src/tailer/known-files.js';
import { planKnownPath } from '../src/tailer/prospector.js';

const NOW = 1_800_000_000_000;
const PATH = '/var/log/app.log';

function entry(ino: number, lastSeen: number, more: Partial<Checkpoint> = {}): Checkpoint {
  return { identity: { dev: 1, ino }, fingerprint: { len: 4, hash: 'ab' }, input: 'app', path: PATH, offset: 4, marker: null, lastSeen, ...more };
}

function knownAt(entries: Checkpoint[]): KnownFiles {
  const checkpoints = { get: () => undefined, all: () => entries, seen: () => undefined };
  return new KnownFiles(new OffsetTracker(), checkpoints, () => Promise.reject(new Error('no file is opened')), () => NOW);
}

test("a deleted file's entry without a sighting does not stand its acknowledgement's time in for a look at the path", () => {
  // B seen at the path at 1_000; A deleted, its only entry written by its acknowledgement at
  // 5_000 (behind a stall), after a file born at the path at 3_000 and rotated away.
  const known = knownAt([entry(1, NOW - 5_000, { deleted: true }), entry(2, NOW - 500, { seenAt: NOW - 10_000 })]).byPath().get(PATH)!;
  assert.deepEqual(known.find((file) => file.identity.ino === 1), { identity: { dev: 1, ino: 1 }, input: 'app', path: PATH, seenAt: NOW - 5_000, deleted: true, unsighted: true });
  assert.equal(planKnownPath(known, { dev: 1, ino: 3 })?.since, NOW - 10_000, 'the last real look bounds the search for files born since');
});

test("a deleted file's entry with a sighting counts as a look; deleted entries alone still bound the search", () => {
  const sighted = knownAt([entry(1, NOW - 5_000, { deleted: true, seenAt: NOW - 8_000 }), entry(2, NOW - 500, { seenAt: NOW - 10_000 })]).byPath().get(PATH)!;
  assert.equal(planKnownPath(sighted, { dev: 1, ino: 3 })?.since, NOW - 8_000);
  const onlyDeleted = knownAt([entry(1, NOW - 5_000, { deleted: true })]).byPath().get(PATH)!;
  assert.equal(planKnownPath(onlyDeleted, { dev: 1, ino: 3 })?.since, NOW - 5_000, 'nothing ever sighted at the path: the entries are all there is');
});
