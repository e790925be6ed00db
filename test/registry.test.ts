// OffsetRegistry behaviour: persistence roundtrip, file modes, the dirty rule, the .prev copy,
// cleaning, the periodic flush and the guards that keep one bad value from spoiling the file.

import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OffsetRegistry, SEEN_ONLY_WRITE_INTERVAL_MS } from '../src/registry/offset-registry.js';
import type { RegistryOptions } from '../src/registry/offset-registry.js';
import { decodeRegistry } from '../src/registry/registry-file.js';
import type { Checkpoint } from '../src/core/file.js';
import { FaultyFs, LEVEL, checkpoint, collectingLogger, listDir, makeTempDir, manualClock, removeDir, silentLog, waitFor } from './helpers/registry-fixtures.js';

let root: string;
let dataDir: string;

beforeEach(async () => {
  root = await makeTempDir('registry');
  dataDir = join(root, 'data', 'logship');
});

afterEach(async () => {
  await removeDir(root);
});

function options(overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return { dataDir, flushIntervalMs: 1_000, cleanAfterMs: 0, log: silentLog, ...overrides };
}

function offsets(entries: Iterable<Checkpoint>): Record<string, number> {
  const byIno: Record<string, number> = {};
  for (const cp of entries) byIno[String(cp.identity.ino)] = cp.offset;
  return byIno;
}

async function onDisk(file: string): Promise<Checkpoint[]> {
  const decoded = decodeRegistry(await readFile(file, 'utf8'));
  assert.ok(decoded.ok, `${file} should be a valid registry: ${decoded.ok ? '' : decoded.problem}`);
  return decoded.entries;
}

