// Fixtures for the tailer tests: temp directories, input configs, a gate the test opens and
// closes, a sink collecting every batch, a fake registry, a log collector, descriptor counts,
// and the offset invariant check (every line's end offset is the byte after its newline).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import pino, { type Logger } from 'pino';
import type { InputConfig } from '../../src/config/types.js';
import { type Checkpoint, identityKey } from '../../src/core/file.js';
import { type CheckpointLookup, Tailer, type TailerOptions } from '../../src/tailer/tailer.js';
import { type FileIdentity } from '../../src/core/file.js';
import { type BatchSink, type FlowGate, LineFlag, linesOf, type LineBatch } from '../../src/core/batch.js';

const cleanups = new WeakMap<TestContext, Array<() => Promise<unknown>>>();

/**
 * Runs `cleanup` when the test ends, in reverse order of registration (t.after hooks run in
 * registration order: a tailer must stop before its directory is removed).
 */
export function onCleanup(t: TestContext, cleanup: () => Promise<unknown>): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const created: Array<() => Promise<unknown>> = [];
    stack = created;
    cleanups.set(t, created);
    t.after(async () => {
      for (const run of created.reverse()) await run();
    });
  }
  stack.push(cleanup);
}

export async function tempDir(t: TestContext, prefix = 'logship-tailer-'): Promise<string> {
  const dir = await mkdtemp(join(os.tmpdir(), prefix));
  onCleanup(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function inputConfig(overrides: Partial<InputConfig> & { paths: string[] }): InputConfig {
  return {
    id: 'test',
    exclude: [],
    start_at: 'beginning',
    ignore_older: 0,
    topic: 'logs.{input}',
    key: null,
    format: 'raw',
    headers: false,
    max_line_bytes: 1024 * 1024,
    partial_line_timeout: 0,
    encoding: 'utf-8',
    multiline: null,
    rotation: { close_renamed_after: 200, close_removed: true, close_removed_after: 60_000 },
    fields: {},
    parser: 'none',
    parse: 'none',
    include_lines: [],
    exclude_lines: [],
    ...overrides,
  };
}

/** A FlowGate the test opens and closes by hand. */
export class ManualGate implements FlowGate {
  private opened: boolean;
  private waiters: Array<() => void> = [];

  constructor(open = true) {
    this.opened = open;
  }

  isOpen(): boolean {
    return this.opened;
  }

  waitOpen(): Promise<void> {
    return this.opened ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  open(): void {
    this.opened = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  close(): void {
    this.opened = false;
  }
}

export interface CollectedLine {
  key: string;
  path: string;
  epoch: number;
  bytes: Buffer;
  text: string;
  /** Offset where the line's bytes start in the file. */
  start: number;
  end: number;
  flag: LineFlag;
}

/** The sink: keeps every batch (lines are owned by the receiver, so keeping them is allowed). */
export class Collector {
  readonly batches: LineBatch[] = [];
  lineCount = 0;
  /** Called synchronously for each batch, like the real shipper would be. */
  onBatch: ((batch: LineBatch) => void) | null = null;

  readonly sink: BatchSink = (batch) => {
    this.batches.push(batch);
    this.lineCount += batch.ends.length;
    this.onBatch?.(batch);
  };

  lines(): CollectedLine[] {
    const out: CollectedLine[] = [];
    for (const batch of this.batches) {
      linesOf(batch).forEach((bytes, i) => {
        out.push({
          key: batch.source.key,
          path: batch.source.path,
          epoch: batch.epoch,
          bytes,
          text: bytes.toString('utf8'),
          start: i === 0 ? batch.startOffset : batch.ends[i - 1]!,
          end: batch.ends[i]!,
          flag: batch.flags[i] ?? LineFlag.None,
        });
      });
    }
    return out;
  }

  texts(): string[] {
    return this.lines().map((line) => line.text);
  }

  byKey(): Map<string, CollectedLine[]> {
    const byKey = new Map<string, CollectedLine[]>();
    for (const line of this.lines()) {
      const list = byKey.get(line.key);
      if (list === undefined) byKey.set(line.key, [line]);
      else list.push(line);
    }
    return byKey;
  }
}

/** A registry stand-in: checkpoints by identity, as if every emitted batch was acknowledged. */
export class FakeCheckpoints implements CheckpointLookup {
  readonly entries = new Map<string, Checkpoint>();
  readonly seenPaths = new Map<string, string>();

  static committedFrom(batches: readonly LineBatch[], lastSeen: number): FakeCheckpoints {
    const checkpoints = new FakeCheckpoints();
    for (const batch of batches) {
      checkpoints.set({
        identity: batch.source.identity,
        fingerprint: batch.fingerprint,
        input: batch.source.input,
        path: batch.source.path,
        offset: batch.endOffset,
        marker: batch.marker,
        lastSeen,
      });
    }
    return checkpoints;
  }

  set(checkpoint: Checkpoint): void {
    this.entries.set(identityKey(checkpoint.identity), checkpoint);
  }

  get(identity: FileIdentity): Checkpoint | undefined {
    return this.entries.get(identityKey(identity));
  }

  all(): Iterable<Checkpoint> {
    return this.entries.values();
  }

  seen(identity: FileIdentity, path: string): void {
    this.seenPaths.set(identityKey(identity), path);
  }
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type LogRecord = Record<string, unknown> & { level: number; msg: string };

/** A pino logger whose records the test can inspect (warn = 40, info = 30). */
export function collectingLogger(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') records.push(JSON.parse(line) as LogRecord);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, stream), records };
}

export interface TailerFixture {
  tailer: Tailer;
  collector: Collector;
  gate: ManualGate;
  checkpoints: FakeCheckpoints;
}

/**
 * A started Tailer with a collecting sink and fast scans (busy or idle alike, so tests that
 * count on the safety net need not wait 10 s); stopped when the test ends.
 */
export async function startTailer(
  t: TestContext,
  options: Partial<Omit<TailerOptions, 'sink' | 'gate' | 'checkpoints'>> & {
    inputs: InputConfig[];
    gate?: ManualGate;
    checkpoints?: FakeCheckpoints;
    collector?: Collector;
  },
): Promise<TailerFixture> {
  const collector = options.collector ?? new Collector();
  const gate = options.gate ?? new ManualGate();
  const checkpoints = options.checkpoints ?? new FakeCheckpoints();
  const tailer = new Tailer({
    maxOpenFiles: 100,
    scanIntervalMs: 50,
    idleScanIntervalMs: 50,
    log: silentLogger(),
    ...options,
    sink: collector.sink,
    gate,
    checkpoints,
  });
  onCleanup(t, () => tailer.stop());
  await tailer.start();
  return { tailer, collector, gate, checkpoints };
}

/** "L<n> <padding>\n" lines numbered from `from`. */
export function numberedLines(from: number, count: number, padding = 'the quick brown fox'): string {
  let out = '';
  for (let n = from; n < from + count; n++) out += `L${n} ${padding}\n`;
  return out;
}

export function lineNumber(text: string): number {
  const match = /^L(\d+) /.exec(text);
  assert.ok(match !== null, `not a numbered line: ${JSON.stringify(text.slice(0, 80))}`);
  return Number(match[1]);
}

/** Every number in [0, total) exactly once overall, and increasing within each file (key). */
export function assertEachNumberOnceInOrder(collector: Collector, total: number): void {
  const seen = new Uint8Array(total);
  for (const [key, lines] of collector.byKey()) {
    let previous = -1;
    for (const line of lines) {
      const n = lineNumber(line.text);
      assert.ok(n > previous, `file ${key}: line ${n} arrived after ${previous}`);
      previous = n;
      assert.ok(n < total, `unexpected line number ${n}`);
      assert.equal(seen[n], 0, `line ${n} arrived twice`);
      seen[n] = 1;
    }
  }
  const missing = seen.indexOf(0);
  assert.equal(missing, -1, `line ${missing} never arrived`);
}

/** Contents of the regular files directly in `dir`, by identity key. */
export function contentsByIdentity(dir: string): Map<string, Buffer> {
  const contents = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stats = statSync(path);
    if (stats.isFile()) contents.set(identityKey(stats), readFileSync(path));
  }
  return contents;
}

/**
 * The offset invariant for UTF-8 lines of one file (one key, one epoch): lines are contiguous,
 * each whole line ends just after a newline, and its bytes are the file's bytes before it
 * (without the newline and one trailing CR).
 */
export function assertOffsetsMatchFile(lines: readonly CollectedLine[], content: Buffer): void {
  let previousEnd: number | undefined;
  for (const line of lines) {
    if (previousEnd !== undefined) assert.equal(line.start, previousEnd, `line at ${line.start} does not start where the previous one ended (${previousEnd})`);
    previousEnd = line.end;
    assert.ok(line.end <= content.length, `line end ${line.end} is past the file's end ${content.length}`);
    const whole = (line.flag & (LineFlag.Split | LineFlag.Partial)) === 0;
    if (!whole) continue;
    assert.equal(content[line.end - 1], 0x0a, `line ending at ${line.end} does not end after a newline`);
    let raw = content.subarray(line.start, line.end - 1);
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    const expected = (line.flag & LineFlag.Replaced) !== 0 ? Buffer.from(raw.toString('utf8')) : raw;
    assert.ok(expected.equals(line.bytes), `line ending at ${line.end} differs from the file: ${JSON.stringify(line.text.slice(0, 60))}`);
  }
}

/** Checks the offset invariant for every key whose file is still in `dir`; returns how many. */
export function assertOffsetsForDir(collector: Collector, dir: string): number {
  const contents = contentsByIdentity(dir);
  let checked = 0;
  for (const [key, lines] of collector.byKey()) {
    const identity = key.split(':').slice(0, 2).join(':');
    const content = contents.get(identity);
    if (content === undefined) continue;
    const lastEpoch = lines[lines.length - 1]!.epoch;
    assertOffsetsMatchFile(
      lines.filter((line) => line.epoch === lastEpoch),
      content,
    );
    checked++;
  }
  return checked;
}

/** Descriptors of this process whose target starts with `prefix` ("(deleted)" ones included). */
export function openDescriptorsUnder(prefix: string): string[] {
  const targets: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(prefix)) targets.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return targets;
}
