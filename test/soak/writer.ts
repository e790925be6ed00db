// One application writing its log file: appends uniquely numbered lines "w<k>-<seq>" at a
// steady rate through an O_APPEND descriptor, as a real program does, and remembers when each
// line was written and into which file (inode), so the verifier can say where a lost or
// duplicated line came from. Rotations act on it the way they act on real programs: after a
// rename it keeps writing to the old descriptor until told to reopen; copytruncate pauses it.

import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { identityKey } from '../../src/core/file.js';

/** How often the writer wakes to append what is due; lines are written in whole-line writes. */
const TICK_MS = 10;

/** The lines from `firstSeq` on went into this file (until the next segment). */
export interface FileSegment {
  firstSeq: number;
  /** "dev:ino" of the file, as in the registry. */
  identity: string;
  /** The live path it had when the writer opened it. */
  path: string;
  openedAt: number;
}

export class LogWriter {
  private fd: number;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private paused = false;
  /** Write time (ms since the epoch) of each line, by sequence number. */
  private times = new Float64Array(1 << 16);
  readonly segments: FileSegment[] = [];

  constructor(
    /** "w0": the line prefix, unique among writers. */
    readonly name: string,
    readonly path: string,
    readonly linesPerSecond: number,
  ) {
    this.fd = this.openLive();
  }

  /** Lines written so far (sequence numbers 0 .. written-1). */
  get written(): number {
    return this.seq;
  }

  static line(name: string, seq: number): string {
    return `${name}-${seq}`;
  }

  start(): void {
    if (this.timer !== null) return;
    this.startedAt = Date.now() - this.seq * (1000 / this.linesPerSecond);
    this.timer = setInterval(() => this.writeDue(), TICK_MS);
  }

  /** Stops writing for good and closes the descriptor. Safe to call twice. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** While paused nothing is written; lines fall due meanwhile and are written on resume. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.writeDue();
  }

  /** Closes the descriptor and opens the live path again (creating it): after a rename. */
  reopen(): void {
    closeSync(this.fd);
    this.fd = this.openLive();
  }

  /**
   * Closes the descriptor, lets `between` act on the closed file (e.g. delete it) and opens the
   * live path again. Nothing is written in between, so no line goes to a file after it is gone.
   */
  replace(between: () => void): void {
    closeSync(this.fd);
    between();
    this.fd = this.openLive();
  }

  /** When line `seq` was written (ms since the epoch). */
  writtenAt(seq: number): number {
    return this.times[seq]!;
  }

  /** The file line `seq` went into. */
  segmentOf(seq: number): FileSegment {
    let found = this.segments[0]!;
    for (const segment of this.segments) {
      if (segment.firstSeq > seq) break;
      found = segment;
    }
    return found;
  }

  private openLive(): number {
    const fd = openSync(this.path, 'a');
    this.segments.push({ firstSeq: this.seq, identity: identityKey(fstatSync(fd)), path: this.path, openedAt: Date.now() });
    return fd;
  }

  private writeDue(): void {
    if (this.paused || this.fd < 0) return;
    const now = Date.now();
    const due = Math.floor(((now - this.startedAt) * this.linesPerSecond) / 1000);
    if (due <= this.seq) return;
    let text = '';
    for (let seq = this.seq; seq < due; seq++) text += `${LogWriter.line(this.name, seq)}\n`;
    writeSync(this.fd, text);
    if (due > this.times.length) {
      const grown = new Float64Array(Math.max(due, this.times.length * 2));
      grown.set(this.times);
      this.times = grown;
    }
    this.times.fill(now, this.seq, due);
    this.seq = due;
  }
}
