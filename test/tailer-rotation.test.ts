// Every line exactly once whatever rotation does: rename, copytruncate, several rotations
// between two looks (while lagging, while stopped), deletion, inode reuse, truncation.

import assert from 'node:assert/strict';
import { appendFileSync, closeSync, copyFileSync, openSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { identityKey, identityOf } from '../src/core/file.js';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { LoggedTailerEvents, RecordingTailerEvents } from '../src/tailer/events.js';
import { TailerCounters } from '../src/tailer/counters.js';
import { LineFlag } from '../src/core/batch.js';
import { waitFor } from './helpers/fs-wait.js';
import {
  assertEachNumberOnceInOrder,
  assertOffsetsForDir,
  Collector,
  collectingLogger,
  FakeCheckpoints,
  inputConfig,
  lineNumber,
  ManualGate,
  numberedLines,
  openDescriptorsUnder,
  startTailer,
  tempDir,
} from './helpers/tailer-harness.js';

test('rename rotation under load: 200,000 lines, a rotation every 20,000 (two within one look), each line once, in order per file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  const { log, records } = collectingLogger();
  writeFileSync(path, '');
  const { collector, tailer } = await startTailer(t, {
    inputs: [inputConfig({ paths: [path], rotation: { close_renamed_after: 100, close_removed: true, close_removed_after: 60_000 } })],
    log,
  });
  const total = 200_000;
  const perFile = 20_000;
  const slice = 1_000;
  let fd = openSync(path, 'a');
  let rotations = 0;
  for (let n = 0; n < total; n += slice) {
    if (n > 0 && n % perFile === 0) {
      closeSync(fd);
      renameSync(path, `${path}.${++rotations}`);
      fd = openSync(path, 'a');
    }
    writeSync(fd, numberedLines(n, slice));
    // Lines 100,000..119,999 and the rotations around them happen without yielding: the tailer
    // cannot look between them, so the file holding them must be found as a "middle" file.
    const inBurst = n >= 100_000 - slice && n < 120_000;
    if (!inBurst) await yieldToEventLoop();
  }
  closeSync(fd);
  await waitFor(() => collector.lineCount >= total, () => `${total} lines, got ${collector.lineCount}`, { timeoutMs: 20_000 });
  await tailer.drained();
  assert.equal(collector.lineCount, total);
  assertEachNumberOnceInOrder(collector, total);
  assert.equal(assertOffsetsForDir(collector, dir), 10, 'offsets checked against all ten files');
  assert.ok(
    records.some((record) => record.msg.includes('created and rotated away between two looks')),
    'the burst rotation was caught by the middle-file search',
  );
  assert.ok(tailer.stats.rotations >= 9);
});

test('copytruncate while the reader lags (writer paused during the copy): every line once', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1000));
  const gate = new ManualGate();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], gate });
  await waitFor(() => collector.lineCount === 1000, 'the first 1000 lines');
  gate.close();
  appendFileSync(path, numberedLines(1000, 1000)); // not read yet: the gate is closed
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(2000, 500));
  gate.open();
  await waitFor(() => collector.lineCount >= 2500, () => `2500 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.equal(collector.lineCount, 2500);
  assertEachNumberOnceInOrder(collector, 2500);
  assert.equal(tailer.stats.truncations, 1);
  const copyKey = identityKey(statSync(`${path}.1`));
  const fromCopy = collector.lines().filter((line) => line.key.startsWith(`${copyKey}:`));
  assert.deepEqual([lineNumber(fromCopy[0]!.text), lineNumber(fromCopy.at(-1)!.text)], [1000, 1999], 'the unread lines came from the copy');
  assert.equal(fromCopy[0]!.start, collector.lines()[999]!.end, 'the copy was continued where the original stood');
});

test('two rotations while the reader lags behind a closed gate: the middle file is read too', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1000));
  const gate = new ManualGate();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], gate });
  await waitFor(() => collector.lineCount === 1000, 'the first 1000 lines');
  gate.close();
  appendFileSync(path, numberedLines(1000, 1000));
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(2000, 1000));
  renameSync(`${path}.1`, `${path}.2`);
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(3000, 1000));
  const scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 2, 'the tailer to look while the gate is closed');
  assert.equal(collector.lineCount, 1000, 'nothing is read while the gate is closed');
  gate.open();
  await waitFor(() => collector.lineCount >= 4000, () => `4000 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.equal(collector.lineCount, 4000);
  assertEachNumberOnceInOrder(collector, 4000);
  assert.equal(assertOffsetsForDir(collector, dir), 3);
});

