// One followed file's reading: a read loop over the file cursor (what was read: emission end,
// first bytes, bytes before the position, epoch) and the line pipeline (framing -> decoding ->
// joining), one LineBatch per chunk, until EOF or until the FlowGate closes. Each read reports a
// typed outcome (read on, at EOF, truncated, a file unread since, gone, ...) to whoever runs it
// (follower.ts); it never calls back, and nothing outside writes its fields. Its handle is a
// FileAccess (reopened by identity). Its own life (starting, reading, truncated, skipped,
// stopped) is one state, ReaderLifecycle (reader-life.ts); lifecycle decisions about the file
// (rotated, released) are the tailer's.

import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { InputConfig } from '../config/types.js';
import type { BatchSink, FlowGate } from '../core/batch.js';
import type { FileIdentity, SourceFile } from '../core/file.js';
import type { OffsetTracker, TrackedFile } from '../core/offset-tracker.js';
import type { TailerEvents } from './events.js';
import { FileAccess, type OpenFile } from './file-access.js';
import { BatchEmitter } from './batch-emitter.js';
import type { ChunkPool } from './chunk-pool.js';
import type { HandlePool } from './handle-pool.js';
import { FINGERPRINT_MAX_BYTES, MARKER_MAX_BYTES, readAt, readHeadInto } from './identity.js';
import { LinePipeline } from './line-pipeline.js';
import type { ResumePoint, StartPoint } from './prospector.js';
import type { ReadBuffers } from './read-buffers.js';
import { ReaderLifecycle } from './reader-life.js';
import { resolveStart } from './start-resolution.js';
import type { ReaderCounters } from './counters.js';
import type { FollowedFileState } from './types.js';

/** Where the reader's file is (live, rotated, removed): its FileAccess's FileLocation. */
export type ReaderState = FollowedFileState;

export type { ResumePoint, StartPoint } from './prospector.js';

/** What came of a read. */
export type ReadOutcome =
  /** Stopped short of EOF: the gate closed, or others wait for a read buffer. Read on when the gate opens. */
  | { kind: 'read-on' }
  /** Read to the end of the file (it may grow again). */
  | { kind: 'at-eof' }
  /**
   * The file no longer holds what was read up to `before` (truncated, maybe while not
   * followed): its copytruncate copy, if any, is to be followed from there. Then
   * `afterTruncation` and read again.
   */
  | { kind: 'truncated'; before: ResumePoint }
  /**
   * About to read the first bytes of a file nothing of was read since `since` (followed then,
   * or found empty then): had the file been copied and truncated meanwhile (copytruncate while
   * the gate was closed), only the copy holds what it had, and no position leads to it. Files
   * born at the path since are to be followed first; then read again.
   */
  | { kind: 'unread-since'; since: number }
  /** Not read (compressed archive, or not the file its resume point describes): the reader is done. */
  | { kind: 'skipped'; reason: string }
  /** Stopped meanwhile: nothing more was emitted. */
  | { kind: 'stopped' };


/** Everything a tailer's readers share. */
export interface ReaderContext {
  gate: FlowGate;
  sink: BatchSink;
  counters: ReaderCounters;
  pool: HandlePool;
  buffers: ReadBuffers;
  /** Where reads are framed into: pooled chunks released when their batches are done (absent: a fresh buffer per read). */
  chunks?: ChunkPool;
  now: () => number;
  openFile: OpenFile;
  /** Where each file started, what was handed over: shared with the agent, outlives the tailer. */
  tracker: OffsetTracker;
  /** Where truncations, read failures... are told. */
  observer: TailerEvents;
}

export interface FileReaderOptions {
  source: SourceFile;
  input: InputConfig;
  /** Where the file is now (a rotated file's current name). */
  currentPath: string;
  state: ReaderState;
  start: StartPoint;
  /** The open descriptor of a deleted file, handed over by a previous tailer. */
  inherited?: FileHandle;
  /** Whether whoever runs the reader has it at EOF (its handle is then the cheapest to close). */
  atEof: () => boolean;
}

/** Chunks read in one go before a reader lets others waiting for a read buffer go first. */
const FAIR_SHARE_CHUNKS = 32;
/** The most a read reads synchronously (see read()); the rest goes through the thread pool. */
export const TAIL_READ_BYTES = 16 * 1024;

