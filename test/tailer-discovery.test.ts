// Which files are followed and from where: globs with **, exclude, start_at, ignore_older,
// symlinks, special files, unreadable files, and discovery without inotify.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StartWatch } from '../src/tailer/watches.js';
import { waitFor } from './helpers/fs-wait.js';
import { assertEachNumberOnceInOrder, collectingLogger, inputConfig, lineNumber, numberedLines, startTailer, tempDir } from './helpers/tailer-harness.js';

/** A watch that never reports anything. */
const deafWatch: StartWatch = () => ({ close: () => undefined });

/** Refused like fs.watch is when inotify is out of watches. */
const refusedWatch =
  (code: string): StartWatch =>
  (path) => {
    throw Object.assign(new Error(`${code}: System limit for number of file watchers reached, watch '${path}'`), { code });
  };

test('a file appearing in a new subdirectory under ** is followed from 0 (even with start_at: end)', async (t) => {
  const dir = await tempDir(t);
  const { collector } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '**', '*.log')], start_at: 'end' })] });
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'a', 'b', 'new.log'), numberedLines(0, 10));
  writeFileSync(join(dir, 'a', 'b', 'other.txt'), 'not matched\n');
  await waitFor(() => collector.lineCount >= 10, () => `10 lines, got ${collector.lineCount}`);
  assertEachNumberOnceInOrder(collector, 10);
  assert.equal(collector.lines()[0]!.path, join(dir, 'a', 'b', 'new.log'));
});

test('start_at: end applies to files found at startup only', async (t) => {
  const dir = await tempDir(t);
  const old = join(dir, 'old.log');
  writeFileSync(old, numberedLines(0, 10));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')], start_at: 'end' })] });
  await tailer.drained();
  assert.equal(collector.lineCount, 0, 'existing content is skipped');
  appendFileSync(old, numberedLines(10, 10));
  writeFileSync(join(dir, 'new.log'), numberedLines(20, 10));
  await waitFor(() => collector.lineCount >= 20, () => `20 lines, got ${collector.lineCount}`);
  assert.deepEqual(
    collector.texts().map(lineNumber).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => 10 + i),
  );
});

test('exclude matches full paths and basenames', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'app.log'), numberedLines(0, 5));
  writeFileSync(join(dir, 'app.log.1.gz'), 'compressed\n');
  writeFileSync(join(dir, 'skip-me.log'), 'excluded by full path\n');
  const { collector, tailer } = await startTailer(t, {
    inputs: [inputConfig({ paths: [join(dir, '*')], exclude: ['*.gz', join(dir, 'skip-*')] })],
  });
  await tailer.drained();
  assert.deepEqual(collector.texts().map(lineNumber), [0, 1, 2, 3, 4]);
  assert.deepEqual(
    tailer.files().map((file) => file.path),
    [join(dir, 'app.log')],
  );
});

test('directories and FIFOs matching a glob are skipped with one warning each, other files flow', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(join(dir, 'dir.log'));
  execFileSync('mkfifo', [join(dir, 'pipe.log')]);
  writeFileSync(join(dir, 'ok.log'), numberedLines(0, 5));
  const { log, records } = collectingLogger();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], log });
  await waitFor(() => collector.lineCount === 5, 'the regular file');
  const scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 3, 'three more scans');
  const warningsFor = (name: string) => records.filter((record) => record.level === 40 && record.path === join(dir, name)).length;
  assert.equal(warningsFor('dir.log'), 1);
  assert.equal(warningsFor('pipe.log'), 1);
  assert.equal(tailer.files().length, 1);
});

test('a symlinked file is followed by its target identity', async (t) => {
  const dir = await tempDir(t);
  const outside = await tempDir(t);
  const target = join(outside, 'real.txt');
  writeFileSync(target, numberedLines(0, 5));
  symlinkSync(target, join(dir, 'link.log'));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })] });
  await waitFor(() => collector.lineCount === 5, 'the target through the link');
  const { dev, ino } = statSync(target);
  assert.deepEqual(tailer.files()[0]!.identity, { dev, ino });
  appendFileSync(target, numberedLines(5, 5));
  await waitFor(() => collector.lineCount === 10, 'growth of the target');
  assertEachNumberOnceInOrder(collector, 10);
});