test('two rotations while the agent is stopped: rotated files are finished first, the middle one from 0, archives skipped', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: first });
  await waitFor(() => first.lineCount === 100, 'the first run to read 100 lines');
  await firstRun.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(first.batches, Date.now());

  appendFileSync(path, numberedLines(100, 50)); // written after the last commit
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(150, 50));
  renameSync(`${path}.1`, `${path}.2`);
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(200, 50));
  writeFileSync(`${path}.3.gz`, gzipSync(numberedLines(9000, 10))); // archive by name
  writeFileSync(`${path}.4`, gzipSync(numberedLines(9100, 10))); // archive by content

  // start_at: end must not apply to the live file: it was created at a known path after we last looked.
  const second = new Collector();
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path], start_at: 'end' })], collector: second, checkpoints });
  await waitFor(() => second.lineCount >= 150, () => `150 lines, got ${second.lineCount}`);
  await tailer.drained();
  const numbers = second.texts().map(lineNumber);
  assert.equal(numbers.length, 150);
  assert.deepEqual(
    [...numbers].sort((a, b) => a - b),
    Array.from({ length: 150 }, (_, i) => 100 + i),
    'lines 100..249 exactly once, nothing from the archives',
  );
  const byKey = second.byKey();
  for (const lines of byKey.values()) {
    const seq = lines.map((line) => lineNumber(line.text));
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'in order within each file');
  }
  const rotatedKey = identityKey(statSync(`${path}.2`));
  const liveKey = identityKey(statSync(path));
  const batchIndex = (key: string, which: 'first' | 'last'): number => {
    const indexes = second.batches.flatMap((batch, i) => (batch.source.key.startsWith(`${key}:`) ? [i] : []));
    return which === 'first' ? indexes[0]! : indexes.at(-1)!;
  };
  assert.ok(batchIndex(rotatedKey, 'last') < batchIndex(liveKey, 'first'), 'the file rotated while down is finished before the live file starts');
  assert.ok(second.lines().every((line) => line.path === path), 'rotated files keep their live path');
});

test('a file deleted while being read is read to the end, then its descriptor is closed', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 20_000));
  const gate = new ManualGate();
  const collector = new Collector();
  collector.onBatch = () => gate.close(); // stop after the first chunk, holding the file open
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], gate, collector });
  await waitFor(() => collector.batches.length === 1, 'the first batch');
  collector.onBatch = null;
  assert.equal(openDescriptorsUnder(path).length, 1, 'precondition: the reader holds the file open');
  unlinkSync(path);
  gate.open();
  await waitFor(() => collector.lineCount >= 20_000, () => `20000 lines, got ${collector.lineCount}`);
  // The descriptor leaves /proc when close() completes, just before the tailer forgets the file.
  await waitFor(() => tailer.files().length === 0, 'the deleted file to be released');
  assert.deepEqual(openDescriptorsUnder(path), [], 'its descriptor is closed');
  assertEachNumberOnceInOrder(collector, 20_000);
  assert.equal(tailer.stats.bytesAbandoned, 0);
});

