// What a reader knows of the bytes it has read in its file: where emission stands (and the
// marker of the bytes before it), the first bytes (fingerprint, kept as they were to compare
// cheaply), the bytes just before the read position (marker window), and the epoch. It answers
// "does this file still hold what I read?" — the reader does the I/O and asks.

import type { FilePosition, Fingerprint, OffsetMarker } from '../core/file.js';
import { fingerprintOf, MarkerWindow } from './identity.js';

const EMPTY = Buffer.alloc(0);

export class FileCursor {
  private readonly window = new MarkerWindow();
  private head: Buffer = EMPTY;
  private print: Fingerprint = { len: 0, hash: '' };
  private marker: OffsetMarker | null = null;
  private end = 0;
  private currentEpoch = 0;

  get fingerprint(): Fingerprint {
    return this.print;
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** End of the last emitted batch: what a checkpoint may cover. */
  get emittedEnd(): number {
    return this.end;
  }

  /** Where a later reader of the same file may continue (all emitted up to here). */
  position(): FilePosition {
    return { offset: this.end, fingerprint: this.print, marker: this.marker, epoch: this.currentEpoch };
  }

  /** Reading starts (or starts over) at `position` of a file beginning with `head`. */
  startAt(position: number, head: Buffer, marker: OffsetMarker | null, epoch: number): void {
    this.setHead(head);
    this.window.reset(position);
    this.end = position;
    this.marker = position === 0 ? null : marker;
    this.currentEpoch = epoch;
  }

  /** The bytes before the start position (read from the file), so the first read checks them. */
  seed(bytes: Buffer, from: number): void {
    this.window.advance(bytes, from);
  }

  /** The bytes read just before `position`, if the window ends there (empty otherwise). */
  bytesBefore(position: number): Buffer {
    return this.window.bytesBefore(position);
  }

  /** A chunk read at `chunkStart` was consumed. */
  advance(chunk: Buffer, chunkStart: number): void {
    this.window.advance(chunk, chunkStart);
  }

  /**
   * The file's first bytes now: false when they are not the ones read before (truncated and
   * refilled, or replaced); a longer head than the fingerprint covered extends it.
   */
  headStillMatches(head: Buffer): boolean {
    const len = this.head.length;
    if (head.length < len || head.compare(this.head, 0, len, 0, len) !== 0) return false;
    if (head.length > len) this.setHead(head);
    return true;
  }

  /** Marker for a batch ending at `end`, from bytes in memory (`chunk` read at `chunkStart`, the window); undefined if gone. */
  markerFor(end: number, chunk: Buffer, chunkStart: number): OffsetMarker | undefined {
    return this.window.markerFor(end, chunk, chunkStart);
  }

  /** A batch ending at `end` (bytes before it hashing to `marker`) was handed on. */
  emitted(end: number, marker: OffsetMarker): void {
    this.end = end;
    this.marker = marker;
  }

  private setHead(head: Buffer): void {
    this.print = fingerprintOf(head);
    this.head = Buffer.from(head.subarray(0, this.print.len));
  }
}
