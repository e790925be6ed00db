// Bytes in, lines out: splits the raw bytes of one file on its newline sequence, remembering
// the file offset just after each newline. Carries an unterminated tail across reads, never
// holding more than max_line_bytes of it: longer lines leave as flagged pieces.

import type { LineCounters } from './counters.js';
import { LineFlag } from '../core/batch.js';

/** How lines are delimited in the raw bytes of an encoding (see decoder.ts). */
export interface FramingRules {
  /** Bytes per code unit: a newline only counts at an offset that is a multiple of it. */
  readonly unit: 1 | 2;
  readonly newline: Buffer;
  /** Stripped once from the end of a line. */
  readonly carriageReturn: Buffer;
  /** Length <= maxLen of the piece of `data` starting at `start` that ends between characters. */
  cut(data: Buffer, start: number, maxLen: number): number;
}

/**
 * Lines in struct-of-arrays form, so framing allocates nothing per line: each line is a
 * (start, length) pair in `bounds` (line i at bounds[2i]) into the bytes of `parts` taken as
 * one run (the first part starts at 0, the next one where it ends, …); a line never spans two
 * parts. The framer's lines are in one part (the read); a stage that rewrites a line appends
 * the new bytes as a part of their own. `flags` is sparse: most lines have none.
 */
export interface FramedLines {
  parts: Buffer[];
  /** Bytes of all parts. */
  size: number;
  bounds: number[];
  ends: number[];
  flags: (LineFlag | undefined)[];
  /**
   * Set by `LineFramer.push` when every line is in these bytes and was cut at a newline (no
   * piece cut by max_line_bytes): the bytes between and around the lines are newline
   * sequences only. A decoder may then check this once instead of each line.
   */
  whole?: Buffer;
  /**
   * With `whole`: the lines not in it are in this buffer, a stage wrote them there (the container
   * parser's joined and decoded events), each followed by a newline: it is checked at once too.
   */
  made?: Buffer;
}

export function emptyLines(): FramedLines {
  return { parts: [], size: 0, bounds: [], ends: [], flags: [] };
}

/** Adds `bytes` as the next part of `out`; returns where it starts in `out`'s bounds. */
export function addPart(out: FramedLines, bytes: Buffer): number {
  const at = out.size;
  out.parts.push(bytes);
  out.size += bytes.length;
  return at;
}

/** Appends a line that is all of `bytes` (a part of its own). */
export function pushLine(out: FramedLines, bytes: Buffer, end: number, flag: LineFlag | undefined): void {
  const at = addPart(out, bytes);
  out.bounds.push(at, bytes.length);
  out.ends.push(end);
  if (flag !== undefined && flag !== LineFlag.None) out.flags[out.ends.length - 1] = flag;
}

/** Line i of `out` replaced by `bytes`. */
export function replaceLine(out: FramedLines, i: number, bytes: Buffer): void {
  out.bounds[2 * i] = addPart(out, bytes);
  out.bounds[2 * i + 1] = bytes.length;
}

/** Line i of `out` as a Buffer (a view, no copy): for stages that need a line as an object. */
export function framedLine(out: FramedLines, i: number): Buffer {
  let start = out.bounds[2 * i]!;
  const length = out.bounds[2 * i + 1]!;
  for (const part of out.parts) {
    if (start < part.length || (length === 0 && start === part.length)) return part.subarray(start, start + length);
    start -= part.length;
  }
  return Buffer.alloc(0);
}

/** Every line of `out` as a Buffer (views, see framedLine). */
export function framedLineList(out: FramedLines): Buffer[] {
  const lines = new Array<Buffer>(out.ends.length);
  const { parts, bounds } = out;
  if (parts.length === 1) {
    for (let i = 0; i < lines.length; i++) lines[i] = parts[0]!.subarray(bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!);
    return lines;
  }
  // Where each part starts: a binary search per line (a joiner's output has a part per event).
  const starts = new Array<number>(parts.length);
  for (let k = 0, at = 0; k < parts.length; at += parts[k]!.length, k++) starts[k] = at;
  for (let i = 0; i < lines.length; i++) {
    const start = bounds[2 * i]!;
    let lo = 0;
    let hi = parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= start) lo = mid;
      else hi = mid - 1;
    }
    const from = start - starts[lo]!;
    lines[i] = parts[lo]!.subarray(from, from + bounds[2 * i + 1]!);
  }
  return lines;
}

