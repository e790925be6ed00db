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

/** Framed lines of one file as the container parser takes them: one view per line. */
export interface FramedInput {
  readonly lines: readonly Buffer[];
  /** File offset just after each line (after its newline; mid-line for a Split piece). */
  readonly ends: readonly number[];
  /** Sparse: undefined is EventFlag.None. */
  readonly flags: readonly (EventFlags | undefined)[];
}

/**
 * Events of container log lines, in struct-of-arrays form (one array per field, one index
 * per event), so parsing allocates nothing per event but what the event needs.
 */
export interface ContainerEvents {
  /** The message: the runtime's wrapper (time, stream, tag / JSON) removed. */
  lines: Buffer[];
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
  /** The runtime's RFC 3339 time, as written; null for a malformed line. */
  times: (string | null)[];
}

export function emptyEvents(): ContainerEvents {
  return { lines: [], starts: [], ends: [], flags: [], streams: [], times: [] };
}
