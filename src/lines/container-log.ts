// ContainerLogParser: the stage that turns framed lines of a container log file into events
// (CRI or Docker json-file, see container-formats.ts), like MultilineJoiner turns lines into
// multiline events. One instance per followed file; it keeps its state across reads, so a "P"
// piece at the end of one read is joined with its "F" line in the next.
//
// Where it sits: frame -> ContainerLogParser -> decode -> (multiline) -> filters -> ship.
// Before the UTF-8 check, not after: containerd cuts long lines into P pieces by bytes, so a
// character may straddle a P and its F; checked per framed line it would become two U+FFFD,
// checked once joined it is whole again. The parser works on bytes (the wrappers are ASCII).
//
// Offsets. An event's end is the end of its last ("F") line; but a reader must never commit an
// offset between a piece and the line that completes it, or a restart would ship the event's
// tail alone (and its head twice, if the head was shipped). The parser therefore reports
// `committableOffset`: the end of what it consumed, or the start of the earliest event still
// being joined, whichever is lower. The reader uses it as its batch's end offset (in place of
// the framer's position); when no event completed in a read, it has nothing to ship and its
// offset does not move.
//
// Interleaved streams. stdout and stderr share one file, and each joins its own pieces: a
// stderr line may sit between a stdout "P" and its "F". Such an event is held back until no
// event is open, then released with the one that completed: a clean stop between the "P" and
// the "F" commits only what precedes the "P", and the restart ships both events once. Each
// event's `ends[i]` is the committable offset as of that event, so it may be lower than the
// event's own last line (see ContainerEvents.ends). Held events are bounded by max bytes: past
// it they are released (a crash in that window may then repeat them, never lose them).
//
// Size. An event is bounded by maxEventBytes (max_line_bytes): above it, it leaves in pieces
// flagged Split (all but the last), cut between UTF-8 characters, counted once per event. A
// piece's committable offset is the start of the line holding its first unshipped byte, so a
// crash mid-event repeats at most one runtime line's worth of bytes.
//
// A line the tailer had to cut (longer than its max_line_bytes, flagged Split) is reassembled
// up to maxRawLineBytes before parsing; a longer one is shipped raw, flagged Malformed.
// A line in neither format is shipped as it is, flagged Malformed and counted, never dropped.
// `auto` takes the format of the first line that is CRI or Docker and keeps it for the file.

import type { ContainerParser } from '../config/types.js';
import { LineScan, scanCri, scanDocker } from './container-formats.js';
import { EventFlag, type ContainerEvents, type EventFlags, type FramedInput, type LogStream } from './events.js';
import type { ContainerLogCounters } from './stats.js';

export type ContainerFormat = 'cri' | 'docker';

/** An event whose pieces are still arriving. */
class OpenEvent {
  chunks: Buffer[] = [];
  bytes = 0;
  pieces = 0;
  flags: EventFlags = EventFlag.None;
  /** Already cut at maxEventBytes (counted once). */
  cut = false;

  constructor(
    readonly stream: LogStream,
    readonly time: string,
    /** Start of the line holding the first byte not yet emitted: where a restart must read from. */
    public start: number,
  ) {}

  take(): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    return joined;
  }
}

/** Events completed while another was open, waiting for it (see the header). */
interface HeldEvents {
  lines: Buffer[];
  starts: number[];
  ends: number[];
  flags: EventFlags[];
  streams: (LogStream | null)[];
  times: (string | null)[];
}

function noHeldEvents(): HeldEvents {
  return { lines: [], starts: [], ends: [], flags: [], streams: [], times: [] };
}

/** A line the tailer cut into pieces, being put back together. */
interface RawLine {
  pieces: Buffer[];
  bytes: number;
  start: number;
  flags: EventFlags;
  /** Grew past maxRawLineBytes: its pieces are being passed through raw. */
  passing: boolean;
}

