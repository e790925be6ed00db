// Copytruncate copies around a reload and a new file's first read (soak --gap 1.5 seed 2204: 15
// duplicates, no crash between). A file deleted and recreated just before a reload was handed over
// unread; the successor's reader read it from scratch, holding its first read back while it looked
// for files born since — and a copytruncate had just copied it: the search read the copy from 0 as
// a file created and rotated away, and the reader read the same bytes from the live file. Real
// tailers over real files; a reload is a tailer stopped and a new one handed its offset tracker,
// as the agent does on SIGHUP.

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { InputConfig } from '../src/config/types.js';
import { waitFor } from './helpers/fs-wait.js';
import { CLOCK_MARGIN_MS } from '../src/tailer/rotation.js';
import { registeringTracker } from './helpers/registering-tracker.js';
import { Collector, FakeCheckpoints, inputConfig, ManualGate, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

const sorted = (collector: Collector): number[] => collector.texts().map(lineNumber).sort((a, b) => a - b);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Once armed, the next open of `path` copies it to `path`.1 first (a copytruncate's copy; the test truncates). */
function copiedAtNextOpen(path: string): { openFile: (file: string) => Promise<FileHandle>; arm: () => void; copied: () => boolean } {
  let state: 'idle' | 'armed' | 'copied' = 'idle';
  return {
    openFile: async (file) => {
      if (state === 'armed' && file === path) {
        state = 'copied';
        copyFileSync(path, `${path}.1`);
      }
      return open(file, 'r');
    },
    arm: () => (state = 'armed'),
    copied: () => state === 'copied',
  };
}

/** app.log in a temp directory, one input over it (rotated names excluded). */
async function scene(t: TestContext): Promise<{ path: string; input: InputConfig }> {
  const path = join(await tempDir(t), 'app.log');
  return { path, input: inputConfig({ paths: [path], exclude: ['*.[0-9]'] }) };
}

test('deleted and recreated, read to its end, reload, copytruncate before the successor looks: the copy continues the handed-over reader (nothing twice)', async (t) => {
  const { path, input } = await scene(t);
  const checkpoints = new FakeCheckpoints();
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  writeFileSync(path, numberedLines(0, 20));
  const first = await startTailer(t, { inputs: [input], collector, checkpoints, tracker });
  await waitFor(() => collector.lineCount === 20, 'the first file');
  unlinkSync(path);
  writeFileSync(path, numberedLines(20, 3)); // the new file
  await waitFor(() => collector.lineCount === 23, 'the new file read to its end');
  await first.tailer.stop(); // reload: the new file's position goes to the tracker
  copyFileSync(path, `${path}.1`); // copytruncate before the successor's first look
  truncateSync(path, 0);
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker });
  appendFileSync(path, numberedLines(23, 5));
  await waitFor(() => collector.lineCount >= 28, () => `28 lines, got ${collector.lineCount}`);
  await second.tailer.drained();
  assert.deepEqual(sorted(collector), range(0, 28));
});

test('a copytruncate copy made while a new file\'s reader holds its first read (the search for files born since runs first): read once', async (t) => {
  const { path, input } = await scene(t);
  const collector = new Collector();
  const copier = copiedAtNextOpen(path);
  writeFileSync(path, numberedLines(0, 20));
  const { tailer } = await startTailer(t, { inputs: [input], collector, openFile: copier.openFile });
  await waitFor(() => collector.lineCount === 20, 'the first file');
  copier.arm();
  unlinkSync(path);
  writeFileSync(path, numberedLines(20, 3)); // the new file
  await waitFor(() => collector.lineCount >= 23, 'the new file read');
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(23, 5));
  await waitFor(() => collector.lineCount >= 28, () => `28 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.ok(copier.copied(), 'the reader opened the new file');
  assert.deepEqual(sorted(collector), range(0, 28));
});

test('the same copy, the live file truncated and refilled after the search left the copy to its reader but before the reader read again: the copy is found from 0, nothing lost or twice', async (t) => {
  const { path, input } = await scene(t);
  const collector = new Collector();
  let opensOfNewFile = -1;
  let refilled = false;
  const openFile = async (file: string) => {
    const handle = await open(file, 'r');
    if (opensOfNewFile < 0 || file !== path) return handle;
    opensOfNewFile++;
    if (opensOfNewFile === 1) copyFileSync(path, `${path}.1`); // the reader opens it: copied
    if (opensOfNewFile === 2) {
      // The search compares the live file with the copy: truncated and refilled right after.
      const close = handle.close.bind(handle);
      handle.close = async () => {
        await close();
        truncateSync(path, 0);
        appendFileSync(path, numberedLines(23, 2));
        refilled = true;
      };
    }
    return handle;
  };
  writeFileSync(path, numberedLines(0, 20));
  const { tailer } = await startTailer(t, { inputs: [input], collector, openFile });
  await waitFor(() => collector.lineCount === 20, 'the first file');
  opensOfNewFile = 0;
  unlinkSync(path);
  writeFileSync(path, numberedLines(20, 3)); // the new file
  await waitFor(() => collector.lineCount >= 25, () => `25 lines, got ${collector.lineCount}`);
  appendFileSync(path, numberedLines(25, 3)); // the application writes on
  await waitFor(() => collector.lineCount >= 28, () => `28 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.ok(refilled, 'the search compared the live file with the copy');
  assert.deepEqual(sorted(collector), range(0, 28));
});

