// registrationEntry: which registry entry a followed file gets before its own lines are
// acknowledged. Pure: no filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Checkpoint, FilePosition } from '../src/core/file.js';
import { registrationEntry } from '../src/core/registration.js';

const NOW = 1_800_000_000_000;
const identity = { dev: 1, ino: 42 };
const file = { identity, input: 'app', path: '/var/log/app.log' };
const zero: FilePosition = { offset: 0, fingerprint: { len: 0, hash: 'e3' }, marker: null };
const at = (offset: number): FilePosition => ({ offset, fingerprint: { len: 1024, hash: 'f1' }, marker: offset > 0 ? { len: 64, hash: `m${offset}` } : null });
const entry = (offset: number, extra: Partial<Checkpoint> = {}): Checkpoint => ({
  identity,
  fingerprint: { len: 1024, hash: 'old' },
  input: 'other',
  path: '/var/log/other.log',
  offset,
  marker: offset > 0 ? { len: 64, hash: 'old' } : null,
  lastSeen: NOW - 5_000,
  seenAt: NOW - 5_000,
  ...extra,
});

describe('registrationEntry', () => {
  test('a file the registry does not know: registered at the position, seenAt 0 unless seen at its path', () => {
    assert.deepEqual(registrationEntry(file, zero, zero, undefined, NOW), { ...file, fingerprint: zero.fingerprint, offset: 0, marker: null, lastSeen: NOW, seenAt: 0 });
    assert.equal(registrationEntry(file, zero, zero, undefined, NOW, NOW - 10)?.seenAt, NOW - 10);
  });

  test('an entry the follow continues (it starts there, past 0) is kept: it may be ahead of what the registration would say', () => {
    assert.equal(registrationEntry(file, at(800), at(1_000), entry(1_000), NOW), null);
  });

  test('an entry the follow does not continue is replaced: a reused inode\'s, a truncated file\'s old position, one at 0 with no first bytes', () => {
    assert.equal(registrationEntry(file, zero, zero, entry(5_000), NOW)?.offset, 0, 'a deleted file\'s entry on the inode a new file got');
    assert.equal(registrationEntry(file, at(800), at(1_000), entry(3_000), NOW)?.offset, 800, 'a copy on a reused inode');
    assert.equal(registrationEntry(file, at(0), at(0), entry(0, { fingerprint: zero.fingerprint }), NOW)?.fingerprint.len, 1024, 'the first bytes, once read');
    assert.equal(registrationEntry(file, zero, zero, entry(5_000), NOW)?.path, file.path);
  });

  test('an entry marked deleted is replaced even where the follow starts', () => {
    assert.equal(registrationEntry(file, at(800), at(1_000), entry(1_000, { deleted: true }), NOW)?.offset, 800);
  });
});