export interface ContainerLogParserOptions {
  /** max_line_bytes: events above it leave in Split pieces. */
  maxEventBytes: number;
  /** File offset of the first line that will be pushed (where reading starts). */
  position: number;
  /** Longest tailer-cut line put back together before parsing; default max(2 x maxEventBytes, 256 KiB). */
  maxRawLineBytes?: number;
  /**
   * Keep the runtime's time of each event (default true). Only the json envelope uses it;
   * without, events' times are "" and no string is made per line.
   */
  times?: boolean;
}

const NO_OPEN = { stdout: null, stderr: null };
const NO_BYTES = Buffer.alloc(0);
const NEWLINE = 0x0a;
/** Smallest buffer for made messages (a larger one when a push is expected to make more). */
const MADE_BYTES = 16 * 1024;

/**
 * The messages the stage makes itself (joined pieces, decoded Docker escapes, lines put back
 * together, held events), written back to back, each followed by a newline, into one buffer
 * per push that becomes one part of its events: no event costs a buffer or a part of its own,
 * and the decoder checks the part at once (the newlines keep a character from straddling two
 * messages). The next push goes on in the same buffer when it is the smallest (joined CRI
 * events: a few per read); a larger one is let go once handed over, so an idle file keeps at
 * most MADE_BYTES.
 */
class MadeBytes {
  private buffer: Buffer = NO_BYTES;
  /** Bytes of `buffer` written (handed out or pending). */
  private used = 0;
  /** Where this push's bytes start: the events' bounds are relative to it until sealed. */
  private from = 0;
  /** This push's events whose message is here (their bounds are relative to `from`). */
  private events: number[] = [];
  /** Size for the next buffer: what the push under way may make (Docker: most of its input). */
  private expected = 0;

  /** The push under way may make up to `bytes`: the next buffer is made that large. */
  expect(bytes: number): void {
    this.expected = bytes;
  }

  /** A buffer with room for `n` bytes and a newline at writeAt; the buffer returned is where they go. */
  room(n: number): Buffer {
    if (this.buffer.length - this.used > n) return this.buffer;
    // This push's bytes move to a new buffer (their bounds are relative); bytes handed out
    // before stay where views of them point.
    const pending = this.used - this.from;
    const next = Buffer.allocUnsafe(Math.max(MADE_BYTES, this.expected + 1, 2 * (pending + n + 1)));
    this.buffer.copy(next, 0, this.from, this.used);
    this.buffer = next;
    this.from = 0;
    this.used = pending;
    this.expected = 0;
    return next;
  }

  /** Where room() puts the next bytes in its buffer. */
  get writeAt(): number {
    return this.used;
  }

  /** The `n` bytes written at writeAt are a message: ends it with a newline; returns where it starts (relative). */
  commit(n: number): number {
    const at = this.used - this.from;
    this.buffer[this.used + n] = NEWLINE;
    this.used += n + 1;
    return at;
  }

  /** Copies `bytes` in; returns where they start (relative). */
  write(bytes: Buffer): number {
    const buffer = this.room(bytes.length);
    bytes.copy(buffer, this.used);
    return this.commit(bytes.length);
  }

  /** A view of committed bytes at `at` (relative), which nothing writes over. */
  view(at: number, n: number): Buffer {
    return this.buffer.subarray(this.from + at, this.from + at + n);
  }

  /** Event `index` of the events being pushed has its message here. */
  addEvent(index: number): void {
    this.events.push(index);
  }

  /** Hands this push's messages to `out` as one part (bounds made absolute). */
  seal(out: ContainerEvents): void {
    this.expected = 0;
    if (this.events.length === 0) {
      // Only pieces of open events (which hold views of them): no part; the next push goes on.
      this.from = this.used;
      return;
    }
    const part = this.buffer.subarray(this.from, this.used);
    const base = out.size;
    out.parts.push(part);
    out.size += part.length;
    for (const i of this.events) out.bounds[2 * i] += base;
    out.made = out.made === undefined ? part : null;
    this.events = [];
    if (this.buffer.length > MADE_BYTES) {
      this.buffer = NO_BYTES;
      this.used = 0;
    }
    this.from = this.used;
  }
}