export class FileReader {
  readonly identity: FileIdentity;
  readonly input: InputConfig;
  /** When the reader was created (the file was followed), ms. */
  readonly followedAt: number;
  /** The file's handle and whereabouts (live, rotated, removed), moved by the reader group's commands. */
  readonly file: FileAccess;

  /** Settled when the file is first opened (a resumed file keeps the path it had). */
  private currentSource: SourceFile;
  private lastReadAt: number;
  private sizeSeen = 0;
  private readonly lines: LinePipeline;
  /** Emission, and the file cursor: what was read of the file. */
  private readonly out: BatchEmitter;
  /** Where it is in its life (starting, reading, truncated, skipped, stopped) and what its next read does. */
  private readonly life: ReaderLifecycle;
  /** mtime of the file when a scan last looked at it. */
  private observedMtimeMs = 0;

  constructor(
    private readonly ctx: ReaderContext,
    options: FileReaderOptions,
  ) {
    this.currentSource = options.source;
    this.identity = options.source.identity;
    this.input = options.input;
    this.file = new FileAccess(this.identity, options.currentPath, options.state, ctx.pool, ctx.openFile, ctx.now, options.atEof, options.inherited);
    this.life = new ReaderLifecycle(options.start, this.identity, () => this.file.path);
    this.lines = new LinePipeline(this.input, ctx.counters, ctx.chunks ?? null);
    this.out = new BatchEmitter(ctx, this.input.id);
    this.lastReadAt = ctx.now();
    this.followedAt = this.lastReadAt;
  }

  get source(): SourceFile {
    return this.currentSource;
  }

  /** live, rotated (renamed away) or removed (deleted: nlink 0). */
  get state(): ReaderState {
    return this.file.state;
  }

  /** Last time a read returned bytes (or the reader was created), ms. */
  get lastGrowthAt(): number {
    return this.lastReadAt;
  }

  /**
   * Size of the file as last seen: by reading up to it (a short read is the end of the file),
   * by a scan, or by an fstat on opening and after a truncation. The lag metric is this minus
   * the committed offset, so it follows the reads, not the scans.
   */
  get lastSize(): number {
    return this.sizeSeen;
  }

  /** Next byte to read (bytes before it are emitted or held as an unfinished line/event). */
  get position(): number {
    return this.lines.position;
  }

  /** Where the file is now (its rotated name, once known). */
  get currentPath(): string {
    return this.file.path;
  }

  get hasStarted(): boolean {
    return this.life.started;
  }

  /** Unread bytes as of the last fstat. */
  get backlog(): number {
    return Math.max(0, this.sizeSeen - this.out.cursor.emittedEnd);
  }

  /** The file's record in the offset tracker, once the reader has started. */
  get tracking(): TrackedFile | null {
    return this.out.tracking;
  }

  /** Where a later reader of the same file may continue (all emitted up to here). */
  resumePoint(): ResumePoint {
    return { ...this.out.cursor.position(), path: this.currentSource.path };
  }

  /**
   * What a scan saw at the file's path: true when the file may hold bytes not read yet, or other
   * bytes than were read (a size other than the position, or another mtime than last time).
   */
  observed(stats: { size: number; mtimeMs: number }): boolean {
    const changed = stats.size !== this.position || stats.mtimeMs !== this.observedMtimeMs;
    this.observedMtimeMs = stats.mtimeMs;
    // Smaller than the position: truncated, or a stat older than the reader's last read; the
    // reader's next read tells which (and resets it).
    this.sizeSeen = Math.max(stats.size, this.position);
    return changed;
  }

  /** No more reads: one under way emits nothing more (its bytes are read again after a restart). */
  halt(): void {
    this.life.halt();
  }

