// The container parser's in-place scan (scanCri, scanDocker: bounds into the read, nothing
// allocated per line) against independent references — a regular expression for CRI, JSON.parse
// for Docker — on lines embedded anywhere in a larger buffer, so a scan that looked past its
// line's end would be caught; and the line pipeline's `parser: cri` end to end (events as
// bounds into the read, joined events packed beside it, the UTF-8 check once per read plus the
// joined events) against the events decoded one by one.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseConfigText } from '../src/config/load.js';
import type { InputConfig } from '../src/config/types.js';
import { linesOf, LineFlag } from '../src/core/batch.js';
import { LineScan, scanCri, scanDocker } from '../src/lines/container-formats.js';
import { LinePipeline } from '../src/tailer/line-pipeline.js';
import { TailerCounters } from '../src/tailer/counters.js';

/** CRI as the reference reads it (on latin1 text: one character per byte). */
const CRI = /^(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)) (stdout|stderr) ([PF])(?::[^ ]*)?(?: ([^]*))?$/;

interface Scanned {
  stream: string;
  partial: boolean;
  time: string;
  message: string;
}

function reference(line: Buffer): Scanned | null {
  const m = CRI.exec(line.toString('latin1'));
  if (m === null || m[1]!.length > 35) return null;
  return { stream: m[2]!, partial: m[3] === 'P', time: m[1]!, message: m[4] ?? '' };
}

function scanned(data: Buffer, start: number, end: number, scan: (data: Buffer, start: number, end: number, into: LineScan) => boolean): Scanned | null {
  const into = new LineScan();
  // Room for a decoded message, after bytes that must stay as they are.
  into.out = Buffer.alloc(7 + end - start, 0x2a);
  into.outAt = 7;
  if (!scan(data, start, end, into)) return null;
  assert.equal(into.out.subarray(0, 7).toString(), '*******', 'nothing written before outAt');
  return { stream: into.stream, partial: into.partial, time: into.time(data), message: into.message(data).toString('latin1') };
}

const times = fc.constantFrom(
  '2024-03-15T10:20:30.123456789Z',
  '2020-06-23T14:47:46.583574717+02:00',
  '2024-03-15t10:20:30z',
  '2024-03-15T10:20:30Z',
  '2024-03-15T10:20:30.1-05:30',
  '2024-03-15 10:20:30Z',
  '2024-03-15T10:20:30.Z',
  '2016-10-06T00:17:09.123456789012345Z',
  '2024-03-15T10:20:30+0200',
  '2024-03-15T10:20',
  '',
);
const streams = fc.constantFrom('stdout', 'stderr', 'stdin', 'stdou', 'stdoutt', '');
const tags = fc.constantFrom('F', 'P', 'F:x', 'P:a:b', 'PF', 'X', 'f', '', 'F:');
const separators = fc.constantFrom(' ', '', '  ', '\t');
/** Message bytes: ASCII, spaces, multi-byte and stray bytes (no newline: the framer cut there). */
const bytes = fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(0x20, 0x09, 0x0d, 0xc3, 0xa9, 0xff, 0x80)), { maxLength: 30 });