export class ContainerLogParser {
  private decided: ContainerFormat | null;
  private position: number;
  private readonly maxEventBytes: number;
  private readonly maxRawLineBytes: number;
  private readonly withTimes: boolean;
  /** The line being looked at, taken apart (one instance for every line). */
  private readonly scan = new LineScan();
  private readonly made = new MadeBytes();
  /** The lines being pushed, and where their parts start in the events out (-1: not added yet). */
  private input: FramedInput | null = null;
  private inputBase = -1;
  private open: { stdout: OpenEvent | null; stderr: OpenEvent | null } = { ...NO_OPEN };
  private raw: RawLine | null = null;
  private held: HeldEvents = noHeldEvents();
  private heldBytes = 0;
  /** Lowest start of the held events (Infinity when none). */
  private heldFrom = Infinity;

  constructor(
    mode: Exclude<ContainerParser, 'none'>,
    options: ContainerLogParserOptions,
    private readonly counters: ContainerLogCounters,
  ) {
    if (options.maxEventBytes < 4) throw new RangeError('maxEventBytes must be at least 4 (one UTF-8 character)');
    this.decided = mode === 'auto' ? null : mode;
    this.position = options.position;
    this.maxEventBytes = options.maxEventBytes;
    this.maxRawLineBytes = options.maxRawLineBytes ?? Math.max(2 * options.maxEventBytes, 256 * 1024);
    this.withTimes = options.times ?? true;
  }

  /** The file's format: fixed by the mode, or by the first well-formed line under `auto` (null until then). */
  get format(): ContainerFormat | null {
    return this.decided;
  }

  /** Something was consumed that has not been emitted yet. */
  get hasPending(): boolean {
    return this.open.stdout !== null || this.open.stderr !== null || this.raw !== null || this.held.lines.length > 0;
  }

  /**
   * Whether something pending here (an open event's pieces, a cut line's pieces, held events)
   * is a view of `memory`: the buffer of a read the caller would otherwise reuse.
   */
  viewsMemory(memory: ArrayBufferLike): boolean {
    const inside = (views: readonly Buffer[]): boolean => views.some((v) => v.buffer === memory);
    const { stdout, stderr } = this.open;
    return (stdout !== null && inside(stdout.chunks)) || (stderr !== null && inside(stderr.chunks)) || (this.raw !== null && inside(this.raw.pieces)) || inside(this.held.lines);
  }

  /**
   * The highest offset a reader may commit once everything emitted so far is acknowledged:
   * restarting there neither repeats nor loses an event.
   */
  get committableOffset(): number {
    // Held events are not shipped yet: a restart must read them again.
    return Math.min(this.safeOffset(), this.heldFrom);
  }

  /** Feeds framed lines (those starting at the parser's position); appends complete events to `out`. */
  push(input: FramedInput, out: ContainerEvents): void {
    const { parts, bounds, ends, flags } = input;
    this.input = input;
    this.inputBase = -1;
    // Docker messages with escapes (most, with quotes in them) are made: about the input's size.
    if (this.decided !== 'cri') {
      let size = 0;
      for (const part of parts) size += part.length;
      this.made.expect(size);
    }
    // The part holding the current line: lines come in order, a cursor finds it.
    let part = 0;
    let partStart = 0;
    let data = parts[0] ?? NO_BYTES;
    let partEnd = data.length;
    for (let i = 0; i < ends.length; i++) {
      const at = bounds[2 * i]!;
      const length = bounds[2 * i + 1]!;
      if (at < partStart) {
        part = 0;
        partStart = 0;
        data = parts[0]!;
        partEnd = data.length;
      }
      while (at + length > partEnd && part < parts.length - 1) {
        partStart = partEnd;
        data = parts[++part]!;
        partEnd += data.length;
      }
      const from = at - partStart;
      const start = this.position;
      this.position = ends[i]!;
      const flag = flags[i] ?? EventFlag.None;
      if (this.raw !== null || (flag & EventFlag.Split) !== 0) this.pushPiece(data.subarray(from, from + length), start, flag, out);
      else this.consume(data, from, from + length, at, start, flag, out);
    }
    this.input = null;
    if (this.held.lines.length > 0 && !this.anyOpen()) this.release(out);
    this.made.seal(out);
  }