/** Lines given as Buffers, framed: each is a part of its own (no copy). */
export function framedOf(lines: readonly Buffer[], ends: number[], flags: (LineFlag | undefined)[]): FramedLines {
  const out: FramedLines = { parts: [], size: 0, bounds: [], ends, flags };
  for (const line of lines) out.bounds.push(addPart(out, line), line.length);
  return out;
}

/** The bytes of all parts as one buffer (copied only when there are several). */
export function framedData(out: FramedLines): Buffer {
  if (out.parts.length === 1) return out.parts[0]!;
  const data = out.parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(out.parts, out.size);
  out.parts = [data];
  return data;
}

/**
 * The lines of the push under way, shared by every framer (framing is synchronous, so pushes
 * never interleave): they reach the push's FramedLines in one copy at its end, instead of
 * growing fresh arrays line by line (V8 copies a growing array's elements each time it outgrows
 * them: measured 4 % of the tailer's CPU on 125-byte lines). Shared, not per framer, so a
 * thousand followed files hold one of them, sized by the largest read.
 */
const lineBounds: number[] = [];
const lineEnds: number[] = [];
/** Beyond this many lines, the shared arrays are let go after the push. */
const KEPT_LINES = 16 * 1024;

export class LineFramer {
  /** Owned copy of the unterminated bytes from `carryStart` to `position`. */
  private carry: Buffer | null = null;
  private carryStart = 0;
  private pos = 0;
  /** The line being carried has already been cut at least once (counted once per line). */
  private cutting = false;
  /** Pieces cut by max_line_bytes so far (tells whether a push cut any). */
  private pieces = 0;
  private readonly newlineByte: number;
  private readonly carryLimit: number;
  /** Lines in `out` before this push, and lines of this push so far (in lineBounds/lineEnds). */
  private outLines = 0;
  private lines = 0;

  constructor(
    private readonly rules: FramingRules,
    private readonly maxLineBytes: number,
    private readonly counters: Pick<LineCounters, 'lineSplit' | 'partialLineFlushed'>,
  ) {
    if (maxLineBytes < rules.unit) throw new RangeError(`max_line_bytes must be at least ${rules.unit}`);
    this.newlineByte = rules.newline[0]!;
    // One extra CR is allowed so that a line of exactly max_line_bytes followed by "\r" and a
    // "\n" in the next read is not cut.
    this.carryLimit = maxLineBytes + rules.carriageReturn.length;
  }

  /** File offset just after the last byte pushed. */
  get position(): number {
    return this.pos;
  }

  /** Bytes held back because their line has not ended yet. */
  get pendingBytes(): number {
    return this.carry === null ? 0 : this.carry.length;
  }

  /** Forgets any carried bytes; the next push is read at `position`. */
  reset(position: number): void {
    this.carry = null;
    this.carryStart = position;
    this.pos = position;
    this.cutting = false;
  }

  /**
   * Frames `chunk` (the bytes at `position`). Emitted lines never alias `chunk`, so the caller
   * may reuse it as soon as this returns. They are bounds into `into` (pendingBytes +
   * chunk.length bytes: the carried bytes, then the chunk's, are copied there), a fresh buffer
   * by default; the caller's pooled read chunk otherwise (chunk-pool.ts).
   */
  push(chunk: Buffer, out: FramedLines, into?: Buffer): void {
    if (chunk.length === 0) return;
    const carried = this.carry === null ? 0 : this.carry.length;
    // One copy per read: lines are bounds into this buffer, which nothing writes to again.
    const data = into ?? Buffer.allocUnsafe(carried + chunk.length);
    if (data.length !== carried + chunk.length) throw new RangeError(`framing needs ${carried + chunk.length} bytes, given ${data.length}`);
    if (this.carry !== null) this.carry.copy(data, 0);
    chunk.copy(data, carried);
    const dataStart = this.carryStart;
    this.pos += chunk.length;

    const newlineLen = this.rules.newline.length;
    // A carried line already cut into pieces starts this read at a cut, not at a newline.
    const newlinesOnly = out.ends.length === 0 && !this.cutting;
    const base = addPart(out, data);
    const piecesBefore = this.pieces;
    this.begin(out);
    let lineStart = 0;
    for (let nl = this.findNewline(data, dataStart, 0); nl !== -1; nl = this.findNewline(data, dataStart, lineStart)) {
      this.emitLine(data, base, dataStart, lineStart, this.contentEnd(data, lineStart, nl), dataStart + nl + newlineLen, LineFlag.None, out);
      lineStart = nl + newlineLen;
    }
    const linesEnd = lineStart;
    while (data.length - lineStart > this.carryLimit) {
      const len = this.rules.cut(data, lineStart, this.maxLineBytes);
      this.emitPiece(base + lineStart, len, dataStart + lineStart + len, out);
      lineStart += len;
    }
    this.end(out);
    if (newlinesOnly && this.pieces === piecesBefore && linesEnd > 0) out.whole = data.subarray(0, linesEnd);
    this.carry = lineStart < data.length ? Buffer.from(data.subarray(lineStart)) : null;
    this.carryStart = dataStart + lineStart;
  }

