// One line of a container runtime's log file, taken apart. Pure functions of the line's bytes;
// joining pieces is the stage's job (container-log.ts).
//
// CRI (containerd, CRI-O; what the kubelet reads back):
//   2024-03-15T10:20:30.123456789Z stdout F the message
//   <RFC 3339 time, nanoseconds> <stdout|stderr> <tags> <message>
//   tags are ":"-separated; the first is P (a piece: the line continues in the next P/F line of
//   the same stream) or F (full: the line ends here). An empty message may lack its space.
// Docker json-file:
//   {"log":"the message\n","stream":"stdout","time":"2024-03-15T10:20:30.123456789Z"}
//   a "log" without a trailing "\n" is a piece (Docker cuts lines at 16 KiB). Go's encoder
//   writes this key order and escapes <, >, &, U+2028/9 and control characters; invalid UTF-8
//   in the container's output was already replaced by U+FFFD, so a lone surrogate escape never
//   comes from Docker, but is decoded as U+FFFD (counted) if met.
// The common Docker line is read without JSON.parse: the message is a view of the line's bytes
// when it has no escapes but its final "\n". Anything unusual (escapes, other keys such as
// "attrs", another key order) takes JSON.parse, which decodes every escape exactly.

import type { LogStream } from './events.js';

export interface RuntimeLine {
  stream: LogStream;
  /** The runtime's time text (RFC 3339). */
  time: string;
  /** True for a piece: the message continues in the stream's next line. */
  partial: boolean;
  /** Message bytes (UTF-8), without the line's wrapper or Docker's final "\n". */
  message: Buffer;
  /** U+FFFD characters introduced by decoding (lone surrogate escapes). */
  replaced: number;
}

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');
const DOCKER_HEAD = Buffer.from('{"log":"');
const DOCKER_STDOUT = Buffer.from('","stream":"stdout","time":"');
const DOCKER_STDERR = Buffer.from('","stream":"stderr","time":"');
const DOCKER_TAIL = Buffer.from('"}');
const EMPTY = Buffer.alloc(0);
const SURROGATE = /[\uD800-\uDFFF]/;
/** "2006-01-02T15:04:05Z" is the shortest RFC 3339 time; nanoseconds and an offset make 35. */
const TIME_MIN = 20;
const TIME_MAX = 35;

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/** Is line[start, end) an RFC 3339 date-time ("2024-03-15T10:20:30.123Z", "...+02:00")? */
export function isRfc3339(line: Buffer, start: number, end: number): boolean {
  const len = end - start;
  if (len < TIME_MIN || len > TIME_MAX) return false;
  const at = (i: number): number => line[start + i]!;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(at(i))) return false;
  if (at(4) !== 0x2d || at(7) !== 0x2d || at(13) !== 0x3a || at(16) !== 0x3a) return false;
  const t = at(10);
  if (t !== 0x54 && t !== 0x74) return false; // T or t
  let i = 19;
  if (at(i) === 0x2e) {
    i++;
    const digits = i;
    while (i < len && isDigit(at(i))) i++;
    if (i === digits) return false;
  }
  if (i === len - 1) return at(i) === 0x5a || at(i) === 0x7a; // Z or z
  if (i !== len - 6) return false;
  const sign = at(i);
  return (sign === 0x2b || sign === 0x2d) && isDigit(at(i + 1)) && isDigit(at(i + 2)) && at(i + 3) === 0x3a && isDigit(at(i + 4)) && isDigit(at(i + 5));
}

/** Does `line` hold `expected` at `at`? */
function bytesAt(line: Buffer, at: number, expected: Buffer): boolean {
  return line.length >= at + expected.length && line.compare(expected, 0, expected.length, at, at + expected.length) === 0;
}

function streamAt(line: Buffer, at: number): LogStream | null {
  return bytesAt(line, at, STDOUT) ? 'stdout' : bytesAt(line, at, STDERR) ? 'stderr' : null;
}

