// Unit tests of the tailer's pieces: framing, decoding, multiline joining, fingerprints and
// markers, the handle pool, glob roots and matching, directory watches.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createDecoder } from '../src/tailer/decoder.js';
import { globRoot, InputMatcher } from '../src/tailer/discovery.js';
import { emptyLines, framedLine, framedLineList, framedOf, type FramedLines, LineFramer, pushLine } from '../src/tailer/framer.js';
import { GateTurns } from '../src/tailer/gate-turns.js';
import { HandlePool, type PooledReader } from '../src/tailer/handle-pool.js';
import { continuationMismatch, fingerprintOf, markerAt, MarkerWindow, markerOf, readHead } from '../src/tailer/identity.js';
import { MultilineJoiner } from '../src/tailer/multiline.js';
import { isCompressedHead, isCompressedName } from '../src/tailer/rotation.js';
import { TailerCounters } from '../src/tailer/counters.js';
import type { TailerStats } from '../src/tailer/types.js';
import { type SourceFile } from '../src/core/file.js';
import { type FlowGate, LineFlag } from '../src/core/batch.js';
import { DirectoryWatches, type EntryEvent, type StartWatch } from '../src/tailer/watches.js';
import { inputConfig, silentLogger, tempDir } from './helpers/tailer-harness.js';

function framer(maxLineBytes = 1024, encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'latin1' = 'utf-8'): { framer: LineFramer; stats: TailerStats } {
  const counters = new TailerCounters();
  return { framer: new LineFramer(createDecoder(encoding), maxLineBytes, counters), stats: counters.view };
}

function pushAll(f: LineFramer, chunks: Buffer[]): FramedLines {
  const out = emptyLines();
  for (const chunk of chunks) f.push(chunk, out);
  return out;
}

function texts(out: FramedLines): string[] {
  return framedLineList(out).map((line) => line.toString('utf8'));
}