describe('OffsetRegistry persistence', () => {
  it('markDeleted keeps what was acknowledged of a deleted file, flagged; a commit of a new file on the inode clears the flag', async () => {
    const clock = manualClock();
    const registry = await OffsetRegistry.open(options({ now: clock.now }));
    registry.commit(checkpoint(7, 300));
    registry.markDeleted({ dev: 2049, ino: 7 });
    await registry.flush();
    const [flagged] = await onDisk(registry.file);
    assert.deepEqual([flagged?.offset, flagged?.deleted], [300, true]);
    registry.commit(checkpoint(7, 40));
    await registry.flush();
    const [fresh] = await onDisk(registry.file);
    assert.deepEqual([fresh?.offset, fresh?.deleted], [40, undefined]);
  });

  it('seenAt (last sighting at the path) is the tailer\'s: a commit without one keeps it, lastSeen moves on every commit, both persist', async () => {
    const clock = manualClock();
    const registry = await OffsetRegistry.open(options({ now: clock.now }));
    const sighting = clock.now() - 5_000;
    registry.commit(checkpoint(1, 100, { seenAt: sighting }));
    clock.advance(3_000);
    registry.commit(checkpoint(1, 200));
    await registry.flush();
    const [entry] = await onDisk(registry.file);
    assert.equal(entry?.offset, 200);
    assert.equal(entry?.seenAt, sighting, 'a commit is no sighting');
    assert.equal(entry?.lastSeen, clock.now(), 'lastSeen (cleaning) follows commits');
    const reopened = await OffsetRegistry.open(options({ now: clock.now }));
    assert.equal(reopened.get({ dev: 2049, ino: 1 })?.seenAt, sighting);
  });

  it('roundtrip: committed entries come back identical after flush and reopen', async () => {
    const clock = manualClock();
    const registry = await OffsetRegistry.open(options({ now: clock.now }));
    assert.equal(registry.stats.entries, 0);
    const committed = [checkpoint(1, 100), checkpoint(2, 0), checkpoint(3, 123_456_789, { path: '/var/log/ünïcode "quoted".log' })];
    for (const cp of committed) registry.commit(cp);
    await registry.flush();
    assert.equal(registry.stats.writes, 1);
    assert.equal(registry.stats.writeErrors, 0);

    const reopened = await OffsetRegistry.open(options({ now: clock.now }));
    const expected = committed.map((cp) => ({ ...cp, lastSeen: clock.now() }));
    assert.deepEqual([...reopened.all()], expected);
    assert.deepEqual(reopened.get({ dev: 2049, ino: 3 }), expected[2]);
    assert.equal(reopened.get({ dev: 2049, ino: 99 }), undefined);
    assert.equal(reopened.stats.entries, 3);
    assert.equal(reopened.stats.recoveredFromBackup, false);
  });

  it('creates data_dir with mode 0700 and registry.json with mode 0600', async () => {
    const registry = await OffsetRegistry.open(options());
    registry.commit(checkpoint(1, 10));
    await registry.flush();
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    assert.equal((await stat(registry.file)).mode & 0o777, 0o600);
    assert.equal(registry.file, join(dataDir, 'registry.json'));
  });

  it('warns when an existing data_dir is accessible to other users', async () => {
    await mkdir(dataDir, { recursive: true });
    await chmod(dataDir, 0o755);
    const { log, records } = collectingLogger();
    await OffsetRegistry.open(options({ log }));
    const warning = records.find((r) => r.level === LEVEL.warn && r.dir === dataDir);
    assert.ok(warning, 'expected a warning naming the data_dir');
    assert.equal(warning.mode, '0755');
  });

  it('does not write when nothing changed: write count, inode and mtime stay the same', async () => {
    const registry = await OffsetRegistry.open(options());
    registry.commit(checkpoint(1, 10));
    await registry.flush();
    const before = await stat(registry.file, { bigint: true });
    await registry.flush();
    await registry.flush();
    const after = await stat(registry.file, { bigint: true });
    assert.equal(registry.stats.writes, 1);
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeNs, before.mtimeNs);
  });

  it('never writes an empty registry on a first start with nothing committed', async () => {
    const registry = await OffsetRegistry.open(options());
    await registry.close();
    assert.equal(registry.stats.writes, 0);
    assert.deepEqual(await listDir(dataDir), []);
  });

  it('keeps the previous state as registry.json.prev', async () => {
    const registry = await OffsetRegistry.open(options());
    registry.commit(checkpoint(1, 100));
    await registry.flush();
    registry.commit(checkpoint(1, 200));
    registry.commit(checkpoint(2, 50));
    await registry.flush();
    assert.deepEqual(offsets(await onDisk(registry.file)), { 1: 200, 2: 50 });
    assert.deepEqual(offsets(await onDisk(`${registry.file}.prev`)), { 1: 100 });
    assert.equal((await stat(`${registry.file}.prev`)).mode & 0o777, 0o600);
    assert.deepEqual(await listDir(dataDir), ['registry.json', 'registry.json.prev']);
  });

  it('the file is versioned and carries a sha256 of its content', async () => {
    const registry = await OffsetRegistry.open(options({ now: () => 1_700_000_000_123 }));
    registry.commit(checkpoint(7, 70));
    await registry.flush();
    const doc = JSON.parse(await readFile(registry.file, 'utf8')) as Record<string, unknown>;
    assert.equal(doc.version, 1);
    assert.equal(doc.written_at, 1_700_000_000_123);
    assert.match(String(doc.sha256), /^[0-9a-f]{64}$/);
    assert.equal((doc.entries as unknown[]).length, 1);
  });

  it('removes a temp file left by a crashed write at open, keeping the state', async () => {
    const first = await OffsetRegistry.open(options());
    first.commit(checkpoint(1, 100));
    await first.flush();
    await writeFile(`${first.file}.tmp`, '{"version":1,"entr');
    await writeFile(`${first.file}.prev.tmp`, 'half');
    const { log, records } = collectingLogger();
    const second = await OffsetRegistry.open(options({ log }));
    assert.deepEqual(await listDir(dataDir), ['registry.json']);
    assert.deepEqual(offsets(second.all()), { 1: 100 });
    assert.equal(records.filter((r) => r.level === LEVEL.warn && String(r.file).endsWith('.tmp')).length, 2);
  });

  it('commit keeps its own copy: later changes to the caller object do not leak in', async () => {
    const registry = await OffsetRegistry.open(options());
    const cp = checkpoint(1, 100);
    registry.commit(cp);
    cp.offset = 999;
    cp.identity.ino = 5;
    assert.equal(registry.get({ dev: 2049, ino: 1 })?.offset, 100);
    await registry.flush();
    assert.deepEqual(offsets(await onDisk(registry.file)), { 1: 100 });
  });

  it('drops an invalid checkpoint at flush with an error instead of writing an unreadable file', async () => {
    const { log, records } = collectingLogger();
    const registry = await OffsetRegistry.open(options({ log }));
    registry.commit(checkpoint(1, 100));
    registry.commit(checkpoint(2, Number.NaN));
    registry.commit(checkpoint(3, 300, { path: '' }));
    await registry.flush();
    assert.equal(registry.stats.writes, 1);
    assert.equal(registry.stats.rejectedEntries, 2);
    assert.deepEqual(offsets(await onDisk(registry.file)), { 1: 100 });
    const errors = records.filter((r) => r.level === LEVEL.error);
    assert.deepEqual(errors.map((r) => r.key).sort(), ['2049:2', '2049:3']);
  });

  it('remove() drops an entry from memory and, at the next flush, from disk', async () => {
    const registry = await OffsetRegistry.open(options());
    registry.commit(checkpoint(1, 100));
    registry.commit(checkpoint(2, 200));
    await registry.flush();
    registry.remove({ dev: 2049, ino: 1 });
    assert.equal(registry.get({ dev: 2049, ino: 1 }), undefined);
    await registry.flush();
    assert.equal(registry.stats.writes, 2);
    assert.deepEqual(offsets(await onDisk(registry.file)), { 2: 200 });
  });
});

