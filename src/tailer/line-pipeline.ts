// A reader's line pipeline: framer (bytes -> lines at newlines, max_line_bytes), decoder (the
// input's encoding -> UTF-8, invalid sequences replaced) and multiline joiner, in that order.
// Bytes in, framed lines out (with their end offsets); what is held back — an unfinished last
// line, a multiline event still open — leaves on a flush or after its timeout. No I/O here: the
// reader turns what comes out into LineBatches.

import type { InputConfig } from '../config/types.js';
import { createDecoder, type LineDecoder } from './decoder.js';
import { emptyLines, type FramedLines, LineFramer } from './framer.js';
import { MultilineJoiner } from './multiline.js';
import type { TailerStats } from './types.js';

export class LinePipeline {
  private readonly decoder: LineDecoder;
  private readonly framer: LineFramer;
  private readonly joiner: MultilineJoiner | null;
  /** The next line out starts at offset 0 (a BOM there is dropped). */
  private atFileStart = false;

  constructor(
    private readonly input: InputConfig,
    private readonly stats: TailerStats,
  ) {
    this.decoder = createDecoder(input.encoding);
    this.framer = new LineFramer(this.decoder, input.max_line_bytes, stats);
    this.joiner = input.multiline === null ? null : new MultilineJoiner(input.multiline, input.max_line_bytes);
  }

  /** Next byte to frame (bytes before it are out, or held as an unfinished line or event). */
  get position(): number {
    return this.framer.position;
  }

  /** Continue at `position` (start, truncation): nothing held back. */
  reset(position: number): void {
    this.framer.reset(position);
    this.joiner?.reset();
    this.atFileStart = position === 0;
  }

  /** The lines `chunk` (the bytes at `position`) completes, decoded and joined; empty when none. */
  push(chunk: Buffer): FramedLines {
    const framed = emptyLines();
    this.framer.push(chunk, framed);
    return this.finish(framed);
  }

  /**
   * What is held back: the unfinished last line (flagged Partial) when `partial`, then the open
   * multiline event. In emission order; empty ones left out.
   */
  flush(partial: boolean): FramedLines[] {
    const out: FramedLines[] = [];
    const framed = emptyLines();
    if (partial && this.framer.flushPartial(framed)) out.push(this.finish(framed));
    const events = emptyLines();
    if (this.joiner?.flush(events) === true) out.push(events);
    return out.filter((lines) => lines.lines.length > 0);
  }

  /** partial_line_timeout / multiline.timeout: what waited that long (`quietFor` ms without growth). */
  flushQuiet(quietFor: number): FramedLines[] {
    const out: FramedLines[] = [];
    const partialTimeout = this.input.partial_line_timeout;
    if (partialTimeout > 0 && this.framer.pendingBytes > 0 && quietFor >= partialTimeout) {
      const framed = emptyLines();
      this.framer.flushPartial(framed);
      out.push(this.finish(framed));
    }
    const multiline = this.input.multiline;
    if (multiline !== null && this.joiner?.hasPending === true && quietFor >= multiline.timeout) {
      const events = emptyLines();
      this.joiner.flush(events);
      out.push(events);
    }
    return out.filter((lines) => lines.lines.length > 0);
  }

  /** After how much quiet something held back is due (ms), or null when nothing waits for a timeout. */
  get quietDeadline(): number | null {
    let delay = Infinity;
    if (this.input.partial_line_timeout > 0 && this.framer.pendingBytes > 0) delay = this.input.partial_line_timeout;
    if (this.input.multiline !== null && this.joiner?.hasPending === true) delay = Math.min(delay, this.input.multiline.timeout);
    return delay === Infinity ? null : delay;
  }

  /** Decodes framed lines and runs them through the joiner. */
  private finish(framed: FramedLines): FramedLines {
    if (framed.lines.length === 0) return framed;
    this.stats.replacedChars += this.decoder.decode(framed, 0, this.atFileStart);
    this.atFileStart = false;
    if (this.joiner === null) return framed;
    const events = emptyLines();
    this.joiner.push(framed, events);
    return events;
  }
}
