// The prospector's decisions, scripted: facts in, decisions out — no filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { copyStart, decideMiddle, decideStart, type KnownFile, liveMayHaveChanged, middleSearchSince, planKnownPath, registrationBeforeOpen, type StartFacts, unreadSinceAtStart } from '../src/tailer/prospector.js';

const NOW = 1_800_000_000_000;
const fingerprint = { len: 10, hash: 'ab' };

type FactsOverrides = Partial<Omit<StartFacts, 'file' | 'input'>> & { file?: Partial<StartFacts['file']>; input?: Partial<StartFacts['input']> };

function facts(overrides: FactsOverrides = {}): StartFacts {
  return {
    known: undefined,
    ignored: undefined,
    startup: false,
    since: undefined,
    now: NOW,
    ...overrides,
    input: { start_at: 'beginning', ignore_older: 0, ...overrides.input },
    file: { size: 500, mtimeMs: NOW - 1_000, bornAt: NOW - 60_000, birthtimeKnown: true, ...overrides.file },
  };
}

describe('decideStart: one rule for startup, runtime and reload', () => {
  test('a known position (hand-over or checkpoint) wins, whatever start_at and ignore_older say; a mismatch falls back to 0', () => {
    const known = { offset: 120, fingerprint, marker: { len: 64, hash: 'cd' }, path: '/var/log/app.log' };
    for (const startup of [true, false]) {
      assert.deepEqual(decideStart(facts({ known, startup, input: { start_at: 'end', ignore_older: 1 }, file: { mtimeMs: NOW - 3_600_000 } })), {
        kind: 'follow',
        start: { resume: known, fallback: 0 },
        forgetIgnored: false,
      });
    }
  });

  test('start_at applies to files found at startup only', () => {
    assert.deepEqual(decideStart(facts({ startup: true, input: { start_at: 'end' } })), { kind: 'follow', start: { fallback: 500 }, forgetIgnored: false });
    assert.deepEqual(decideStart(facts({ startup: false, input: { start_at: 'end' } })), { kind: 'follow', start: { fallback: 0 }, forgetIgnored: false });
    assert.deepEqual(decideStart(facts({ startup: true, input: { start_at: 'beginning' } })), { kind: 'follow', start: { fallback: 0 }, forgetIgnored: false });
  });

  test('at startup, a file born at a known path after the last look there is new: read from 0 even with start_at: end', () => {
    const since = NOW - 30_000;
    assert.deepEqual(decideStart(facts({ startup: true, since, input: { start_at: 'end' }, file: { bornAt: since + 5 } })).kind, 'follow');
    assert.deepEqual(decideStart(facts({ startup: true, since, input: { start_at: 'end' }, file: { bornAt: since + 5 } })), { kind: 'follow', start: { fallback: 0 }, forgetIgnored: false });
    assert.deepEqual(decideStart(facts({ startup: true, since, input: { start_at: 'end' }, file: { bornAt: since - 1_000 } })), { kind: 'follow', start: { fallback: 500 }, forgetIgnored: false });
  });

  test('ignore_older skips a quiet file never followed and remembers its size; written later, it starts there', () => {
    const quiet = facts({ input: { ignore_older: 60_000 }, file: { mtimeMs: NOW - 120_000, size: 700 } });
    const skipped = decideStart(quiet);
    assert.deepEqual(skipped, { kind: 'ignore', remember: { size: 700, bornAt: NOW - 60_000 } });
    const written = facts({ input: { ignore_older: 60_000 }, ignored: { size: 700, bornAt: NOW - 60_000 }, file: { mtimeMs: NOW - 10, size: 900 } });
    assert.deepEqual(decideStart(written), { kind: 'follow', start: { fallback: 700 }, forgetIgnored: true });
  });

  test('a remembered skip does not apply to another file on the same inode (other birth time) or a file smaller than then', () => {
    const ignored = { size: 700, bornAt: NOW - 60_000 };
    assert.deepEqual(decideStart(facts({ ignored, file: { bornAt: NOW - 5, size: 900 } })), { kind: 'follow', start: { fallback: 0 }, forgetIgnored: true });
    assert.deepEqual(decideStart(facts({ ignored, file: { size: 100 } })), { kind: 'follow', start: { fallback: 0 }, forgetIgnored: true });
    // Without birth times (some filesystems), the size alone decides.
    assert.deepEqual(decideStart(facts({ ignored, file: { bornAt: NOW - 5, size: 900, birthtimeKnown: false } })), { kind: 'follow', start: { fallback: 700 }, forgetIgnored: true });
  });
});

describe('copyStart: where a copytruncate copy continues', () => {
  const before = { offset: 1_000, fingerprint, marker: { len: 64, hash: 'aa' } };
  test('from where the original stood, unless the copy was already followed further', () => {
    assert.equal(copyStart(before, undefined), before);
    assert.equal(copyStart(before, { ...before, offset: 0, marker: null }), before, 'a position of a file that had that inode before');
    const further = { ...before, offset: 1_500, marker: { len: 64, hash: 'bb' } };
    assert.equal(copyStart(before, further), further);
  });
});

