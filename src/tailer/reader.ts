// One followed file: read position, epoch, fingerprint and the framing -> decoding -> joining
// stages. When woken it reads what is available in chunks, one LineBatch per chunk, until EOF
// or until the FlowGate closes, and detects truncation. Its handle is a FileAccess (reopened by
// identity). Lifecycle decisions (rotated, released) belong to the tailer.

import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import { FileGoneError, FileOpenError, FileReadError } from './errors.js';
import { FileAccess, type OpenFile } from './file-access.js';
import type { FramedLines } from './framer.js';
import { LinePipeline } from './line-pipeline.js';
import type { HandlePool } from './handle-pool.js';
import { FileCursor } from './file-cursor.js';
import { continuationMismatch, FINGERPRINT_MAX_BYTES, MARKER_MAX_BYTES, markerAt, readAt, readHead, readHeadInto } from './identity.js';
import type { ReadBuffers } from './read-buffers.js';
import { isCompressedHead } from './rotation.js';
import type { BatchSink, FlowGate, LineBatch } from '../core/batch.js';
import type { FileIdentity, SourceFile } from '../core/file.js';
import type { ResumePoint, StartPoint } from './prospector.js';
import type { OffsetTracker, TrackedFile } from '../core/offset-tracker.js';
import type { TailerEvents } from './events.js';
import type { FollowedFileState, TailerStats } from './types.js';

export type ReaderState = FollowedFileState;

export type { ResumePoint, StartPoint } from './prospector.js';

/** What a reader tells the tailer. Called from the reader's read loop; must not throw. */
export type ReaderOutcome =
  /** Read to EOF (the file may grow again). */
  | { kind: 'at-eof' }
  /** The file could not be opened; the reader tries again when next woken. */
  | { kind: 'open-failed'; error: FileOpenError }
  /** Opened after earlier failures. */
  | { kind: 'open-recovered' }
  /** The file can no longer be found by its identity; the reader is done. */
  | { kind: 'gone'; error: FileGoneError }
  /** The file was not read (compressed archive, or not the file its resume point describes); the reader is done. */
  | { kind: 'skipped'; reason: string };

/** Whom a reader reports to: its outcomes, and the one question it cannot answer itself. */
export interface ReaderHost {
  /** What came of a pass (or of opening). Must not throw. */
  report(reader: FileReader, outcome: ReaderOutcome): void;
  /**
   * The file no longer holds what was read up to `before` (truncated, maybe while not followed):
   * is there a copy of it (copytruncate)? If so it is followed from there and this resolves true,
   * and the reader drops what it held back instead of flushing it.
   */
  copyFollowed(reader: FileReader, before: ResumePoint): Promise<boolean>;
  /**
   * The reader is about to read the first bytes of a file it has read nothing of since `since`
   * (followed then, or found empty then): had the file been copied and truncated meanwhile
   * (copytruncate while the gate was closed), only the copy holds what it had, and no position
   * leads to it. Files born at the reader's path since then are followed too.
   */
  bornSince(reader: FileReader, since: number): Promise<void>;
}

/** Everything a tailer's readers share. */
export interface ReaderContext {
  gate: FlowGate;
  sink: BatchSink;
  stats: TailerStats;
  log: Logger;
  pool: HandlePool;
  buffers: ReadBuffers;
  now: () => number;
  openFile: OpenFile;
  host: ReaderHost;
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
  /** Resolves when the files this one continues (rotated predecessors) were read to EOF. */
  after?: Promise<unknown>;
  /** The open descriptor of a deleted file, handed over by a previous tailer. */
  inherited?: FileHandle;
}

/** Chunks read in one go before a reader lets others waiting for a read buffer go first. */
const FAIR_SHARE_CHUNKS = 32;
/** The most a pass reads synchronously (see readAvailable); the rest goes through the thread pool. */
export const TAIL_READ_BYTES = 16 * 1024;

export class FileReader {
  /** Settled when the file is first opened (a resumed file keeps the path it had). */
  source: SourceFile;
  readonly identity: FileIdentity;
  readonly input: InputConfig;
  state: ReaderState;
  /** When the reader first found its file deleted (nlink 0), ms. */
  removedAt: number | undefined;
  /** Last time a read returned bytes (or the reader was created), ms. */
  lastGrowthAt: number;
  /** When the reader was created (the file was followed), ms. */
  readonly followedAt: number;
  /**
   * Size of the file as last seen: by reading up to it (a short read is the end of the file),
   * by a scan, or by an fstat on opening and after a truncation. The lag metric is this minus
   * the committed offset, so it follows the reads, not the scans.
   */
  lastSize = 0;

