// ContainerLogParser, the stage: runtime pieces joined per stream across reads, events bounded
// by max_line_bytes, malformed lines passed through, and the committable offset that makes a
// restart between a "P" and its "F" ship the joined event exactly once — checked on real
// byte sequences and, with seeded random files, as properties.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContainerLogParser, utf8Boundary } from '../src/lines/container-log.js';
import { EventFlag, emptyEvents, eventMessages, type ContainerEvents, type FramedInput, type LogStream } from '../src/lines/events.js';
import { InputLineCounters, type ContainerLogStats } from '../src/lines/stats.js';
import { Random } from './soak/random.js';

const SEED = process.env.LOGSHIP_FUZZ_SEED === undefined ? Random.freshSeed() : Number(process.env.LOGSHIP_FUZZ_SEED);
const T = '2024-03-15T10:20:30.123456789Z';

/**
 * The lines of a file as the tailer frames them: bounds into the file (bytes without "\n"), the
 * offset after each; `whole` as the framer sets it (the bytes up to the last newline).
 */
function frame(file: Buffer, from = 0): FramedInput {
  const bounds: number[] = [];
  const ends: number[] = [];
  let start = from;
  for (let nl = file.indexOf(0x0a, start); nl !== -1; nl = file.indexOf(0x0a, start)) {
    bounds.push(start, nl - start);
    ends.push(nl + 1);
    start = nl + 1;
  }
  return { parts: [file], bounds, ends, flags: [], whole: file.subarray(0, start) };
}

/** Lines given one by one, framed: each a part of its own (as the tailer's carried lines are). */
function framedOf(lines: Buffer[], ends: number[], flags: (number | undefined)[]): FramedInput {
  const bounds: number[] = [];
  let at = 0;
  for (const line of lines) {
    bounds.push(at, line.length);
    at += line.length;
  }
  return { parts: lines, bounds, ends, flags };
}

/** Consecutive lines [from, to) of a framed file, as one read. */
function slice(framed: FramedInput, from: number, to: number): FramedInput {
  return { ...framed, bounds: framed.bounds.slice(2 * from, 2 * to), ends: framed.ends.slice(from, to), flags: framed.flags.slice(from, to) };
}

interface Ev {
  text: string;
  start: number;
  end: number;
  flags: number;
  stream: LogStream | null;
  time: string | null;
}

function events(out: ContainerEvents): Ev[] {
  return eventMessages(out).map((line, i) => ({
    text: line.toString('utf8'),
    start: out.starts[i]!,
    end: out.ends[i]!,
    flags: out.flags[i] ?? 0,
    stream: out.streams[i]!,
    time: out.times[i]!,
  }));
}

function parser(mode: 'cri' | 'docker' | 'auto' = 'cri', maxEventBytes = 1 << 20, position = 0): { p: ContainerLogParser; stats: ContainerLogStats } {
  const counters = new InputLineCounters();
  return { p: new ContainerLogParser(mode, { maxEventBytes, position }, counters), stats: counters.view.container };
}

/** Parses a whole file in one read. */
function parseAll(file: string | Buffer, mode: 'cri' | 'docker' | 'auto' = 'cri', maxEventBytes = 1 << 20): { evs: Ev[]; stats: ContainerLogStats; p: ContainerLogParser } {
  const { p, stats } = parser(mode, maxEventBytes);
  const out = emptyEvents();
  p.push(frame(Buffer.isBuffer(file) ? file : Buffer.from(file)), out);
  return { evs: events(out), stats, p };
}

const cri = (stream: LogStream, tag: 'P' | 'F', message: string, time = T): string => `${time} ${stream} ${tag} ${message}\n`;
const docker = (stream: LogStream, log: string, time = T): string => `${JSON.stringify({ log, stream, time })}\n`;

