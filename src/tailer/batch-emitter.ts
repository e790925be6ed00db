// Turns a reader's framed lines into LineBatches: emission is contiguous (each batch starts
// where the previous one ended), each batch carries the marker of the bytes before its end and
// the file's fingerprint and epoch, and each hand-over is recorded in the offset tracker. Owns
// the file cursor (what was read and emitted), which the reader's read loop consults.

import type { FileHandle } from 'node:fs/promises';
import type { BatchSink, LineBatch } from '../core/batch.js';
import type { OffsetMarker, SourceFile } from '../core/file.js';
import type { OffsetTracker, TrackedFile } from '../core/offset-tracker.js';
import { TailerStateError } from './errors.js';
import { FileCursor } from './file-cursor.js';
import { MARKER_MAX_BYTES, markerAt, readAt } from './identity.js';
import type { PipelineLines } from './line-pipeline.js';
import type { StartPoint } from './prospector.js';
import type { ReaderCounters } from './counters.js';

export interface EmitterContext {
  sink: BatchSink;
  counters: Pick<ReaderCounters, 'batchEmitted'>;
  tracker: OffsetTracker;
  now: () => number;
}

/**
 * Unstarted until the reader's first open settles where it starts (nothing is emitted, nothing
 * tracked); emitting from then on, through the file's entry in the offset tracker. Emitting or
 * restarting before the start, or starting twice, is refused (TailerStateError).
 */
export type EmitterState = { readonly kind: 'unstarted' } | { readonly kind: 'emitting'; readonly tracked: TrackedFile };

export class BatchEmitter {
  readonly cursor = new FileCursor();
  private state: EmitterState = { kind: 'unstarted' };

  constructor(
    private readonly ctx: EmitterContext,
    private readonly inputId: string,
  ) {}

  /** This file's entry in the offset tracker, from the first open on. */
  get tracking(): TrackedFile | null {
    return this.state.kind === 'emitting' ? this.state.tracked : null;
  }

  /**
   * Emission starts at `at.position` of a file beginning with `at.head`; the file is tracked
   * from there (`sighted`: just opened at its live path, a sighting there, see Checkpoint.seenAt).
   */
  async startAt(handle: FileHandle, source: SourceFile, at: { position: number; head: Buffer; marker: OffsetMarker | null; epoch: number; unreadSince: number | null }, start: StartPoint, sighted: boolean): Promise<void> {
    if (this.state.kind !== 'unstarted') this.refuse('startAt');
    const { position } = at;
    this.cursor.startAt(position, at.head, at.marker, at.epoch);
    if (position > 0) {
      // The bytes before the position go into the window, so that the first read already
      // checks them (a file truncated below the position shows in the read itself).
      const len = Math.min(position, MARKER_MAX_BYTES);
      this.cursor.seed(await readAt(handle, position - len, len), position - len);
    }
    const from = this.cursor.position();
    const tracked = this.ctx.tracker.track(source, from, position === 0 ? from : (start.acknowledgedUpTo ?? null), start.copyOf ?? null);
    this.state = { kind: 'emitting', tracked };
    if (sighted) tracked.seen(this.ctx.now());
    if (at.unreadSince !== null) tracked.nothingReadSince(at.unreadSince);
  }

  /** Truncated: emission starts over at 0 of a file beginning with `head`, in `epoch`. */
  restart(head: Buffer, epoch: number, unreadSince: number | null): void {
    const state = this.state;
    if (state.kind !== 'emitting') return this.refuse('restart');
    this.cursor.startAt(0, head, null, epoch);
    state.tracked.started(this.cursor.position());
    if (unreadSince !== null) state.tracked.nothingReadSince(unreadSince);
  }

  /**
   * Hands `out` to the sink as one batch. The marker comes from the bytes in memory (`chunk`,
   * read at `chunkStart`, and the window before it), else from the file.
   */
  async emit(handle: FileHandle, source: SourceFile, out: PipelineLines, chunk: Buffer, chunkStart: number): Promise<void> {
    const count = out.ends.length;
    // Lines a filter dropped still move the offset (`through`), even when none is left to ship.
    const endOffset = out.through ?? out.ends[count - 1];
    if (endOffset === undefined || (count === 0 && endOffset <= this.cursor.emittedEnd)) {
      out.chunk?.release(); // no batch: nothing views its chunk
      return;
    }
    const state = this.state;
    if (state.kind !== 'emitting') {
      out.chunk?.release();
      return this.refuse('emit');
    }
    const marker = this.cursor.markerFor(endOffset, chunk, chunkStart) ?? (await markerAt(handle, endOffset));
    const batch: LineBatch = {
      source,
      epoch: this.cursor.epoch,
      data: out.data,
      // The batch's hold on the pooled chunk `data` views: released at its final outcome (AckWindow.complete).
      chunk: out.chunk ?? null,
      bounds: out.bounds,
      // Emission is contiguous: this batch starts where the previous one ended.
      startOffset: this.cursor.emittedEnd,
      ends: out.ends,
      flags: out.flags,
      endOffset,
      marker,
      fingerprint: this.cursor.fingerprint,
      details: out.details,
    };
    this.cursor.emitted(endOffset, marker);
    state.tracked.handedOver(endOffset, marker, batch.fingerprint, batch.epoch);
    this.ctx.counters.batchEmitted(this.inputId, count);
    this.ctx.sink(batch);
  }

  private refuse(transition: string): never {
    throw new TailerStateError(`batch emitter (input ${this.inputId})`, this.state.kind, transition);
  }
}