  private readonly log: Logger;
  private readonly lines: LinePipeline;
  /** What was read of the file: emission end, first bytes, bytes before the position, epoch. */
  private readonly cursor = new FileCursor();
  private start: StartPoint | null;
  /** mtime of the file when a scan last looked at it. */
  private observedMtimeMs = 0;

  private readonly access: FileAccess;
  private openFailing = false;
  /** This file's entry in the offset tracker, from the first open on. */
  private tracked: TrackedFile | null = null;
  /**
   * Standing at 0 with none of the file's bytes read since this time (ms): before reading the
   * first ones, copies made meanwhile are looked for (see ReaderHost.bornSince). null otherwise.
   */
  private nothingReadSince: number | null = null;

  private dirty = false;
  private reachedEof = false;
  private pumping: Promise<void> | null = null;
  private stopping = false;
  private finished = false;
  private finishRequested = false;
  /** Ends the current wait for the gate (false: stopped). */
  private endGateWait: ((open: boolean) => void) | null = null;
  private readonly finishedPromise: Promise<void>;
  private signalFinished!: () => void;
  private readonly firstEofPromise: Promise<void>;
  private signalFirstEof!: () => void;
  private quietTimer: NodeJS.Timeout | null = null;
  private readonly after: Promise<unknown>;

  constructor(
    private readonly ctx: ReaderContext,
    options: FileReaderOptions,
  ) {
    this.source = options.source;
    this.identity = options.source.identity;
    this.input = options.input;
    this.access = new FileAccess(this.identity, options.currentPath, ctx.pool, ctx.openFile, () => this.atEof, options.inherited);
    this.state = options.state;
    if (this.state === 'removed') this.removedAt = ctx.now();
    this.start = options.start;
    this.after = options.after ?? Promise.resolve();
    this.log = ctx.log.child({ input: this.input.id, path: this.source.path, key: this.source.key });
    this.lines = new LinePipeline(this.input, ctx.stats);
    this.lastGrowthAt = ctx.now();
    this.followedAt = this.lastGrowthAt;
    this.finishedPromise = new Promise((resolve) => (this.signalFinished = resolve));
    this.firstEofPromise = new Promise((resolve) => (this.signalFirstEof = resolve));
  }

  /** Next byte to read (bytes before it are emitted or held as an unfinished line/event). */
  get position(): number {
    return this.lines.position;
  }

  /**
   * What a scan saw at the file's path: true when the file may hold bytes not read yet, or other
   * bytes than were read (a size other than the position, or another mtime than last time).
   */
  observed(stats: { size: number; mtimeMs: number }): boolean {
    const changed = stats.size !== this.position || stats.mtimeMs !== this.observedMtimeMs;
    this.observedMtimeMs = stats.mtimeMs;
    // Smaller than the position: truncated, or a stat older than the reader's last read; the
    // reader's next pass tells which (and resets it).
    this.lastSize = Math.max(stats.size, this.position);
    return changed;
  }

  /** Woken and not done with it yet: reading, or waiting for the gate, a handle or a buffer. */
  get isReading(): boolean {
    return this.pumping !== null;
  }