describe('CRI', () => {
  test('P pieces are joined until F: one event, time of the first piece, ends at the F line', () => {
    const file = cri('stdout', 'P', 'Hello, ', '2024-03-15T10:20:30.000000001Z') + cri('stdout', 'P', 'wor') + cri('stdout', 'F', 'ld!') + cri('stdout', 'F', 'next');
    const { evs, stats, p } = parseAll(file);
    const firstEnd = Buffer.byteLength(file) - Buffer.byteLength(cri('stdout', 'F', 'next'));
    assert.deepEqual(evs, [
      { text: 'Hello, world!', start: 0, end: firstEnd, flags: EventFlag.Joined, stream: 'stdout', time: '2024-03-15T10:20:30.000000001Z' },
      { text: 'next', start: firstEnd, end: Buffer.byteLength(file), flags: 0, stream: 'stdout', time: T },
    ]);
    assert.equal(stats.joinedEvents, 1);
    assert.equal(p.committableOffset, Buffer.byteLength(file));
    assert.equal(p.hasPending, false);
  });

  test('a P at the end of one read is joined with its F in the next; nothing is committable in between', () => {
    const file = Buffer.from(cri('stderr', 'F', 'before') + cri('stderr', 'P', 'par') + cri('stderr', 'F', 'tial'));
    const framed = frame(file);
    const { p } = parser();
    const out = emptyEvents();
    p.push(slice(framed, 0, 2), out);
    assert.deepEqual(events(out).map((e) => e.text), ['before']);
    assert.equal(p.committableOffset, framed.ends[0], 'not past the start of the open P');
    assert.equal(p.hasPending, true);
    p.push(slice(framed, 2, 3), out);
    assert.deepEqual(events(out).map((e) => [e.text, e.start, e.end]), [
      ['before', 0, framed.ends[0]],
      ['partial', framed.ends[0], file.length],
    ]);
    assert.equal(p.committableOffset, file.length);
  });

  test('streams join separately; an event completed while another is open is held and released with it', () => {
    const file = Buffer.from(cri('stdout', 'P', 'out-1 ') + cri('stderr', 'F', 'err whole') + cri('stdout', 'F', 'out-2'));
    const framed = frame(file);
    const { p } = parser();
    const out = emptyEvents();
    p.push(slice(framed, 0, 2), out);
    assert.equal(out.ends.length, 0, 'the stderr event waits: shipping it now would repeat it after a restart at 0');
    assert.equal(p.committableOffset, 0);
    p.push(slice(framed, 2, 3), out);
    assert.deepEqual(events(out), [
      { text: 'err whole', start: framed.ends[0], end: 0, flags: 0, stream: 'stderr', time: T },
      { text: 'out-1 out-2', start: 0, end: file.length, flags: EventFlag.Joined, stream: 'stdout', time: T },
    ]);
  });

  test('a long event is cut at max_line_bytes into Split pieces, between UTF-8 characters, counted once', () => {
    const max = 10;
    const file = cri('stdout', 'P', 'ééééé') + cri('stdout', 'P', 'ééé') + cri('stdout', 'F', 'abcdefghijklmnopqrstuvw') + cri('stdout', 'F', 'short');
    const { evs, stats } = parseAll(file, 'cri', max);
    const texts = evs.map((e) => e.text);
    assert.equal(texts.join(''), 'éééééééé' + 'abcdefghijklmnopqrstuvw' + 'short');
    for (const e of evs) assert.ok(Buffer.byteLength(e.text) <= max, `${e.text} over ${max} bytes`);
    assert.deepEqual(evs.map((e) => e.flags & EventFlag.Split), [1, 1, 1, 0, 0], 'all pieces but the last are Split');
    assert.deepEqual(texts.slice(0, 2), ['ééééé', 'éééabcd'], 'cut between characters (10 bytes hold 5 é)');
    assert.equal(stats.splitEvents, 1);
    assert.equal(evs.at(-1)!.flags, 0);
  });

  test('a single F line longer than the bound is split too', () => {
    const { evs, stats } = parseAll(cri('stdout', 'F', 'x'.repeat(25)), 'cri', 10);
    assert.deepEqual(evs.map((e) => [e.text.length, e.flags]), [
      [10, EventFlag.Split],
      [10, EventFlag.Split],
      [5, 0],
    ]);
    assert.equal(stats.splitEvents, 1);
    assert.equal(stats.joinedEvents, 0);
  });

  test('a malformed line is shipped raw, flagged and counted, never dropped — even between a P and its F', () => {
    const file = cri('stdout', 'P', 'a') + 'not a CRI line\n' + cri('stdout', 'F', 'b') + '\n';
    const { evs, stats } = parseAll(file);
    assert.deepEqual(
      evs.map((e) => [e.text, e.flags, e.stream, e.time]),
      [
        ['not a CRI line', EventFlag.Malformed, null, null],
        ['ab', EventFlag.Joined, 'stdout', T],
        ['', EventFlag.Malformed, null, null],
      ],
    );
    assert.equal(stats.malformedLines, 2);
  });

  test('flags of the input lines (Replaced, Partial) pass through onto their event', () => {
    const file = Buffer.from(cri('stdout', 'P', 'a\uFFFD') + cri('stdout', 'F', 'b'));
    const framed = frame(file);
    const { p } = parser();
    const out = emptyEvents();
    p.push({ ...framed, flags: [EventFlag.Replaced, EventFlag.Partial] }, out);
    assert.equal(out.flags[0], EventFlag.Replaced | EventFlag.Partial | EventFlag.Joined);
  });

  test('flush emits open events flagged Partial, in file order, and everything held', () => {
    const file = Buffer.from(cri('stderr', 'P', 'e1') + cri('stdout', 'P', 'o1') + cri('stdout', 'F', 'never mind') + cri('stdout', 'P', 'o2'));
    const { p, stats } = parser();
    const out = emptyEvents();
    p.push(frame(file), out);
    assert.equal(out.ends.length, 0);
    assert.equal(p.flush(out), true);
    assert.deepEqual(events(out).map((e) => [e.text, e.flags]), [
      ['o1never mind', EventFlag.Joined],
      ['e1', EventFlag.Partial],
      ['o2', EventFlag.Partial],
    ]);
    assert.equal(stats.partialEvents, 2);
    assert.equal(p.committableOffset, file.length);
    assert.equal(p.hasPending, false);
    assert.equal(p.flush(out), false);
  });

  test('reset forgets what is open and starts over at the given offset', () => {
    const { p } = parser();
    const out = emptyEvents();
    p.push(frame(Buffer.from(cri('stdout', 'P', 'gone'))), out);
    p.reset(0);
    assert.equal(p.hasPending, false);
    p.push(frame(Buffer.from(cri('stdout', 'F', 'fresh'))), out);
    assert.deepEqual(events(out).map((e) => [e.text, e.start]), [['fresh', 0]]);
  });

  test('a line the tailer cut (Split pieces) is put back together before parsing', () => {
    const line = Buffer.from(cri('stdout', 'F', 'y'.repeat(100)).trimEnd());
    const cuts = [40, 80];
    const input = framedOf([line.subarray(0, 40), line.subarray(40, 80), line.subarray(80)], [40, 80, line.length + 1], [EventFlag.Split, EventFlag.Split, undefined]);
    const { p } = parser('cri', 1000);
    const out = emptyEvents();
    p.push(slice(input, 0, 1), out);
    assert.equal(p.committableOffset, 0, 'never mid-line');
    p.push(slice(input, 1, 3), out);
    assert.deepEqual(events(out).map((e) => [e.text, e.start, e.end, e.flags]), [['y'.repeat(100), 0, line.length + 1, 0]]);
    assert.ok(cuts.length === 2);
  });

  test('a cut line too long to put back together is shipped raw, Malformed, piece by piece', () => {
    const line = Buffer.from(cri('stdout', 'F', 'z'.repeat(300)).trimEnd());
    const counters = new InputLineCounters();
    const stats = counters.view.container;
    const p = new ContainerLogParser('cri', { maxEventBytes: 100, position: 0, maxRawLineBytes: 150 }, counters);
    const out = emptyEvents();
    const pieces = [line.subarray(0, 100), line.subarray(100, 200), line.subarray(200)];
    p.push(framedOf(pieces, [100, 200, line.length + 1], [EventFlag.Split, EventFlag.Split, undefined]), out);
    assert.equal(Buffer.concat(eventMessages(out)).toString(), line.toString());
    assert.deepEqual(out.flags, [EventFlag.Split | EventFlag.Malformed, EventFlag.Split | EventFlag.Malformed, EventFlag.Malformed]);
    assert.deepEqual(out.ends, [100, 200, line.length + 1]);
    assert.equal(stats.malformedLines, 1);
  });
});