test('a deleted file that cannot be finished (gate closed) is given up after close_removed_after, bytes counted', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  const content = numberedLines(0, 20_000);
  writeFileSync(path, content);
  const gate = new ManualGate();
  const collector = new Collector();
  collector.onBatch = () => gate.close();
  const { log, records } = collectingLogger();
  const counters = new TailerCounters();
  const observer = new RecordingTailerEvents(new LoggedTailerEvents(log, counters));
  const { tailer } = await startTailer(t, {
    inputs: [inputConfig({ paths: [path], rotation: { close_renamed_after: 100, close_removed: true, close_removed_after: 150 } })],
    gate,
    collector,
    log,
    counters,
    observer,
  });
  await waitFor(() => collector.batches.length === 1, 'the first batch');
  unlinkSync(path);
  const abandoned = await observer.waitFor('abandoned', (event) => event.path === path);
  assert.equal(abandoned.bytes, Buffer.byteLength(content) - collector.batches[0]!.endOffset);
  assert.equal(tailer.stats.bytesAbandoned, abandoned.bytes, 'counted for /metrics');
  const warning = records.find((record) => record.level === 40 && record.msg.includes('gave up on a deleted file'));
  assert.equal(warning?.bytesAbandoned, abandoned.bytes, 'and logged as a warning');
  assert.deepEqual(openDescriptorsUnder(path), [], 'its descriptor is closed');
  assert.equal(collector.batches.length, 1);
});

/**
 * Puts `content` at `path` in a file that has inode `ino` again (the caller deleted its file).
 * The filesystem usually hands a freed inode to the next file, but a test running beside this
 * one may take it first: spare files (outside the inputs' globs) are created until one gets it,
 * then it is renamed into place. False when 50 tries did not get it: the caller skips, visibly.
 */
function fileOnReusedInode(dir: string, path: string, ino: number, content: string): boolean {
  for (let i = 0; i < 50; i++) {
    const spare = join(dir, `spare-${i}.tmp`);
    writeFileSync(spare, content);
    if (statSync(spare).ino === ino) {
      renameSync(spare, path);
      return true;
    }
  }
  return false;
}

test('inode reuse while running: the new file behind the same inode is read from 0', async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'a.log');
  const b = join(dir, 'b.log');
  writeFileSync(a, numberedLines(0, 10));
  writeFileSync(b, numberedLines(10, 10));
  const { collector } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], maxOpenFiles: 1 });
  await waitFor(() => collector.lineCount === 20, 'both files');
  appendFileSync(b, numberedLines(20, 10));
  await waitFor(() => collector.lineCount === 30, 'b.log to grow');
  await waitFor(() => openDescriptorsUnder(a).length === 0, 'a.log to be closed (max_open_files 1)');
  const oldIno = statSync(a).ino;
  unlinkSync(a);
  if (!fileOnReusedInode(dir, a, oldIno, numberedLines(30, 20))) return t.skip('the filesystem did not hand the inode out again in 50 files');
  assert.equal(statSync(a).ino, oldIno, 'precondition: the filesystem reused the inode');
  await waitFor(() => collector.lineCount >= 50, () => `50 lines, got ${collector.lineCount}`);
  assertEachNumberOnceInOrder(collector, 50);
});

test('inode reuse while stopped: a checkpoint for the inode with other first bytes is ignored', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 10));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: first });
  await waitFor(() => first.lineCount === 10, 'the first run');
  await firstRun.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(first.batches, Date.now());
  const oldIno = statSync(path).ino;
  unlinkSync(path);
  if (!fileOnReusedInode(dir, path, oldIno, numberedLines(100, 30, 'another file entirely'))) return t.skip('the filesystem did not hand the inode out again in 50 files');
  assert.equal(statSync(path).ino, oldIno, 'precondition: the filesystem reused the inode');
  const { log, records } = collectingLogger();
  const second = new Collector();
  await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: second, checkpoints, log });
  await waitFor(() => second.lineCount >= 30, () => `30 lines, got ${second.lineCount}`);
  assert.deepEqual(second.texts().map(lineNumber), Array.from({ length: 30 }, (_, i) => 100 + i));
  assert.ok(records.some((record) => record.msg.includes('checkpoint no longer matches') && String(record.reason).includes('first bytes differ')));
});