  /**
   * One read: checks for truncation, then reads chunks up to the end of the file. Each write
   * wakes the reader, so most reads find a few new lines: such a read costs two preads, the
   * first bytes (truncation check) and the new bytes, and no fstat (the bytes before the
   * position, read again with each chunk, show a file truncated below it; removal, nlink 0, is
   * checked by the tailer when the file leaves its path).
   *
   * Those two preads are synchronous: through the thread pool a pread costs ~20 µs of CPU
   * (hand-off, wake-ups, promise) against ~1.5 µs for the pread itself, and with 200 files
   * written 100 times a second that hand-off was most of the tailer's CPU. Fluent Bit's tail
   * input reads in its event loop the same way. What blocks the loop is bounded: the first
   * KiB, and at most TAIL_READ_BYTES of bytes just written (in the page cache). A file that
   * has more (catching up) is read on, chunk by chunk, through the thread pool.
   */
  async read(handle: FileHandle): Promise<ReadOutcome> {
    // Also when stopped while waiting for the handle: the file is then tracked from its start.
    const unsettled = this.life.unsettled;
    if (unsettled !== null) {
      const early = await this.begin(handle, unsettled.start, unsettled.mismatchTold);
      if (early !== null) return early;
    }
    // Stopped (before this read, or while it settled the start): it reads nothing more.
    if (this.life.stopped) return STOPPED;
    const next = this.life.takeNextRead();
    const fresh = next === 'fresh';
    const buffer = await this.ctx.buffers.take();
    const chunkBytes = buffer.length - MARKER_MAX_BYTES;
    try {
      // Closed again while this reader waited its turn (a gate that just opened wakes every
      // waiting reader, and the first ones fill it): no I/O until it opens.
      if (!this.ctx.gate.isOpen(this.currentSource)) return READ_ON;
      if (next !== 'continuing' && (await this.truncatedBelow(handle, buffer))) return await this.truncated(handle);
      for (let chunks = 0; ; chunks++) {
        if (this.life.stopped) return STOPPED;
        // A file written faster than we read must not starve the others.
        if (chunks >= FAIR_SHARE_CHUNKS && this.ctx.buffers.contended) return READ_ON;
        if (!this.ctx.gate.isOpen(this.currentSource)) return READ_ON;
        const chunkStart = this.position;
        // The same read also fetches the bytes just before the position again: if they are not
        // the ones read there before, the file was truncated and refilled since the last look,
        // and what follows is new content, not a continuation. One pread leaves no window.
        const before = this.out.cursor.bytesBefore(chunkStart);
        const tailRead = chunks === 0 && fresh;
        const wanted = tailRead ? Math.min(chunkBytes, TAIL_READ_BYTES) : chunkBytes;
        const readTotal = tailRead
          ? readSync(handle.fd, buffer, 0, before.length + wanted, chunkStart - before.length)
          : (await handle.read(buffer, 0, before.length + wanted, chunkStart - before.length)).bytesRead;
        // Stopped while reading: do not emit; these bytes are read again after a restart.
        if (this.life.stopped) return STOPPED;
        if (readTotal < before.length || buffer.compare(before, 0, before.length, 0, before.length) !== 0) return await this.truncated(handle);
        const bytesRead = readTotal - before.length;
        if (bytesRead === 0) {
          this.sizeSeen = this.position;
          return AT_EOF;
        }
        if (this.life.unreadSince !== null && chunkStart === 0) return { kind: 'unread-since', since: this.life.reportUnread() };
        this.lastReadAt = this.ctx.now();
        if (chunkStart + bytesRead > this.sizeSeen) this.sizeSeen = chunkStart + bytesRead;
        this.ctx.counters.chunkRead(this.input.id, bytesRead);
        const chunk = buffer.subarray(before.length, readTotal);
        await this.out.emit(handle, this.currentSource, this.lines.push(chunk), chunk, chunkStart);
        this.out.cursor.advance(chunk, chunkStart);
        // Short of what was asked: the end of the file as of this read. What is written after it
        // is reported by inotify (or found by a scan) and read by the next read.
        if (bytesRead < wanted) {
          this.sizeSeen = this.position;
          return AT_EOF;
        }
      }
    } finally {
      this.ctx.buffers.give(buffer);
    }
  }

  /**
   * After a 'truncated' outcome, once its copy was looked for: without a copy (`copyFollowed`
   * false), what was framed of the old content leaves now, in the old epoch; then the file is
   * read again from 0 in the next epoch.
   */
  async afterTruncation(handle: FileHandle, copyFollowed: boolean): Promise<void> {
    // A checkpoint that no longer matched (nothing read yet): the next read starts the file.
    const epoch = this.life.restart();
    if (epoch === null) return;
    if (!copyFollowed) await this.flushPending(handle, true);
    this.lines.reset(0);
    const head = await readAt(handle, 0, FINGERPRINT_MAX_BYTES);
    // Emptied and not refilled yet: no first bytes to tell a further truncation by.
    const unreadSince = head.length === 0 ? this.ctx.now() : null;
    this.life.restartedFrom0(unreadSince);
    this.out.restart(head, epoch, unreadSince);
  }