describe('the runtimes\' own cuts', () => {
  // containerd cuts a line at max_container_log_line_size (16 KiB by default) into P pieces;
  // Docker's json-file driver cuts at 16 KiB with no "\n" on the pieces. 40,000 bytes of
  // output with multi-byte characters straddling the cuts must come back byte for byte.
  const output = ('0123456789abcdef'.repeat(1024) + 'ü😀').repeat(3).slice(0, 40_000);
  const bytes = Buffer.from(output);
  const cuts = [bytes.subarray(0, 16_384), bytes.subarray(16_384, 32_768), bytes.subarray(32_768)];

  test('containerd: P 16384, P 16384, F rest is one event of the original bytes', () => {
    const file = Buffer.concat([
      ...cuts.map((piece, i) => Buffer.concat([Buffer.from(`${T} stdout ${i < 2 ? 'P' : 'F'} `), piece, Buffer.from('\n')])),
      Buffer.from(cri('stdout', 'F', 'after')),
    ]);
    const { evs, stats } = parseAll(file);
    assert.equal(evs.length, 2);
    assert.equal(Buffer.from(evs[0]!.text).equals(bytes), true, 'byte for byte');
    assert.equal(evs[0]!.flags, EventFlag.Joined);
    assert.equal(evs[1]!.text, 'after');
    assert.equal(stats.joinedEvents, 1);
  });

  test('Docker: 16 KiB pieces are JSON strings of whole characters; the join is the original line', () => {
    // Docker cuts by bytes but Go's encoder then writes whole characters: cut here between them.
    const texts = [output.slice(0, 16_000), output.slice(16_000, 32_000), output.slice(32_000) + '\n'];
    const file = texts.map((t) => docker('stderr', t)).join('');
    const { evs } = parseAll(file, 'docker');
    assert.deepEqual(evs.map((e) => [e.text === output, e.stream, e.flags]), [[true, 'stderr', EventFlag.Joined]]);
  });

  test('containerd cuts by bytes: a character split between P and F is whole again once joined (so decode after joining)', () => {
    const emoji = Buffer.from('a😀b');
    const file = Buffer.concat([Buffer.from(`${T} stdout P `), emoji.subarray(0, 3), Buffer.from(`\n${T} stdout F `), emoji.subarray(3), Buffer.from('\n')]);
    const { evs } = parseAll(file);
    assert.deepEqual(evs.map((e) => e.text), ['a😀b']);
  });

  test('with max_line_bytes below the event, the pieces are cut anew at that bound, none lost', () => {
    const file = Buffer.concat(cuts.map((piece, i) => Buffer.concat([Buffer.from(`${T} stdout ${i < 2 ? 'P' : 'F'} `), piece, Buffer.from('\n')])));
    const { evs, stats } = parseAll(file, 'cri', 10_000);
    assert.ok(evs.every((e) => Buffer.byteLength(e.text) <= 10_000));
    assert.equal(Buffer.from(evs.map((e) => e.text).join('')).equals(bytes), true);
    assert.equal(stats.splitEvents, 1);
  });
});