  /** Emits the carried bytes as a line flagged Partial (after partial_line_timeout of quiet). */
  flushPartial(out: FramedLines): boolean {
    if (this.carry === null) return false;
    this.begin(out);
    this.emitLine(this.carry, addPart(out, this.carry), this.carryStart, 0, this.carry.length, this.pos, LineFlag.Partial, out);
    this.end(out);
    this.counters.partialLineFlushed();
    this.carry = null;
    this.carryStart = this.pos;
    return true;
  }

  private findNewline(data: Buffer, dataStart: number, from: number): number {
    if (this.rules.unit === 1) return data.indexOf(this.newlineByte, from);
    let at = data.indexOf(this.rules.newline, from);
    while (at !== -1 && (dataStart + at) % this.rules.unit !== 0) at = data.indexOf(this.rules.newline, at + 1);
    return at;
  }

  private contentEnd(data: Buffer, lineStart: number, newlineAt: number): number {
    const cr = this.rules.carriageReturn;
    if (newlineAt - lineStart < cr.length) return newlineAt;
    if (cr.length === 1) return data[newlineAt - 1] === cr[0] ? newlineAt - 1 : newlineAt;
    return data.compare(cr, 0, cr.length, newlineAt - cr.length, newlineAt) === 0 ? newlineAt - cr.length : newlineAt;
  }

  /**
   * Emits data[start, contentEnd) ending at file offset `end`, cut into pieces if too long
   * (`base`: where `data` starts in `out`'s parts).
   */
  private emitLine(data: Buffer, base: number, dataStart: number, start: number, contentEnd: number, end: number, flag: LineFlag, out: FramedLines): void {
    while (contentEnd - start > this.maxLineBytes) {
      const len = this.rules.cut(data, start, this.maxLineBytes);
      this.emitPiece(base + start, len, dataStart + start + len, out);
      start += len;
    }
    const k = this.addLine(base + start, contentEnd - start, end);
    if (flag !== LineFlag.None) out.flags[this.outLines + k] = flag;
    this.cutting = false;
  }

  private emitPiece(at: number, length: number, end: number, out: FramedLines): void {
    this.pieces++;
    if (!this.cutting) this.counters.lineSplit();
    this.cutting = true;
    out.flags[this.outLines + this.addLine(at, length, end)] = LineFlag.Split;
  }

  private begin(out: FramedLines): void {
    this.outLines = out.ends.length;
    this.lines = 0;
  }

  /** Line `k` of this push: stored in place where the shared arrays are long enough already. */
  private addLine(at: number, length: number, end: number): number {
    const k = this.lines++;
    if (k < lineEnds.length) {
      lineBounds[2 * k] = at;
      lineBounds[2 * k + 1] = length;
      lineEnds[k] = end;
    } else {
      lineBounds.push(at, length);
      lineEnds.push(end);
    }
    return k;
  }

  /** This push's lines into `out`: one copy (a slice) when `out` had none. */
  private end(out: FramedLines): void {
    const n = this.lines;
    if (this.outLines === 0) {
      out.bounds = lineBounds.slice(0, 2 * n);
      out.ends = lineEnds.slice(0, n);
    } else {
      for (let k = 0; k < n; k++) {
        out.bounds.push(lineBounds[2 * k]!, lineBounds[2 * k + 1]!);
        out.ends.push(lineEnds[k]!);
      }
    }
    this.lines = 0;
    // A read of very short lines (empty ones: 512 Ki lines) does not keep its arrays for good.
    if (lineEnds.length > KEPT_LINES) {
      lineBounds.length = 0;
      lineEnds.length = 0;
    }
  }
}