/** What newFileFollowedUnread leaves. */
type Unread = { path: string; input: InputConfig; checkpoints: FakeCheckpoints; tracker: ReturnType<typeof registeringTracker>; collector: Collector; gate: ManualGate };

/**
 * A file read, then Kafka stalls (the gate closes), the file is deleted and recreated with
 * `newLines` lines: followed, its reader held off by the gate; then the tailer stops (a reload
 * or a crash) with the new file unread.
 */
async function newFileFollowedUnread(t: TestContext, firstLines: number, newLines: number): Promise<Unread> {
  const { path, input } = await scene(t);
  const checkpoints = new FakeCheckpoints();
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  const gate = new ManualGate();
  writeFileSync(path, numberedLines(0, firstLines));
  const first = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  await waitFor(() => collector.lineCount === firstLines, 'the first file');
  gate.close();
  unlinkSync(path);
  writeFileSync(path, numberedLines(firstLines, newLines)); // the new file: followed, not read (the gate is closed)
  const newFile = statSync(path).ino;
  await waitFor(() => first.tailer.files().some((file) => file.identity.ino === newFile), 'the new file followed');
  await first.tailer.stop();
  return { path, input, checkpoints, tracker, collector, gate };
}

test('as in the soak: the new file handed over unread at a reload (Kafka stalled), copied as the successor\'s reader first opens it: read once', async (t) => {
  const { path, input, checkpoints, tracker, collector, gate } = await newFileFollowedUnread(t, 20, 3); // reload: the new file is handed over unread
  const copier = copiedAtNextOpen(path);
  copier.arm();
  gate.open();
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate, openFile: copier.openFile });
  await waitFor(() => collector.lineCount >= 23, 'the new file read');
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(23, 5));
  await waitFor(() => collector.lineCount >= 28, () => `28 lines, got ${collector.lineCount}`);
  await second.tailer.drained();
  assert.ok(copier.copied(), 'the successor opened the new file');
  assert.deepEqual(sorted(collector), range(0, 28));
});

/**
 * Soak --gap 1.5 seed 2202 (3 lines lost): a file deleted and recreated behind a stalled Kafka is
 * followed, its reader held off by the closed gate, and copytruncated — only the copy holds its
 * first lines. Then a reload or a restart. The path was looked at after the copy was born (a
 * rotated file followed since startup is "seen" up to now), so the successor's search for files
 * born at the path since its last sighting passed the copy over, and nobody had read a byte of
 * the live file to tell the truncation by. Life 0 leaves a rotated file known under the path.
 */
/**
 * Life 0 reads app.log (lines 0..9); rotated while the agent is down (fully shipped), a new
 * app.log (10..19); the next tailer resumes the rotated file at startup — followed, never seen at
 * the path — and reads the new one.
 */
async function afterRotatedResumed(t: TestContext): Promise<Unread & { first: Awaited<ReturnType<typeof startTailer>> }> {
  const { path, input } = await scene(t);
  writeFileSync(path, numberedLines(0, 10));
  const life0 = await startTailer(t, { inputs: [input] });
  await waitFor(() => life0.collector.lineCount === 10, 'life 0 read its file');
  await life0.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(life0.collector.batches, Date.now());
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(10, 10));
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  const gate = new ManualGate();
  const first = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  await waitFor(() => collector.lineCount === 10, 'the live file');
  return { path, input, checkpoints, tracker, collector, gate, first };
}

