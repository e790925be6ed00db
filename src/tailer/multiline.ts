// Joins continuation lines (stack traces) into one event: a line matching multiline.start
// begins an event, the lines after it are appended with "\n" between them. An event leaves
// when the next one starts, when it reaches max_lines, or (driven by the reader) after
// multiline.timeout of quiet. Its end offset is the end of its last line, and a pending event
// is never emitted early, so a committed offset never covers lines still held here.

import type { MultilineConfig } from '../config/types.js';
import { framedLineList, pushLine, type FramedLines } from './framer.js';
import { LineFlag } from '../core/batch.js';

const NEWLINE = Buffer.from('\n');

export class MultilineJoiner {
  private readonly start: RegExp;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingEnd = 0;
  private pendingFlags: LineFlag = LineFlag.None;
  /** Pending lines already copied out of their read (the first `owned`; see ownPending). */
  private owned = 0;
  /** The previous line was a piece of a line cut by max_line_bytes. */
  private inCutLine = false;

  /**
   * @param maxEventBytes an event is emitted before it would grow past this (bounds memory
   *   like max_line_bytes does for a single line).
   */
  constructor(
    private readonly config: MultilineConfig,
    private readonly maxEventBytes: number,
  ) {
    this.start = new RegExp(config.start);
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Feeds framed, decoded lines; appends the events that are complete to `out`, each as a
   * part of its own (packed into one buffer per batch when the batch is made).
   */
  push(input: FramedLines, out: FramedLines): void {
    const { ends, flags } = input;
    const lines = framedLineList(input);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const flag = flags[i] ?? LineFlag.None;
      // Pieces of a cut line are passed through alone: joining them would rebuild the
      // oversized line that max_line_bytes exists to prevent.
      if ((flag & LineFlag.Split) !== 0 || this.inCutLine) {
        this.flush(out);
        pushLine(out, line, ends[i]!, flag);
        this.inCutLine = (flag & LineFlag.Split) !== 0;
        continue;
      }
      const startsEvent = this.start.test(line.toString('utf8'));
      if (startsEvent || this.pendingBytes + NEWLINE.length + line.length > this.maxEventBytes) this.flush(out);
      this.append(line, ends[i]!, flag);
      if (this.pending.length >= this.config.max_lines) this.flush(out);
    }
    this.ownPending();
  }

  /** Emits the pending event, if any. */
  flush(out: FramedLines): boolean {
    if (this.pending.length === 0) return false;
    const joined = this.pending.length === 1 ? this.pending[0]! : joinLines(this.pending, this.pendingBytes);
    const flag = this.pending.length > 1 ? this.pendingFlags | LineFlag.Multiline : this.pendingFlags;
    pushLine(out, joined, this.pendingEnd, flag);
    this.pending = [];
    this.owned = 0;
    this.pendingBytes = 0;
    this.pendingFlags = LineFlag.None;
    return true;
  }

  /** Drops the pending event (the file was truncated: those bytes are flushed by the caller first). */
  reset(): void {
    this.pending = [];
    this.owned = 0;
    this.pendingBytes = 0;
    this.pendingFlags = LineFlag.None;
    this.inCutLine = false;
  }

  /**
   * The pending event outlives this push: its lines are copied out of the read they are views
   * of. That read's chunk is reused once its own batch is acknowledged (chunk-pool.ts), and an
   * event flushed by a later read — a one-line event is then that batch's whole `data` — must
   * not read another read's bytes. Lines copied by an earlier push are not copied again.
   */
  private ownPending(): void {
    const pending = this.pending;
    for (let i = this.owned; i < pending.length; i++) pending[i] = Buffer.from(pending[i]!);
    this.owned = pending.length;
  }

  private append(line: Buffer, end: number, flag: LineFlag): void {
    this.pendingBytes += (this.pending.length > 0 ? NEWLINE.length : 0) + line.length;
    this.pending.push(line);
    this.pendingEnd = end;
    this.pendingFlags |= flag;
  }
}

function joinLines(lines: Buffer[], totalBytes: number): Buffer {
  const joined = Buffer.allocUnsafe(totalBytes);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) at += NEWLINE.copy(joined, at);
    at += lines[i]!.copy(joined, at);
  }
  return joined;
}