/** A CRI line, or null when the line is not one. The message is a view of `line`. */
export function parseCriLine(line: Buffer): RuntimeLine | null {
  const timeEnd = line.indexOf(SPACE);
  if (timeEnd === -1 || !isRfc3339(line, 0, timeEnd)) return null;
  const stream = streamAt(line, timeEnd + 1);
  const tagStart = timeEnd + 8;
  if (stream === null || line[tagStart - 1] !== SPACE || tagStart >= line.length) return null;
  let tagEnd = line.indexOf(SPACE, tagStart);
  if (tagEnd === -1) tagEnd = line.length;
  // The first tag decides; later ":"-separated tags are reserved by the CRI for the future.
  const tag = line[tagStart];
  if ((tag !== 0x50 && tag !== 0x46) || (tagEnd !== tagStart + 1 && line[tagStart + 1] !== 0x3a)) return null;
  return {
    stream,
    time: line.toString('latin1', 0, timeEnd),
    partial: tag === 0x50,
    message: tagEnd < line.length ? line.subarray(tagEnd + 1) : EMPTY,
    replaced: 0,
  };
}

/** A Docker json-file line, or null when the line is not one. */
export function parseDockerLine(line: Buffer): RuntimeLine | null {
  return (bytesAt(line, 0, DOCKER_HEAD) ? parseDockerFast(line) : null) ?? parseDockerObject(line);
}

/** The usual key order and nothing else; null sends the line to JSON.parse. */
function parseDockerFast(line: Buffer): RuntimeLine | null {
  const open = DOCKER_HEAD.length;
  let close = line.indexOf(QUOTE, open);
  const firstEscape = line.indexOf(BACKSLASH, open);
  if (firstEscape !== -1 && firstEscape < close) {
    // Skip escaped characters to the closing quote.
    let at = firstEscape;
    for (;;) {
      close = line.indexOf(QUOTE, at + 2);
      const escape = line.indexOf(BACKSLASH, at + 2);
      if (escape === -1 || close === -1 || escape > close) break;
      at = escape;
    }
  }
  if (close === -1) return null;
  const stream = bytesAt(line, close, DOCKER_STDOUT) ? 'stdout' : bytesAt(line, close, DOCKER_STDERR) ? 'stderr' : null;
  if (stream === null) return null;
  const timeStart = close + DOCKER_STDOUT.length;
  const timeEnd = line.indexOf(QUOTE, timeStart);
  if (timeEnd === -1 || timeEnd + DOCKER_TAIL.length !== line.length || line[timeEnd + 1] !== 0x7d) return null;
  if (!isRfc3339(line, timeStart, timeEnd)) return null;
  const time = line.toString('latin1', timeStart, timeEnd);
  if (firstEscape === -1 || firstEscape > close) {
    return { stream, time, partial: true, message: line.subarray(open, close), replaced: 0 };
  }
  if (firstEscape === close - 2 && line[close - 1] === 0x6e) {
    return { stream, time, partial: false, message: line.subarray(open, close - 2), replaced: 0 };
  }
  const text = JSON.parse(line.toString('utf8', open - 1, close + 1)) as string;
  return fromLogText(text, stream, time);
}

function parseDockerObject(line: Buffer): RuntimeLine | null {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { log, stream, time } = value as Record<string, unknown>;
  if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr') || typeof time !== 'string') return null;
  return fromLogText(log, stream, time);
}

function fromLogText(log: string, stream: LogStream, time: string): RuntimeLine {
  const partial = !log.endsWith('\n');
  const text = partial ? log : log.slice(0, -1);
  return { stream, time, partial, message: Buffer.from(text, 'utf8'), replaced: SURROGATE.test(text) ? loneSurrogates(text) : 0 };
}

/** Lone surrogates in `text`: each becomes one U+FFFD in UTF-8. */
function loneSurrogates(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else count++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      count++;
    }
  }
  return count;
}
