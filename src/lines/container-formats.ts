// One line of a container runtime's log file, taken apart. Pure functions of the line's bytes;
// joining pieces is the stage's job (container-log.ts). The stage scans lines in place
// (scanCri, scanDocker: bounds into the read, written into one reused LineScan), since an
// object, a view or a string per line was most of what `parser: cri` cost; parseCriLine and
// parseDockerLine give the same as an object, for tests and tools.
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
// Docker lines in Docker's own key order are read without JSON.parse: the message is a view of
// the line's bytes when it has no escapes but its final "\n", else decoded in one pass (decodeJsonString, exact
// for every JSON escape; property-tested against JSON.parse). Anything else (other keys such as
// "attrs", another key order, odd spacing) takes JSON.parse.

import type { LogStream } from './events.js';

export interface RuntimeLine {
  stream: LogStream;
  /** The runtime's time text (RFC 3339); "" when not asked for (see withTime). */
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
const NEWLINE = 0x0a;
const DOCKER_HEAD = Buffer.from('{"log":"');
const DOCKER_STDOUT = Buffer.from('","stream":"stdout","time":"');
const DOCKER_STDERR = Buffer.from('","stream":"stderr","time":"');
const DOCKER_TAIL = Buffer.from('"}');
const SURROGATE = /[\uD800-\uDFFF]/;
const NO_BYTES = Buffer.alloc(0);
/** "2006-01-02T15:04:05Z" is the shortest RFC 3339 time; nanoseconds and an offset make 35. */
const TIME_MIN = 20;
const TIME_MAX = 35;

/** Two digits at `at` (callers checked `at + 1` is inside the line). */
function twoDigits(line: Buffer, at: number): boolean {
  // (b - 0x30) >>> 0 <= 9 is one comparison per byte for "is a digit".
  return (line[at]! - 0x30) >>> 0 <= 9 && (line[at + 1]! - 0x30) >>> 0 <= 9;
}

/**
 * Is line[start, end) an RFC 3339 date-time ("2024-03-15T10:20:30.123Z", "...+02:00")?
 * Runs on every CRI line: the fixed "dddd-dd-ddTdd:dd:dd" is checked by straight-line byte
 * comparisons (a table-driven loop cost ~0.1 CPU-s per million lines more, bench/lines-micro.ts).
 */
export function isRfc3339(line: Buffer, start: number, end: number): boolean {
  const len = end - start;
  if (len < TIME_MIN || len > TIME_MAX) return false;
  const s = start;
  const t = line[s + 10];
  if (
    !twoDigits(line, s) ||
    !twoDigits(line, s + 2) ||
    line[s + 4] !== 0x2d ||
    !twoDigits(line, s + 5) ||
    line[s + 7] !== 0x2d ||
    !twoDigits(line, s + 8) ||
    (t !== 0x54 && t !== 0x74) ||
    !twoDigits(line, s + 11) ||
    line[s + 13] !== 0x3a ||
    !twoDigits(line, s + 14) ||
    line[s + 16] !== 0x3a ||
    !twoDigits(line, s + 17)
  ) {
    return false;
  }
  let i = s + 19;
  if (line[i] === 0x2e) {
    const digits = ++i;
    while (i < end && (line[i]! - 0x30) >>> 0 <= 9) i++;
    if (i === digits) return false;
  }
  if (i === end - 1) return line[i] === 0x5a || line[i] === 0x7a; // Z or z
  if (i !== end - 6) return false;
  const sign = line[i];
  return (sign === 0x2b || sign === 0x2d) && twoDigits(line, i + 1) && line[i + 3] === 0x3a && twoDigits(line, i + 4);
}

/** Does `line` hold `expected` at `at`? */
function bytesAt(line: Buffer, at: number, expected: Buffer): boolean {
  // A loop, not Buffer.compare: for a few bytes the call into C++ costs more than the work.
  if (line.length < at + expected.length) return false;
  for (let k = 0; k < expected.length; k++) if (line[at + k] !== expected[k]) return false;
  return true;
}

/**
 * Where the parts of one runtime line lie in the buffer it was scanned in: filled by scanCri and
 * scanDocker, one instance reused line after line, so that a line of the usual shape costs no
 * allocation at all (no object, no view, no string) — the stage turns it into bounds.
 */
export class LineScan {
  stream: LogStream = 'stdout';
  /** A piece: the message continues in the stream's next line. */
  partial = false;
  /** The message is data[messageStart, messageEnd) (without Docker's final "\n"), unless written or decoded. */
  messageStart = 0;
  messageEnd = 0;
  /**
   * Where a Docker message with escapes is decoded to: `out` from `outAt`, which the caller
   * gives room for the line's length (decoded text is never longer than its escaped form).
   */
  out: Buffer = NO_BYTES;
  outAt = 0;
  /** Length of the message decoded to out[outAt..]; -1 when it is not there. */
  written = -1;
  /** The message as JSON.parse gave it (Docker lines not in Docker's key order); null otherwise. */
  decoded: Buffer | null = null;
  /** U+FFFD characters introduced by decoding (lone surrogate escapes). */
  replaced = 0;
  /** The runtime's time is data[timeStart, timeEnd) (RFC 3339), unless `timeText` holds it. */
  timeStart = 0;
  timeEnd = 0;
  /** The time as text when it was read through JSON.parse. */
  timeText: string | null = null;

