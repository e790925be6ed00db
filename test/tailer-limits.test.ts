// Bounds: backpressure (a closed gate stops reading), max_open_files (never more handles, all
// lines still read), thousands of files under a low descriptor limit, stop(), idle cost.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { waitFor } from './helpers/fs-wait.js';
import { assertEachNumberOnceInOrder, Collector, inputConfig, ManualGate, numberedLines, openDescriptorsUnder, startTailer, tempDir } from './helpers/tailer-harness.js';

test('backpressure: with the gate closed nothing more is read; reopened, reading continues', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines(0, 50_000));
  const gate = new ManualGate();
  const collector = new Collector();
  collector.onBatch = () => gate.close(); // closes during the first read pass
  const chunk = 64 * 1024;
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [path] })], gate, collector, readChunkBytes: chunk });
  await waitFor(() => collector.batches.length === 1, 'the first batch');
  appendFileSync(path, numberedLines(50_000, 1000));
  const scans = tailer.scanCount;
  await waitFor(() => tailer.scanCount >= scans + 4, 'four scans with the gate closed');
  assert.equal(tailer.stats.bytesRead.get('test'), chunk, 'exactly one chunk was read: none after the gate closed');
  assert.equal(collector.batches.length, 1);
  assert.equal(tailer.files()[0]!.position, chunk);
  collector.onBatch = null;
  gate.open();
  await waitFor(() => collector.lineCount >= 51_000, () => `51000 lines, got ${collector.lineCount}`);
  assertEachNumberOnceInOrder(collector, 51_000);
});

test('max_open_files: 300 files with 50 handles at most; every line read, also after they grow', async (t) => {
  const dir = await tempDir(t);
  const files = 300;
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}.log`), numberedLines(i * 100, 50));
  let maxOpen = 0;
  const sample = () => {
    // Files inside the directory: listing the directory itself briefly holds a descriptor too.
    maxOpen = Math.max(maxOpen, openDescriptorsUnder(`${dir}/`).length);
  };
  const collector = new Collector();
  collector.onBatch = sample;
  const sampler = setInterval(sample, 1);
  t.after(() => clearInterval(sampler));
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], maxOpenFiles: 50, collector });
  await waitFor(() => collector.lineCount >= files * 50, () => `${files * 50} lines, got ${collector.lineCount}`);
  for (let i = 0; i < files; i++) appendFileSync(join(dir, `f${i}.log`), numberedLines(i * 100 + 50, 50));
  await waitFor(() => collector.lineCount >= files * 100, () => `${files * 100} lines, got ${collector.lineCount}`);
  await tailer.drained();
  sample();
  assert.equal(collector.lineCount, files * 100);
  assertEachNumberOnceInOrder(collector, files * 100);
  assert.ok(maxOpen <= 50, `at most 50 descriptors open, saw ${maxOpen}`);
  assert.ok(maxOpen >= 10, `the pool was actually used (saw ${maxOpen} open)`);
  assert.ok(tailer.stats.filesOpen <= 50);
  assert.equal(tailer.stats.filesFollowed, files);
});

test('5,000 files under ulimit -n 1024 (max_open_files above it) are all read', async (t) => {
  const dir = await tempDir(t);
  const files = 5000;
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}.log`), numberedLines(i * 2, 2));
  const tailerModule = pathToFileURL(join(import.meta.dirname, '../src/tailer/tailer.js')).href;
  const script = `
    import { Tailer } from ${JSON.stringify(tailerModule)};
    import pino from 'pino';
    const input = { id: 'many', paths: [${JSON.stringify(join(dir, '*.log'))}], exclude: [], start_at: 'beginning', ignore_older: 0,
      topic: 't', key: null, format: 'raw', headers: false, max_line_bytes: 65536, partial_line_timeout: 0, encoding: 'utf-8',
      multiline: null, rotation: { close_renamed_after: 1000, close_removed: true, close_removed_after: 60000 }, fields: {},
      parser: 'none', parse: 'none', include_lines: [], exclude_lines: [] };
    const seen = new Set();
    let lines = 0;
    const tailer = new Tailer({
      inputs: [input], maxOpenFiles: 4000, scanIntervalMs: 200, log: pino({ level: 'silent' }),
      gate: { isOpen: () => true, waitOpen: async () => {} },
      checkpoints: { get: () => undefined, all: () => [], seen: () => {} },
      sink: (batch) => { lines += batch.ends.length; for (let i = 0; i < batch.ends.length; i++) seen.add(batch.data.toString('utf8', batch.bounds[2 * i], batch.bounds[2 * i] + batch.bounds[2 * i + 1])); },
    });
    await tailer.start();
    const deadline = Date.now() + 30000;
    while (seen.size < ${files * 2} && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await tailer.stop();
    console.log(JSON.stringify({ lines, distinct: seen.size, readErrors: tailer.stats.readErrors }));
  `;
  const child = spawn('prlimit', ['--nofile=1024:1024', process.execPath, '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `child failed: ${stderr}`);
  const result = JSON.parse(stdout) as { lines: number; distinct: number; readErrors: number };
  assert.deepEqual(result, { lines: files * 2, distinct: files * 2, readErrors: 0 });
});

test('stop(): no batch after it resolves, every descriptor closed', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.log`), numberedLines(i * 100_000, 100_000));
  const collector = new Collector();
  const { tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })], collector, readChunkBytes: 16 * 1024 });
  await waitFor(() => collector.batches.length > 0, 'reading to start');
  await tailer.stop();
  const batches = collector.batches.length;
  assert.ok(collector.lineCount < 500_000, 'stopped while reading');
  appendFileSync(join(dir, 'f0.log'), numberedLines(900_000, 10));
  for (let i = 0; i < 50; i++) await yieldToEventLoop();
  assert.equal(collector.batches.length, batches);
  assert.deepEqual(openDescriptorsUnder(dir), []);
});

test('idle followed files cost no timers', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, `f${i}.log`), `line ${i}\npartial`);
  const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
  const before = timers();
  const { collector, tailer } = await startTailer(t, { inputs: [inputConfig({ paths: [join(dir, '*.log')] })] });
  await waitFor(() => collector.lineCount === 200, 'every file read');
  await tailer.drained();
  assert.ok(timers() - before <= 1, `only the scan timer (timers before ${before}, now ${timers()})`);
});
