// One line of each container runtime's log format, taken apart: real byte sequences as
// containerd, CRI-O and Docker's json-file driver write them, and lines that are neither.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeJsonString, isRfc3339, parseCriLine, parseDockerLine, utcTimestamp, type RuntimeLine } from '../src/lines/container-formats.js';
import { Random } from './soak/random.js';

const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const shape = (parsed: RuntimeLine | null): unknown =>
  parsed === null ? null : { ...parsed, message: parsed.message.toString('utf8') };

describe('isRfc3339', () => {
  test('accepts the times runtimes write', () => {
    for (const t of [
      '2016-10-06T00:17:09.669794202Z',
      '2020-06-23T14:47:46.583574717+02:00',
      '2024-03-15T10:20:30Z',
      '2024-03-15T10:20:30.1-05:30',
      '2024-03-15t10:20:30z',
    ]) {
      assert.equal(isRfc3339(b(t), 0, t.length), true, t);
    }
  });
  test('refuses anything else', () => {
    for (const t of ['2016-10-06 00:17:09Z', '2016-10-06T00:17:09', '2016-10-06T00:17:09.Z', '16-10-06T00:17:09Z', '2016-10-06T00:17:09+0200', 'x'.repeat(30), '2016-10-06T00:17:09.123456789012345Z']) {
      assert.equal(isRfc3339(b(t), 0, t.length), false, t);
    }
  });
});

describe('parseCriLine', () => {
  test('containerd full and partial lines', () => {
    assert.deepEqual(shape(parseCriLine(b('2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1'))), {
      stream: 'stdout',
      time: '2016-10-06T00:17:09.669794202Z',
      partial: false,
      message: 'The content of the log entry 1',
      replaced: 0,
    });
    assert.deepEqual(shape(parseCriLine(b('2016-10-06T00:17:10.113242941Z stderr P First line of log entry 2'))), {
      stream: 'stderr',
      time: '2016-10-06T00:17:10.113242941Z',
      partial: true,
      message: 'First line of log entry 2',
      replaced: 0,
    });
  });

  test('CRI-O times carry an offset', () => {
    const parsed = parseCriLine(b('2020-06-23T14:47:46.583574717+02:00 stdout F hello'));
    assert.equal(parsed?.time, '2020-06-23T14:47:46.583574717+02:00');
    assert.equal(parsed?.message.toString(), 'hello');
  });

  test('the message keeps every byte after the tag\'s space: spaces, tabs, unicode, invalid-looking text', () => {
    const message = '  indented\tthen "quoted" ünïcødé 😀 and a trailing space ';
    const line = b(`2024-03-15T10:20:30.000000001Z stdout F ${message}`);
    const parsed = parseCriLine(line)!;
    assert.equal(parsed.message.toString('utf8'), message);
    assert.equal(parsed.message.buffer, line.buffer, 'a view of the line, not a copy');
  });

  test('an empty message, with or without its space', () => {
    assert.equal(parseCriLine(b('2024-03-15T10:20:30Z stdout F '))?.message.length, 0);
    assert.equal(parseCriLine(b('2024-03-15T10:20:30Z stdout F'))?.message.length, 0);
    assert.equal(parseCriLine(b('2024-03-15T10:20:30Z stdout P'))?.partial, true);
  });

  test('further tags after ":" are allowed; the first decides', () => {
    assert.equal(parseCriLine(b('2024-03-15T10:20:30Z stdout P:x msg'))?.partial, true);
    assert.equal(parseCriLine(b('2024-03-15T10:20:30Z stdout F:a:b msg'))?.message.toString(), 'msg');
  });

  test('lines that are not CRI', () => {
    for (const line of [
      '',
      'plain text',
      '2024-03-15T10:20:30Z stdin F msg',
      '2024-03-15T10:20:30Z stdout X msg',
      '2024-03-15T10:20:30Z stdout PF msg',
      '2024-03-15T10:20:30Z stdout',
      '2024-03-15T10:20:30Z stdoutF msg',
      '2024-03-15 10:20:30 stdout F msg',
      'I0315 10:20:30.123456 1 main.go:12] klog line',
      '{"log":"x\\n","stream":"stdout","time":"2024-03-15T10:20:30Z"}',
    ]) {
      assert.equal(parseCriLine(b(line)), null, JSON.stringify(line));
    }
  });
});

