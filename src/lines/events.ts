// The vocabulary of line processing (src/lines): flags, streams, and the struct-of-arrays
// shapes that stages read and write. Lines come in as the tailer frames them (bytes, the file
// offset just after each, sparse flags) and leave as events: a message, where it starts, the
// offset a reader may commit once it is shipped, its flags, stream and runtime time.
// Nothing here imports the tailer: the shapes are structural (the line pipeline hands the
// container parser its framed lines as a FramedInput of views).

/**
 * Flag bits. Split, Partial, Replaced and Multiline have the values of the tailer's LineFlag,
 * so a line's flags pass through a stage unchanged; the others are added by src/lines.
 */
export const EventFlag = {
  None: 0,
  /** A piece of an event longer than max_line_bytes (all but the last piece carry it). */
  Split: 1,
  /** Emitted before its end was seen (partial_line_timeout, or the file ended mid-event). */
  Partial: 2,
  /** Bytes invalid for the encoding (or a lone surrogate in a JSON escape) became U+FFFD. */
  Replaced: 4,
  /** Several lines joined by multiline.start. */
  Multiline: 8,
  /** Not in the input's container format: shipped as the raw line. */
  Malformed: 16,
  /** Joined from several runtime pieces (CRI "P" lines, docker 16 KiB pieces). */
  Joined: 32,
} as const;

/** An OR of EventFlag bits. */
export type EventFlags = number;

export type LogStream = 'stdout' | 'stderr';

/**
 * Framed lines of one file as the container parser takes them — the tailer's FramedLines, read
 * structurally: line i is bounds[2i + 1] bytes at bounds[2i] of `parts` taken as one run (a line
 * never spans two parts).
 */
export interface FramedInput {
  readonly parts: readonly Buffer[];
  readonly bounds: readonly number[];
  /** File offset just after each line (after its newline; mid-line for a Split piece). */
  readonly ends: readonly number[];
  /** Sparse: undefined is EventFlag.None. */
  readonly flags: readonly (EventFlags | undefined)[];
  /** Every line lies in these bytes, cut at newlines only (see FramedLines.whole): a decoder may check them at once. */
  readonly whole?: Buffer | undefined;
}

/**
 * Events of container log lines, in struct-of-arrays form (one array per field, one index
 * per event), so parsing allocates nothing per event but what the event needs. The messages
 * are in the tailer's FramedLines form: event i's message is bounds[2i + 1] bytes at bounds[2i]
 * of `parts` taken as one run. A message that is a view of its line lies in the read's own
 * part (nothing copied); those the stage made lie in one part of their own (`made`).
 */
export interface ContainerEvents {
  parts: Buffer[];
  /** Bytes of all parts. */
  size: number;
  bounds: number[];
  /** File offset of the first byte of the event's first line (its envelope "offset"). */
  starts: number[];
  /**
   * The offset a reader may commit once this event and all before it are acknowledged: never
   * inside an event still being joined, so a restart neither splits nor repeats one.
   * Non-decreasing; usually the end of the event's last line, lower when another stream's
   * event was still open when this one completed (see ContainerLogParser).
   */
  ends: number[];
  /** Sparse: undefined is EventFlag.None. */
  flags: (EventFlags | undefined)[];
  /** null for a malformed line. */
  streams: (LogStream | null)[];
  /** The runtime's RFC 3339 time, as written ("" when not asked for); null for a malformed line. */
  times: (string | null)[];
  /**
   * Every message not in `made` lies in this buffer, a read the framer cut at newlines only
   * (the input's `whole`; the wrappers end and start at ASCII bytes), so a decoder may check it
   * once. undefined: no such message yet; null: some lie elsewhere (check every message).
   */
  whole: Buffer | null | undefined;
  /**
   * The part holding the messages the stage made (joined pieces, decoded escapes, held
   * events), each followed by a newline, so it may be checked at once too. undefined: none
   * made; null: in several parts (events pushed into one output several times).
   */
  made: Buffer | null | undefined;
}

export function emptyEvents(): ContainerEvents {
  return { parts: [], size: 0, bounds: [], starts: [], ends: [], flags: [], streams: [], times: [], whole: undefined, made: undefined };
}

/** Event i's message (a view, no copy): for tests and tools; the pipeline uses the bounds. */
export function eventMessage(events: Pick<ContainerEvents, 'parts' | 'bounds'>, i: number): Buffer {
  let start = events.bounds[2 * i]!;
  const length = events.bounds[2 * i + 1]!;
  for (const part of events.parts) {
    if (start + length <= part.length) return part.subarray(start, start + length);
    start -= part.length;
  }
  throw new RangeError(`event ${i} lies outside its parts`);
}

/** Every event's message (views, see eventMessage). */
export function eventMessages(events: Pick<ContainerEvents, 'parts' | 'bounds'>): Buffer[] {
  const out = new Array<Buffer>(events.bounds.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = eventMessage(events, i);
  return out;
}