describe('LineFramer', () => {
  test('splits on newlines, reports the offset after each newline and strips one CR', () => {
    const { framer: f } = framer();
    const out = pushAll(f, [Buffer.from('a\r\nbb\n\r\r\nccc\n')]);
    assert.deepEqual(texts(out), ['a', 'bb', '\r', 'ccc']);
    assert.deepEqual(out.ends, [3, 6, 9, 13]);
    assert.equal(f.pendingBytes, 0);
  });

  test('carries an unterminated tail across pushes, and lines never alias the pushed chunk', () => {
    const { framer: f } = framer();
    const chunk = Buffer.alloc(8);
    chunk.write('hel');
    const out = emptyLines();
    f.push(chunk.subarray(0, 3), out);
    assert.equal(out.ends.length, 0);
    assert.equal(f.pendingBytes, 3);
    chunk.write('lo\nw'); // the caller reuses its read buffer
    f.push(chunk.subarray(0, 4), out);
    const reused = Buffer.from('orld\n');
    f.push(reused, out);
    reused.fill(0x78);
    assert.deepEqual(texts(out), ['hello', 'world']);
    assert.deepEqual(out.ends, [6, 12]);
  });

  test('starts counting at the reset position', () => {
    const { framer: f } = framer();
    f.reset(1000);
    const out = pushAll(f, [Buffer.from('x\ny\n')]);
    assert.deepEqual(out.ends, [1002, 1004]);
    assert.equal(f.position, 1004);
  });

  test('cuts a long line into max_line_bytes pieces flagged Split, counting the line once', () => {
    const { framer: f, stats } = framer(4);
    const out = pushAll(f, [Buffer.from('abcdefghij\nxy\n')]);
    assert.deepEqual(texts(out), ['abcd', 'efgh', 'ij', 'xy']);
    assert.deepEqual(out.ends, [4, 8, 11, 14]);
    assert.deepEqual([out.flags[0], out.flags[1], out.flags[2], out.flags[3]], [LineFlag.Split, LineFlag.Split, undefined, undefined]);
    assert.equal(stats.splitLines, 1);
  });

  test('a long line whose last piece ends in a later read is counted once, and so is the next long line', () => {
    const { framer: f, stats } = framer(4);
    const out = emptyLines();
    f.push(Buffer.from('abcdefghij'), out); // cut twice, 'ij' carried
    const next = emptyLines();
    f.push(Buffer.from('k\nxy\n'), next); // the line ends here: 'ijk'
    assert.deepEqual(texts(next), ['ijk', 'xy']);
    assert.equal(next.whole, undefined, 'a read that starts with the rest of a cut line is not all whole lines');
    f.push(Buffer.from('lmnopq\n'), next);
    assert.deepEqual(texts(next), ['ijk', 'xy', 'lmno', 'pq']);
    assert.equal(stats.splitLines, 2);
    const after = emptyLines();
    f.push(Buffer.from('r\ns\n'), after);
    assert.ok(after.whole !== undefined, 'whole lines again once the cut line ended');
  });

  test('a line of exactly max_line_bytes followed by CRLF across two reads is not cut', () => {
    const { framer: f, stats } = framer(4);
    const out = pushAll(f, [Buffer.from('abcd\r'), Buffer.from('\n')]);
    assert.deepEqual(texts(out), ['abcd']);
    assert.equal(stats.splitLines, 0);
  });

  test('never holds more than max_line_bytes (+ one CR) of an endless line', () => {
    const max = 1000;
    const { framer: f, stats } = framer(max);
    const out = emptyLines();
    const chunk = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 200; i++) {
      f.push(chunk, out);
      assert.ok(f.pendingBytes <= max + 1, `holding ${f.pendingBytes} bytes after push ${i}`);
    }
    assert.ok(framedLineList(out).every((line) => line.length === max));
    assert.equal(stats.splitLines, 1);
    assert.equal(out.ends.length * max + f.pendingBytes, 200 * 4096);
  });

  test('does not cut inside a UTF-8 character', () => {
    const { framer: f } = framer(5);
    // "aaaa" + "é" (2 bytes) crosses the 5-byte boundary.
    const out = pushAll(f, [Buffer.from('aaaaébb\n')]);
    assert.deepEqual(texts(out), ['aaaa', 'ébb']);
    assert.deepEqual(out.ends, [4, 9]);
  });

  test('flushPartial emits the carried bytes flagged Partial with the end at the read position', () => {
    const { framer: f, stats } = framer();
    const out = pushAll(f, [Buffer.from('one\ntw')]);
    assert.equal(f.flushPartial(out), true);
    assert.deepEqual(texts(out), ['one', 'tw']);
    assert.deepEqual(out.ends, [4, 6]);
    assert.equal(out.flags[1], LineFlag.Partial);
    assert.equal(stats.partialLines, 1);
    assert.equal(f.flushPartial(out), false);
  });

  test('UTF-16LE: only newlines at even offsets count, even split across pushes', () => {
    const { framer: f } = framer(1024, 'utf-16le');
    // U+0A41 U+0100 is 41 0A 00 01: "0A 00" at an odd offset, inside two characters.
    const bytes = Buffer.from('a\u0a41\u0100b\r\nc\n', 'utf16le');
    const out = emptyLines();
    for (const byte of bytes) f.push(Buffer.from([byte]), out);
    assert.deepEqual(out.ends, [12, 16]);
    assert.deepEqual(framedLineList(out).map((line) => line.toString('utf16le')), ['a\u0a41\u0100b', 'c']);
  });
});

describe('decoders', () => {
  test('UTF-8: valid lines pass through untouched (same buffer), invalid bytes become U+FFFD and are counted', () => {
    const decoder = createDecoder('utf-8');
    const valid = Buffer.from('héllo \uFFFD ok');
    const invalid = Buffer.from([0x61, 0xff, 0x62, 0xc3]);
    const out: FramedLines = framedOf([valid, invalid], [1, 2], []);
    assert.equal(decoder.decode(out, 0, false), 2);
    assert.equal(framedLine(out, 0).buffer, valid.buffer, 'a valid line is not copied');
    assert.equal(framedLine(out, 0).toString(), valid.toString());
    assert.equal(framedLine(out, 1).toString('utf8'), 'a\uFFFDb\uFFFD');
    assert.equal(out.flags[0], undefined);
    assert.equal(out.flags[1], LineFlag.Replaced);
  });

  test('UTF-8: a BOM is dropped only at the start of the file', () => {
    const decoder = createDecoder('utf-8');
    const bom = () => Buffer.from('\uFEFFx');
    const atStart: FramedLines = framedOf([bom()], [5], []);
    decoder.decode(atStart, 0, true);
    assert.equal(framedLine(atStart, 0).toString(), 'x');
    const later: FramedLines = framedOf([bom()], [50], []);
    decoder.decode(later, 0, false);
    assert.equal(framedLine(later, 0).toString(), '\uFEFFx');
  });

  test('latin1 becomes UTF-8', () => {
    const decoder = createDecoder('latin1');
    const out: FramedLines = framedOf([Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from('plain')], [4, 10], []);
    assert.equal(decoder.decode(out, 0, false), 0);
    assert.deepEqual(texts(out), ['café', 'plain']);
  });

  test('UTF-16BE with BOM, surrogate pairs, and a lone surrogate replaced', () => {
    const decoder = createDecoder('utf-16be');
    const le = Buffer.from('\uFEFFhi \u{1F600}', 'utf16le');
    const be = Buffer.from(le).swap16();
    const lone = Buffer.from([0xd8, 0x00, 0x00, 0x61]);
    const out: FramedLines = framedOf([be, lone], [be.length, be.length + 4], []);
    assert.equal(decoder.decode(out, 0, true), 1);
    assert.deepEqual(texts(out), ['hi \u{1F600}', '\uFFFDa']);
    assert.equal(out.flags[1], LineFlag.Replaced);
  });

  test('UTF-16 cut never separates a surrogate pair', () => {
    const decoder = createDecoder('utf-16le');
    const data = Buffer.from('ab\u{1F600}cd', 'utf16le'); // a b [hi lo] c d
    assert.equal(decoder.cut(data, 0, 6), 4); // would end after the high surrogate
    assert.equal(decoder.cut(data, 0, 7), 4);
    assert.equal(decoder.cut(data, 0, 8), 8);
  });
});