describe('parseDockerLine', () => {
  const time = '2019-01-01T11:11:11.111111111Z';
  const docker = (logJson: string, stream = 'stdout'): Buffer => b(`{"log":${logJson},"stream":"${stream}","time":"${time}"}`);

  test('a whole line: the message without Docker\'s "\\n", as a view of the line', () => {
    const line = docker('"hello world\\n"');
    const parsed = parseDockerLine(line)!;
    assert.deepEqual(shape(parsed), { stream: 'stdout', time, partial: false, message: 'hello world', replaced: 0 });
    assert.equal(parsed.message.buffer, line.buffer);
  });

  test('a 16 KiB piece has no "\\n": partial', () => {
    const piece = 'x'.repeat(16 * 1024);
    assert.deepEqual(shape(parseDockerLine(docker(JSON.stringify(piece), 'stderr'))), { stream: 'stderr', time, partial: true, message: piece, replaced: 0 });
  });

  test('every escape Go writes is decoded exactly', () => {
    // What encoding/json writes for: a "quoted" \ back<tab>slash <b> & U+2028 é 😀 NUL DEL
    const goEscaped = '"a \\"quoted\\" \\\\ back\\tslash \\u003cb\\u003e \\u0026 \\u2028 é 😀 \\ud83d\\ude00 \\u0000 \\u007f \\/\\r\\n"';
    const parsed = parseDockerLine(docker(goEscaped))!;
    assert.equal(parsed.message.toString('utf8'), 'a "quoted" \\ back\tslash <b> & \u2028 é 😀 😀 \u0000 \u007f /\r');
    assert.equal(parsed.partial, false);
    assert.equal(parsed.replaced, 0);
  });

  test('raw UTF-8 (Go does not escape it) stays a view of the line', () => {
    const line = docker('"grüße 😀 日本語\\n"');
    const parsed = parseDockerLine(line)!;
    assert.equal(parsed.message.toString('utf8'), 'grüße 😀 日本語');
    assert.equal(parsed.message.buffer, line.buffer);
  });

  test('a lone surrogate escape becomes U+FFFD, counted', () => {
    const parsed = parseDockerLine(docker('"a\\ud800b\\udc00c\\n"'))!;
    assert.equal(parsed.message.toString('utf8'), 'a\uFFFDb\uFFFDc');
    assert.deepEqual([...parsed.message.subarray(1, 4)], [0xef, 0xbf, 0xbd]);
    assert.equal(parsed.replaced, 2);
  });

  test('a backslash before a final "n" is not a newline', () => {
    const parsed = parseDockerLine(docker('"C:\\\\n"'))!;
    assert.equal(parsed.message.toString(), 'C:\\n');
    assert.equal(parsed.partial, true);
  });

  test('quotes and keys inside the message do not confuse the fast path', () => {
    const parsed = parseDockerLine(docker('"\\",\\"stream\\":\\"stderr\\",\\"time\\":\\"x\\"}\\n"'))!;
    assert.equal(parsed.stream, 'stdout');
    assert.equal(parsed.message.toString(), '","stream":"stderr","time":"x"}');
  });

  test('other key orders and extra keys (log-opt labels: "attrs") go through JSON.parse', () => {
    const attrs = b(`{"log":"with attrs\\n","stream":"stderr","attrs":{"tag":"web"},"time":"${time}"}`);
    assert.deepEqual(shape(parseDockerLine(attrs)), { stream: 'stderr', time, partial: false, message: 'with attrs', replaced: 0 });
    const reordered = b(`{"stream":"stdout","time":"${time}","log":"reordered"}`);
    assert.deepEqual(shape(parseDockerLine(reordered)), { stream: 'stdout', time, partial: true, message: 'reordered', replaced: 0 });
    assert.equal(parseDockerLine(b(` {"log":"spaced\\n", "stream": "stdout", "time": "${time}"} `))?.message.toString(), 'spaced');
  });

  test('an empty log line', () => {
    assert.deepEqual(shape(parseDockerLine(docker('"\\n"'))), { stream: 'stdout', time, partial: false, message: '', replaced: 0 });
  });

  test('lines that are not Docker json-file', () => {
    for (const line of [
      '',
      'plain',
      '{"log":"no end',
      `{"log":1,"stream":"stdout","time":"${time}"}`,
      `{"log":"x","stream":"stdin","time":"${time}"}`,
      `{"log":"x","stream":"stdout"}`,
      '{"msg":"an application\'s own JSON line"}',
      '["log"]',
      'null',
      `{"log":"x\\n","stream":"stdout","time":"${time}"} trailing`,
      '2024-03-15T10:20:30Z stdout F msg',
    ]) {
      assert.equal(parseDockerLine(b(line)), null, JSON.stringify(line));
    }
  });
});