describe('Docker json-file', () => {
  test('16 KiB pieces (no trailing "\\n") are joined until the piece that ends the line', () => {
    const a = 'a'.repeat(16 * 1024);
    const bb = 'b'.repeat(16 * 1024);
    const file = docker('stdout', a) + docker('stdout', bb) + docker('stdout', 'end\n') + docker('stderr', 'other\n');
    const { evs, stats } = parseAll(file, 'docker');
    assert.deepEqual(evs.map((e) => [e.text.length, e.flags, e.stream]), [
      [32 * 1024 + 3, EventFlag.Joined, 'stdout'],
      [5, 0, 'stderr'],
    ]);
    assert.equal(evs[0]!.text, a + bb + 'end');
    assert.equal(stats.joinedEvents, 1);
  });

  test('escapes and unicode survive joining, including a character split between pieces by Docker', () => {
    // Docker cuts by bytes of the original output, so a piece may end inside a character:
    // its log holds U+FFFD then (Go replaced the invalid bytes); the join keeps what it was given.
    const file = docker('stdout', 'tab\there "q" ') + docker('stdout', '😀 end\n');
    assert.equal(parseAll(file, 'docker').evs[0]!.text, 'tab\there "q" 😀 end');
  });
});

describe('auto', () => {
  test('the first line decides the file\'s format', () => {
    const d = parseAll(docker('stdout', 'hi\n'), 'auto');
    assert.equal(d.p.format, 'docker');
    assert.equal(d.evs[0]!.text, 'hi');
    const c = parseAll(cri('stdout', 'F', 'hi'), 'auto');
    assert.equal(c.p.format, 'cri');
  });

  test('lines before the first well-formed one are shipped raw; after it, the other format is malformed', () => {
    const file = 'garbage\n' + cri('stdout', 'F', 'ok') + docker('stdout', 'docker?\n');
    const { evs, p, stats } = parseAll(file, 'auto');
    assert.equal(p.format, 'cri');
    assert.deepEqual(evs.map((e) => [e.flags, e.stream]), [
      [EventFlag.Malformed, null],
      [0, 'stdout'],
      [EventFlag.Malformed, null],
    ]);
    assert.equal(stats.malformedLines, 2);
  });
});

