// Bad input never hurts (issue #7), file side: random bytes, NULs, invalid UTF-8, lines far
// over max_line_bytes, no newlines, CR/LF games, BOMs, appended in random pieces while the REAL
// Tailer reads them, and truncated over and over: no crash, memory bounded, and every byte
// accounted for.
//
// The accounting rule (src/tailer/framer.ts, decoder.ts): lines of one file and epoch are
// contiguous from offset 0 to the end; each covers the file's bytes [start, end). A whole line
// (no Split/Partial flag) ends with "\n", which is dropped with one "\r" before it when the line
// has one; a Split piece or a Partial line is its bytes as they are; a UTF-8 BOM is dropped from
// the line that starts at offset 0. What remains is the payload if it is valid UTF-8; otherwise
// the payload is its decoding with U+FFFD for each invalid sequence, the line is flagged
// Replaced, and TailerStats.replacedChars grows by the U+FFFDs that decoding introduced (not
// those already in the file). splitLines counts runs of Split pieces, partialLines Partial lines.

import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { appendFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Tailer } from '../src/tailer/tailer.js';
import { LineFlag, linesOf, type LineBatch } from '../src/core/batch.js';
import { type TailerStats } from '../src/tailer/types.js';
import { waitFor } from './helpers/fs-wait.js';
import {
  type CollectedLine,
  collectingLogger,
  FakeCheckpoints,
  inputConfig,
  ManualGate,
  onCleanup,
  openDescriptorsUnder,
  startTailer,
  tempDir,
} from './helpers/tailer-harness.js';
import { Random } from './soak/random.js';

const SEED = process.env.LOGSHIP_FUZZ_SEED === undefined ? Random.freshSeed() : Number(process.env.LOGSHIP_FUZZ_SEED);
const MiB = 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const REPLACEMENT = Buffer.from('\uFFFD');
const PIECE_OR_PARTIAL = LineFlag.Split | LineFlag.Partial;

// ---------------------------------------------------------------------------------------------
// Garbage

const INVALID_SEQUENCES: readonly number[][] = [
  [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xfe], [0x80], [0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80],
];
const VALID_CHARACTERS: readonly string[] = ['a', 'é', '日', '😀', '\uFFFD', '\u0000', '\t', ' ', 'Ω', '\u200b'];

type Profile = 'random-bytes' | 'nul' | 'invalid-utf8' | 'cr-lf' | 'huge-lines' | 'no-newline' | 'bom';
const PROFILES: readonly Profile[] = ['random-bytes', 'nul', 'invalid-utf8', 'cr-lf', 'huge-lines', 'no-newline', 'bom'];

/** `size` bytes (about) of one kind of garbage. */
function garbage(profile: Profile, random: Random, size: number): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const push = (bytes: Buffer | number[] | string): void => {
    const buffer = Buffer.isBuffer(bytes) ? bytes : typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
    parts.push(buffer);
    length += buffer.length;
  };
  if (profile === 'bom') push(BOM);
  while (length < size) {
    switch (profile) {
      case 'random-bytes':
        push(Array.from({ length: 4096 }, () => random.int(0, 255)));
        break;
      case 'nul':
        push(Buffer.alloc(random.int(0, random.next() < 0.1 ? 20_000 : 300), 0));
        push('\n');
        break;
      case 'invalid-utf8':
        if (random.next() < 0.3) push(random.pick(INVALID_SEQUENCES));
        else push(random.pick(VALID_CHARACTERS).repeat(random.int(1, 20)));
        if (random.next() < 0.1) push('\n');
        break;
      case 'cr-lf':
        push(random.pick(['word', '\r\n', '\r', '\r\r\n', '\n', '\n\r', '', '\r\n\r\n', 'é\r', '\uFFFD\r\n']));
        break;
      case 'huge-lines':
        for (let n = random.int(0, 20_000); n > 0; ) {
          const piece = random.next() < 0.05 ? Buffer.from(random.pick(INVALID_SEQUENCES)) : Buffer.from(random.pick(VALID_CHARACTERS).repeat(random.int(1, 400)));
          push(piece);
          n -= piece.length;
        }
        push(random.next() < 0.5 ? '\n' : '\r\n');
        break;
      case 'no-newline':
        push(random.pick(VALID_CHARACTERS).repeat(random.int(1, 500)));
        break;
      case 'bom':
        push(random.next() < 0.05 ? BOM : `line ${length}${random.next() < 0.5 ? '\n' : '\r\n'}`);
        break;
    }
  }
  return Buffer.concat(parts);
}