  /** Read to EOF and nothing new signalled since. */
  get atEof(): boolean {
    return this.reachedEof && !this.dirty;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Where the file is now (its rotated name, once known). */
  get currentPath(): string {
    return this.access.path;
  }

  /** Its file left its live path: renamed to `movedTo`, or (undefined) deleted or moved out of sight. */
  leftLivePath(movedTo: string | undefined): void {
    if (movedTo !== undefined) this.access.path = movedTo;
    if (this.state === 'live') this.state = 'rotated';
  }

  /** Its file was renamed (back) to a glob-matched path. */
  backAtLivePath(path: string): void {
    this.access.path = path;
    if (this.state !== 'removed') this.state = 'live';
  }

  get hasStarted(): boolean {
    return this.start === null;
  }

  /** Unread bytes as of the last fstat. */
  get backlog(): number {
    return Math.max(0, this.lastSize - this.cursor.emittedEnd);
  }

  /** Where a later reader of the same file may continue (all emitted up to here). */
  resumePoint(): ResumePoint {
    return { ...this.cursor.position(), path: this.source.path };
  }

  /** The file's record in the offset tracker, once the reader has started. */
  get tracking(): TrackedFile | null {
    return this.tracked;
  }

  /** Resolves once the reader first reached EOF (or ended): successors wait for it. */
  get firstEof(): Promise<void> {
    return this.firstEofPromise;
  }

  /** Something may have changed: read what is available. Cheap when already reading. */
  wake(): void {
    if (this.finished || this.stopping) return;
    this.dirty = true;
    this.reachedEof = false;
    if (this.pumping === null) this.pumping = this.pump();
  }

  /** Resolves when the reader is not reading (woken readers first finish their pass). */
  async settled(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  /**
   * Ends the reader after reading to EOF: pending partial line and multiline event are emitted
   * (they can never be completed), then the handle is closed.
   */
  finish(): Promise<void> {
    if (!this.finished && !this.stopping) {
      this.finishRequested = true;
      this.wake();
    }
    return this.finishedPromise;
  }

  /** Stops reading without emitting anything more; pending bytes are read again after a restart. */
  async stop(): Promise<void> {
    await this.halt();
    await this.closeHandle();
    this.end();
  }

  /**
   * Stops reading like stop(), but the descriptor of a file deleted meanwhile is kept open and
   * returned, not closed: nothing else reaches such a file, and a successor reads its rest.
   */
  async stopKeepingDeleted(): Promise<FileHandle | null> {
    await this.halt();
    // Also a descriptor a previous tailer handed over, not used yet (the gate kept this reader
    // from starting: a second reload behind a stalled Kafka), and one opened by a reader stopped
    // while it checked its start (nothing tracked yet): the successor starts from the tracker's
    // or the registry's position. Closed, either took the deleted file's unread rest with it.
    const handle = this.access.handle ?? this.access.unusedInherited;
    let deleted = false;
    if (handle !== null && !this.finished) {
      try {
        deleted = (await handle.stat()).nlink === 0;
      } catch {
        deleted = false;
      }
    }
    const kept = deleted ? this.access.detach() : null;
    if (kept === null) await this.closeHandle();
    this.ctx.stats.filesOpen = this.ctx.pool.openCount;
    this.end();
    return kept;
  }

  private async halt(): Promise<void> {
    this.stopping = true;
    this.endGateWait?.(false);
    this.clearQuietTimer();
    await this.settled();
  }

  private async closeHandle(): Promise<void> {
    await this.access.close();
    this.ctx.stats.filesOpen = this.ctx.pool.openCount;
  }

  /** Gives up on the file (e.g. removed while Kafka blocks): counts the bytes never emitted. */
  async abandon(): Promise<number> {
    await this.stop();
    return this.backlog;
  }

  /**
   * Notices that the file was deleted (nlink 0) without reading it: the read loop may be waiting
   * for the gate, and close_removed_after runs from the deletion.
   */
  async checkRemoved(): Promise<void> {
    const handle = this.access.handle;
    if (this.state === 'removed' || handle === null) return;
    try {
      this.noteLinks((await handle.stat()).nlink);
    } catch {
      // Closed meanwhile (evicted): the next read reopens it by identity and looks again.
    }
  }

  private noteLinks(nlink: number): void {
    if (nlink === 0 && this.state !== 'removed') {
      this.state = 'removed';
      this.removedAt = this.ctx.now();
      this.access.deleted();
      // Already read to the end: the tailer may release it now (close_removed).
      if (this.atEof) this.ctx.host.report(this, AT_EOF);
    }
  }

  private async pump(): Promise<void> {
    try {
      await this.after;
      while (this.dirty && !this.stopping && !this.finished) {
        this.dirty = false;
        await this.readOnce();
      }
    } catch (err) {
      // readOnce handles file errors; anything here is a bug, but must not kill the agent.
      this.log.error({ err }, 'reader failed');
    } finally {
      this.pumping = null;
    }
  }

  private async readOnce(): Promise<void> {
    if (!this.ctx.gate.isOpen(this.source) && !(await this.waitGate())) return;
    const handle = await this.open();
    if (handle === null) return;
    try {
      await this.readAvailable(handle);
      if (this.atEof) await this.afterEof(handle);
    } catch (err) {
      this.ctx.observer.emit({ type: 'read-failed', path: this.currentPath, key: this.source.key, error: new FileReadError(this.currentPath, this.identity, this.position, err) });
      await this.closeHandle();
    } finally {
      this.access.idle();
    }
  }

  /** The file's handle, or null (reported to the tailer) when it cannot be opened. */
  private async open(): Promise<FileHandle | null> {
    try {
      const handle = await this.access.acquire();
      this.ctx.stats.filesOpen = this.ctx.pool.openCount;
      if (this.openFailing) {
        this.openFailing = false;
        this.ctx.host.report(this, { kind: 'open-recovered' });
      }
      return handle;
    } catch (err) {
      if (err instanceof FileGoneError) {
        this.end();
        this.ctx.host.report(this, { kind: 'gone', error: err });
      } else if (err instanceof FileOpenError) {
        this.openFailing = true;
        // Successors must not wait on a file that cannot be read.
        this.signalFirstEof();
        this.ctx.host.report(this, { kind: 'open-failed', error: err });
      } else {
        throw err;
      }
      return null;
    }
  }

  /**
   * Waits for the gate; false if the reader was stopped meanwhile. (Not a race with a promise
   * of the reader's stop: each race would stay attached to that promise until the stop, and a
   * reader waits for the gate thousands of times under load.)
   */
  private waitGate(): Promise<boolean> {
    return new Promise((resolve) => {
      const end = (open: boolean): void => {
        if (this.endGateWait !== end) return;
        this.endGateWait = null;
        resolve(open && !this.stopping);
      };
      this.endGateWait = end;
      void this.ctx.gate.waitOpen(this.source).then(() => end(true));
    });
  }

  /**
   * One pass: checks for truncation, then reads chunks up to the end of the file. Each write
   * wakes the reader, so most passes find a few new lines: such a pass costs two preads, the
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
  private async readAvailable(handle: FileHandle): Promise<void> {
    const starting = this.start !== null;
    if (starting && !(await this.resolveStart(handle))) return;
    const buffer = await this.ctx.buffers.take();
    const chunkBytes = buffer.length - MARKER_MAX_BYTES;
    try {
      if (!this.ctx.gate.isOpen(this.source)) {
        // Closed again while this reader waited its turn (a gate that just opened wakes every
        // waiting reader, and the first ones fill it): no I/O until it opens.
        this.dirty = true;
        return;
      }
      if (!starting) await this.checkTruncation(handle, buffer);
      for (let chunks = 0; ; chunks++) {
        if (this.stopping) return;
        if (chunks >= FAIR_SHARE_CHUNKS && this.ctx.buffers.contended) {
          this.dirty = true; // a file written faster than we read must not starve the others
          return;
        }
        if (!this.ctx.gate.isOpen(this.source)) {
          this.dirty = true; // the pump waits for the gate, then continues from here
          return;
        }
        const chunkStart = this.position;
        // The same read also fetches the bytes just before the position again: if they are not
        // the ones read there before, the file was truncated and refilled since the last look,
        // and what follows is new content, not a continuation. One pread leaves no window.
        const before = this.cursor.bytesBefore(chunkStart);
        const tailRead = chunks === 0 && !starting;
        const wanted = tailRead ? Math.min(chunkBytes, TAIL_READ_BYTES) : chunkBytes;
        const readTotal = tailRead
          ? readSync(handle.fd, buffer, 0, before.length + wanted, chunkStart - before.length)
          : (await handle.read(buffer, 0, before.length + wanted, chunkStart - before.length)).bytesRead;
        // Stopped while reading: do not emit; these bytes are read again after a restart.
        if (this.stopping) return;
        if (readTotal < before.length || buffer.compare(before, 0, before.length, 0, before.length) !== 0) {
          await this.restartAfterTruncation(handle);
          continue;
        }
        const bytesRead = readTotal - before.length;
        if (bytesRead === 0) {
          this.lastSize = this.position;
          break;
        }
        if (this.nothingReadSince !== null && chunkStart === 0) {
          const since = this.nothingReadSince;
          this.nothingReadSince = null;
          await this.ctx.host.bornSince(this, since);
          if (this.stopping) return;
        }
        this.lastGrowthAt = this.ctx.now();
        if (chunkStart + bytesRead > this.lastSize) this.lastSize = chunkStart + bytesRead;
        this.ctx.stats.bytesRead.set(this.input.id, (this.ctx.stats.bytesRead.get(this.input.id) ?? 0) + bytesRead);
        const chunk = buffer.subarray(before.length, readTotal);
        await this.emit(handle, this.lines.push(chunk), chunk, chunkStart);
        this.cursor.advance(chunk, chunkStart);
        // Short of what was asked: the end of the file as of this read. What is written after it
        // is reported by inotify (or found by a scan) and read by the next pass.
        if (bytesRead < wanted) {
          this.lastSize = this.position;
          break;
        }
      }
    } finally {
      this.ctx.buffers.give(buffer);
    }
    this.reachedEof = !this.dirty;
  }

  /** Chooses the start position on first open: resume point if it still matches, else fallback. */
  private async resolveStart(handle: FileHandle): Promise<boolean> {
    const start = this.start!;
    const { size } = await handle.stat();
    this.lastSize = size;
    const head = await readHead(handle, size);
    if (start.skipCompressed === true && isCompressedHead(head)) return this.skip('compressed archive');
    let position = start.fallback === 'skip' || start.fallback > size ? 0 : start.fallback;
    let epoch = 0;
    if (start.resume !== undefined) {
      const resume = start.resume;
      const mismatch = await continuationMismatch(handle, size, head, resume);
      if (mismatch === null) {
        position = resume.offset;
        epoch = resume.epoch ?? 0;
        if (resume.path !== undefined) this.source = { ...this.source, path: resume.path };
      } else if (start.fallback === 'skip') {
        return this.skip(`checkpoint does not match (${mismatch})`);
      } else {
        // Truncated (or replaced) since that position was taken, maybe while the agent was down:
        // a copytruncate copy holds the rest, and is looked for exactly as when the truncation
        // is seen while reading.
        this.ctx.observer.emit({ type: 'position-mismatch', path: this.currentPath, key: this.source.key, offset: resume.offset, size, reason: mismatch });
        if (resume.offset > 0) await this.ctx.host.copyFollowed(this, resume);
        // Stopped meanwhile (a reload, a stop): the copy was not looked for. Nothing is recorded,
        // so the successor starts from the same position and looks for it again.
        if (this.stopping) return false;
      }
    } else if (start.fallback === 'skip') {
      return this.skip('nothing to resume');
    }
    this.start = null;
    // Read from 0 with nothing read before (not a middle file: it is what was found rotated away);
    // a predecessor that stood at 0 too says since when.
    if (position === 0 && start.skipCompressed !== true && (start.resume === undefined || start.resume.offset === 0)) {
      this.nothingReadSince = Math.min(this.followedAt, start.resume?.unreadSince ?? this.followedAt);
    }
    const marker = position === 0 ? null : position === start.resume?.offset ? start.resume.marker : await markerAt(handle, position);
    this.lines.reset(position);
    // Read from 0 after a mismatch: the first bytes again, as they are now. The copy search took a
    // while, and a copytruncate in progress (copied, not yet truncated) when `head` was read has
    // refilled the file since: with the old first bytes, the first read of the new ones looked
    // like a truncation, and they were read and shipped twice (soak --gap 1.5 seed 2204).
    const startHead = position === 0 && start.resume !== undefined && start.resume.offset > 0 ? await readHead(handle, (await handle.stat()).size) : head;
    this.cursor.startAt(position, startHead, marker, epoch);
    if (position > 0) {
      // The bytes before the position go into the window, so that the first read already
      // checks them (a file truncated below the position shows in the read itself).
      const len = Math.min(position, MARKER_MAX_BYTES);
      this.cursor.seed(await readAt(handle, position - len, len), position - len);
    }
    const from = this.cursor.position();
    this.tracked = this.ctx.tracker.track(this.source, from, position === 0 ? from : (start.acknowledgedUpTo ?? null), start.copyOf ?? null);
    // Just opened at its live path: a sighting there (see Checkpoint.seenAt).
    if (this.state === 'live' && this.currentPath === this.source.path) this.tracked.seen(this.ctx.now());
    if (this.nothingReadSince !== null) this.tracked.nothingReadSince(this.nothingReadSince);
    return true;
  }

  private async skip(reason: string): Promise<false> {
    this.start = null;
    await this.closeHandle();
    this.end();
    this.ctx.host.report(this, { kind: 'skipped', reason });
    return false;
  }

  /**
   * Truncated since the last look: other first bytes (read into `scratch`, the read buffer), or
   * smaller than the position when no bytes before it are known to read again with the chunk.
   */
  private async checkTruncation(handle: FileHandle, scratch: Buffer): Promise<void> {
    const unchecked = this.position > 0 && this.cursor.bytesBefore(this.position).length === 0;
    if (unchecked && (await handle.stat()).size < this.position) return this.restartAfterTruncation(handle);
    if (!this.cursor.headStillMatches(readHeadInto(handle, scratch))) await this.restartAfterTruncation(handle);
  }

  /** The file was truncated (copytruncate, or emptied and refilled): read it again from 0. */
  private async restartAfterTruncation(handle: FileHandle): Promise<void> {
    const { size } = await handle.stat();
    this.lastSize = size;
    const epoch = this.cursor.epoch + 1;
    this.ctx.observer.emit({ type: 'truncated', path: this.currentPath, key: this.source.key, position: this.position, size, epoch });
    const copyFollowed = await this.ctx.host.copyFollowed(this, this.resumePoint());
    // Stopped meanwhile: the copy was not looked for. The tracker keeps the old position, from
    // which the successor finds the file truncated again and looks for the copy itself.
    if (this.stopping) return;
    // Without a copy, what was framed of the old content leaves now, in the old epoch.
    if (!copyFollowed) await this.flushPending(handle, true);
    this.lines.reset(0);
    const head = await readAt(handle, 0, FINGERPRINT_MAX_BYTES);
    this.cursor.startAt(0, head, null, epoch);
    this.tracked?.started(this.cursor.position());
    // Emptied and not refilled yet: no first bytes to tell a further truncation by.
    this.nothingReadSince = head.length === 0 ? this.ctx.now() : null;
    if (this.nothingReadSince !== null) this.tracked?.nothingReadSince(this.nothingReadSince);
  }

  /**
   * Hands `out` to the sink as one batch. The marker comes from the bytes in memory (`chunk`,
   * read at `chunkStart`, and the window before it), else from the file.
   */
  private async emit(handle: FileHandle, out: FramedLines, chunk: Buffer, chunkStart: number): Promise<void> {
    const count = out.lines.length;
    if (count === 0) return;
    const endOffset = out.ends[count - 1]!;
    const marker = this.cursor.markerFor(endOffset, chunk, chunkStart) ?? (await markerAt(handle, endOffset));
    const batch: LineBatch = {
      source: this.source,
      epoch: this.cursor.epoch,
      lines: out.lines,
      // Emission is contiguous: this batch starts where the previous one ended.
      startOffset: this.cursor.emittedEnd,
      ends: out.ends,
      flags: out.flags,
      endOffset,
      marker,
      fingerprint: this.cursor.fingerprint,
    };
    this.cursor.emitted(endOffset, marker);
    this.tracked?.handedOver(endOffset, marker, batch.fingerprint, batch.epoch);
    const linesRead = this.ctx.stats.linesRead;
    linesRead.set(this.input.id, (linesRead.get(this.input.id) ?? 0) + count);
    this.ctx.sink(batch);
  }

  /**
   * Emits what is held back: the unfinished last line (flagged Partial) when `partial`, and
   * the pending multiline event.
   */
  private async flushPending(handle: FileHandle, partial: boolean): Promise<void> {
    for (const out of this.lines.flush(partial)) await this.emit(handle, out, EMPTY, this.position);
  }

  private async afterEof(handle: FileHandle): Promise<void> {
    if (this.finishRequested) {
      await this.flushPending(handle, true);
      await this.closeHandle();
      this.end();
      return;
    }
    await this.flushIfQuiet(handle);
    this.armQuietTimer();
    this.signalFirstEof();
    this.ctx.host.report(this, AT_EOF);
  }

  /** partial_line_timeout / multiline.timeout: emit what waited that long without growth. */
  private async flushIfQuiet(handle: FileHandle): Promise<void> {
    for (const out of this.lines.flushQuiet(this.ctx.now() - this.lastGrowthAt)) await this.emit(handle, out, EMPTY, this.position);
  }

  /** One timer, only while something waits for a timeout: idle files cost no timers. */
  private armQuietTimer(): void {
    this.clearQuietTimer();
    const delay = this.lines.quietDeadline;
    if (delay === null) return;
    const wait = Math.max(0, this.lastGrowthAt + delay - this.ctx.now());
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      this.wake();
    }, wait);
    this.quietTimer.unref();
  }

  private clearQuietTimer(): void {
    if (this.quietTimer !== null) clearTimeout(this.quietTimer);
    this.quietTimer = null;
  }

  private end(): void {
    this.finished = true;
    this.clearQuietTimer();
    this.signalFirstEof();
    this.signalFinished();
  }
}

const EMPTY = Buffer.alloc(0);
const AT_EOF: ReaderOutcome = { kind: 'at-eof' };