  /**
   * Emits everything pending, flagged Partial: the file ended (rotated or removed and read
   * to its end) or stayed quiet past partial_line_timeout. Returns whether anything left.
   */
  flush(out: ContainerEvents): boolean {
    const before = out.ends.length;
    if (this.raw !== null) {
      const raw = this.raw;
      this.raw = null;
      if (!raw.passing) {
        this.counters.lineMalformed();
        this.produce(Buffer.concat(raw.pieces, raw.bytes), raw.start, raw.flags | EventFlag.Malformed | EventFlag.Partial, null, null, out);
      }
    }
    const open = [this.open.stdout, this.open.stderr].filter((e): e is OpenEvent => e !== null).sort((a, b) => a.start - b.start);
    for (const event of open) {
      this.open[event.stream] = null;
      this.counters.partialEventFlushed();
      this.emitOpen(event, EventFlag.Partial, out);
    }
    this.release(out);
    this.made.seal(out);
    return out.ends.length > before;
  }

  /** Forgets everything pending (the file was truncated; flush first to keep it). */
  reset(position: number): void {
    this.position = position;
    this.open = { ...NO_OPEN };
    this.raw = null;
    this.held = noHeldEvents();
    this.heldBytes = 0;
    this.heldFrom = Infinity;
  }

  // -------------------------------------------------------------------------------------------

  private anyOpen(): boolean {
    return this.open.stdout !== null || this.open.stderr !== null || (this.raw !== null && !this.raw.passing);
  }

  private safeOffset(): number {
    let safe = this.position;
    if (this.raw !== null && !this.raw.passing) safe = Math.min(safe, this.raw.start);
    if (this.open.stdout !== null) safe = Math.min(safe, this.open.stdout.start);
    if (this.open.stderr !== null) safe = Math.min(safe, this.open.stderr.start);
    return safe;
  }

  /** A piece of a line the tailer cut at its max_line_bytes. */
  private pushPiece(piece: Buffer, start: number, flag: EventFlags, out: ContainerEvents): void {
    const last = (flag & EventFlag.Split) === 0;
    let raw = this.raw;
    if (raw === null) raw = this.raw = { pieces: [], bytes: 0, start, flags: EventFlag.None, passing: false };
    if (!raw.passing && raw.bytes + piece.length > this.maxRawLineBytes) {
      // Too long to parse: what was gathered and the rest of the line go as they are.
      raw.passing = true;
      this.counters.lineMalformed();
      let pieceStart = raw.start;
      for (const gathered of raw.pieces) {
        this.produce(gathered, pieceStart, EventFlag.Split | EventFlag.Malformed, null, null, out, pieceStart + gathered.length);
        pieceStart += gathered.length;
      }
      raw.pieces = [];
    }
    if (raw.passing) {
      if (last) this.raw = null;
      this.produce(piece, start, flag | EventFlag.Malformed, null, null, out);
      return;
    }
    raw.pieces.push(piece);
    raw.bytes += piece.length;
    raw.flags |= flag & ~EventFlag.Split;
    if (!last) return;
    this.raw = null;
    const line = Buffer.concat(raw.pieces, raw.bytes);
    this.consume(line, 0, line.length, -1, raw.start, raw.flags, out);
  }