describe('planKnownPath: startup and reload, per live path', () => {
  const file = (ino: number, seenAt: number): KnownFile => ({ identity: { dev: 1, ino }, input: 'app', path: '/var/log/app.log', seenAt });
  test('nothing known: nothing to plan', () => {
    assert.equal(planKnownPath([], { dev: 1, ino: 1 }), null);
  });
  test('the live file is known and nothing rotated: the path did not change hands', () => {
    assert.deepEqual(planKnownPath([file(1, 100)], { dev: 1, ino: 1 }), { since: 100, rotated: [], searchMiddle: false });
  });
  test('known files rotated away are finished oldest first; a path that changed hands is searched for middle files from its last look', () => {
    const plan = planKnownPath([file(3, 300), file(2, 200), file(4, 50)], { dev: 1, ino: 9 });
    assert.deepEqual(plan?.rotated.map((f) => f.identity.ino), [4, 2, 3]);
    assert.equal(plan?.since, 300);
    assert.equal(plan?.searchMiddle, true);
  });
  test('the live file known and older ones rotated: finish those, no middle search', () => {
    const plan = planKnownPath([file(1, 300), file(2, 200)], { dev: 1, ino: 1 });
    assert.deepEqual([plan?.rotated.map((f) => f.identity.ino), plan?.searchMiddle], [[2], false]);
  });
  test('the path is empty now: every known file is rotated away, and the path is searched', () => {
    const plan = planKnownPath([file(1, 300)], undefined);
    assert.deepEqual([plan?.rotated.length, plan?.searchMiddle], [1, true]);
  });
  test('every file known at the path was deleted before the stop: nothing to finish, but the path is searched from their last sighting', () => {
    const plan = planKnownPath([{ ...file(1, 300), deleted: true }, { ...file(2, 500), deleted: true }], { dev: 1, ino: 9 });
    assert.deepEqual(plan, { since: 500, rotated: [], searchMiddle: true });
  });
  test('a deleted file\'s inode given to the file at the path now: not taken for it (the path changed hands)', () => {
    const plan = planKnownPath([{ ...file(1, 300), deleted: true }], { dev: 1, ino: 1 });
    assert.deepEqual(plan, { since: 300, rotated: [], searchMiddle: true });
  });
  test('a file followed but never seen at the path (a rotated one resumed at startup: "now") does not hide the last real look (a reload: files born since the old tailer stopped)', () => {
    const plan = planKnownPath([{ ...file(2, 9_000), unsighted: true }, file(1, 300)], { dev: 1, ino: 9 });
    assert.deepEqual([plan?.since, plan?.rotated.map((f) => f.identity.ino)], [300, [1, 2]]);
    assert.equal(planKnownPath([{ ...file(2, 9_000), unsighted: true }], { dev: 1, ino: 9 })?.since, 9_000, 'nothing at the path ever seen: now is the bound');
  });
  test('a deleted file seen after the live one: its sighting is the last look; only the live file\'s older siblings are finished', () => {
    const plan = planKnownPath([file(1, 300), file(2, 200), { ...file(3, 400), deleted: true }], { dev: 1, ino: 1 });
    assert.deepEqual([plan?.since, plan?.rotated.map((f) => f.identity.ino), plan?.searchMiddle], [400, [2], false]);
  });
});

describe('registrationBeforeOpen: what the registry learns when a follow is decided, before the reader opens the file', () => {
  const acknowledged = { offset: 800, fingerprint, marker: { len: 64, hash: 'ac' } };
  const before = { offset: 1_000, fingerprint, marker: { len: 64, hash: 'aa' } };
  test('a file read from its start: 0, no first bytes yet (a middle file, a new live file)', () => {
    const zero = registrationBeforeOpen({ fallback: 0 });
    assert.deepEqual([zero?.at.offset, zero?.at.fingerprint.len, zero?.at.marker, zero?.from.offset], [0, 0, null, 0]);
    assert.ok(registrationBeforeOpen({ fallback: 0, skipCompressed: true }) !== null, 'a middle file, compressed or not: skipping it later harms nothing');
  });
  test('a copytruncate copy: where its original is acknowledged up to, continuing from where the original stood', () => {
    assert.deepEqual(registrationBeforeOpen({ resume: before, fallback: 'skip', acknowledgedUpTo: acknowledged, copyOf: { identity: { dev: 1, ino: 2 }, epoch: 0, upTo: 1_000 } }), { at: acknowledged, from: before });
  });
  test('a start that needs the file checked first is not registered early: a resume point, start_at: end, a held skip', () => {
    assert.equal(registrationBeforeOpen({ resume: before, fallback: 0 }), null);
    assert.equal(registrationBeforeOpen({ fallback: 500 }), null);
    assert.equal(registrationBeforeOpen({ resume: before, fallback: 'skip' }), null);
  });
});