async function unreadNewFileCopied(t: TestContext): Promise<Unread> {
  const { path, input, checkpoints, tracker, collector, gate, first } = await afterRotatedResumed(t);
  gate.close(); // Kafka stalls
  unlinkSync(path);
  writeFileSync(path, numberedLines(20, 3)); // deleted and recreated
  const newFile = statSync(path).ino;
  await waitFor(() => first.tailer.files().some((file) => file.identity.ino === newFile), 'the new file followed');
  copyFileSync(path, `${path}.2`); // copytruncate of the unread new file
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(23, 5)); // the application writes on
  const scans = first.tailer.scanCount;
  await waitFor(() => first.tailer.scanCount >= scans + 2, 'the path looked at since the copy was born');
  await first.tailer.stop();
  return { path, input, checkpoints, tracker, collector, gate };
}

test('seed 2202: a new file copytruncated while its reader waited for the gate, then a reload: the copy is read', async (t) => {
  const { input, checkpoints, tracker, collector, gate } = await unreadNewFileCopied(t);
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  gate.open();
  await waitFor(() => collector.lineCount >= 18, () => `18 lines, got ${collector.lineCount}: ${sorted(collector).join(',')}`);
  await second.tailer.drained();
  assert.deepEqual(sorted(collector), range(10, 28));
});

test('seed 2202 with a crash: a new file copytruncated while its reader waited for the gate, then a restart: the copy is read', async (t) => {
  const { input, checkpoints, collector } = await unreadNewFileCopied(t);
  // The registry moved lastSeen of the files the killed agent followed (OffsetRegistry.seen).
  for (const entry of [...checkpoints.entries.values()]) checkpoints.set({ ...entry, lastSeen: Date.now() });
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => collector.lineCount >= 18, () => `18 lines, got ${collector.lineCount}: ${sorted(collector).join(',')}`);
  await second.tailer.drained();
  assert.deepEqual(sorted(collector), range(10, 28));
});

/** newFileFollowedUnread, then the new file copied (copytruncate, not truncated yet) while the agent is stopped. */
async function newFileUnread(t: TestContext): Promise<Unread> {
  const scene = await newFileFollowedUnread(t, 10, 3);
  const { path } = scene;
  copyFileSync(path, `${path}.1`); // copytruncate: copied ...
  const copyBorn = statSync(`${path}.1`).birthtimeMs || statSync(`${path}.1`).ctimeMs;
  // ... well before the successor follows the file (beyond the clock margin of "born since").
  await waitFor(() => Date.now() > copyBorn + 4 * CLOCK_MARGIN_MS, 'time to pass');
  return scene;
}

/**
 * The successor's startup search left the copy to the live file's reader (the live file still
 * holds it); the truncation lands before that reader begins (the gate is still closed).
 */
async function truncatedBeforeTheReaderBegins(t: TestContext, { path, input, checkpoints, tracker, collector, gate }: Unread): Promise<void> {
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(13, 5)); // the application writes on
  gate.open();
  await waitFor(() => collector.lineCount >= 18, () => `18 lines, got ${collector.lineCount}: ${sorted(collector).join(',')}`);
  await second.tailer.drained();
  assert.deepEqual(sorted(collector), range(0, 18));
}

test('seed 2202, the copy still in the making at the reload: left to the live file\'s reader, which counts from its predecessor\'s follow (nothing read since), not its own', async (t) => {
  await truncatedBeforeTheReaderBegins(t, await newFileUnread(t));
});

test('the same at a restart (only the registry\'s entry at 0 is left): the live file\'s reader counts from the file\'s birth', async (t) => {
  const scene = await newFileUnread(t);
  await truncatedBeforeTheReaderBegins(t, { ...scene, tracker: registeringTracker(scene.checkpoints) });
});

test('a reload: a file created at the path and rotated away between the old tailer\'s stop and the new one\'s start is found, also when a file followed there was never seen at the path (a rotated one resumed at startup)', async (t) => {
  const { path, input, checkpoints, tracker, collector, first } = await afterRotatedResumed(t);
  await first.tailer.stop(); // a reload: nobody looks until the next tailer starts
  renameSync(path, `${path}.2`);
  writeFileSync(path, numberedLines(20, 5)); // created ...
  renameSync(path, `${path}.3`); // ... and rotated away
  writeFileSync(path, numberedLines(25, 5));
  await waitFor(() => Date.now() > statSync(`${path}.3`).ctimeMs + 4 * CLOCK_MARGIN_MS, 'time to pass');
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker });
  await waitFor(() => collector.lineCount >= 20, () => `20 lines, got ${collector.lineCount}: ${sorted(collector).join(',')}`);
  await second.tailer.drained();
  assert.deepEqual(sorted(collector), range(10, 30));
});