describe('MultilineJoiner', () => {
  const config = { start: '^\\d{4}-', max_lines: 3, timeout: 100 };

  function framed(lines: string[], firstEnd = 0): FramedLines {
    const out = emptyLines();
    let end = firstEnd;
    for (const line of lines) {
      end += Buffer.byteLength(line) + 1;
      pushLine(out, Buffer.from(line), end, undefined);
    }
    return out;
  }

  test('joins continuation lines and holds the last event back until the next start', () => {
    const joiner = new MultilineJoiner(config, 1 << 20);
    const out = emptyLines();
    joiner.push(framed(['2024-01 boom', '  at a', '  at b', '2024-02 ok', '2024-03 next']), out);
    assert.deepEqual(texts(out), ['2024-01 boom\n  at a\n  at b', '2024-02 ok']);
    assert.deepEqual(out.ends, [27, 38]);
    assert.equal(out.flags[0], LineFlag.Multiline);
    assert.equal(out.flags[1], undefined);
    assert.equal(joiner.hasPending, true);
    assert.equal(joiner.flush(out), true);
    assert.equal(out.ends[2], 51);
  });

  test('flushes at max_lines', () => {
    const joiner = new MultilineJoiner(config, 1 << 20);
    const out = emptyLines();
    joiner.push(framed(['2024-01 a', 'b', 'c', 'd']), out);
    assert.deepEqual(texts(out), ['2024-01 a\nb\nc']);
    joiner.flush(out);
    assert.deepEqual(texts(out), ['2024-01 a\nb\nc', 'd']);
  });

  test('passes pieces of a cut line through alone', () => {
    const joiner = new MultilineJoiner(config, 1 << 20);
    const input = framed(['2024-01 a', 'xxxx', 'yy', 'cont']);
    input.flags[1] = LineFlag.Split;
    const out = emptyLines();
    joiner.push(input, out);
    joiner.flush(out);
    assert.deepEqual(texts(out), ['2024-01 a', 'xxxx', 'yy', 'cont']);
  });
});

describe('identity', () => {
  test('fingerprint grows with a young file and still matches its first bytes', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'f');
    await writeFile(path, 'first line\n');
    const young = fingerprintOf(Buffer.from('first line\n'));
    await writeFile(path, 'first line\nsecond line\n');
    const handle = await open(path);
    t.after(() => handle.close());
    const size = (await handle.stat()).size;
    const head = await readHead(handle, size);
    assert.equal(await continuationMismatch(handle, size, head, { offset: 11, fingerprint: young, marker: null }), null);
    const other = fingerprintOf(Buffer.from('other line\n'));
    assert.match((await continuationMismatch(handle, size, head, { offset: 11, fingerprint: other, marker: null }))!, /first bytes differ/);
    const marker = await markerAt(handle, 11);
    assert.equal(await continuationMismatch(handle, size, head, { offset: 11, fingerprint: young, marker }), null);
    assert.match((await continuationMismatch(handle, size, head, { offset: 12, fingerprint: young, marker }))!, /bytes before/);
    assert.match((await continuationMismatch(handle, size, head, { offset: 99, fingerprint: young, marker }))!, /past EOF/);
  });

  test('MarkerWindow gives the same marker as reading the file, across chunk boundaries', () => {
    const file = randomBytes(1000);
    const window = new MarkerWindow();
    window.reset(0);
    for (let start = 0; start < file.length; start += 37) {
      const chunk = file.subarray(start, Math.min(file.length, start + 37));
      for (let end = start; end <= start + chunk.length; end++) {
        const expected = markerOf(file.subarray(Math.max(0, end - 64), end));
        const got = window.markerFor(end, chunk, start);
        assert.deepEqual(got, expected, `marker for ${end} with chunk at ${start}`);
      }
      window.advance(chunk, start);
    }
  });
});

