// What comes out of a file: unterminated last lines, CRLF, giant lines, binary garbage,
// encodings, characters split across reads, multiline events. Real files, real Tailer.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { LineFlag } from '../src/core/batch.js';
import { waitFor } from './helpers/fs-wait.js';
import { assertOffsetsMatchFile, inputConfig, startTailer, tempDir } from './helpers/tailer-harness.js';

test('a last line without newline waits for it (partial_line_timeout 0)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  await writeFile(path, 'first\nabc');
  const { tailer, collector } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })] });
  await waitFor(() => tailer.files()[0]?.position === 9, 'the tailer to read the unterminated bytes');
  const scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 3, 'three more scans');
  assert.deepEqual(collector.texts(), ['first'], 'the unterminated line must not be emitted');
  assert.equal(collector.batches.at(-1)!.endOffset, 6, 'nothing past the last newline is covered by a batch');
  await appendFile(path, 'def\n');
  await waitFor(() => collector.lineCount === 2, 'the completed line');
  assert.deepEqual(collector.texts(), ['first', 'abcdef']);
  assert.equal(collector.lines()[1]!.end, 13);
  assert.equal(collector.lines()[1]!.flag, LineFlag.None);
});

test('with partial_line_timeout an unterminated line is emitted flagged Partial after that quiet', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  const { tailer, collector } = await startTailer(t, { inputs: [inputConfig({ paths: [path], partial_line_timeout: 100 })] });
  const started = Date.now();
  await writeFile(path, 'one\nxyz');
  await waitFor(() => collector.lineCount === 2, 'the partial line');
  assert.ok(Date.now() - started >= 100, 'emitted only after partial_line_timeout');
  const [one, xyz] = collector.lines();
  assert.deepEqual([one!.text, one!.flag, one!.end], ['one', LineFlag.None, 4]);
  assert.deepEqual([xyz!.text, xyz!.flag, xyz!.end], ['xyz', LineFlag.Partial, 7]);
  assert.equal(tailer.stats.partialLines, 1);
  await appendFile(path, 'more\n');
  await waitFor(() => collector.lineCount === 3, 'the line after the partial one');
  assert.deepEqual([collector.lines()[2]!.text, collector.lines()[2]!.end], ['more', 12]);
});

test('CRLF lines lose their CR; offsets still point after the LF', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  await writeFile(path, 'alpha\r\nbeta\r\n\r\ngamma\n');
  const { collector } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })] });
  await waitFor(() => collector.lineCount === 4, 'four lines');
  assert.deepEqual(collector.texts(), ['alpha', 'beta', '', 'gamma']);
  assertOffsetsMatchFile(collector.lines(), await readFile(path));
});

test('a 10 MiB line leaves as max_line_bytes pieces flagged Split, the line after it intact', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'big.log');
  const max = 1024 * 1024;
  await writeFile(path, Buffer.concat([Buffer.alloc(10 * max + 5, 0x61), Buffer.from('\nafter\n')]));
  const pieces: Array<{ length: number; flag: LineFlag; end: number }> = [];
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path], max_line_bytes: max })] });
  // Keep only sizes: holding 10 MiB of pieces is the test's choice, not the tailer's.
  collector.onBatch = (batch) => {
    batch.ends.forEach((end, i) => pieces.push({ length: batch.bounds[2 * i + 1]!, flag: batch.flags[i] ?? LineFlag.None, end }));
  };
  await waitFor(() => pieces.length === 12, () => `12 pieces, got ${pieces.length}`);
  assert.deepEqual(
    pieces.slice(0, 10).map((piece) => [piece.length, piece.flag]),
    Array.from({ length: 10 }, () => [max, LineFlag.Split]),
  );
  assert.deepEqual(pieces.slice(0, 10).map((piece) => piece.end), Array.from({ length: 10 }, (_, i) => (i + 1) * max));
  assert.deepEqual(pieces[10], { length: 5, flag: LineFlag.None, end: 10 * max + 6 });
  assert.deepEqual(pieces[11], { length: 5, flag: LineFlag.None, end: 10 * max + 12 });
  assert.equal(tailer.stats.splitLines, 1);
});