describe('decodeJsonString (seeded; LOGSHIP_FUZZ_SEED to replay)', () => {
  const seed = process.env.LOGSHIP_FUZZ_SEED === undefined ? Random.freshSeed() : Number(process.env.LOGSHIP_FUZZ_SEED);
  test(`decodes exactly as JSON.parse then UTF-8 encoding does, lone surrogates included (seed ${seed})`, () => {
    const r = new Random(seed);
    const units = [0x0a, 0x22, 0x5c, 0x2f, 0x00, 0x1f, 0x7f, 0x41, 0xe9, 0x2028, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xffff];
    for (let round = 0; round < 2000; round++) {
      let text = '';
      for (let n = r.int(0, 20); n > 0; n--) {
        const kind = r.int(0, 3);
        if (kind === 0) text += String.fromCharCode(r.pick(units));
        else if (kind === 1) text += String.fromCodePoint(r.int(0x10000, 0x10ffff));
        else text += String.fromCharCode(r.int(0x20, 0x7e));
      }
      // JSON.stringify escapes quotes, backslashes, control characters and lone surrogates;
      // \u escapes of ordinary characters (as Go writes for < > &) are added by hand.
      const json = JSON.stringify(text).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '}';
      const bytes = Buffer.from(json);
      const firstEscape = bytes.indexOf(0x5c);
      const expected = Buffer.from(JSON.parse(json.slice(0, -1)) as string, 'utf8');
      if (firstEscape === -1) continue;
      const decoded = decodeJsonString(bytes, 1, firstEscape);
      assert.ok(decoded, json);
      assert.deepEqual(decoded.bytes, expected, json);
      assert.equal(decoded.close, bytes.length - 2);
    }
  });

  test('unterminated strings and unknown escapes are refused', () => {
    assert.equal(decodeJsonString(Buffer.from('"abc\\n'), 1, 4), null);
    assert.equal(decodeJsonString(Buffer.from('"a\\x"'), 1, 2), null);
    assert.equal(decodeJsonString(Buffer.from('"a\\u12"'), 1, 2), null);
    assert.equal(decodeJsonString(Buffer.from('"a\\u12g4"'), 1, 2), null);
  });
});

describe('utcTimestamp (the envelope\'s @timestamp from the runtime\'s time)', () => {
  test('UTC times are kept as written, nanoseconds included', () => {
    assert.equal(utcTimestamp('2016-10-06T00:17:09.669794202Z'), '2016-10-06T00:17:09.669794202Z');
    assert.equal(utcTimestamp('2016-10-06t00:17:09z'), '2016-10-06T00:17:09Z');
  });
  test('offsets (CRI-O writes local time) move to UTC, across midnight and year ends, fraction kept', () => {
    assert.equal(utcTimestamp('2020-06-23T14:47:46.583574717+02:00'), '2020-06-23T12:47:46.583574717Z');
    assert.equal(utcTimestamp('2024-01-01T01:30:00+05:30'), '2023-12-31T20:00:00Z');
    assert.equal(utcTimestamp('2024-02-28T23:59:59.5-01:00'), '2024-02-29T00:59:59.5Z');
    assert.equal(utcTimestamp('2024-03-15T10:20:30.000000001+00:00'), '2024-03-15T10:20:30.000000001Z');
  });
});
