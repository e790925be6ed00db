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
import { parseCriLine, parseDockerLine, type RuntimeLine } from './container-formats.js';
import { EventFlag, emptyEvents, type ContainerEvents, type EventFlags, type FramedInput, type LogStream } from './events.js';

export type ContainerFormat = 'cri' | 'docker';

/** Counters the parser keeps (plain numbers; the caller exposes them per input). */
export interface ContainerLogStats {
  /** Lines in neither format, shipped raw. */
  malformedLines: number;
  /** Events joined from two or more runtime pieces. */
  joinedEvents: number;
  /** Events longer than maxEventBytes, shipped in pieces. */
  splitEvents: number;
  /** Events emitted before their end was seen (flush). */
  partialEvents: number;
  /** U+FFFD characters introduced by decoding JSON escapes. */
  replacedChars: number;
}

export function emptyContainerLogStats(): ContainerLogStats {
  return { malformedLines: 0, joinedEvents: 0, splitEvents: 0, partialEvents: 0, replacedChars: 0 };
}

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

export class ContainerLogParser {
  private decided: ContainerFormat | null;
  private position: number;
  private readonly maxEventBytes: number;
  private readonly maxRawLineBytes: number;
  private readonly withTimes: boolean;
  private open: { stdout: OpenEvent | null; stderr: OpenEvent | null } = { ...NO_OPEN };
  private raw: RawLine | null = null;
  private held: ContainerEvents = emptyEvents();
  private heldBytes = 0;
  /** Lowest start of the held events (Infinity when none). */
  private heldFrom = Infinity;

  constructor(
    mode: Exclude<ContainerParser, 'none'>,
    options: ContainerLogParserOptions,
    private readonly stats: ContainerLogStats,
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
   * The highest offset a reader may commit once everything emitted so far is acknowledged:
   * restarting there neither repeats nor loses an event.
   */
  get committableOffset(): number {
    // Held events are not shipped yet: a restart must read them again.
    return Math.min(this.safeOffset(), this.heldFrom);
  }

  /** Feeds framed lines (those starting at the parser's position); appends complete events to `out`. */
  push(input: FramedInput, out: ContainerEvents): void {
    const { lines, ends, flags } = input;
    for (let i = 0; i < lines.length; i++) {
      const start = this.position;
      this.position = ends[i]!;
      const flag = flags[i] ?? EventFlag.None;
      if (this.raw !== null || (flag & EventFlag.Split) !== 0) this.pushPiece(lines[i]!, start, flag, out);
      else this.consume(lines[i]!, start, flag, out);
    }
    if (this.held.lines.length > 0 && !this.anyOpen()) this.release(out);
  }

  /**
   * Emits everything pending, flagged Partial: the file ended (rotated or removed and read
   * to its end) or stayed quiet past partial_line_timeout. Returns whether anything left.
   */
  flush(out: ContainerEvents): boolean {
    const before = out.lines.length;
    if (this.raw !== null) {
      const raw = this.raw;
      this.raw = null;
      if (!raw.passing) {
        this.stats.malformedLines++;
        this.produce(Buffer.concat(raw.pieces, raw.bytes), raw.start, raw.flags | EventFlag.Malformed | EventFlag.Partial, null, null, out);
      }
    }
    const open = [this.open.stdout, this.open.stderr].filter((e): e is OpenEvent => e !== null).sort((a, b) => a.start - b.start);
    for (const event of open) {
      this.open[event.stream] = null;
      this.stats.partialEvents++;
      this.emitOpen(event, EventFlag.Partial, out);
    }
    this.release(out);
    return out.lines.length > before;
  }

  /** Forgets everything pending (the file was truncated; flush first to keep it). */
  reset(position: number): void {
    this.position = position;
    this.open = { ...NO_OPEN };
    this.raw = null;
    this.held = emptyEvents();
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
      this.stats.malformedLines++;
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
    this.consume(Buffer.concat(raw.pieces, raw.bytes), raw.start, raw.flags, out);
  }

  /** One whole line of the file. */
  private consume(line: Buffer, start: number, flag: EventFlags, out: ContainerEvents): void {
    const parsed = this.parse(line);
    if (parsed === null) {
      this.stats.malformedLines++;
      this.produce(line, start, flag | EventFlag.Malformed, null, null, out);
      return;
    }
    if (parsed.replaced > 0) {
      this.stats.replacedChars += parsed.replaced;
      flag |= EventFlag.Replaced;
    }
    let event = this.open[parsed.stream];
    if (event === null) {
      // The common case: a whole line, alone, of a sensible size. The message is a view of it.
      if (!parsed.partial && parsed.message.length <= this.maxEventBytes) {
        this.produce(parsed.message, start, flag, parsed.stream, parsed.time, out);
        return;
      }
      event = this.open[parsed.stream] = new OpenEvent(parsed.stream, parsed.time, start);
    }
    this.append(event, parsed.message, start, flag, out);
    if (!parsed.partial) {
      this.open[parsed.stream] = null;
      this.emitOpen(event, EventFlag.None, out);
    }
  }

  private parse(line: Buffer): RuntimeLine | null {
    switch (this.decided) {
      case 'cri':
        return parseCriLine(line, this.withTimes);
      case 'docker':
        return parseDockerLine(line, this.withTimes);
      case null: {
        const docker = line[0] === 0x7b ? parseDockerLine(line, this.withTimes) : null;
        if (docker !== null) {
          this.decided = 'docker';
          return docker;
        }
        const cri = parseCriLine(line, this.withTimes);
        if (cri !== null) this.decided = 'cri';
        return cri;
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
      if (!event.cut) this.stats.splitEvents++;
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
    if (event.pieces > 1) this.stats.joinedEvents++;
    const joined = event.pieces > 1 ? EventFlag.Joined : EventFlag.None;
    this.produce(event.take(), event.start, event.flags | joined | extra, event.stream, event.time, out);
  }

  /** Emits an event, or holds it while another is open (see the header). */
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
      append(out, line, start, end, flags, stream, time);
      return;
    }
    append(this.held, line, start, end, flags, stream, time);
    this.heldBytes += line.length;
    this.heldFrom = Math.min(this.heldFrom, start);
    if (this.heldBytes > this.maxEventBytes) this.release(out);
  }

  private release(out: ContainerEvents): void {
    const held = this.held;
    for (let i = 0; i < held.lines.length; i++) {
      append(out, held.lines[i]!, held.starts[i]!, held.ends[i]!, held.flags[i] ?? EventFlag.None, held.streams[i]!, held.times[i]!);
    }
    this.held = emptyEvents();
    this.heldBytes = 0;
    this.heldFrom = Infinity;
  }
}

function append(out: ContainerEvents, line: Buffer, start: number, end: number, flags: EventFlags, stream: LogStream | null, time: string | null): void {
  const i = out.lines.length;
  out.lines.push(line);
  out.starts.push(start);
  out.ends.push(end);
  if (flags !== EventFlag.None) out.flags[i] = flags;
  out.streams.push(stream);
  out.times.push(time);
}

/** The longest prefix of `bytes` of at most `room` bytes that does not end inside a UTF-8 character. */
export function utf8Boundary(bytes: Buffer, room: number): number {
  if (room >= bytes.length) return bytes.length;
  let back = 0;
  while (back < 3 && back < room && (bytes[room - back]! & 0xc0) === 0x80) back++;
  // Four continuation bytes in a row are not UTF-8: any cut is as good as another.
  return (bytes[room - back]! & 0xc0) === 0x80 ? room : room - back;
}