test('truncated and refilled past the old size before the reader looks: read again from 0 in a new epoch', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })] });
  await waitFor(() => collector.lineCount === 100, 'the first 100 lines');
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(100, 300));
  await waitFor(() => collector.lineCount >= 400, () => `400 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.equal(collector.lineCount, 400);
  assertEachNumberOnceInOrder(collector, 400);
  assert.equal(tailer.stats.truncations, 1);
  const lines = collector.lines();
  assert.equal(lines[100]!.epoch, lines[0]!.epoch + 1);
  assert.equal(lines[100]!.start, 0);
  assert.equal(assertOffsetsForDir(collector, dir), 1);
});

test('a restarted tailer resumes at the committed offset: nothing lost, nothing repeated', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 500));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: first });
  await waitFor(() => first.lineCount === 500, 'the first run');
  await firstRun.tailer.stop();
  appendFileSync(path, numberedLines(500, 500));
  const second = new Collector();
  await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: second, checkpoints: FakeCheckpoints.committedFrom(first.batches, Date.now()) });
  await waitFor(() => second.lineCount >= 500, () => `500 lines, got ${second.lineCount}`);
  assert.deepEqual(second.texts().map(lineNumber), Array.from({ length: 500 }, (_, i) => 500 + i));
  assert.equal(second.batches[0]!.startOffset, first.batches.at(-1)!.endOffset);
});

test('resumed at a checkpoint, then truncated below it keeping its first bytes: read again from 0 in a new epoch', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 200));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: first });
  await waitFor(() => first.lineCount === 200, 'the first run');
  await firstRun.tailer.stop();
  const second = new Collector();
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: second, checkpoints: FakeCheckpoints.committedFrom(first.batches, Date.now()) });
  await tailer.drained();
  assert.equal(second.lineCount, 0, 'resumed at the end');
  // Still far more than the fingerprint's first KiB: only the size (below the position) tells.
  truncateSync(path, Buffer.byteLength(numberedLines(0, 100)));
  await waitFor(() => second.lineCount === 100, () => `the 100 lines left, read again, got ${second.lineCount}`);
  assert.deepEqual(second.texts().map(lineNumber), Array.from({ length: 100 }, (_, i) => i));
  assert.equal(second.lines()[0]!.epoch, 1);
  assert.equal(tailer.stats.truncations, 1);
});

test('a checkpoint whose marker no longer matches (file rewritten while stopped) restarts from 0', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: first });
  await waitFor(() => first.lineCount === 100, 'the first run');
  await firstRun.tailer.stop();
  // Same first bytes (fingerprint), different bytes before the committed offset, same inode.
  const fd = openSync(path, 'r+');
  writeSync(fd, numberedLines(50, 1, 'the quick brown FOX'), Buffer.byteLength(numberedLines(0, 98)));
  closeSync(fd);
  const { log, records } = collectingLogger();
  const second = new Collector();
  await startTailer(t, { inputs: [inputConfig({ paths: [path] })], collector: second, checkpoints: FakeCheckpoints.committedFrom(first.batches, Date.now()), log });
  await waitFor(() => second.lineCount >= 100, () => `100 lines, got ${second.lineCount}`);
  assert.equal(second.batches[0]!.startOffset, 0);
  assert.ok(records.some((record) => String(record.reason).includes('bytes before the offset differ')));
});

test('a rotated file is released after close_renamed_after of quiet: its unterminated last line leaves flagged Partial, its descriptor closes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 10) + 'L10 unterminated');
  const { collector, tailer } = await startTailer(t, {
    inputs: [inputConfig({ paths: [path], rotation: { close_renamed_after: 150, close_removed: true, close_removed_after: 60_000 } })],
  });
  await waitFor(() => collector.lineCount === 10, 'the complete lines');
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(11, 5));
  await waitFor(() => collector.lineCount === 16, () => `16 lines, got ${collector.lineCount}`);
  await waitFor(() => tailer.files().length === 1, 'the rotated file to be released');
  assert.deepEqual(openDescriptorsUnder(`${path}.1`), [], 'its descriptor is closed');
  const partial = collector.lines().find((line) => line.text === 'L10 unterminated');
  assert.ok(partial, 'the unterminated line was emitted at release');
  assert.equal(partial.flag, LineFlag.Partial);
  assert.equal(partial.path, path);
  assertEachNumberOnceInOrder(collector, 16);
  assert.deepEqual(
    tailer.files().map((file) => file.state),
    ['live'],
  );
});

test('copytruncate when the reader is caught up: the copy is not read again', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })] });
  await waitFor(() => collector.lineCount === 100, 'the first 100 lines');
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(100, 10));
  await waitFor(() => collector.lineCount >= 110, () => `110 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.equal(collector.lineCount, 110);
  assertEachNumberOnceInOrder(collector, 110);
});