  /** The runtime's time as text (a string made on each call: only for those who need it). */
  time(data: Buffer): string {
    return this.timeText ?? data.toString('latin1', this.timeStart, this.timeEnd);
  }

  /** The message's length in bytes. */
  get messageLength(): number {
    return this.decoded !== null ? this.decoded.length : this.written >= 0 ? this.written : this.messageEnd - this.messageStart;
  }

  /** The message as a Buffer (a view of `data` or of `out`, or the decoded buffer). */
  message(data: Buffer): Buffer {
    if (this.decoded !== null) return this.decoded;
    if (this.written >= 0) return this.out.subarray(this.outAt, this.outAt + this.written);
    return data.subarray(this.messageStart, this.messageEnd);
  }
}

/** "stdout" or "stderr" at data[at, at + 6) (callers checked they lie inside the line). */
function streamAt(data: Buffer, at: number): LogStream | null {
  if (data[at] !== 0x73 || data[at + 1] !== 0x74 || data[at + 2] !== 0x64) return null; // std
  const a = data[at + 3];
  const b = data[at + 4];
  const c = data[at + 5];
  if (a === 0x6f && b === 0x75 && c === 0x74) return 'stdout';
  if (a === 0x65 && b === 0x72 && c === 0x72) return 'stderr';
  return null;
}

/**
 * Is data[start, end) a CRI line? Fills `scan` when it is (the message bounds are inside the
 * line: an empty message, with or without its space, is messageStart === messageEnd === end).
 * Runs on every line of a CRI file: byte comparisons in place, nothing allocated.
 */
export function scanCri(data: Buffer, start: number, end: number, scan: LineScan): boolean {
  // The time runs to the first space. No byte of an RFC 3339 time's first 19 is a space, and
  // isRfc3339 refuses a space anywhere: looking from there finds the same first space.
  const limit = Math.min(end, start + TIME_MAX + 1);
  let timeEnd = start + TIME_MIN - 1;
  while (timeEnd < limit && data[timeEnd] !== SPACE) timeEnd++;
  if (timeEnd >= limit || !isRfc3339(data, start, timeEnd)) return false;
  // " stdout " / " stderr " then the tag, which must be inside the line.
  const tagStart = timeEnd + 8;
  if (tagStart >= end || data[tagStart - 1] !== SPACE) return false;
  const stream = streamAt(data, timeEnd + 1);
  if (stream === null) return false;
  // The first tag decides; later ":"-separated tags are reserved by the CRI for the future.
  const tag = data[tagStart];
  if (tag !== 0x50 && tag !== 0x46) return false;
  let tagEnd = tagStart + 1;
  if (tagEnd < end && data[tagEnd] !== SPACE) {
    if (data[tagEnd] !== 0x3a) return false;
    while (tagEnd < end && data[tagEnd] !== SPACE) tagEnd++;
  }
  scan.stream = stream;
  scan.partial = tag === 0x50;
  scan.messageStart = tagEnd < end ? tagEnd + 1 : end;
  scan.messageEnd = end;
  scan.written = -1;
  scan.decoded = null;
  scan.replaced = 0;
  scan.timeStart = start;
  scan.timeEnd = timeEnd;
  scan.timeText = null;
  return true;
}

/** Is data[start, end) a Docker json-file line? Fills `scan` when it is (see scanCri). */
export function scanDocker(data: Buffer, start: number, end: number, scan: LineScan): boolean {
  if (end - start >= DOCKER_HEAD.length && bytesAt(data, start, DOCKER_HEAD) && scanDockerFast(data, start, end, scan)) return true;
  return scanDockerObject(data.subarray(start, end), scan);
}

function runtimeLine(data: Buffer, scan: LineScan, withTime: boolean): RuntimeLine {
  return { stream: scan.stream, time: withTime ? scan.time(data) : '', partial: scan.partial, message: scan.message(data), replaced: scan.replaced };
}

/**
 * A CRI line, or null when the line is not one. The message is a view of `line`. `withTime`
 * false leaves `time` "" (checked, not decoded: a string per line is a call into C++).
 */
export function parseCriLine(line: Buffer, withTime = true): RuntimeLine | null {
  const scan = new LineScan();
  return scanCri(line, 0, line.length, scan) ? runtimeLine(line, scan, withTime) : null;
}

/** A Docker json-file line, or null when the line is not one (`withTime`: see parseCriLine). */
export function parseDockerLine(line: Buffer, withTime = true): RuntimeLine | null {
  const scan = new LineScan();
  scan.out = Buffer.allocUnsafe(line.length);
  return scanDocker(line, 0, line.length, scan) ? runtimeLine(line, scan, withTime) : null;
}

/** The usual key order and nothing else; false sends the line to JSON.parse. */
function scanDockerFast(line: Buffer, start: number, end: number, scan: LineScan): boolean {
  const open = start + DOCKER_HEAD.length;
  // One pass in JavaScript to the first quote or backslash (an indexOf is a call into C++, which
  // costs more than the few dozen bytes of a usual message).
  let i = open;
  while (i < end) {
    const c = line[i];
    if (c === QUOTE || c === BACKSLASH) break;
    i++;
  }
  // No quote at all: not terminated (JSON.parse will say so too).
  if (i === end) return false;
  let close = i;
  let written = -1;
  let viewEnd = close;
  if (line[i] === BACKSLASH) {
    if (line[i + 1] === 0x6e && line[i + 2] === QUOTE) {
      // The usual whole line: its only escape is the final "\n", and the quote after it closes
      // the string. The message stays a view.
      viewEnd = i;
      close = i + 2;
    } else {
      if (scan.out.length - scan.outAt < end - open) throw new RangeError('LineScan.out has no room for the line');
      close = decodeInto(line, open, i, end, scan.out, scan.outAt, scan);
      if (close === -1) return false;
      written = scan.written;
    }
  }
  const stream = bytesAt(line, close, DOCKER_STDOUT) ? 'stdout' : bytesAt(line, close, DOCKER_STDERR) ? 'stderr' : null;
  if (stream === null) return false;
  // The time runs to the line's final '"}' (an RFC 3339 time holds no quote).
  const timeStart = close + DOCKER_STDOUT.length;
  const timeEnd = end - DOCKER_TAIL.length;
  if (timeEnd < timeStart || line[timeEnd] !== QUOTE || line[timeEnd + 1] !== 0x7d) return false;
  if (!isRfc3339(line, timeStart, timeEnd)) return false;
  scan.stream = stream;
  scan.timeStart = timeStart;
  scan.timeEnd = timeEnd;
  scan.timeText = null;
  scan.decoded = null;
  if (written === -1) {
    scan.written = -1;
    scan.replaced = 0;
    scan.messageStart = open;
    scan.partial = viewEnd === close;
    scan.messageEnd = viewEnd;
  } else {
    scan.partial = written === 0 || scan.out[scan.outAt + written - 1] !== NEWLINE;
    scan.written = scan.partial ? written : written - 1;
  }
  return true;
}

interface DecodedString {
  bytes: Buffer;
  /** Index of the closing quote. */
  close: number;
  replaced: number;
}

/**
 * Decodes the JSON string whose content starts at `open` (just after its quote) and holds its
 * first backslash at `firstEscape`, as UTF-8 bytes (see decodeInto). Returns null for an
 * unterminated string or an escape JSON does not have.
 */
export function decodeJsonString(line: Buffer, open: number, firstEscape: number, end = line.length): DecodedString | null {
  const out = Buffer.allocUnsafe(end - open);
  const counts = { written: 0, replaced: 0 };
  const close = decodeInto(line, open, firstEscape, end, out, 0, counts);
  return close === -1 ? null : { bytes: out.subarray(0, counts.written), close, replaced: counts.replaced };
}

/**
 * Decodes the JSON string of line[open, end) whose first backslash is at `firstEscape` into
 * out[at..] (room for end - open bytes: decoded text is never longer than its escaped form),
 * in one pass of plain JavaScript, since JSON.parse and re-encoding a log line costs about three
 * times as much. Returns the index of the closing quote, with the bytes written and the U+FFFD
 * introduced (lone surrogate escapes) in `counts`; -1 for an unterminated string or an escape
 * JSON does not have (the caller then tries JSON.parse).
 */
function decodeInto(line: Buffer, open: number, firstEscape: number, end: number, out: Buffer, at: number, counts: { written: number; replaced: number }): number {
  // The bytes before the first escape, copied in JavaScript (a copy() is a call into C++).
  let w = at;
  for (let k = open; k < firstEscape; k++) out[w++] = line[k]!;
  let replaced = 0;
  let i = firstEscape;
  const n = end;
  for (;;) {
    if (i >= n) return -1;
    const c = line[i]!;
    if (c === QUOTE) break;
    if (c !== BACKSLASH) {
      out[w++] = c;
      i++;
      continue;
    }
    const e = line[i + 1];
    i += 2;
    switch (e) {
      case QUOTE:
      case BACKSLASH:
      case 0x2f: // /
        out[w++] = e;
        break;
      case 0x6e: // n
        out[w++] = NEWLINE;
        break;
      case 0x74: // t
        out[w++] = 0x09;
        break;
      case 0x72: // r
        out[w++] = 0x0d;
        break;
      case 0x62: // b
        out[w++] = 0x08;
        break;
      case 0x66: // f
        out[w++] = 0x0c;
        break;
      case 0x75: {
        // u: a UTF-16 code unit; a surrogate pair is two escapes.
        let code = hex4(line, i, n);
        if (code < 0) return -1;
        i += 4;
        if (code >= 0xd800 && code <= 0xdbff && line[i] === BACKSLASH && line[i + 1] === 0x75) {
          const low = hex4(line, i + 2, n);
          if (low >= 0xdc00 && low <= 0xdfff) {
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
            i += 6;
          }
        }
        if (code >= 0xd800 && code <= 0xdfff) {
          code = 0xfffd;
          replaced++;
        }
        w = writeUtf8(out, w, code);
        break;
      }
      default:
        return -1;
    }
  }
  counts.written = w - at;
  counts.replaced = replaced;
  return i;
}

function hex4(line: Buffer, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let value = 0;
  for (let k = at; k < at + 4; k++) {
    const h = line[k]!;
    const digit = h >= 0x30 && h <= 0x39 ? h - 0x30 : h >= 0x61 && h <= 0x66 ? h - 0x57 : h >= 0x41 && h <= 0x46 ? h - 0x37 : -1;
    if (digit < 0) return -1;
    value = (value << 4) | digit;
  }
  return value;
}

function writeUtf8(out: Buffer, w: number, code: number): number {
  if (code < 0x80) {
    out[w++] = code;
  } else if (code < 0x800) {
    out[w++] = 0xc0 | (code >> 6);
    out[w++] = 0x80 | (code & 0x3f);
  } else if (code < 0x10000) {
    out[w++] = 0xe0 | (code >> 12);
    out[w++] = 0x80 | ((code >> 6) & 0x3f);
    out[w++] = 0x80 | (code & 0x3f);
  } else {
    out[w++] = 0xf0 | (code >> 18);
    out[w++] = 0x80 | ((code >> 12) & 0x3f);
    out[w++] = 0x80 | ((code >> 6) & 0x3f);
    out[w++] = 0x80 | (code & 0x3f);
  }
  return w;
}

/** Any other JSON object with the three keys: through JSON.parse (the message re-encoded). */
function scanDockerObject(line: Buffer, scan: LineScan): boolean {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const { log, stream, time } = value as Record<string, unknown>;
  if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr') || typeof time !== 'string') return false;
  const partial = !log.endsWith('\n');
  const text = partial ? log : log.slice(0, -1);
  scan.stream = stream;
  scan.partial = partial;
  scan.written = -1;
  scan.decoded = Buffer.from(text, 'utf8');
  scan.messageStart = 0;
  scan.messageEnd = 0;
  scan.replaced = SURROGATE.test(text) ? loneSurrogates(text) : 0;
  scan.timeText = time;
  scan.timeStart = 0;
  scan.timeEnd = 0;
  return true;
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

/**
 * The runtime's time as a UTC timestamp for the json envelope's "@timestamp": "Z" times are
 * returned as written (nanoseconds kept); a time with an offset (CRI-O writes local time,
 * "+02:00") is moved to UTC with its fraction kept. `time` must be RFC 3339 (as parsed here).
 */
export function utcTimestamp(time: string): string {
  const last = time.charCodeAt(time.length - 1);
  if (last === 0x5a) return time; // Z
  if (last === 0x7a) return `${time.slice(0, -1).replace('t', 'T')}Z`;
  const offsetAt = time.length - 6;
  const sign = time[offsetAt] === '-' ? -1 : 1;
  const offsetMinutes = sign * (Number(time.slice(offsetAt + 1, offsetAt + 3)) * 60 + Number(time.slice(offsetAt + 4, offsetAt + 6)));
  const dot = time.indexOf('.', 19);
  const fraction = dot === -1 || dot > offsetAt ? '' : time.slice(dot, offsetAt);
  const wholeSeconds = Date.parse(`${time.slice(0, 19).replace('t', 'T')}Z`) - offsetMinutes * 60_000;
  return `${new Date(wholeSeconds).toISOString().slice(0, 19)}${fraction}Z`;
}
