// Crashes while readers wait for the gate (Kafka stalled), found by `npm run soak -- --gap 1.5`:
// what a restart knows of files the crashed agent had decided to follow but never read. Each
// test runs real tailers over real files, with the registry the agent would have persisted
// (FakeCheckpoints, fed through the offset tracker exactly as the agent feeds its registry: the
// same registrationEntry), and a crash between two lives (a fresh tracker; only the registry
// survives).

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import type { InputConfig } from '../src/config/types.js';
import { checkpointAt, identityKey, identityOf } from '../src/core/file.js';
import { fingerprintOf } from '../src/tailer/identity.js';
import { waitFor } from './helpers/fs-wait.js';
import { registeringTracker } from './helpers/registering-tracker.js';
import { Collector, FakeCheckpoints, inputConfig, lineNumber, ManualGate, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

/** Kafka acknowledged every line of `collector`, committed as the agent commits, seen at its path at `seenAt`. */
function acknowledgeAll(checkpoints: FakeCheckpoints, collector: Collector, seenAt: number): void {
  for (const batch of collector.batches) {
    checkpoints.set(checkpointAt(batch.source, { offset: batch.endOffset, fingerprint: batch.fingerprint, marker: batch.marker }, Date.now(), seenAt));
  }
}

/** Kernel file times are coarse: be born clearly after a time taken with Date.now(). */
function afterCoarseClock(): Promise<void> {
  return sleep(50);
}

/** app.log in a temp directory, one input over it (rotated names excluded), an empty registry. */
async function scene(t: TestContext): Promise<{ dir: string; path: string; input: InputConfig; checkpoints: FakeCheckpoints }> {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  return { dir, path, input: inputConfig({ paths: [path], exclude: ['*.[0-9]'] }), checkpoints: new FakeCheckpoints() };
}

/**
 * A first life over `path` holding lines 0..99: read, acknowledged and persisted with a sighting
 * of the path; the agent then stays down a while.
 */
async function firstLife(t: TestContext, path: string, input: InputConfig, checkpoints: FakeCheckpoints): Promise<void> {
  writeFileSync(path, numberedLines(0, 100));
  const first = new Collector();
  const life = await startTailer(t, { inputs: [input], collector: first, checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => first.lineCount === 100, 'the first life');
  await life.tailer.stop();
  acknowledgeAll(checkpoints, first, Date.now());
  await afterCoarseClock();
}

/** The next life (after a crash: a fresh tracker, the registry as persisted) ships exactly `expected`. */
async function nextLifeShips(t: TestContext, input: InputConfig, checkpoints: FakeCheckpoints, expected: number[]): Promise<void> {
  const collector = new Collector();
  const life = await startTailer(t, { inputs: [input], collector, checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => collector.lineCount >= expected.length, () => `${expected.length} lines, got ${collector.lineCount}`);
  await life.tailer.drained();
  assert.deepEqual(sortedNumbers(collector), expected);
}

const sortedNumbers = (collector: Collector): number[] => collector.texts().map(lineNumber).sort((a, b) => a - b);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('a middle file found behind a closed gate is registered before its reader opens it: after a crash it is finished, though the live file was seen since', async (t) => {
  const { path, input, checkpoints } = await scene(t);
  await firstLife(t, path, input, checkpoints);

  // While the agent is down: rotated by rename, the new file written, then copytruncated.
  renameSync(path, `${path}.2`);
  writeFileSync(path, numberedLines(100, 100));
  const newFile = identityOf(statSync(path));
  copyFileSync(path, `${path}.1`); // lines 100..199: in no position the registry holds
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(200, 50));

  // Second life behind a stalled Kafka: it finds the copy (a middle file) and the new live file,
  // and crashes before any reader got through the gate.
  const secondLife = await startTailer(t, { inputs: [input], gate: new ManualGate(false), checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => secondLife.tailer.files().length === 3, () => `3 files followed, got ${secondLife.tailer.files().length}`);
  await secondLife.tailer.stop();
  const copy = checkpoints.get(identityOf(statSync(`${path}.1`)));
  assert.deepEqual([copy?.offset, copy?.path, copy?.seenAt], [0, path, 0], 'the copy registered at 0 under its live path, never seen there');

  // A third life opened the live file and Kafka acknowledged some of it: that commit carries a
  // sighting of the path later than the copy's birth (it hides the copy from the search for
  // files born at the path since the last look), and the agent crashed again.
  const live = checkpoints.get(newFile)!;
  checkpoints.set({ ...live, seenAt: Date.now() });

  await nextLifeShips(t, input, checkpoints, range(100, 250));
});

test('a copytruncate copy found behind a closed gate is registered where its original is acknowledged: after a crash and the original\'s deletion it is finished from there', async (t) => {
  const { path, input, checkpoints } = await scene(t);
  await firstLife(t, path, input, checkpoints);

  appendFileSync(path, numberedLines(100, 100));
  copyFileSync(path, `${path}.1`); // lines 0..199; 100..199 unshipped
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(200, 50));
  const original = identityOf(statSync(path));

  const secondLife = await startTailer(t, { inputs: [input], gate: new ManualGate(false), checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => secondLife.tailer.files().length === 2, () => `2 files followed, got ${secondLife.tailer.files().length}`);
  await secondLife.tailer.stop();
  const copy = checkpoints.get(identityOf(statSync(`${path}.1`)));
  assert.deepEqual([copy?.offset, copy?.path], [Buffer.byteLength(numberedLines(0, 100)), path], 'the copy registered where its original was acknowledged');

  // A later life saw the original at its path (a commit carries it), then it was deleted while
  // no agent ran (lines 200..249 with it: nobody held it open) and a new file took the path.
  checkpoints.set({ ...checkpoints.get(original)!, seenAt: Date.now() });
  unlinkSync(path);
  writeFileSync(path, numberedLines(250, 50));

  await nextLifeShips(t, input, checkpoints, [...range(100, 200), ...range(250, 300)]);
});

test('a file registered at 0 before any of its bytes were read, then written and copytruncated while the agent was down: the copy is read at restart', async (t) => {
  const { path, input, checkpoints } = await scene(t);
  writeFileSync(path, '');
  const firstLife = await startTailer(t, { inputs: [input], checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => checkpoints.get(identityOf(statSync(path))) !== undefined, 'the empty file registered');
  await firstLife.tailer.stop();
  assert.equal(checkpoints.get(identityOf(statSync(path)))?.fingerprint.len, 0, 'registered with no first bytes');

  appendFileSync(path, numberedLines(0, 100));
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(100, 50)); // other first bytes, but nothing to compare them with
  await afterCoarseClock(); // the agent stays down a while

  await nextLifeShips(t, input, checkpoints, range(0, 150));
});

test('a stale entry on a reused inode is replaced when a new file on it is followed from 0: a restart does not check the new file against the old position', async (t) => {
  const { dir, path, input, checkpoints } = await scene(t);
  writeFileSync(path, numberedLines(0, 100));
  const identity = identityOf(statSync(path));
  // The registry still holds a deleted file's entry on this inode (deleted while the agent was down).
  checkpoints.set({
    identity,
    fingerprint: { len: 7, hash: 'f'.repeat(64) },
    input: 'other',
    path: join(dir, 'other.log'),
    offset: 5_000,
    marker: { len: 64, hash: 'e'.repeat(64) },
    lastSeen: Date.now(),
    seenAt: Date.now(),
  });
  const first = new Collector();
  const firstLife = await startTailer(t, { inputs: [input], collector: first, checkpoints, tracker: registeringTracker(checkpoints) });
  await waitFor(() => first.lineCount === 100, 'the new file read from 0');
  await firstLife.tailer.stop();
  const entry = checkpoints.get(identity);
  assert.deepEqual([entry?.path, entry?.offset, entry?.input, identityKey(entry!.identity)], [path, 0, input.id, identityKey(identity)], 'the stale entry replaced by the new file at 0');
});

test('a middle file on an inode whose stale entry (a deleted file\'s, at 0 with no first bytes) the registry still holds is read, not taken for the known file', async (t) => {
  const { dir, path, input, checkpoints } = await scene(t);
  await firstLife(t, path, input, checkpoints);

  renameSync(path, `${path}.2`);
  writeFileSync(path, numberedLines(100, 50)); // the middle file...
  const middle = identityOf(statSync(path));
  renameSync(path, `${path}.1`); // ...rotated away before the agent looked
  writeFileSync(path, numberedLines(150, 50));
  // Its inode was a file's the agent registered when it followed it (at 0, before reading it),
  // deleted while the agent was down: the entry was never marked deleted.
  checkpoints.set({ identity: middle, fingerprint: fingerprintOf(Buffer.alloc(0)), input: input.id, path: join(dir, 'gone', 'other.log'), offset: 0, marker: null, lastSeen: Date.now(), seenAt: 0 });

  await nextLifeShips(t, input, checkpoints, range(100, 200));
});

test('two reloads behind a stalled Kafka while a deleted file is unread: the descriptor handed over is handed on again, and its rest is read after the stall', async (t) => {
  const { path, input, checkpoints } = await scene(t);
  writeFileSync(path, numberedLines(0, 100));
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  const gate = new ManualGate();
  const first = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  await waitFor(() => collector.lineCount === 100, 'the first 100 lines');
  gate.close();
  appendFileSync(path, numberedLines(100, 50));
  unlinkSync(path); // the reader holds it open: only its descriptor reaches lines 100..149
  await first.tailer.stop(); // reload 1: the descriptor goes to the tracker
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  await waitFor(() => second.tailer.files().length === 1, 'the deleted file adopted');
  await second.tailer.stop(); // reload 2, the gate still closed: its reader never started
  gate.open();
  const third = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, gate });
  await waitFor(() => collector.lineCount >= 150, () => `150 lines, got ${collector.lineCount}`);
  await third.tailer.drained();
  assert.deepEqual(sortedNumbers(collector), range(0, 150));
});

test('a reload while a deleted file\'s reader still checks where to start (its position no longer held): the successor reads the file from its descriptor', async (t) => {
  const { path, input, checkpoints } = await scene(t);
  writeFileSync(`${path}.1`, numberedLines(1_000, 200)); // an old rotation: a candidate for the copy search
  await afterCoarseClock();
  await firstLife(t, path, input, checkpoints);
  truncateSync(path, 0); // truncated while the agent was down: the checkpoint is past its end
  appendFileSync(path, numberedLines(100, 20));

  // The copy search of the reader's start opens the candidate: hold it there, delete the file
  // (the reader has it open) and reload.
  let candidateOpened!: () => void;
  const opened = new Promise<void>((resolve) => (candidateOpened = resolve));
  let proceed!: () => void;
  const held = new Promise<void>((resolve) => (proceed = resolve));
  const openFile = async (file: string) => {
    if (file.endsWith('.1')) {
      candidateOpened();
      await held;
    }
    return open(file, 'r');
  };
  const tracker = registeringTracker(checkpoints);
  const collector = new Collector();
  const second = await startTailer(t, { inputs: [input], collector, checkpoints, tracker, openFile });
  await opened;
  unlinkSync(path);
  const stopping = second.tailer.stop();
  proceed();
  await stopping;
  const third = await startTailer(t, { inputs: [input], collector, checkpoints, tracker });
  await waitFor(() => collector.lineCount >= 20, () => `20 lines, got ${collector.lineCount}`);
  await third.tailer.drained();
  assert.deepEqual(sortedNumbers(collector), range(100, 120));
});
