// Restart edge cases of the search for files born at a path while the agent was down (issue
// #11's list of what the soak had not reached): a path whose every earlier file the agent saw
// deleted before it stopped, and a restart within the clock margin of a copy's birth. Real
// tailers over real files; a restart is a new tailer with a fresh tracker over the registry
// (FakeCheckpoints) the stopped one would have left.

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { CLOCK_MARGIN_MS } from '../src/tailer/rotation.js';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from './helpers/fs-wait.js';
import { Collector, FakeCheckpoints, inputConfig, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

const sorted = (collector: Collector): number[] => collector.texts().map(lineNumber).sort((a, b) => a - b);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Life 1 reads app.log (lines 0..9), the registry holding its end and a sighting now —
 * `markedDeleted`: and the file deleted and closed while life 1 ran (OffsetRegistry.markDeleted);
 * else deleted while the agent was down. Down: a file created at the path and rotated away, a new
 * one created. The restart (start_at: end, for files found at startup — not for those born at a
 * known path since the last look) reads both.
 */
async function pathEmptiedThenRefilled(t: Parameters<typeof tempDir>[0], markedDeleted: boolean): Promise<void> {
  const path = join(await tempDir(t), 'app.log');
  writeFileSync(path, numberedLines(0, 10));
  const life1 = await startTailer(t, { inputs: [inputConfig({ paths: [path], exclude: ['*.[0-9]'] })] });
  await waitFor(() => life1.collector.lineCount === 10, 'life 1 read the file');
  const first = statSync(path);
  await life1.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(life1.collector.batches, Date.now());
  const entry = checkpoints.get(first)!;
  checkpoints.set({ ...entry, seenAt: Date.now(), ...(markedDeleted ? { deleted: true } : {}) });
  unlinkSync(path);
  // Down: a file created at the path, written, rotated away; a new one created.
  writeFileSync(path, numberedLines(10, 10));
  renameSync(path, `${path}.1`);
  writeFileSync(path, numberedLines(20, 5));
  const collector = new Collector();
  const life2 = await startTailer(t, { inputs: [inputConfig({ paths: [path], exclude: ['*.[0-9]'], start_at: 'end' })], collector, checkpoints });
  await waitFor(() => collector.lineCount >= 15, () => `15 lines, got ${collector.lineCount}: ${sorted(collector).join(',')}`);
  await life2.tailer.drained();
  assert.deepEqual(sorted(collector), range(10, 25));
}

test('a path whose only file the agent saw deleted before it stopped; while it was down a file was created there and rotated away, and another created: both read at restart', async (t) => {
  await pathEmptiedThenRefilled(t, true);
});

test('the same, the file deleted while the agent was down (its entry not marked): both read at restart', async (t) => {
  await pathEmptiedThenRefilled(t, false);
});

/**
 * Life 1 reads app.log's lines 0..19 (acknowledged: the registry holds its end, and a sighting at
 * `seenAt`); then, down: lines 20..29 written, copytruncate (the copy born now), 30..34 written.
 * `copyRegistered`: life 1 had found the copy already and registered it where its original stood.
 */
async function copiedJustBeforeRestart(t: Parameters<typeof tempDir>[0], sightingAfterCopy: boolean, copyRegistered: boolean): Promise<void> {
  const path = join(await tempDir(t), 'app.log');
  const input = inputConfig({ paths: [path], exclude: ['*.[0-9]'] });
  writeFileSync(path, numberedLines(0, 20));
  const life1 = await startTailer(t, { inputs: [input] });
  await waitFor(() => life1.collector.lineCount === 20, 'life 1 read the file');
  await life1.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(life1.collector.batches, Date.now());
  const live = statSync(path);
  const entry = checkpoints.get(live)!;
  checkpoints.set({ ...entry, seenAt: Date.now() });
  appendFileSync(path, numberedLines(20, 10));
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines(30, 5));
  const copy = statSync(`${path}.1`);
  const born = copy.birthtimeMs || copy.ctimeMs;
  // The last look at the path came just after the copy was born (within the clock margin).
  if (sightingAfterCopy) checkpoints.set({ ...checkpoints.get(live)!, seenAt: Date.now() });
  if (copyRegistered) checkpoints.set({ ...entry, identity: { dev: copy.dev, ino: copy.ino }, seenAt: 0 });
  // The restart 5 ms after the copy's birth as the tailer's clock has it, however fast or loaded the
  // machine: every "born since" it decides falls within the clock margin of the copy's birth.
  const shift = Date.now() - (born + CLOCK_MARGIN_MS / 5);
  const collector = new Collector();
  const life2 = await startTailer(t, { inputs: [input], collector, checkpoints, now: () => Date.now() - shift });
  await waitFor(() => collector.lineCount >= 15, () => `15 lines, got ${collector.lineCount}: ${sorted(collector).join(',')}`);
  await life2.tailer.drained();
  assert.deepEqual(sorted(collector), range(20, 35), 'the copy from where life 1 stood, the refilled file from 0: each line once');
}

test('a restart within the clock margin of a copy\'s birth (copytruncate while down): the copy continues where the registry stood, nothing twice', async (t) => {
  await copiedJustBeforeRestart(t, false, false);
});

test('the same, the last look at the path just after the copy was born (within the margin)', async (t) => {
  await copiedJustBeforeRestart(t, true, false);
});

test('the same, the copy found and registered by the previous life (where its original stood) before the crash: continued from there, not read again as a file born since', async (t) => {
  await copiedJustBeforeRestart(t, true, true);
});
