// Framed lines on their way from a reader to Kafka, and the backpressure that stops readers.
// Data flows one way: discover -> tail -> frame lines -> LineBatch -> ship -> acknowledge -> persist.

import type { Fingerprint, OffsetMarker, SourceFile } from './file.js';

/** Per-line flags; most lines have none, so the array in LineBatch is sparse. */
export const enum LineFlag {
  None = 0,
  /** A piece of a line longer than max_line_bytes (all but the last piece carry it). */
  Split = 1,
  /** Emitted without its newline after partial_line_timeout of quiet. */
  Partial = 2,
  /** Bytes invalid for the encoding were replaced with U+FFFD. */
  Replaced = 4,
  /** Several lines joined by multiline.start. */
  Multiline = 8,
}

/**
 * Lines framed from one contiguous read of one file. Offsets are byte positions in the file
 * (whatever the encoding); `ends[i]` is the position just after line i's newline, so the
 * last element equals `endOffset`. Payloads are UTF-8, without the newline (and without a
 * trailing \r): line i is `data[bounds[2i], bounds[2i] + bounds[2i+1])` (see lineOf). Raw
 * lines are bounds into the read chunk itself — no object per line —; transformed ones
 * (decoded, joined, unwrapped) are packed into one buffer per batch.
 */
export interface LineBatch {
  source: SourceFile;
  /**
   * Increments each time the file is found truncated (copytruncate) and read again from 0.
   * Offsets are only comparable within one epoch.
   */
  epoch: number;
  /**
   * The bytes the lines are in. Owned by the receiver: the tailer never writes to them again,
   * so they may be kept (until acknowledged) without copying.
   */
  data: Buffer;
  /**
   * The batch's hold on the pooled read chunk `data` views (src/tailer/chunk-pool.ts), released
   * once at the batch's final outcome (AckWindow.complete), after which the chunk is reused:
   * nothing may read `data` after that. Absent or null: `data` is memory V8 frees (small reads,
   * rewritten lines), nothing to release.
   */
  chunk?: ChunkHold | null;
  /** (start, length) of each line in `data`: line i at bounds[2i]; as many lines as `ends`. */
  bounds: Uint32Array;
  /** Byte position where the first line of this batch starts (ends[i-1] is where line i starts). */
  startOffset: number;
  ends: number[];
  /** Sparse: flags[i] undefined means LineFlag.None. */
  flags: (LineFlag | undefined)[];
  endOffset: number;
  /** Marker of the bytes ending at endOffset (see OffsetMarker). */
  marker: OffsetMarker;
  /** Fingerprint of the file as read so far; stored with the checkpoint. */
  fingerprint: Fingerprint;
  /**
   * What records of parsed or filtered lines carry besides their bytes (container parser,
   * include/exclude_lines, parse: json); absent for plain lines, so their path pays nothing.
   * With filters a batch may hold no line at all: its lines were all dropped, and it only
   * moves the file's offset (in order, once everything before it is acknowledged).
   */
  details?: LineDetails | undefined;
}

/** A holder's claim on a pooled read chunk: `release` once it no longer reads it (a second call does nothing). */
export interface ChunkHold {
  release(): void;
}

/** Lets a batch's read chunk go (its final outcome): its `data` must not be read afterwards. */
export function releaseChunk(batch: Pick<LineBatch, 'chunk'>): void {
  const hold = batch.chunk;
  if (hold == null) return;
  batch.chunk = null;
  hold.release();
}

/** Lines of a batch (its `ends` count them: a batch whose lines were all filtered out has none). */
export function lineCount(batch: Pick<LineBatch, 'ends'>): number {
  return batch.ends.length;
}

/**
 * Line i of a batch as a Buffer (a view of its bytes, no copy): for the rare code that needs
 * one line as an object (tests, `logship tap`, dead letters); hot paths use the bounds.
 */
export function lineOf(batch: Pick<LineBatch, 'data' | 'bounds'>, i: number): Buffer {
  const start = batch.bounds[2 * i]!;
  return batch.data.subarray(start, start + batch.bounds[2 * i + 1]!);
}

/** Every line of a batch as a Buffer (views, see lineOf). */
export function linesOf(batch: Pick<LineBatch, 'data' | 'bounds'>): Buffer[] {
  const out = new Array<Buffer>(batch.bounds.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = lineOf(batch, i);
  return out;
}

/** Lines as a batch carries them: packed into one buffer, with their bounds (tests, tools). */
export function packLines(lines: readonly Uint8Array[]): { data: Buffer; bounds: Uint32Array } {
  const bounds = new Uint32Array(2 * lines.length);
  let at = 0;
  lines.forEach((line, i) => {
    bounds[2 * i] = at;
    bounds[2 * i + 1] = line.length;
    at += line.length;
  });
  return { data: Buffer.concat(lines, at), bounds };
}

/** Per-record columns of a LineBatch (index i is line i). */
export interface LineDetails {
  /** Where record i starts in the file: not ends[i-1] once lines are dropped or runtime pieces joined. */
  starts: number[];
  /** "stdout" / "stderr" from a container parser (null: a malformed line); null without a parser. */
  streams: (string | null)[] | null;
  /** The container runtime's RFC 3339 time, as written (null: malformed); null without a parser. */
  times: (string | null)[] | null;
  /**
   * Values of the JSON fields the input's templates use (`parse: json`), in the input's path
   * order (undefined: missing); null for a line that is not a JSON object. null without parse.
   */
  json: (readonly (string | undefined)[] | null)[] | null;
  /** The field paths `json` holds values of, in their order (null without parse). */
  jsonPaths: readonly string[] | null;
  /**
   * Where the line holds the value of one field as its exact bytes (a key that is exactly one
   * {json.*} field): then `json` leaves that value undefined and no string is made for it.
   * Absent (or null) when no field is passed so.
   */
  jsonBounds?: JsonValueBounds | null;
  /**
   * The values of the first of `jsonPaths` (the topic's field, when the topic uses one) as an
   * index per line into the batch's distinct values: what routes a record needs of it without
   * a lookup per line. Absent (or null) when not made (a read with too many distinct values).
   */
  jsonIndex?: JsonValueIndex | null;
}

/** Values of one {json.*} field as an index per line into distinct values (see LineDetails.jsonIndex). */
export interface JsonValueIndex {
  /** The field's path (one of `jsonPaths`). */
  path: string;
  /** Line i's value is values[ids[i]]: exactly what `json` holds for it (undefined: missing, or not a JSON object). */
  ids: Int32Array;
  /** Distinct values, each once. */
  values: readonly (string | undefined)[];
}

/** Values of one {json.*} field as bounds into the batch's `data` (see LineDetails.jsonBounds). */
export interface JsonValueBounds {
  /** The field's path (one of `jsonPaths`). */
  path: string;
  /**
   * Line i's value at (start, length) = (bounds[2i], bounds[2i+1]) in `data`, non-empty and
   * unescaped ASCII (its bytes are its text); start -1: the value is in `json` as usual.
   */
  bounds: Int32Array;
}

/** Where the tailer hands its batches. Called synchronously from the read loop. */
export type BatchSink = (batch: LineBatch) => void;

/**
 * Backpressure from the shipper: readers check `isOpen()` before each read and, when closed,
 * await `waitOpen()`. A paused reader reads nothing and buffers nothing.
 */
export interface FlowGate {
  /**
   * With a source: may this particular file be read? (The shipper closes it alone for a file
   * whose topic is failing, so the other files keep flowing.) Readers pass their SourceFile.
   */
  isOpen(source?: SourceFile): boolean;
  waitOpen(source?: SourceFile): Promise<void>;
}