describe('liveMayHaveChanged: may files have come and gone at a path whose live file we know?', () => {
  test('yes when the file no longer holds its remembered position, or when a position at 0 with no first bytes cannot tell', () => {
    assert.equal(liveMayHaveChanged(undefined), true);
    assert.equal(liveMayHaveChanged({ offset: 0, fingerprint: { len: 0, hash: 'e3' }, marker: null }), true);
  });
  test('no when the position holds first bytes to compare (a truncation and refill would have shown)', () => {
    assert.equal(liveMayHaveChanged({ offset: 0, fingerprint, marker: null }), false);
    assert.equal(liveMayHaveChanged({ offset: 900, fingerprint, marker: { len: 64, hash: 'aa' } }), false);
  });
});

describe('middleSearchSince: since when files born at a known path and gone from it are looked for at startup or a reload', () => {
  const unchanged = { since: 32_100, rotated: [], searchMiddle: false };
  const noBytes = { offset: 0, fingerprint: { len: 0, hash: 'e3' }, marker: null };
  test('a path that changed hands: from its last look', () => {
    assert.equal(middleSearchSince({ ...unchanged, searchMiddle: true }, undefined), 32_100);
  });
  test('the live file still holds a position with bytes to compare: no search', () => {
    assert.equal(middleSearchSince(unchanged, { known: { offset: 900, fingerprint, marker: { len: 64, hash: 'aa' } }, holds: true, bornAt: 1_000 }), null);
    assert.equal(middleSearchSince(unchanged, { known: { offset: 0, fingerprint, marker: null }, holds: true, bornAt: 1_000 }), null);
  });
  test('seed 2202: the live file known at 0 with no first bytes (followed behind a stalled Kafka, its reader never began), sighted after its copy was born: from its birth', () => {
    // Born at 30,147, copytruncated at 30,155, the path last looked at 32,100: the copy is born after the file, not after the look.
    assert.equal(middleSearchSince(unchanged, { known: noBytes, holds: true, bornAt: 30_147 }), 30_147);
  });
  test('the live file known at 0 and no longer holding its first bytes (its reader opened it, read nothing before a copytruncate): from its birth', () => {
    assert.equal(middleSearchSince(unchanged, { known: { offset: 0, fingerprint, marker: null }, holds: false, bornAt: 30_147 }), 30_147);
  });
  test('born after the last look: from the last look (the earlier of the two)', () => {
    assert.equal(middleSearchSince(unchanged, { known: noBytes, holds: true, bornAt: 40_000 }), 32_100);
  });
  test('a position past 0 it no longer holds: from the last look (its reader, finding the truncation at its start, searches from the file\'s birth)', () => {
    assert.equal(middleSearchSince(unchanged, { known: { offset: 900, fingerprint, marker: { len: 64, hash: 'aa' } }, holds: false, bornAt: 1_000 }), 32_100);
  });
});

describe('unreadSinceAtStart: a reader starting a file from 0, nothing of it read before — since when are copies of it looked for?', () => {
  const zero = { offset: 0, fingerprint: { len: 0, hash: 'e3' }, marker: null };
  test('found now: since its follow (files born before were looked for when it was found)', () => {
    assert.equal(unreadSinceAtStart(undefined, 40_000, 1_000), 40_000);
  });
  test('handed over unread by a reload: since its predecessor\'s follow', () => {
    assert.equal(unreadSinceAtStart({ ...zero, unreadSince: 30_160 }, 40_000, 1_000), 30_160);
  });
  test('a restart, the registry\'s entry at 0 alone: since the file\'s birth (nothing of it shipped; a copy left to this reader may be truncated before it reads)', () => {
    assert.equal(unreadSinceAtStart(zero, 40_000, 30_147), 30_147);
    assert.equal(unreadSinceAtStart(zero, 40_000, 45_000), 40_000, 'never later than its own follow');
  });
});

describe('decideMiddle: a file created and rotated away between two looks', () => {
  const original = { dev: 1, ino: 7 };
  const origin = { original, point: { offset: 135, fingerprint, marker: { len: 64, hash: 'aa' }, path: '/var/log/app.log' } };

  test('while the live file still holds all of it, it is left to the live reader (which finds it at the truncation), even if it continues a position (soak seed 2204)', () => {
    assert.deepEqual(decideMiddle({ liveStillHolds: true, continues: null }), { kind: 'left-to-live-reader' });
    assert.deepEqual(decideMiddle({ liveStillHolds: true, continues: origin }), { kind: 'left-to-live-reader' });
  });

  test('a copy of what a reader of the path read continues where that reader stood', () => {
    assert.deepEqual(decideMiddle({ liveStillHolds: false, continues: origin }), { kind: 'copy', origin });
  });

  test('anything else is a file of its own, read from 0', () => {
    assert.deepEqual(decideMiddle({ liveStillHolds: false, continues: null }), { kind: 'new' });
  });
});
