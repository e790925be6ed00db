// Micro-benchmarks of the tailer alone (no Kafka), into a sink that only counts:
// - read: a 1,000,000-line file of ~125-byte lines read by a real Tailer (open, chunked reads,
//   framing, UTF-8 validation, batches with markers). Prints lines/s and MB/s.
// - follow (--follow): the many-files scenario without the shipper: 1,000 followed files, idle
//   CPU over a quiet window, then 200 of them appended to 100 times a second (500 lines/s each,
//   by a child process) for a few seconds: CPU while following, CPU per line, how long after
//   the writer stops the last line is read, and the inotify watches held.
// Run: node dist/bench/tailer-read.js [--follow]

import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import type { InputConfig } from '../src/config/types.js';
import { DEFAULT_IDLE_SCAN_INTERVAL_MS, Tailer } from '../src/tailer/tailer.js';
import { releaseChunk } from '../src/core/batch.js';
import { linePool } from './log-lines.js';
import { startRateWriter } from './rate-writer-client.js';

const LINES = 1_000_000;
const LINE_BYTES = 125;

async function writeSampleFile(path: string): Promise<number> {
  const handle = await open(path, 'w');
  try {
    const batch = 10_000;
    for (let from = 0; from < LINES; from += batch) {
      let text = '';
      for (let n = from; n < from + batch; n++) {
        const head = `2024-05-01T12:00:00.${String(n % 1000).padStart(3, '0')}Z INFO request id=${n} path=/api/items status=200 `;
        text += head.padEnd(LINE_BYTES - 1, 'x') + '\n';
      }
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
  return (await stat(path)).size;
}

function benchInput(path: string): InputConfig {
  return {
    id: 'bench',
    paths: [path],
    exclude: [],
    start_at: 'beginning',
    ignore_older: 0,
    topic: 'bench',
    key: null,
    format: 'raw',
    headers: false,
    max_line_bytes: 1024 * 1024,
    partial_line_timeout: 0,
    encoding: 'utf-8',
    multiline: null,
    rotation: { close_renamed_after: 300_000, close_removed: true, close_removed_after: 300_000 },
    fields: {},
    parser: 'none',
    parse: 'none',
    include_lines: [],
    exclude_lines: [],
  };
}

export async function benchTailerRead(): Promise<{ linesPerSec: number; mbPerSec: number; cpuSecondsPerMillion: number }> {
  const dir = await mkdtemp(join(os.tmpdir(), 'logship-bench-tailer-'));
  try {
    const path = join(dir, 'bench.log');
    const bytes = await writeSampleFile(path);
    let lines = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const tailer = new Tailer({
      inputs: [benchInput(path)],
      maxOpenFiles: 16,
      log: pino({ level: 'silent' }),
      gate: { isOpen: () => true, waitOpen: async () => undefined },
      checkpoints: { get: () => undefined, all: () => [], seen: () => undefined },
      sink: (batch) => {
        lines += batch.ends.length;
        // As the shipper does at the batch's acknowledgement: its pooled read chunk is reused.
        releaseChunk(batch);
        if (lines >= LINES) done();
      },
    });
    const started = process.hrtime.bigint();
    const cpuFrom = process.cpuUsage();
    await tailer.start();
    await finished;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Every thread of the process (the JavaScript thread, libuv's pool reads, V8's helpers).
    const cpuSeconds = cpuMicros(cpuFrom) / 1e6;
    await tailer.stop();
    return { linesPerSec: Math.round(lines / seconds), mbPerSec: Math.round((bytes / 1e6 / seconds) * 10) / 10, cpuSecondsPerMillion: Math.round((cpuSeconds / lines) * 1e8) / 100 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface FollowResult {
  files: number;
  inotifyWatches: number;
  idleCorePercent: number;
  /** Safety-net scans during the idle window. */
  idleScans: number;
  followCores: number;
  linesWritten: number;
  cpuMicrosPerLine: number;
  /** From the writer's exit until the tailer had read every line. */
  caughtUpMs: number;
}

const FOLLOW_FILES = 1000;
const FOLLOW_BUSY_FILES = 200;
const FOLLOW_LINES_PER_SECOND = 500;
const FOLLOW_TICK_MS = 10;
const CATCH_UP_TIMEOUT_MS = 60_000;

/** inotify watches this process holds, as the kernel counts them (/proc/self/fdinfo). */
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

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

export async function benchTailerFollow(idleMs = 30_000, followMs = 5_000): Promise<FollowResult> {
  const dir = await mkdtemp(join(os.tmpdir(), 'logship-bench-follow-'));
  let lines = 0;
  const tailer = new Tailer({
    inputs: [benchInput(join(dir, '*.log'))],
    maxOpenFiles: 1024,
    log: pino({ level: 'silent' }),
    gate: { isOpen: () => true, waitOpen: async () => undefined },
    checkpoints: { get: () => undefined, all: () => [], seen: () => undefined },
    sink: (batch) => (lines += batch.ends.length),
  });
  try {
    const first = linePool(LINE_BYTES - 1, 1)[0]!;
    const paths = Array.from({ length: FOLLOW_FILES }, (_, i) => join(dir, `app-${String(i).padStart(4, '0')}.log`));
    for (const path of paths) writeFileSync(path, first);
    await tailer.start();
    await until(() => lines >= FOLLOW_FILES, CATCH_UP_TIMEOUT_MS, 'the first line of every file');
    // Quiet from here on: the scan takes its idle period once it has seen that.
    await until(() => tailer.scanPeriodMs === DEFAULT_IDLE_SCAN_INTERVAL_MS, CATCH_UP_TIMEOUT_MS, 'the idle scan period');
    const idleFrom = process.cpuUsage();
    const idleStarted = performance.now();
    const scansBefore = tailer.scanCount;
    await delay(idleMs);
    const idleCorePercent = cpuMicros(idleFrom) / 10 / (performance.now() - idleStarted);
    const idleScans = tailer.scanCount - scansBefore;

    const linesBefore = lines;
    const followFrom = process.cpuUsage();
    const followStarted = performance.now();
    const writer = startRateWriter({
      paths: paths.slice(0, FOLLOW_BUSY_FILES),
      linesPerSecondPerFile: FOLLOW_LINES_PER_SECOND,
      durationMs: followMs,
      lineBytes: LINE_BYTES - 1,
      tickMs: FOLLOW_TICK_MS,
    });
    const written = await writer.done;
    const followMicros = cpuMicros(followFrom);
    const followCores = followMicros / 1000 / (written.doneAtMs - followStarted);
    await until(() => lines - linesBefore >= written.lines, CATCH_UP_TIMEOUT_MS, `${written.lines} lines`);
    return {
      files: FOLLOW_FILES,
      inotifyWatches: inotifyWatches(),
      idleCorePercent: Math.round(idleCorePercent * 100) / 100,
      idleScans,
      followCores: Math.round(followCores * 1000) / 1000,
      linesWritten: written.lines,
      cpuMicrosPerLine: Math.round((followMicros / written.lines) * 100) / 100,
      caughtUpMs: Math.round(performance.now() - written.doneAtMs),
    };
  } finally {
    await tailer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--follow')) {
    const r = await benchTailerFollow();
    console.log(
      `tailer follow: ${r.files} files, ${r.inotifyWatches} inotify watches; idle ${r.idleCorePercent} % of a core (${r.idleScans} scans); ` +
        `${FOLLOW_BUSY_FILES} files x ${FOLLOW_LINES_PER_SECOND} lines/s: ${r.followCores} cores, ${r.cpuMicrosPerLine} µs CPU per line, ` +
        `last line read ${r.caughtUpMs} ms after the writer stopped`,
    );
  } else {
    const result = await benchTailerRead();
    console.log(`tailer read+split: ${result.linesPerSec.toLocaleString('en-US')} lines/s, ${result.mbPerSec} MB/s, ${result.cpuSecondsPerMillion} CPU-s per million lines (${LINES.toLocaleString('en-US')} lines of ${LINE_BYTES} bytes)`);
  }
}