test('an unreadable file (EACCES) is warned about once and retried each scan; the others are unaffected', async (t) => {
  const dir = await tempDir(t);
  const bad = join(dir, 'bad.log');
  writeFileSync(join(dir, 'good.log'), numberedLines(0, 5));
  writeFileSync(bad, numberedLines(5, 5));
  let denied = true;
  let attempts = 0;
  // Root bypasses permission checks, so the failing open is injected where the tailer opens files.
  const openFile = (path: string) => {
    if (path === bad && denied) {
      attempts++;
      return Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES', path }));
    }
    return open(path, 'r');
  };
  const { log, records } = collectingLogger();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], log, openFile });
  await waitFor(() => collector.lineCount === 5, 'the readable file');
  await waitFor(() => attempts >= 3, 'retries at the following scans');
  const warnings = records.filter((record) => record.level === 40 && record.path === bad);
  assert.equal(warnings.length, 1, 'one warning, not one per retry');
  assert.equal(warnings[0]!.code, 'EACCES');
  appendFileSync(join(dir, 'good.log'), numberedLines(10, 1));
  await waitFor(() => collector.lineCount === 6, 'the readable file keeps flowing');
  denied = false;
  await waitFor(() => collector.lineCount === 11, 'the file once readable');
  assertEachNumberOnceInOrder(collector, 11);
  assert.ok(records.some((record) => record.msg.includes('can be opened again') && record.path === bad));
  assert.equal(tailer.stats.readErrors, 1);
});

test('when inotify refuses watches (ENOSPC) discovery falls back to scans, with a warning', async (t) => {
  const dir = await tempDir(t);
  const { log, records } = collectingLogger();
  const { collector, tailer } = await startTailer(t, {
    inputs: [inputConfig({ paths: [join(dir, '*.log')] })],
    log,
    startWatch: refusedWatch('ENOSPC'),
  });
  assert.equal(tailer.discoveryMode, 'scan-only');
  assert.ok(records.some((record) => record.level === 40 && record.msg.includes('periodic scans only')));
  writeFileSync(join(dir, 'late.log'), numberedLines(0, 5));
  await waitFor(() => collector.lineCount === 5, 'the file found by a scan');
});

test('with no watcher events at all, the periodic scan still finds new files, growth and rotation', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], startWatch: deafWatch });
  assert.equal(tailer.discoveryMode, 'inotify');
  writeFileSync(path, numberedLines(0, 10));
  await waitFor(() => collector.lineCount === 10, 'a new file');
  appendFileSync(path, numberedLines(10, 10));
  await waitFor(() => collector.lineCount === 20, 'growth');
  execFileSync('mv', [path, `${path}.1`]);
  appendFileSync(`${path}.1`, numberedLines(20, 10));
  writeFileSync(path, numberedLines(30, 10));
  await waitFor(() => collector.lineCount === 40, () => `rotation: 40 lines, got ${collector.lineCount}`);
  assertEachNumberOnceInOrder(collector, 40);
});

test('ignore_older: an untouched old file is skipped; if it grows, only the new lines are read', async (t) => {
  const dir = await tempDir(t);
  const old = join(dir, 'old.log');
  writeFileSync(old, numberedLines(0, 10));
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  utimesSync(old, twoHoursAgo, twoHoursAgo);
  writeFileSync(join(dir, 'fresh.log'), numberedLines(10, 10));
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')], ignore_older: 3600_000 })] });
  await waitFor(() => collector.lineCount === 10, 'the fresh file');
  await tailer.drained();
  assert.deepEqual(
    tailer.files().map((file) => file.path),
    [join(dir, 'fresh.log')],
  );
  appendFileSync(old, numberedLines(20, 10));
  await waitFor(() => collector.lineCount === 20, () => `the new lines of the old file, got ${collector.lineCount}`);
  assert.deepEqual(
    collector.texts().map(lineNumber).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => 10 + i),
  );
});