  /** Read to EOF, finishing: the unfinished last line (flagged Partial) and the pending multiline event leave now. */
  async flushRest(handle: FileHandle): Promise<void> {
    await this.flushPending(handle, true);
  }

  /** partial_line_timeout / multiline.timeout: emit what waited that long without growth. */
  async flushQuiet(handle: FileHandle): Promise<void> {
    for (const out of this.lines.flushQuiet(this.ctx.now() - this.lastReadAt)) await this.out.emit(handle, this.currentSource, out, EMPTY, this.position);
  }

  /** When something held back is due for a timeout (ms since the epoch), or null. */
  get quietDueAt(): number | null {
    const delay = this.lines.quietDeadline;
    return delay === null ? null : this.lastReadAt + delay;
  }

  /** First open: where to start (start-resolution.ts); null once started. */
  private async begin(handle: FileHandle, start: StartPoint, mismatchTold: boolean): Promise<ReadOutcome | null> {
    const found = await resolveStart(handle, start, this.followedAt, mismatchTold);
    this.sizeSeen = found.size;
    if (found.kind === 'skip') return this.skip(found.reason);
    if (found.kind === 'mismatch') {
      // A copytruncate copy holds the rest, and is looked for exactly as when the truncation is
      // seen while reading. Stopped meanwhile (a reload, a stop): nothing is recorded, so the
      // successor starts from the same position and looks for it again.
      this.life.tellMismatch();
      this.ctx.observer.emit({ type: 'position-mismatch', path: this.currentPath, key: this.currentSource.key, offset: found.resume.offset, size: found.size, reason: found.reason });
      return found.resume.offset > 0 ? { kind: 'truncated', before: found.resume } : this.begin(handle, start, true);
    }
    this.life.settleStart(found.unreadSince);
    if (found.path !== undefined) this.currentSource = { ...this.currentSource, path: found.path };
    this.lines.reset(found.position);
    await this.out.startAt(handle, this.currentSource, found, start, this.file.state === 'live' && this.currentPath === this.currentSource.path);
    return null;
  }

  private async skip(reason: string): Promise<ReadOutcome> {
    this.life.skip(reason);
    await this.file.close();
    return { kind: 'skipped', reason };
  }

  /**
   * Truncated since the last look: other first bytes (read into `scratch`, the read buffer), or
   * smaller than the position when no bytes before it are known to read again with the chunk.
   */
  private async truncatedBelow(handle: FileHandle, scratch: Buffer): Promise<boolean> {
    const unchecked = this.position > 0 && this.out.cursor.bytesBefore(this.position).length === 0;
    if (unchecked && (await handle.stat()).size < this.position) return true;
    return !this.out.cursor.headStillMatches(readHeadInto(handle, scratch));
  }

  /** The file was truncated (copytruncate, or emptied and refilled): told; read again from 0 after afterTruncation. */
  private async truncated(handle: FileHandle): Promise<ReadOutcome> {
    const { size } = await handle.stat();
    this.sizeSeen = size;
    const epoch = this.out.cursor.epoch + 1;
    this.life.truncate(epoch);
    this.ctx.observer.emit({ type: 'truncated', path: this.currentPath, key: this.currentSource.key, position: this.position, size, epoch });
    return { kind: 'truncated', before: this.resumePoint() };
  }

  /**
   * Emits what is held back: the unfinished last line (flagged Partial) when `partial`, and
   * the pending multiline event.
   */
  private async flushPending(handle: FileHandle, partial: boolean): Promise<void> {
    for (const out of this.lines.flush(partial)) await this.out.emit(handle, this.currentSource, out, EMPTY, this.position);
  }
}

const EMPTY = Buffer.alloc(0);
const READ_ON: ReadOutcome = { kind: 'read-on' };
const AT_EOF: ReadOutcome = { kind: 'at-eof' };
const STOPPED: ReadOutcome = { kind: 'stopped' };
