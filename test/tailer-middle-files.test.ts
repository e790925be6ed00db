// Files created at a followed path and rotated away before the tailer saw them ("middle" files),
// measured against the last look that found a file at the path: found by the soak (--gap 1.5).

import assert from 'node:assert/strict';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PathLooks } from '../src/tailer/path-looks.js';
import { waitFor } from './helpers/fs-wait.js';
import { inputConfig, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

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