  /**
   * One whole line of the file: data[from, to), at `at` in the input's parts (-1: a line put
   * back together, in a buffer of its own), starting at file offset `start`.
   */
  private consume(data: Buffer, from: number, to: number, at: number, start: number, flag: EventFlags, out: ContainerEvents): void {
    const scan = this.scan;
    if (this.decided !== 'cri') {
      // A Docker message with escapes is decoded straight into the made bytes.
      scan.out = this.made.room(to - from);
      scan.outAt = this.made.writeAt;
    }
    if (!this.scanLine(data, from, to)) {
      this.counters.lineMalformed();
      this.produceLine(data, from, to, at, start, flag | EventFlag.Malformed, null, null, out);
      return;
    }
    if (scan.replaced > 0) {
      this.counters.escapesReplaced(scan.replaced);
      flag |= EventFlag.Replaced;
    }
    const stream = scan.stream;
    const length = scan.messageLength;
    // Decoded bytes are kept (an event or a piece of one points at them).
    const madeAt = scan.written >= 0 ? this.made.commit(scan.written) : -1;
    let event = this.open[stream];
    if (event === null) {
      const time = this.withTimes ? scan.time(data) : '';
      // The common case: a whole line, alone, of a sensible size: its message as it lies.
      if (!scan.partial && length <= this.maxEventBytes) {
        if (madeAt >= 0) this.produceMade(madeAt, length, start, flag, stream, time, out);
        else if (scan.decoded !== null) this.produce(scan.decoded, start, flag, stream, time, out);
        else this.produceLine(data, scan.messageStart, scan.messageEnd, at < 0 ? -1 : at + (scan.messageStart - from), start, flag, stream, time, out);
        return;
      }
      event = this.open[stream] = new OpenEvent(stream, time, start);
    }
    this.append(event, madeAt >= 0 ? this.made.view(madeAt, length) : scan.message(data), start, flag, out);
    if (!scan.partial) {
      this.open[stream] = null;
      this.emitOpen(event, EventFlag.None, out);
    }
  }

  /** Takes data[from, to) apart into `this.scan` in the file's format (deciding it under `auto`). */
  private scanLine(data: Buffer, from: number, to: number): boolean {
    switch (this.decided) {
      case 'cri':
        return scanCri(data, from, to, this.scan);
      case 'docker':
        return scanDocker(data, from, to, this.scan);
      case null: {
        if (data[from] === 0x7b && scanDocker(data, from, to, this.scan)) {
          this.decided = 'docker';
          return true;
        }
        if (!scanCri(data, from, to, this.scan)) return false;
        this.decided = 'cri';
        return true;
      }
    }
  }

  /** Adds a piece's message to an open event, emitting Split pieces whenever it outgrows the bound. */
  private append(event: OpenEvent, message: Buffer, lineStart: number, flag: EventFlags, out: ContainerEvents): void {
    event.pieces++;
    event.flags |= flag;
    let rest = message;
    while (event.bytes + rest.length > this.maxEventBytes) {
      const room = this.maxEventBytes - event.bytes;
      let take = utf8Boundary(rest, room);
      if (take === 0 && event.bytes === 0) take = room;
      if (take > 0) event.chunks.push(rest.subarray(0, take));
      event.bytes += take;
      rest = rest.subarray(take);
      const pieceStart = event.start;
      const piece = event.take();
      // The rest of this line's message is not shipped yet: a restart reads this line again.
      event.start = rest.length > 0 ? lineStart : this.position;
      if (!event.cut) this.counters.eventSplit();
      event.cut = true;
      const joined = event.pieces > 1 ? EventFlag.Joined : EventFlag.None;
      this.produce(piece, pieceStart, event.flags | joined | EventFlag.Split, event.stream, event.time, out);
    }
    if (rest.length > 0) {
      event.chunks.push(rest);
      event.bytes += rest.length;
    }
  }

  private emitOpen(event: OpenEvent, extra: EventFlags, out: ContainerEvents): void {
    if (event.pieces > 1) this.counters.eventJoined();
    const joined = event.pieces > 1 ? EventFlag.Joined : EventFlag.None;
    this.produce(event.take(), event.start, event.flags | joined | extra, event.stream, event.time, out);
  }

