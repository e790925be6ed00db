// Files created at a followed path and rotated away before the tailer saw them ("middle" files),
// measured against the last look that found a file at the path; and a file refilled while its
// reader looked for the copy of what it held. Found by the soak (--gap 1.5).

import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { PathLooks } from '../src/tailer/path-looks.js';
import { waitFor } from './helpers/fs-wait.js';
import { Collector, FakeCheckpoints, inputConfig, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

describe('PathLooks', () => {
  test('a look that finds the path empty is no sighting: files born since the last look that found one are still middle files', () => {
    const looks = new PathLooks();
    looks.occupied('/var/log/app.log', 100);
    looks.vacate('/var/log/app.log', 200);
    looks.expire(() => true, 300, () => 60_000);
    assert.equal(looks.since('/var/log/app.log'), 100);
    looks.occupied('/var/log/app.log', 400);
    assert.equal(looks.since('/var/log/app.log'), 400);
  });

  test('a vacated path is forgotten after its memory', () => {
    const looks = new PathLooks();
    looks.occupied('/var/log/app.log', 100);
    looks.vacate('/var/log/app.log', 200);
    looks.expire(() => true, 200 + 60_001, () => 60_000);
    assert.equal(looks.since('/var/log/app.log'), undefined);
  });
});

test('deleted, recreated, written and renamed away before the tailer looked, then a look at the empty path: the renamed file is read when a new one appears', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 10));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path], exclude: ['*.[0-9]'] })] });
  await waitFor(() => collector.lineCount === 10, 'the first file');
  // All before the tailer's next turn: deleted, recreated and written, renamed away.
  unlinkSync(path);
  writeFileSync(path, numberedLines(10, 10));
  renameSync(path, `${path}.1`);
  const scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 2, 'looks at the empty path');
  writeFileSync(path, numberedLines(20, 10));
  await waitFor(() => collector.lineCount >= 30, () => `30 lines, got ${collector.lineCount}`);
  await tailer.drained();
  assert.deepEqual(
    collector.texts().map(lineNumber).sort((a, b) => a - b),
    Array.from({ length: 30 }, (_, i) => i),
  );
});

test('a file that no longer holds its checkpoint, truncated and refilled while its reader looks for the copy: the new lines are read once', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  const input = inputConfig({ paths: [path], exclude: ['*.[0-9]'] });
  writeFileSync(`${path}.1`, numberedLines(1_000, 200)); // an old rotation: a candidate copy, never followed
  await sleep(60); // born clearly before the tailer starts (kernel file times are coarse)
  writeFileSync(path, numberedLines(0, 100));
  const first = new Collector();
  const firstRun = await startTailer(t, { inputs: [input], collector: first });
  await waitFor(() => first.lineCount === 100, 'the first run');
  await firstRun.tailer.stop();
  const checkpoints = FakeCheckpoints.committedFrom(first.batches, Date.now());
  for (const cp of checkpoints.all()) cp.seenAt = Date.now();

  // While the agent is down the file is rewritten (other first bytes): the restart looks for a
  // copy of what the checkpoint describes. A copytruncate in progress truncates and refills it
  // while that search opens the candidate — after the reader read the file's first bytes.
  writeFileSync(path, numberedLines(100, 200));
  let refilled = false;
  const openFile = async (file: string) => {
    if (file.endsWith('.1') && !refilled) {
      refilled = true;
      truncateSync(path, 0);
      writeFileSync(path, numberedLines(300, 20));
    }
    return open(file, 'r');
  };
  const second = new Collector();
  const secondRun = await startTailer(t, { inputs: [input], collector: second, checkpoints, openFile });
  await waitFor(() => second.texts().map(lineNumber).filter((n) => n >= 300).length >= 20, 'the refilled lines');
  appendFileSync(path, numberedLines(320, 1)); // the application writes on: the reader reads again
  await waitFor(() => second.texts().map(lineNumber).includes(320), 'the next line');
  await secondRun.tailer.drained();
  assert.ok(refilled, 'the copy search opened the candidate');
  assert.deepEqual(second.texts().map(lineNumber), Array.from({ length: 21 }, (_, i) => 300 + i), 'each refilled line once, nothing else');
});