test('the offset tracker hands over: a successor continues where the stopped tailer stood, also through a tailer whose reader never opened the file', async (t) => {
  const dir = await tempDir(t);
  const read = join(dir, 'read.log');
  writeFileSync(read, numberedLines(0, 500));
  const tracker = new OffsetTracker();
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [read] })], collector: first, tracker });
  await waitFor(() => first.lineCount === 500, 'the first run');
  await firstRun.tailer.stop();
  const stood = tracker.resumeFor(identityOf(statSync(read)));
  assert.deepEqual([stood?.path, stood?.offset], [read, Buffer.byteLength(numberedLines(0, 500))]);

  // A second tailer whose gate never opens: its reader of read.log never starts, and must not
  // make the third one fall back to the registry (empty here: everything would be read again).
  appendFileSync(read, numberedLines(500, 500));
  const blocked = await startTailer(t, { inputs: [inputConfig({ paths: [read] })], gate: new ManualGate(false), tracker });
  await waitFor(() => blocked.tailer.files().length === 1, 'read.log to be followed');
  await blocked.tailer.stop();

  const third = new Collector();
  const thirdRun = await startTailer(t, { inputs: [inputConfig({ paths: [read] })], collector: third, tracker });
  await waitFor(() => third.lineCount >= 500, () => `500 lines, got ${third.lineCount}`);
  await thirdRun.tailer.drained();
  assert.deepEqual(third.texts().map(lineNumber), Array.from({ length: 500 }, (_, i) => 500 + i));
});


test('copytruncate while no tailer runs: the copy is found from the checkpoint (offset past the truncated file\'s end) and finished from there, the live file read from 0', async (t) => {
  const dir = await tempDir(t);
  const live = join(dir, 'app.log');
  writeFileSync(live, numberedLines(0, 100));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], collector: first });
  await waitFor(() => first.lineCount === 100, 'the first run');
  await firstRun.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(first.batches, Date.now());

  appendFileSync(live, numberedLines(100, 100));
  copyFileSync(live, `${live}.1`);
  truncateSync(live, 0);
  appendFileSync(live, numberedLines(200, 50));
  const second = new Collector();
  const secondRun = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], collector: second, checkpoints });
  await waitFor(() => second.lineCount >= 150, () => `150 lines, got ${second.lineCount}`);
  await secondRun.tailer.drained();
  assert.deepEqual(second.texts().map(lineNumber).sort((a, b) => a - b), Array.from({ length: 150 }, (_, i) => 100 + i));
});

test('a file created and rotated away after the last look at its path is found at start, though the checkpoint was committed after its birth (seenAt, not lastSeen)', async (t) => {
  const dir = await tempDir(t);
  const live = join(dir, 'app.log');
  writeFileSync(live, numberedLines(0, 100));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [inputConfig({ paths: [live] })], collector: first });
  await waitFor(() => first.lineCount === 100, 'the first run');
  await firstRun.tailer.stop();
  const lastLook = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 50)); // kernel file times are coarse: be born clearly after the look

  renameSync(live, `${live}.2`);
  writeFileSync(live, numberedLines(100, 50)); // the middle file: born after the last look...
  renameSync(live, `${live}.1`); // ...and rotated away before the next
  writeFileSync(live, numberedLines(150, 50));
  // Commits of the first file went on after the middle file was born: lastSeen is later than its birth.
  const checkpoints = FakeCheckpoints.committedFrom(first.batches, Date.now());
  for (const cp of checkpoints.all()) cp.seenAt = lastLook;

  const second = new Collector();
  const secondRun = await startTailer(t, { inputs: [inputConfig({ paths: [live] })], collector: second, checkpoints });
  await waitFor(() => second.lineCount >= 100, () => `100 lines, got ${second.lineCount}`);
  await secondRun.tailer.drained();
  assert.deepEqual(second.texts().map(lineNumber).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => 100 + i));
});

