// The reader alone, without a tailer: a real file, and each read's typed outcome recorded —
// at EOF, read on (gate closed), truncated (with where it stood), unread since (a file
// followed while empty), skipped (compressed). Nothing calls back; the test answers what the
// reader asks, as the follower would.

import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { OffsetTracker } from '../src/core/offset-tracker.js';
import { identityKey } from '../src/core/file.js';
import { RecordingTailerEvents } from '../src/tailer/events.js';
import { HandlePool } from '../src/tailer/handle-pool.js';
import { identityOf } from '../src/tailer/identity.js';
import type { StartPoint } from '../src/tailer/prospector.js';
import { ReadBuffers } from '../src/tailer/read-buffers.js';
import { FileReader, type ReadOutcome } from '../src/tailer/reader.js';
import { TailerCounters } from '../src/tailer/counters.js';
import { assertOffsetsMatchFile, Collector, inputConfig, ManualGate, numberedLines, onCleanup, silentLogger, tempDir } from './helpers/tailer-harness.js';

interface Rig {
  reader: FileReader;
  collector: Collector;
  gate: ManualGate;
  observer: RecordingTailerEvents;
  /** One read, as the follower does it: open, read, idle. */
  read(): Promise<ReadOutcome>;
}

function rig(t: TestContext, path: string, start: StartPoint = { fallback: 0 }, now = Date.now): Rig {
  const collector = new Collector();
  const gate = new ManualGate();
  const observer = new RecordingTailerEvents();
  const counters = new TailerCounters();
  const identity = identityOf(statSync(path));
  const reader = new FileReader(
    { gate, sink: collector.sink, counters, pool: new HandlePool(10, silentLogger(), counters), buffers: new ReadBuffers(64 * 1024), now, openFile: (p) => open(p, 'r'), tracker: new OffsetTracker(), observer },
    { source: { key: `${identityKey(identity)}:1`, identity, input: 'test', path }, input: inputConfig({ paths: [path] }), currentPath: path, state: 'live', start, atEof: () => false },
  );
  onCleanup(t, () => reader.file.close());
  const read = async (): Promise<ReadOutcome> => {
    const opened = await reader.file.open();
    assert.equal(opened.kind, 'open');
    try {
      return await reader.read((opened as { handle: Parameters<FileReader['read']>[0] }).handle);
    } finally {
      reader.file.idle();
    }
  };
  return { reader, collector, gate, observer, read };
}

test('each read reports at EOF; lines leave as batches with exact offsets; a closed gate reports read-on and reads nothing', async (t) => {
  const path = join(await tempDir(t), 'app.log');
  writeFileSync(path, numberedLines(0, 3));
  const { reader, collector, gate, read } = rig(t, path, { fallback: 0 }, () => 42);
  // Read from 0 with nothing read before: first the reader asks whether copies were born since.
  assert.deepEqual(await read(), { kind: 'unread-since', since: 42 });
  assert.deepEqual(await read(), { kind: 'at-eof' });
  assert.equal(collector.lineCount, 3);
  assert.equal(reader.position, statSync(path).size);
  gate.close();
  appendFileSync(path, numberedLines(3, 2));
  assert.deepEqual(await read(), { kind: 'read-on' });
  assert.equal(collector.lineCount, 3, 'nothing read while the gate is closed');
  gate.open();
  assert.deepEqual(await read(), { kind: 'at-eof' });
  assert.deepEqual(collector.texts().map((text) => text.split(' ')[0]), ['L0', 'L1', 'L2', 'L3', 'L4']);
  assertOffsetsMatchFile(collector.lines(), readFileSync(path));
});

test('a truncation is reported with where the reader stood; after the answer it reads the new content from 0 in the next epoch', async (t) => {
  const path = join(await tempDir(t), 'app.log');
  writeFileSync(path, numberedLines(0, 5));
  const { reader, collector, observer, read } = rig(t, path, { fallback: 0 }, () => 42);
  assert.deepEqual(await read(), { kind: 'unread-since', since: 42 });
  assert.deepEqual(await read(), { kind: 'at-eof' });
  const stood = reader.position;
  truncateSync(path, 0);
  writeFileSync(path, numberedLines(100, 2));
  const outcome = await read();
  assert.equal(outcome.kind, 'truncated');
  assert.equal(outcome.kind === 'truncated' && outcome.before.offset, stood, 'where it stood: the copy is looked for from there');
  assert.equal(observer.of('truncated').length, 1);
  // As the follower does: no copy found; then read on.
  const opened = await reader.file.open();
  assert.ok(opened.kind === 'open');
  await reader.afterTruncation(opened.handle, false);
  assert.deepEqual(await reader.read(opened.handle), { kind: 'at-eof' });
  reader.file.idle();
  const lines = collector.lines();
  assert.deepEqual(lines.slice(5).map((line) => [line.text.split(' ')[0], line.epoch, line.start]), [
    ['L100', 1, 0],
    ['L101', 1, lines[6]!.start],
  ]);
  assert.equal(lines[5]!.start, 0);
});

test('a file followed while empty: before its first bytes are read, the reader asks since when nothing was read', async (t) => {
  const path = join(await tempDir(t), 'app.log');
  writeFileSync(path, '');
  let clock = 1_000_000;
  const { collector, read } = rig(t, path, { fallback: 0 }, () => clock);
  assert.deepEqual(await read(), { kind: 'at-eof' });
  clock += 5_000;
  appendFileSync(path, numberedLines(0, 2));
  assert.deepEqual(await read(), { kind: 'unread-since', since: 1_000_000 });
  assert.equal(collector.lineCount, 0, 'nothing emitted before the answer');
  assert.deepEqual(await read(), { kind: 'at-eof' });
  assert.equal(collector.lineCount, 2);
});

test('a compressed rotated file is skipped, not read', async (t) => {
  const path = join(await tempDir(t), 'app.log.1');
  writeFileSync(path, gzipSync(numberedLines(0, 100)));
  const { collector, read } = rig(t, path, { fallback: 0, skipCompressed: true });
  assert.deepEqual(await read(), { kind: 'skipped', reason: 'compressed archive' });
  assert.equal(collector.lineCount, 0);
});

test('stopped while waiting for its handle: the read that gets it settles the start (the file is tracked from there) and emits nothing', async (t) => {
  const path = join(await tempDir(t), 'app.log');
  writeFileSync(path, numberedLines(0, 3));
  const size = statSync(path).size;
  const { reader, collector, read } = rig(t, path, { fallback: size });
  reader.halt();
  assert.equal(reader.hasStarted, false);
  assert.deepEqual(await read(), { kind: 'stopped' });
  assert.equal(reader.hasStarted, true);
  assert.equal(reader.position, size);
  assert.equal(reader.tracking?.start.offset, size, 'tracked from its start: a successor is handed that position');
  assert.equal(collector.lineCount, 0);
});

test('stopped once started: the next read checks nothing (a truncation is the successor\'s to tell) and emits nothing', async (t) => {
  const path = join(await tempDir(t), 'app.log');
  writeFileSync(path, numberedLines(0, 3));
  const { reader, collector, observer, read } = rig(t, path, { fallback: 0 }, () => 42);
  assert.deepEqual(await read(), { kind: 'unread-since', since: 42 });
  assert.deepEqual(await read(), { kind: 'at-eof' });
  truncateSync(path, 0);
  writeFileSync(path, numberedLines(100, 2));
  reader.halt();
  assert.deepEqual(await read(), { kind: 'stopped' });
  assert.deepEqual(observer.of('truncated'), []);
  assert.equal(collector.lineCount, 3);
});