/**
 * Appends `content` in random pieces (1 byte .. 8 KiB), letting the tailer read in between;
 * now and then falls quiet for up to `maxQuietMs` (partial_line_timeout fires then).
 */
async function appendInPieces(path: string, content: Buffer, random: Random, maxQuietMs = 3): Promise<void> {
  for (let at = 0; at < content.length; ) {
    const size = random.next() < 0.2 ? random.int(1, 4) : random.int(1, 8192);
    await appendFile(path, content.subarray(at, at + size));
    at += size;
    if (random.next() < 0.03) await delay(random.int(0, maxQuietMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Accounting

interface Account {
  lines: number;
  bytes: number;
  replacedChars: number;
  splitLines: number;
  partialLines: number;
}

function newAccount(): Account {
  return { lines: 0, bytes: 0, replacedChars: 0, splitLines: 0, partialLines: 0 };
}

function countOf(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

/**
 * Checks one emitted line against the file bytes it covers (`raw` = file[start, end)) by the
 * rule in the header, and adds it to `account`. `previousFlag` tells a new run of Split pieces.
 */
function accountLine(account: Account, raw: Buffer, start: number, payload: Buffer, flag: LineFlag, previousFlag: LineFlag | undefined, where: () => string): void {
  let body = raw;
  if ((flag & PIECE_OR_PARTIAL) === 0) {
    if (raw.at(-1) !== 0x0a) assert.fail(`${where()}: a whole line must end just after a newline`);
    body = raw.subarray(0, -1);
    if (body.length > 0 && body.at(-1) === 0x0d) body = body.subarray(0, -1);
  }
  if (start === 0 && body.subarray(0, 3).equals(BOM)) body = body.subarray(3);
  const valid = isUtf8(body);
  const expected = valid ? body : Buffer.from(body.toString('utf8'));
  if (!payload.equals(expected)) {
    assert.fail(`${where()}: payload ${JSON.stringify(payload.toString('latin1').slice(0, 60))} is not the file's bytes ${JSON.stringify(body.toString('latin1').slice(0, 60))}`);
  }
  if (((flag & LineFlag.Replaced) !== 0) === valid) assert.fail(`${where()}: the Replaced flag must be set exactly when the bytes are not UTF-8`);
  if (!valid) account.replacedChars += countOf(expected, REPLACEMENT) - countOf(body, REPLACEMENT);
  if ((flag & LineFlag.Split) !== 0 && ((previousFlag ?? 0) & LineFlag.Split) === 0) account.splitLines++;
  if ((flag & LineFlag.Partial) !== 0) account.partialLines++;
  account.lines++;
  account.bytes += raw.length;
}

/** Every line of one file and epoch, in order, against the file's content: contiguous from 0 to the end. */
function accountFile(lines: readonly CollectedLine[], content: Buffer, name: string): Account {
  const account = newAccount();
  let position = 0;
  let previousFlag: LineFlag | undefined;
  for (const [i, line] of lines.entries()) {
    const where = (): string => `${name} line ${i} [${line.start}, ${line.end})`;
    assert.equal(line.start, position, `${where()}: does not start where the previous line ended`);
    assert.ok(line.end > line.start, `${where()}: covers no byte`);
    accountLine(account, content.subarray(line.start, line.end), line.start, line.bytes, line.flag, previousFlag, where);
    previousFlag = line.flag;
    position = line.end;
  }
  assert.equal(position, content.length, `${name}: lines cover ${position} of ${content.length} bytes`);
  return account;
}

function assertStatsMatch(stats: TailerStats, account: Account, input: string): void {
  assert.equal(stats.linesRead.get(input) ?? 0, account.lines, 'linesRead');
  assert.equal(stats.replacedChars, account.replacedChars, 'replacedChars = U+FFFDs introduced by decoding');
  assert.equal(stats.splitLines, account.splitLines, 'splitLines = runs of Split pieces');
  assert.equal(stats.partialLines, account.partialLines, 'partialLines');
}

// ---------------------------------------------------------------------------------------------

for (const partialLineTimeout of [0, 20]) {
  test(`seven kinds of garbage appended in random pieces (partial_line_timeout ${partialLineTimeout} ms): every byte accounted for`, async (t) => {
    t.diagnostic(`seed ${SEED}; LOGSHIP_FUZZ_SEED=${SEED} reproduces`);
    const random = new Random(SEED + partialLineTimeout);
    const dir = await tempDir(t, 'logship-fuzz-content-');
    const input = inputConfig({ id: 'fuzz', paths: [join(dir, '*.log')], max_line_bytes: 4096, partial_line_timeout: partialLineTimeout });
    const { log, records } = collectingLogger();
    const { tailer, collector } = await startTailer(t, { inputs: [input], readChunkBytes: random.int(1000, 70_000), log });
    const contents = new Map<string, Buffer>();
    await Promise.all(
      PROFILES.map(async (profile) => {
        const path = join(dir, `${profile}.log`);
        // Ends with a newline: with partial_line_timeout 0 the last line must be complete to leave.
        const content = Buffer.concat([garbage(profile, new Random(random.int(0, 2 ** 31)), 300_000), Buffer.from('\n')]);
        contents.set(path, content);
        await writeFile(path, '');
        await appendInPieces(path, content, new Random(random.int(0, 2 ** 31)), 3 * partialLineTimeout + 3);
      }),
    );
    const emittedEnd = (path: string): number => Math.max(0, ...collector.batches.filter((b) => b.source.path === path).map((b) => b.endOffset));
    await waitFor(
      () => [...contents].every(([path, content]) => emittedEnd(path) === content.length),
      () => `every byte emitted: ${[...contents].map(([path, content]) => `${path.slice(dir.length + 1)} ${emittedEnd(path)}/${content.length}`).join(', ')}`,
      { timeoutMs: 30_000 },
    );
    const total = newAccount();
    for (const [path, lines] of groupByPath(collector.lines())) {
      const account = accountFile(lines, contents.get(path)!, path.slice(dir.length + 1));
      for (const key of Object.keys(total) as Array<keyof Account>) total[key] += account[key];
    }
    assert.equal(total.bytes, [...contents.values()].reduce((sum, c) => sum + c.length, 0));
    assert.equal(tailer.stats.bytesRead.get('fuzz'), total.bytes, 'bytesRead = every byte of every file, once');
    assertStatsMatch(tailer.stats, total, 'fuzz');
    assert.ok(total.replacedChars > 0 && total.splitLines > 0, 'the garbage exercised replacement and splitting');
    if (partialLineTimeout > 0) assert.ok(total.partialLines > 0, 'quiet moments emitted partial lines');
    assert.deepEqual(records.filter((r) => r.level >= 50), [], 'no error logged');
  });
}

test('50 MB of garbage through the real tailer: resident memory stays bounded, every byte accounted for', async (t) => {
  const random = new Random(SEED);
  const dir = await tempDir(t, 'logship-fuzz-memory-');
  const path = join(dir, 'big.log');
  // The garbage is written first and the test's own leftovers collected, so that the growth
  // measured while reading is the tailer's (and the streaming check's read buffer).
  await writeFile(path, '');
  let written = 0;
  for (let segment = 0; written < 50 * MiB; segment++) {
    // A 6 MiB stretch without any newline among megabytes of the other kinds (but cr-lf: its
    // lines of a byte or two would make this a test of allocation rate, not of what is held).
    const profile = segment === 20 ? 'no-newline' : random.pick(PROFILES.filter((p) => p !== 'no-newline' && p !== 'cr-lf'));
    const chunk = garbage(profile, random, profile === 'no-newline' ? 6 * MiB : MiB);
    await appendFile(path, chunk);
    written += chunk.length;
  }
  await appendFile(path, '\n');
  written += 1;

  // Streaming check: each batch is verified against the file as it arrives, then dropped.
  const account = newAccount();
  let position = 0;
  let previousFlag: LineFlag | undefined;
  const fd = openSync(path, 'r');
  onCleanup(t, async () => closeSync(fd));
  // One reused read buffer: a fresh one per batch would be 50 MiB of garbage the test made.
  let readBuffer = Buffer.allocUnsafe(2 * MiB);
  const sink = (batch: LineBatch): void => {
    const length = batch.endOffset - batch.startOffset;
    if (length > readBuffer.length) readBuffer = Buffer.allocUnsafe(length);
    const raw = readBuffer.subarray(0, length);
    assert.equal(readSync(fd, raw, 0, length, batch.startOffset), length);
    assert.equal(batch.startOffset, position, 'batches are contiguous');
    let start = batch.startOffset;
    linesOf(batch).forEach((payload, i) => {
      const end = batch.ends[i]!;
      const flag = batch.flags[i] ?? LineFlag.None;
      const lineStart = start;
      accountLine(account, raw.subarray(start - batch.startOffset, end - batch.startOffset), start, payload, flag, previousFlag, () => `line at ${lineStart}`);
      previousFlag = flag;
      start = end;
    });
    position = batch.endOffset;
  };
  // Full collections every 50 ms keep V8's garbage slack out of the measure: what remains is
  // what the tailer (and the check's one read buffer) actually hold.
  const gc = collectGarbage();
  const liveBefore = liveBytes();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let samples = 0;
  const sampler = setInterval(() => {
    if (++samples % 5 === 0) gc();
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  onCleanup(t, async () => clearInterval(sampler));
  const tailer = new Tailer({
    inputs: [inputConfig({ id: 'big', paths: [path] })],
    maxOpenFiles: 10,
    sink,
    gate: new ManualGate(),
    checkpoints: new FakeCheckpoints(),
    log: collectingLogger().log,
    scanIntervalMs: 50,
  });
  onCleanup(t, () => tailer.stop());
  await tailer.start();
  await waitFor(() => position === written, () => `every byte emitted (${position} of ${written})`, { timeoutMs: 60_000 });
  clearInterval(sampler);
  const growthMiB = (peak - baseline) / MiB;
  gc();
  const retainedMiB = (liveBytes() - liveBefore) / MiB;
  t.diagnostic(`read ${(written / MiB).toFixed(1)} MiB in ${account.lines} lines; RSS grew by ${growthMiB.toFixed(1)} MiB at most; ${retainedMiB.toFixed(1)} MiB still held after`);
  assert.equal(account.bytes, written);
  assert.equal(tailer.stats.bytesRead.get('big'), written);
  assertStatsMatch(tailer.stats, account, 'big');
  // Holding the garbage would cost 50 MiB and far more in line objects; the tailer keeps a read
  // buffer, one carried line and the lines of the batch in hand. The peak comes from the
  // allocation rate while reading flat out, not from the amount read (it is reached in the
  // first megabytes), and nothing stays once the batches are dropped.
  assert.ok(growthMiB < 48, `RSS grew by ${growthMiB.toFixed(1)} MiB while reading 50 MiB`);
  assert.ok(retainedMiB < 8, `${retainedMiB.toFixed(1)} MiB still held after reading 50 MiB`);
});

test('truncated and rewritten 200 times while being read: no crash, no leaked descriptor, the content after the storm exactly once', async (t) => {
  const random = new Random(SEED ^ 0x7a7a);
  const dir = await tempDir(t, 'logship-fuzz-truncate-');
  const path = join(dir, 'storm.log');
  await writeFile(path, '');
  const { log, records } = collectingLogger();
  const { tailer, collector } = await startTailer(t, { inputs: [inputConfig({ id: 'storm', paths: [path], max_line_bytes: 4096 })], log });
  for (let round = 0; round < 200; round++) {
    // Each round starts with different bytes, so the fingerprint tells the rounds apart.
    let text = '';
    for (let n = random.int(0, 300); n > 0; n--) text += `S${round}-${n} ${'x'.repeat(random.int(0, 100))}\n`;
    await appendFile(path, text);
    if (random.next() < 0.3) await delay(random.int(0, 5));
    await truncate(path, random.next() < 0.8 ? 0 : random.int(0, text.length));
  }
  await truncate(path, 0);
  await waitFor(() => tailer.files()[0]?.position === 0, 'the tailer to see the file emptied');
  const finalText = Array.from({ length: 2_000 }, (_, n) => `F${n}\n`).join('');
  await appendInPieces(path, Buffer.from(finalText), random);
  const lastEpochLines = (): CollectedLine[] => {
    const lines = collector.lines();
    const lastEpoch = lines.at(-1)?.epoch ?? 0;
    return lines.filter((line) => line.epoch === lastEpoch);
  };
  await waitFor(() => lastEpochLines().at(-1)?.end === finalText.length, 'the content after the storm');
  const account = accountFile(lastEpochLines(), await readFile(path), 'after the storm');
  assert.equal(account.lines, 2_000);
  assert.deepEqual(lastEpochLines().map((line) => line.text), finalText.trimEnd().split('\n'), 'each line of the last content once, in order');
  assert.ok(tailer.stats.truncations > 0, 'truncations were noticed');
  t.diagnostic(`${tailer.stats.truncations} truncations noticed over 200 rounds; ${collector.lineCount} lines emitted in all`);
  assert.deepEqual(records.filter((r) => r.level >= 50), [], 'no error logged');
  await tailer.stop();
  assert.deepEqual(openDescriptorsUnder(dir), [], 'no descriptor left open');
});

/** Collects garbage now and returns the collector, without starting node with --expose-gc. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return gc;
}

/** Memory the JS heap and Buffers hold (after a collection: what is live). */
function liveBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function groupByPath(lines: readonly CollectedLine[]): Map<string, CollectedLine[]> {
  const byPath = new Map<string, CollectedLine[]>();
  for (const line of lines) {
    const list = byPath.get(line.path);
    if (list === undefined) byPath.set(line.path, [line]);
    else list.push(line);
  }
  return byPath;
}