describe('OffsetRegistry dirty rule for seen()', () => {
  it('a lastSeen-only change is written at most once per minute', async () => {
    const clock = manualClock();
    const registry = await OffsetRegistry.open(options({ now: clock.now }));
    registry.commit(checkpoint(1, 100));
    await registry.flush();
    assert.equal(registry.stats.writes, 1);

    clock.advance(1_000);
    registry.seen({ dev: 2049, ino: 1 }, '/var/log/app-1.log');
    await registry.flush();
    assert.equal(registry.stats.writes, 1, 'seen() alone must not force an immediate write');
    assert.equal(registry.get({ dev: 2049, ino: 1 })?.lastSeen, clock.now(), 'lastSeen moves in memory at once');

    clock.advance(SEEN_ONLY_WRITE_INTERVAL_MS);
    await registry.flush();
    assert.equal(registry.stats.writes, 2);
    assert.equal((await onDisk(registry.file))[0]?.lastSeen, clock.now() - SEEN_ONLY_WRITE_INTERVAL_MS);
    await registry.flush();
    assert.equal(registry.stats.writes, 2, 'nothing left to write');
  });

  it('seen() does not make other writes re-serialise the entry: its lastSeen waits for the minute', async () => {
    const clock = manualClock();
    const start = clock.now();
    const registry = await OffsetRegistry.open(options({ now: clock.now }));
    registry.commit(checkpoint(1, 100));
    registry.commit(checkpoint(2, 200));
    await registry.flush();
    clock.advance(5_000);
    registry.seen({ dev: 2049, ino: 1 }, '/var/log/app-1.log');
    registry.commit(checkpoint(2, 300));
    await registry.flush();
    assert.equal(registry.stats.writes, 2);
    assert.deepEqual((await onDisk(registry.file)).map((cp) => cp.lastSeen), [start, start + 5_000]);

    clock.advance(SEEN_ONLY_WRITE_INTERVAL_MS);
    await registry.flush();
    assert.equal(registry.stats.writes, 3);
    assert.deepEqual((await onDisk(registry.file)).map((cp) => cp.lastSeen), [start + 5_000, start + 5_000]);
  });

  it('a failed lastSeen-only write is retried at the next flush', async () => {
    const clock = manualClock();
    const fs = new FaultyFs();
    const registry = await OffsetRegistry.open(options({ now: clock.now, fs }));
    registry.commit(checkpoint(1, 100));
    await registry.flush();
    clock.advance(SEEN_ONLY_WRITE_INTERVAL_MS);
    registry.seen({ dev: 2049, ino: 1 }, '/var/log/app-1.log');
    fs.failing.set('fsync', 'EIO');
    await registry.flush();
    assert.equal(registry.stats.writeErrors, 1);
    fs.failing.clear();
    await registry.flush();
    assert.equal(registry.stats.writes, 2);
    assert.equal((await onDisk(registry.file))[0]?.lastSeen, clock.now());
  });

  it('seen() for a file with no entry creates nothing', async () => {
    const registry = await OffsetRegistry.open(options());
    registry.seen({ dev: 1, ino: 1 }, '/var/log/new.log');
    assert.equal(registry.stats.entries, 0);
    await registry.flush();
    assert.equal(registry.stats.writes, 0);
  });
});

