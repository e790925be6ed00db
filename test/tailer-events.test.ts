// Watch events alone keep files flowing: with the safety-net scan an hour away, writes (also
// two within 50 ms), rotation by rename, symlinked files and new subdirectories are all seen
// through inotify; one watch per directory; the scan's period adapts to quiet and busy files.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { StartWatch } from '../src/tailer/watches.js';
import { waitFor } from './helpers/fs-wait.js';
import { assertEachNumberOnceInOrder, inputConfig, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

const HOUR_MS = 3_600_000;
/** Only the start-up scan runs: whatever arrives later came through a watch event. */
const NO_SCANS = { scanIntervalMs: HOUR_MS, idleScanIntervalMs: HOUR_MS };
/** Far below any scan (an hour away), far above the few ms an event takes. */
const EVENT_DEADLINE = { timeoutMs: 3_000 };

/** inotify watches this process holds, as the kernel counts them. */
function inotifyWatches(): number {
  let watches = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      watches += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return watches;
}

test('a write 10 ms after the previous one (inside a 50 ms throttle window) is read at once, with no scan', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, '');
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], ...NO_SCANS });
  for (let n = 0; n < 5; n++) {
    appendFileSync(path, numberedLines(n, 1));
    await delay(10);
  }
  await waitFor(() => collector.lineCount === 5, () => `5 lines, got ${collector.lineCount}`, EVENT_DEADLINE);
  assertEachNumberOnceInOrder(collector, 5);
  assert.equal(tailer.scanCount, 1, 'no scan but the start-up one');
  assert.equal(tailer.files()[0]!.size, statSync(path).size, 'the size (for the lag metric) follows the reads, not the scans');
});

test('one inotify watch per directory, not per file (and one for the directory of a symlink target)', async (t) => {
  const dir = await tempDir(t);
  const outside = await tempDir(t);
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, `f${i}.log`), numberedLines(i, 1));
  writeFileSync(join(outside, 'target.txt'), numberedLines(200, 1));
  symlinkSync(join(outside, 'target.txt'), join(dir, 'link.log'));
  const before = inotifyWatches();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], ...NO_SCANS });
  await waitFor(() => collector.lineCount === 201, () => `201 lines, got ${collector.lineCount}`);
  assert.equal(inotifyWatches() - before, 2, 'the directory and the directory of the symlink target');
  await tailer.stop();
  assert.equal(inotifyWatches(), before, 'all released at stop');
});

test('rotation by rename is followed through watch events alone: every line once, in order per file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 100));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], ...NO_SCANS });
  await waitFor(() => collector.lineCount === 100, () => `100 lines, got ${collector.lineCount}`, EVENT_DEADLINE);
  renameSync(path, `${path}.1`);
  appendFileSync(`${path}.1`, numberedLines(100, 50)); // the writer still holds the renamed file
  writeFileSync(path, numberedLines(150, 50));
  await waitFor(() => collector.lineCount === 200, () => `200 lines, got ${collector.lineCount}`, EVENT_DEADLINE);
  appendFileSync(`${path}.1`, numberedLines(200, 10)); // late lines of the rotated file
  appendFileSync(path, numberedLines(210, 10));
  await waitFor(() => collector.lineCount === 220, () => `220 lines, got ${collector.lineCount}`, EVENT_DEADLINE);
  assertEachNumberOnceInOrder(collector, 220);
  assert.equal(collector.byKey().size, 2, 'two files');
  assert.equal(tailer.scanCount, 1, 'no scan but the start-up one');
});

test('a symlinked file is watched through the link: its growth is read with no scan', async (t) => {
  const dir = await tempDir(t);
  const outside = await tempDir(t);
  const target = join(outside, 'real.txt');
  writeFileSync(target, numberedLines(0, 5));
  symlinkSync(target, join(dir, 'link.log'));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], ...NO_SCANS });
  await waitFor(() => collector.lineCount === 5, 'the target through the link', EVENT_DEADLINE);
  appendFileSync(target, numberedLines(5, 5));
  await waitFor(() => collector.lineCount === 10, () => `growth of the target, got ${collector.lineCount}`, EVENT_DEADLINE);
  assertEachNumberOnceInOrder(collector, 10);
  assert.equal(tailer.scanCount, 1);
});

test('new subdirectories under ** are walked and watched as they appear, also when replaced', async (t) => {
  const dir = await tempDir(t);
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '**', '*.log')] })], ...NO_SCANS });
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'a', 'b', 'one.log'), numberedLines(0, 5));
  await waitFor(() => collector.lineCount === 5, () => `a file in a new subdirectory, got ${collector.lineCount}`, EVENT_DEADLINE);
  appendFileSync(join(dir, 'a', 'b', 'one.log'), numberedLines(5, 5));
  await waitFor(() => collector.lineCount === 10, () => `its growth, got ${collector.lineCount}`, EVENT_DEADLINE);
  // Deleted and created again: the old directory's watch is dead, the new one needs its own.
  rmSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'a', 'b', 'two.log'), numberedLines(10, 5));
  await waitFor(() => collector.lineCount === 15, () => `a file in the recreated subdirectory, got ${collector.lineCount}`, EVENT_DEADLINE);
  appendFileSync(join(dir, 'a', 'b', 'two.log'), numberedLines(15, 5));
  await waitFor(() => collector.lineCount === 20, () => `its growth, got ${collector.lineCount}`, EVENT_DEADLINE);
  assert.deepEqual(
    collector.texts().map(lineNumber),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(tailer.scanCount, 1);
});

test('the scan runs every idleScanIntervalMs while files are quiet, and every scanIntervalMs once a write is reported', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 1));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], scanIntervalMs: 30, idleScanIntervalMs: HOUR_MS });
  await waitFor(() => collector.lineCount === 1, 'the first line');
  await waitFor(() => tailer.scanPeriodMs === HOUR_MS, () => `quiet: the long period, now ${tailer.scanPeriodMs} ms`);
  const quietScans = tailer.scanCount;
  // Nothing to wait for: this shows that nothing happens (the short period would scan 6 times).
  await delay(200);
  assert.equal(tailer.scanCount, quietScans, 'no scan while quiet');
  appendFileSync(path, numberedLines(1, 1));
  await waitFor(() => collector.lineCount === 2, 'the second line');
  await waitFor(() => tailer.scanCount > quietScans, 'a scan soon after the write (the long period is an hour)', EVENT_DEADLINE);
  await waitFor(() => tailer.scanPeriodMs === HOUR_MS, () => `quiet again: the long period, now ${tailer.scanPeriodMs} ms`);
});

test('without inotify the scan keeps its short period even while files are quiet', async (t) => {
  const dir = await tempDir(t);
  const refused: StartWatch = (path) => {
    throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`), { code: 'ENOSPC' });
  };
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], scanIntervalMs: 30, idleScanIntervalMs: HOUR_MS, startWatch: refused });
  assert.equal(tailer.discoveryMode, 'scan-only');
  await waitFor(() => tailer.scanCount >= 4, () => `scans every 30 ms, ${tailer.scanCount} so far`, EVENT_DEADLINE);
  assert.equal(tailer.scanPeriodMs, 30);
});