describe('scanCri', () => {
  test('reads every line as the reference does, wherever the line lies in its buffer', () => {
    fc.assert(
      fc.property(times, streams, tags, separators, separators, separators, bytes, bytes, bytes, (time, stream, tag, s1, s2, s3, message, before, after) => {
        const line = Buffer.concat([Buffer.from(`${time}${s1}${stream}${s2}${tag}${s3}`, 'latin1'), Buffer.from(message)]);
        // Bytes around the line that would pass for its continuation if the scan looked there.
        const data = Buffer.concat([Buffer.from(before), line, Buffer.from(' stdout F more', 'latin1'), Buffer.from(after)]);
        assert.deepEqual(scanned(data, before.length, before.length + line.length, scanCri), reference(line), JSON.stringify(line.toString('latin1')));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('scanDocker', () => {
  const logs = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '\n', '\t', 'é', '😀', '\u2028', '<', '/', 'n', '\u0000'), maxLength: 12 });
  test('reads Docker\'s lines as JSON.parse does, wherever the line lies in its buffer', () => {
    fc.assert(
      fc.property(logs, fc.constantFrom('stdout', 'stderr'), fc.boolean(), bytes, (log, stream, newline, before) => {
        const text = newline ? `${log}\n` : log;
        const time = '2024-03-15T10:20:30.123456789Z';
        // Go's encoder escapes <, > and & as \u00XX; JSON.stringify does not: both must read the same.
        const json = JSON.stringify({ log: text, stream, time }).replace(/</g, '\\u003c');
        const line = Buffer.from(json);
        const data = Buffer.concat([Buffer.from(before), line, Buffer.from('"}\\n"}')]);
        // A "log" ending in "\n" is a whole line (the "\n" is not the message's); any other a piece.
        const partial = !text.endsWith('\n');
        assert.deepEqual(scanned(data, before.length, before.length + line.length, scanDocker), {
          stream,
          partial,
          time,
          message: Buffer.from(partial ? text : text.slice(0, -1)).toString('latin1'),
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('the usual whole line (its only escape the final "\\n") is a view of the read, not a copy', () => {
    const data = Buffer.from('{"log":"plain words\\n","stream":"stdout","time":"2024-03-15T10:20:30Z"}');
    const into = new LineScan();
    into.out = Buffer.alloc(data.length);
    assert.equal(scanDocker(data, 0, data.length, into), true);
    assert.equal(into.written, -1);
    assert.equal(data.toString('utf8', into.messageStart, into.messageEnd), 'plain words');
    assert.equal(into.partial, false);
  });
});

/** A Docker "log" string for `bytes` as Go writes it (quotes, backslashes, control characters escaped), raw bytes kept as they are. */
function dockerString(bytes: Buffer): Buffer {
  const out: number[] = [0x22];
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out.push(0x5c, b);
    else if (b === 0x0a) out.push(0x5c, 0x6e);
    else if (b < 0x20) out.push(...Buffer.from(`\\u${b.toString(16).padStart(4, '0')}`));
    else out.push(b);
  }
  out.push(0x22);
  return Buffer.from(out);
}

function pipelineInput(parser: 'cri' | 'docker'): InputConfig {
  return parseConfigText(`agent: {data_dir: /tmp/x}\ninputs:\n  - id: scan-${parser}\n    paths: ["/tmp/*.log"]\n    parser: ${parser}\n    topic: t\nkafka: {brokers: ["k:9092"]}\n`, '/tmp/agent.yaml', {}).inputs[0]!;
}

for (const parser of ['cri', 'docker'] as const) {
  describe(`LinePipeline with parser: ${parser}, against the events decoded one by one`, () => {
    const input = pipelineInput(parser);
    /** An event's message: valid text, characters that pieces may cut, JSON's escaped characters, and invalid bytes. */
    const message = fc.array(fc.oneof(fc.constantFrom('a', 'hello ', 'é', '€', '😀', '"', '\\', '\t').map((s) => Buffer.from(s)), fc.constantFrom([0xff], [0xc3], [0x80], [0xe2, 0x82]).map((b) => Buffer.from(b))), { maxLength: 8 }).map((parts) => Buffer.concat(parts));

    test('records, flags and replacement counts are those of each event decoded alone, whatever the reads', () => {
      fc.assert(
        fc.property(fc.array(fc.record({ message, cuts: fc.array(fc.nat(), { maxLength: 3 }), stream: fc.constantFrom('stdout', 'stderr') }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (events, readCuts) => {
          const T = '2024-03-15T10:20:30.123456789Z';
          const line = (stream: string, piece: Buffer, last: boolean): Buffer =>
            parser === 'cri'
              ? Buffer.concat([Buffer.from(`${T} ${stream} ${last ? 'F' : 'P'} `), piece, Buffer.from('\n')])
              : Buffer.concat([Buffer.from('{"log":'), dockerString(last ? Buffer.concat([piece, Buffer.from('\n')]) : piece), Buffer.from(`,"stream":"${stream}","time":"${T}"}\n`)]);
          const lines: Buffer[] = [];
          const expected: Array<{ text: string; replaced: boolean }> = [];
          let replacedChars = 0;
          for (const { message: m, cuts, stream } of events) {
            // Pieces cut anywhere in the message's bytes (inside a character too), then its last line.
            // (A Docker piece is never empty: an empty one would be a line of its own.)
            const at = [...new Set(cuts.map((c) => c % (m.length + 1)))].filter((c) => parser === 'cri' || c > 0).sort((a, b) => a - b);
            let from = 0;
            for (const cut of at) {
              lines.push(line(stream, m.subarray(from, cut), false));
              from = cut;
            }
            lines.push(line(stream, m.subarray(from), true));
            const text = m.toString('utf8');
            expected.push({ text, replaced: !m.equals(Buffer.from(text)) });
            replacedChars += (text.match(/\uFFFD/g) ?? []).length;
          }
          const file = Buffer.concat(lines);
          const counters = new TailerCounters();
          const pipeline = new LinePipeline(input, counters);
          pipeline.reset(0);
          const got: Array<{ text: string; replaced: boolean }> = [];
          let lastEnd = 0;
          const take = (out: ReturnType<LinePipeline['push']>): void => {
            linesOf(out).forEach((l, i) => got.push({ text: l.toString('utf8'), replaced: ((out.flags[i] ?? 0) & LineFlag.Replaced) !== 0 }));
            if (out.ends.length > 0) lastEnd = out.ends[out.ends.length - 1]!;
          };
          let at = 0;
          for (const cut of [...readCuts.map((c) => c % (file.length + 1)).sort((a, b) => a - b), file.length]) {
            if (cut <= at) continue;
            take(pipeline.push(file.subarray(at, cut)));
            at = cut;
          }
          for (const out of pipeline.flush(true)) take(out);
          assert.deepEqual(got, expected);
          assert.equal(counters.view.replacedChars, replacedChars);
          assert.equal(lastEnd, file.length, 'the last event ends where the file does');
        }),
        { numRuns: 400 },
      );
    });
  });
}

describe('LinePipeline: where the events lie', () => {
  const input = pipelineInput('cri');
  test('plain events are bounds into the read; a joined one is packed after it', () => {
    const pipeline = new LinePipeline(input, new TailerCounters());
    pipeline.reset(0);
    const T = '2024-03-15T10:20:30Z';
    const read = Buffer.from(`${T} stdout F one\n${T} stdout P tw\n${T} stdout F o\n${T} stderr F three\n`);
    const out = pipeline.push(read);
    assert.deepEqual(linesOf(out).map(String), ['one', 'two', 'three']);
    assert.equal(out.data.subarray(0, read.length).toString(), read.toString(), 'the read itself, first');
    assert.deepEqual([out.bounds[0], out.bounds[4]], [T.length + 10, read.indexOf('three')]);
    assert.ok(out.bounds[2]! >= read.length, 'the joined event after the read');
  });

  test('docker: a message with escapes is decoded once into the made bytes, back to back with a newline after each', () => {
    const pipeline = new LinePipeline(pipelineInput('docker'), new TailerCounters());
    pipeline.reset(0);
    const T = '2024-03-15T10:20:30Z';
    const docker = (log: string): string => `${JSON.stringify({ log, stream: 'stdout', time: T })}\n`;
    const read = Buffer.from(docker('plain\n') + docker('say "hi"\n') + docker('tab\there\n'));
    const out = pipeline.push(read);
    assert.deepEqual(linesOf(out).map(String), ['plain', 'say "hi"', 'tab\there']);
    assert.equal(out.bounds[0], read.indexOf('plain'), 'no escape but the final one: a view of the read');
    assert.equal(out.data.subarray(read.length).toString(), 'say "hi"\ntab\there\n');
  });

  test('made messages beyond one buffer\'s worth: the buffer grows, every event intact', () => {
    const pipeline = new LinePipeline(input, new TailerCounters());
    pipeline.reset(0);
    const T = '2024-03-15T10:20:30Z';
    const messages = Array.from({ length: 400 }, (_, i) => `${i}:${'m'.repeat(60 + (i % 50))}`);
    const read = Buffer.from(messages.map((m) => `${T} stdout P ${m.slice(0, 20)}\n${T} stdout F ${m.slice(20)}\n`).join(''));
    const out = pipeline.push(read);
    assert.deepEqual(linesOf(out).map(String), messages);
    // Every event is made (joined): the read is no part of the output, only the made bytes.
    assert.equal(out.data.length, messages.reduce((n, m) => n + Buffer.byteLength(m) + 1, 0));
    assert.ok(out.data.length > 16 * 1024, 'more made bytes than the smallest buffer');
  });
});