describe('OffsetRegistry cleaning', () => {
  it('drops entries not seen or committed for clean_after; keeps a seen one', async () => {
    const clock = manualClock();
    const minute = 60_000;
    const registry = await OffsetRegistry.open(options({ now: clock.now, cleanAfterMs: 10 * minute }));
    registry.commit(checkpoint(1, 100));
    registry.commit(checkpoint(2, 200));
    registry.commit(checkpoint(3, 300));
    await registry.flush();

    clock.advance(6 * minute);
    registry.seen({ dev: 2049, ino: 2 }, '/var/log/app-2.log');
    registry.commit(checkpoint(3, 350));
    clock.advance(5 * minute); // entry 1: 11 min old; 2 and 3: 5 min
    await registry.flush();

    assert.deepEqual(offsets(registry.all()), { 2: 200, 3: 350 });
    const reopened = await OffsetRegistry.open(options({ now: clock.now, cleanAfterMs: 10 * minute }));
    assert.deepEqual(offsets(reopened.all()), { 2: 200, 3: 350 });
  });

  it('an entry exactly clean_after old is kept, one millisecond more is dropped', async () => {
    const clock = manualClock();
    const registry = await OffsetRegistry.open(options({ now: clock.now, cleanAfterMs: 1_000 }));
    registry.commit(checkpoint(1, 100));
    clock.advance(1_000);
    await registry.flush();
    assert.equal(registry.stats.entries, 1);
    clock.advance(1);
    await registry.flush();
    assert.equal(registry.stats.entries, 0);
    assert.deepEqual(await onDisk(registry.file), []);
  });

  it('after a stop longer than clean_after, loaded entries get a full clean_after to be seen again', async () => {
    const clock = manualClock();
    const hour = 3_600_000;
    const first = await OffsetRegistry.open(options({ now: clock.now, cleanAfterMs: hour }));
    first.commit(checkpoint(1, 100));
    first.commit(checkpoint(2, 200));
    await first.close();

    clock.advance(5 * hour); // the agent was down
    const second = await OffsetRegistry.open(options({ now: clock.now, cleanAfterMs: hour }));
    await second.flush();
    assert.deepEqual(offsets(second.all()), { 1: 100, 2: 200 }, 'nothing is dropped right after the restart');
    clock.advance(hour / 2);
    second.seen({ dev: 2049, ino: 2 }, '/var/log/app-2.log');
    clock.advance(hour / 2 + 1);
    await second.flush();
    assert.deepEqual(offsets(second.all()), { 2: 200 }, 'the file not found again is dropped clean_after after the restart');
  });

  it('clean_after 0 never drops anything', async () => {
    const clock = manualClock();
    const registry = await OffsetRegistry.open(options({ now: clock.now, cleanAfterMs: 0 }));
    registry.commit(checkpoint(1, 100));
    clock.advance(365 * 24 * 3_600_000);
    await registry.flush();
    assert.equal(registry.stats.entries, 1);
  });
});

describe('OffsetRegistry periodic flush', () => {
  it('start() writes changes every flush interval; close() writes the last state', async () => {
    const registry = await OffsetRegistry.open(options({ flushIntervalMs: 10 }));
    registry.start();
    registry.commit(checkpoint(1, 100));
    await waitFor(() => registry.stats.writes === 1, 'the first periodic write');
    registry.commit(checkpoint(1, 200));
    await waitFor(() => registry.stats.writes === 2, 'the second periodic write');
    registry.commit(checkpoint(1, 300));
    await registry.close();
    assert.deepEqual(offsets(await onDisk(registry.file)), { 1: 300 });
    const writes = registry.stats.writes;
    registry.commit(checkpoint(1, 400));
    await new Promise((resolve) => setTimeout(resolve, 50)); // several intervals: no timer may fire after close
    assert.equal(registry.stats.writes, writes);
  });

  it('concurrent flushes run one after the other and all commits reach the disk', async () => {
    const registry = await OffsetRegistry.open(options());
    const flushes: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      registry.commit(checkpoint(1, i * 10));
      flushes.push(registry.flush());
    }
    await Promise.all(flushes);
    assert.deepEqual(offsets(await onDisk(registry.file)), { 1: 200 });
    assert.equal(registry.stats.writeErrors, 0);
  });
});