describe('HandlePool', () => {
  class FakeReader implements PooledReader {
    evictions = 0;
    constructor(public atEof: boolean) {}
    async evict(): Promise<void> {
      this.evictions++;
    }
  }

  test('evicts the least recently active idle reader, preferring one at EOF, and waits when all are busy', async () => {
    const pool = new HandlePool(2, silentLogger());
    const a = new FakeReader(false);
    const b = new FakeReader(true);
    const slotA = await pool.reserve(a);
    const slotB = await pool.reserve(b);
    pool.idle(slotA);
    pool.idle(slotB);
    const c = new FakeReader(false);
    const slotC = await pool.reserve(c);
    assert.equal(b.evictions, 1, 'the reader at EOF goes first even though it is more recent');
    assert.equal(a.evictions, 0);
    assert.equal(pool.openCount, 2);
    pool.busy(slotA);
    let reserved = false;
    const d = pool.reserve(new FakeReader(false)).then(() => (reserved = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(reserved, false, 'every slot is busy: reserve waits');
    pool.idle(slotC);
    await d;
    assert.equal(reserved, true);
    assert.equal(pool.openCount, 2);
  });

  test("a deleted file's handle is never evicted (it could not be opened again): a newcomer waits for its release", async () => {
    const pool = new HandlePool(1, silentLogger());
    const deleted = Object.assign(new FakeReader(false), { reopenable: false });
    const slot = await pool.reserve(deleted);
    pool.idle(slot);
    let reserved = false;
    const next = pool.reserve(new FakeReader(false)).then(() => (reserved = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(reserved, false, 'waits rather than evict the deleted file');
    assert.equal(deleted.evictions, 0);
    pool.released(slot);
    await next;
    assert.equal(reserved, true);
  });
});

describe('discovery matching', () => {
  test('glob roots: static prefix and depth', () => {
    assert.deepEqual(globRoot('/var/log/nginx/*.log'), { dir: '/var/log/nginx', depth: 0 });
    assert.deepEqual(globRoot('/var/log/*/x/*.log'), { dir: '/var/log', depth: 2 });
    assert.deepEqual(globRoot('/var/log/**/*.log'), { dir: '/var/log', depth: undefined });
    assert.deepEqual(globRoot('/var/log/app.log'), { dir: '/var/log', depth: 0 });
  });

  test('exclude matches the full path and the basename', () => {
    const matcher = new InputMatcher(inputConfig({ paths: ['/logs/**'], exclude: ['*.gz', '/logs/private/**'] }));
    assert.equal(matcher.matches('/logs/a/app.log'), true);
    assert.equal(matcher.matches('/logs/a/app.log.1.gz'), false);
    assert.equal(matcher.matches('/logs/private/x.log'), false);
  });

  test('compressed files are recognised by name and by magic number', () => {
    assert.equal(isCompressedName('app.log.2.gz'), true);
    assert.equal(isCompressedName('app.log.2'), false);
    assert.equal(isCompressedHead(Buffer.from([0x1f, 0x8b, 8, 0])), true);
    assert.equal(isCompressedHead(Buffer.from('plain text')), false);
  });
});

describe('DirectoryWatches', () => {
  /** A StartWatch that records each watch and lets the test fire its events. */
  function fakeWatches() {
    const started: Array<{ path: string; closed: boolean; fire: (event: EntryEvent, name: string | null) => void; fail: (err: unknown) => void }> = [];
    const startWatch: StartWatch = (path, onEvent, onError) => {
      const watch = { path, closed: false, fire: onEvent, fail: onError };
      started.push(watch);
      return { close: () => void (watch.closed = true) };
    };
    const entries: Array<[string, EntryEvent]> = [];
    const failures: string[] = [];
    const watches = new DirectoryWatches(startWatch, { entry: (path, event) => entries.push([path, event]), failed: (path) => failures.push(path) });
    return { watches, started, entries, failures };
  }

  test('one watch per path; a directory reports its entries by path, a file reports itself', () => {
    const { watches, started, entries } = fakeWatches();
    watches.watch('/logs', '1:10', true);
    watches.watch('/logs', '1:10', true);
    watches.watch('/logs/link.log', '1:20', false);
    assert.equal(started.length, 2, 'watching the same thing again starts nothing');
    started[0]!.fire('change', 'app.log');
    started[0]!.fire('rename', 'app.log.1');
    started[1]!.fire('change', 'link.log');
    assert.deepEqual(entries, [
      ['/logs/app.log', 'change'],
      ['/logs/app.log.1', 'rename'],
      ['/logs/link.log', 'change'],
    ]);
  });

  test('another directory at the same path (deleted and created again) gets a new watch; retain closes the rest', () => {
    const { watches, started } = fakeWatches();
    watches.watch('/logs/a', '1:10', true);
    watches.watch('/logs/b', '1:11', true);
    watches.watch('/logs/a', '1:12', true);
    assert.equal(started.length, 3);
    assert.equal(started[0]!.closed, true, 'the dead watch of the old directory is closed');
    const walkBegan = watches.mark();
    watches.watch('/logs/c', '1:13', true); // created while the walk went on: not in what it found
    watches.retain(new Set(['/logs/a']), walkBegan);
    assert.deepEqual(
      started.map((watch) => watch.closed),
      [true, true, false, false],
    );
    watches.closeAll();
    assert.equal(started[3]!.closed, true);
  });

  test('a watch that fails is closed and reported, and started again when asked', () => {
    const { watches, started, failures } = fakeWatches();
    watches.watch('/logs', '1:10', true);
    started[0]!.fail(new Error('EIO'));
    assert.equal(started[0]!.closed, true);
    assert.deepEqual(failures, ['/logs']);
    watches.watch('/logs', '1:10', true);
    assert.equal(started.length, 2);
  });

  test('a refusal (ENOSPC) is thrown to the caller', () => {
    const watches = new DirectoryWatches(
      () => {
        throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
      },
      { entry: () => undefined, failed: () => undefined },
    );
    assert.throws(() => watches.watch('/logs', '1:10', true), { code: 'ENOSPC' });
  });
});

describe('GateTurns', () => {
  /** A gate like the shipper's: wakes every waiter when it opens; files can be held alone. */
  class WakeAllGate implements FlowGate {
    open = false;
    readonly held = new Set<string>();
    private waiters: Array<() => void> = [];
    isOpen(source?: SourceFile): boolean {
      return this.open && (source === undefined || !this.held.has(source.key));
    }
    waitOpen(source?: SourceFile): Promise<void> {
      return new Promise((resolve) => {
        const check = (): void => (this.isOpen(source) ? resolve() : void this.waiters.push(check));
        check();
      });
    }
    set(open: boolean): void {
      this.open = open;
      if (open) this.wakeAll();
    }
    wakeAll(): void {
      for (const waiter of this.waiters.splice(0)) waiter();
    }
  }
  const source = (key: string): SourceFile => ({ key, identity: { dev: 1, ino: 1 }, input: 'test', path: `/logs/${key}` });
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  test('readers waiting for a closed gate go one at a time, and stop going when it closes again', async () => {
    const gate = new WakeAllGate();
    const turns = new GateTurns(gate);
    const through: number[] = [];
    for (let i = 0; i < 50; i++) {
      void turns.waitOpen(source(`f${i}`)).then(() => {
        through.push(i);
        if (through.length === 3) gate.set(false); // the third one fills the gate
      });
    }
    assert.equal(turns.waiting, 50);
    gate.set(true);
    for (let i = 0; i < 10; i++) await turn();
    assert.deepEqual(through, [0, 1, 2], 'in order, and none after the gate closed');
    gate.set(true);
    for (let i = 0; i < 100; i++) await turn();
    assert.equal(through.length, 50, 'the rest once it stays open');
    assert.equal(turns.waiting, 0);
  });

  test('a file held alone waits for its own release, without blocking the line', async () => {
    const gate = new WakeAllGate();
    gate.set(true);
    gate.held.add('held');
    const turns = new GateTurns(gate);
    let released = false;
    void turns.waitOpen(source('held')).then(() => (released = true));
    assert.equal(turns.waiting, 0, 'not in the line: the gate is open for the others');
    assert.equal(await Promise.race([turns.waitOpen(source('other')).then(() => 'open'), turn().then(() => 'waiting')]), 'open');
    gate.held.delete('held');
    gate.wakeAll();
    await turn();
    assert.equal(released, true);
  });
});