test('binary garbage (NULs, invalid UTF-8): no crash, every byte accounted for', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'garbage.log');
  const garbage = randomBytes(300_000);
  garbage[garbage.length - 1] = 0x41; // ends without a newline: the partial flush must cover it
  await writeFile(path, garbage);
  const { collector, tailer } = await startTailer(t, {
    inputs: [inputConfig({ paths: [path], partial_line_timeout: 50, max_line_bytes: 4096 })],
    readChunkBytes: 7000,
  });
  await waitFor(() => collector.batches.at(-1)?.endOffset === garbage.length, 'every byte to be emitted');
  const lines = collector.lines();
  assert.ok(lines.some((line) => (line.flag & LineFlag.Replaced) !== 0), 'random bytes include invalid UTF-8');
  assert.equal(lines[0]!.start, 0);
  assertOffsetsMatchFile(lines, garbage);
  let replacements = 0;
  for (const line of lines) {
    const raw = garbage.subarray(line.start, (line.flag & (LineFlag.Split | LineFlag.Partial)) !== 0 ? line.end : line.end - 1);
    const rawText = (raw.at(-1) === 0x0d && (line.flag & (LineFlag.Split | LineFlag.Partial)) === 0 ? raw.subarray(0, -1) : raw).toString('utf8');
    assert.equal(line.text, rawText, `line at ${line.start} is the file's bytes, decoded`);
    assert.equal(Buffer.from(line.text).equals(line.bytes), true);
    if ((line.flag & LineFlag.Replaced) !== 0) replacements += [...line.text].filter((c) => c === '\uFFFD').length;
  }
  assert.ok(tailer.stats.replacedChars > 0);
  assert.ok(tailer.stats.replacedChars <= replacements, 'replacement count matches the replacement characters emitted');
});

test('UTF-16LE with BOM: lines decoded to UTF-8, offsets in file bytes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'win.log');
  const content = Buffer.from('\uFEFFhéllo\r\nwörld \u{1F600}\n', 'utf16le');
  await writeFile(path, content);
  const { collector } = await startTailer(t, { inputs: [inputConfig({ paths: [path], encoding: 'utf-16le' })], readChunkBytes: 5 });
  await waitFor(() => collector.lineCount === 2, 'two lines');
  assert.deepEqual(collector.texts(), ['héllo', 'wörld \u{1F600}']);
  assert.deepEqual(
    collector.lines().map((line) => line.end),
    [16, content.length],
  );
  assert.equal(collector.lines().some((line) => line.flag !== LineFlag.None), false);
});

test('latin1 files are shipped as UTF-8', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'old.log');
  await writeFile(path, Buffer.from('caf\xe9 cr\xe8me\n\xbfqu\xe9?\n', 'latin1'));
  const { collector } = await startTailer(t, { inputs: [inputConfig({ paths: [path], encoding: 'latin1' })] });
  await waitFor(() => collector.lineCount === 2, 'two lines');
  assert.deepEqual(collector.texts(), ['café crème', '¿qué?']);
  assert.deepEqual(
    collector.lines().map((line) => line.end),
    [11, 17],
  );
});

test('multibyte characters split across reads are never corrupted', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'intl.log');
  const text = '日本語のログ\nçà et là \u{1F600}\u{1F680}\n' + 'ü'.repeat(50) + '\n';
  await writeFile(path, text);
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], readChunkBytes: 3 });
  await waitFor(() => collector.lineCount === 3, 'three lines');
  assert.deepEqual(collector.texts(), text.split('\n').slice(0, 3));
  assert.equal(tailer.stats.replacedChars, 0);
  assertOffsetsMatchFile(collector.lines(), Buffer.from(text));
});

test('multiline: continuation lines join, max_lines bounds an event, a pending event waits for its timeout and is never committed early', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'java.log');
  const { collector } = await startTailer(t, {
    inputs: [inputConfig({ paths: [path], multiline: { start: '^\\d{4}-\\d{2}-\\d{2}', max_lines: 3, timeout: 150 } })],
  });
  const content = '2024-01-01 boom\n  at a\n  at b\n  at c\n2024-01-02 ok\n2024-01-03 last\n  at z\n';
  await writeFile(path, content);
  await waitFor(() => collector.lineCount === 3, 'the complete events');
  assert.deepEqual(collector.texts(), ['2024-01-01 boom\n  at a\n  at b', '  at c', '2024-01-02 ok']);
  assert.equal(collector.lines()[0]!.flag, LineFlag.Multiline);
  const pendingStart = content.indexOf('2024-01-03');
  assert.equal(collector.batches.at(-1)!.endOffset, pendingStart, 'the pending event is not covered by any batch yet');
  await waitFor(() => collector.lineCount === 4, 'the pending event after multiline.timeout');
  assert.deepEqual(collector.lines()[3]!.text, '2024-01-03 last\n  at z');
  assert.equal(collector.lines()[3]!.end, content.length);
  assert.equal(collector.lines()[3]!.start, pendingStart);
});