  /**
   * Emits data[from, to) as an event, as produce does; at `at` in the input's parts, it leaves as
   * bounds into the read (-1: a buffer of its own, copied into the events).
   */
  private produceLine(data: Buffer, from: number, to: number, at: number, start: number, flags: EventFlags, stream: LogStream | null, time: string | null, out: ContainerEvents): void {
    if (at < 0 || this.anyOpen()) {
      this.produce(data.subarray(from, to), start, flags, stream, time, out);
      return;
    }
    if (this.held.lines.length > 0) this.release(out);
    const input = this.input!;
    if (this.inputBase < 0) {
      // The first view of this input: its parts join the events' (the read itself, no copy).
      this.inputBase = out.size;
      for (const part of input.parts) {
        out.parts.push(part);
        out.size += part.length;
      }
      const whole = input.whole ?? null;
      if (out.whole === undefined) out.whole = whole;
      else if (out.whole !== whole) out.whole = null;
    }
    const i = out.ends.length;
    out.bounds.push(this.inputBase + at, to - from);
    out.starts.push(start);
    out.ends.push(this.safeOffset());
    if (flags !== EventFlag.None) out.flags[i] = flags;
    out.streams.push(stream);
    out.times.push(time);
  }

  /** Emits an event whose message is made bytes at `madeAt` (see produce). */
  private produceMade(madeAt: number, length: number, start: number, flags: EventFlags, stream: LogStream | null, time: string | null, out: ContainerEvents): void {
    if (this.anyOpen()) {
      this.produce(this.made.view(madeAt, length), start, flags, stream, time, out);
      return;
    }
    if (this.held.lines.length > 0) this.release(out);
    this.appendMade(out, madeAt, length, start, this.safeOffset(), flags, stream, time);
  }

  /** Appends an event whose message is made bytes at `madeAt` (relative until sealed). */
  private appendMade(out: ContainerEvents, madeAt: number, length: number, start: number, end: number, flags: EventFlags, stream: LogStream | null, time: string | null): void {
    const i = out.ends.length;
    out.bounds.push(madeAt, length);
    this.made.addEvent(i);
    out.starts.push(start);
    out.ends.push(end);
    if (flags !== EventFlag.None) out.flags[i] = flags;
    out.streams.push(stream);
    out.times.push(time);
  }

  /** Emits an event (its message copied into the made bytes), or holds it while another is open (see the header). */
  private produce(
    line: Buffer,
    start: number,
    flags: EventFlags,
    stream: LogStream | null,
    time: string | null,
    out: ContainerEvents,
    /** Where the event's bytes end, when before the position (pieces gathered from earlier reads). */
    upTo = Infinity,
  ): void {
    const end = Math.min(this.safeOffset(), upTo);
    if (!this.anyOpen()) {
      if (this.held.lines.length > 0) this.release(out);
      this.appendMade(out, this.made.write(line), line.length, start, end, flags, stream, time);
      return;
    }
    const held = this.held;
    held.lines.push(line);
    held.starts.push(start);
    held.ends.push(end);
    held.flags.push(flags);
    held.streams.push(stream);
    held.times.push(time);
    this.heldBytes += line.length;
    this.heldFrom = Math.min(this.heldFrom, start);
    if (this.heldBytes > this.maxEventBytes) this.release(out);
  }

  private release(out: ContainerEvents): void {
    const held = this.held;
    for (let i = 0; i < held.lines.length; i++) {
      const line = held.lines[i]!;
      this.appendMade(out, this.made.write(line), line.length, held.starts[i]!, held.ends[i]!, held.flags[i]!, held.streams[i]!, held.times[i]!);
    }
    this.held = noHeldEvents();
    this.heldBytes = 0;
    this.heldFrom = Infinity;
  }
}

/** The longest prefix of `bytes` of at most `room` bytes that does not end inside a UTF-8 character. */
export function utf8Boundary(bytes: Buffer, room: number): number {
  if (room >= bytes.length) return bytes.length;
  let back = 0;
  while (back < 3 && back < room && (bytes[room - back]! & 0xc0) === 0x80) back++;
  // Four continuation bytes in a row are not UTF-8: any cut is as good as another.
  return (bytes[room - back]! & 0xc0) === 0x80 ? room : room - back;
}