describe('utf8Boundary', () => {
  test('never ends inside a character', () => {
    const text = Buffer.from('a😀é');
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((room) => utf8Boundary(text, room)), [0, 1, 1, 1, 1, 5, 5, 7, 7]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random files

interface Written {
  file: Buffer;
  /** Expected events, in completion order: stream and message. */
  expected: { stream: LogStream; text: string }[];
}

const ALPHABET = ['a', 'b', ' ', 'é', '😀', '日', '"', '\\', '\t', '{', '}'];

function randomMessage(r: Random, maxChars: number): string {
  let s = '';
  for (let n = r.int(0, maxChars); n > 0; n--) s += r.pick(ALPHABET);
  return s;
}

/** A file of interleaved stdout/stderr lines, some cut into pieces, in `format`. */
function randomFile(r: Random, format: 'cri' | 'docker', events: number): Written {
  let text = '';
  const expected: { stream: LogStream; text: string }[] = [];
  const open: Record<LogStream, string[] | null> = { stdout: null, stderr: null };
  let started = 0;
  while (started < events || open.stdout || open.stderr) {
    const stream: LogStream = r.pick(['stdout', 'stderr'] as const);
    const pieces = open[stream];
    const piece = randomMessage(r, 12);
    const finish = started >= events || r.next() < 0.6;
    if (pieces === null) {
      if (started >= events) continue;
      started++;
    }
    text += format === 'cri' ? cri(stream, finish ? 'F' : 'P', piece) : docker(stream, finish ? `${piece}\n` : piece);
    const all = [...(pieces ?? []), piece];
    if (finish) {
      expected.push({ stream, text: all.join('') });
      open[stream] = null;
    } else {
      open[stream] = all;
    }
  }
  return { file: Buffer.from(text), expected };
}

/** Pushes the file in random reads; optionally stops after `stopAfter` reads (a clean stop). */
function runInReads(r: Random, file: Buffer, mode: 'cri' | 'docker' | 'auto', from: number, stopAfter = Infinity): { evs: Ev[]; committable: number } {
  const framed = frame(file, from);
  const { p } = parser(mode, 1 << 20, from);
  const out = emptyEvents();
  let reads = 0;
  for (let i = 0; i < framed.ends.length && reads < stopAfter; reads++) {
    const next = Math.min(framed.ends.length, i + r.int(1, 4));
    p.push(slice(framed, i, next), out);
    i = next;
  }
  const evs = events(out);
  for (let i = 1; i < evs.length; i++) assert.ok(evs[i]!.end >= evs[i - 1]!.end, 'ends never go back');
  for (const e of evs) assert.ok(e.end <= p.committableOffset, 'no event ends past the committable offset');
  return { evs, committable: p.committableOffset };
}

describe('properties (seed ' + SEED + ', LOGSHIP_FUZZ_SEED to replay)', () => {
  for (const format of ['cri', 'docker'] as const) {
    test(`${format}: every event exactly once, joined right, whatever the reads`, () => {
      const r = new Random(SEED);
      for (let round = 0; round < 200; round++) {
        const { file, expected } = randomFile(r, format, r.int(1, 30));
        const mode = r.next() < 0.5 ? format : 'auto';
        const { evs, committable } = runInReads(r, file, mode, 0);
        assert.deepEqual(
          evs.map((e) => ({ stream: e.stream, text: e.text })),
          expected,
          `round ${round}`,
        );
        assert.equal(committable, file.length);
        assert.ok(evs.every((e) => (e.flags & EventFlag.Malformed) === 0));
      }
    });

    test(`${format}: a clean stop anywhere, then a restart at the committable offset, ships every event exactly once`, () => {
      const r = new Random(SEED + 1);
      for (let round = 0; round < 300; round++) {
        const { file, expected } = randomFile(r, format, r.int(1, 30));
        const before = runInReads(r, file, format, 0, r.int(0, 8));
        const after = runInReads(r, file, format, before.committable);
        assert.deepEqual(
          [...before.evs, ...after.evs].map((e) => ({ stream: e.stream, text: e.text })),
          expected,
          `round ${round}: stopped at ${before.committable} of ${file.length}`,
        );
      }
    });
  }

  test('with a small bound, no byte is lost and no piece exceeds it', () => {
    const r = new Random(SEED + 2);
    for (let round = 0; round < 200; round++) {
      const { file, expected } = randomFile(r, 'cri', r.int(1, 20));
      const max = r.int(4, 24);
      const { evs } = parseAll(file, 'cri', max);
      for (const stream of ['stdout', 'stderr'] as const) {
        const got = evs.filter((e) => e.stream === stream).map((e) => e.text).join('');
        const want = expected.filter((e) => e.stream === stream).map((e) => e.text).join('');
        assert.equal(got, want, `round ${round}, ${stream}, max ${max}`);
      }
      for (const e of evs) assert.ok(Buffer.byteLength(e.text) <= max);
      for (let i = 1; i < evs.length; i++) assert.ok(evs[i]!.end >= evs[i - 1]!.end);
    }
  });
});