test('a new file followed behind a closed gate and copytruncated before its reader opened it: the copy is read too', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const gate = new ManualGate();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path], exclude: ['*.[0-9]'] })], gate });
  await waitFor(() => collector.lineCount === 100, 'the first 100 lines');
  gate.close();
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(100, 100)); // followed, but its reader waits for the gate
  let scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 2, 'the tailer to look at the new file');
  renameSync(`${path}.1`, `${path}.2`);
  copyFileSync(path, `${path}.1`); // the only place lines 100..199 are now
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(200, 100));
  scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 2, 'the tailer to look again');
  gate.open();
  await waitFor(() => collector.lineCount >= 300, () => `300 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.equal(collector.lineCount, 300);
  assertEachNumberOnceInOrder(collector, 300);
});

test('two copytruncates behind a closed gate, then a reload: the second copy (never read, born before the last look) is found from the first', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const tracker = new OffsetTracker();
  const gate = new ManualGate();
  const collector = new Collector();
  const input = inputConfig({ paths: [path], exclude: ['*.[0-9]'] });
  const firstRun = await startTailer(t, { inputs: [input], gate, collector, tracker });
  await waitFor(() => collector.lineCount === 100, 'the first 100 lines');
  gate.close();
  appendFileSync(path, numberedLines(100, 100));
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(200, 100));
  renameSync(`${path}.1`, `${path}.2`);
  copyFileSync(path, `${path}.1`); // lines 200..299: never read, in no position
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(300, 100));
  // The path is looked at (seenAt moves) after both copies were born, while nothing is read.
  const scans = firstRun.tailer.scanCount;
  await waitFor(() => firstRun.tailer.scanCount >= scans + 2, 'the tailer to look at the path');
  await firstRun.tailer.stop();
  const secondRun = await startTailer(t, { inputs: [input], collector, tracker });
  await waitFor(() => collector.lineCount >= 400, () => `400 lines, got ${collector.lineCount}`);
  await secondRun.tailer.drained();
  assert.equal(collector.lineCount, 400);
  assertEachNumberOnceInOrder(collector, 400);
});

test('an empty file opened, then written, copytruncated and refilled while the gate was closed: the copy is read too', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, '');
  const gate = new ManualGate();
  const tracker = new OffsetTracker();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path], exclude: ['*.[0-9]'] })], gate, tracker });
  await waitFor(() => tracker.get(identityOf(statSync(path))) !== undefined, 'the reader to open the empty file');
  gate.close();
  appendFileSync(path, numberedLines(0, 100)); // nothing read: the reader's position is 0, its first bytes none
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(100, 100));
  const scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 2, 'the tailer to look while the gate is closed');
  gate.open();
  await waitFor(() => collector.lineCount >= 200, () => `200 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.equal(collector.lineCount, 200);
  assertEachNumberOnceInOrder(collector, 200);
});

test('an empty file opened, then written and copytruncated behind a closed gate, then a reload: the copy is read too', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, '');
  const gate = new ManualGate();
  const tracker = new OffsetTracker();
  const collector = new Collector();
  const input = inputConfig({ paths: [path], exclude: ['*.[0-9]'] });
  const firstRun = await startTailer(t, { inputs: [input], gate, tracker, collector });
  await waitFor(() => tracker.get(identityOf(statSync(path))) !== undefined, 'the reader to open the empty file');
  gate.close();
  appendFileSync(path, numberedLines(0, 100));
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(100, 100));
  const scans = firstRun.tailer.scanCount;
  await waitFor(() => firstRun.tailer.scanCount >= scans + 2, 'the tailer to look while the gate is closed');
  await firstRun.tailer.stop();
  // The position handed over is 0 with no first bytes: the new reader has nothing to find the truncation by.
  const secondRun = await startTailer(t, { inputs: [input], tracker, collector });
  await waitFor(() => collector.lineCount >= 200, () => `200 lines, got ${collector.lineCount}`);
  await secondRun.tailer.drained();
  assert.equal(collector.lineCount, 200);
  assertEachNumberOnceInOrder(collector, 200);
});
