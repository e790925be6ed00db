// Runs one followed file's reader: woken by a write, a scan or a decision, it waits for the
// shipper's gate, opens the file and reads until the reader reports EOF (or the gate closes),
// then holds the handle for the next wake. What the reader reports — and what comes of opening
// — is handed to the tailer as one typed outcome; the two the tailer must answer before the
// reader can go on (a truncation: was there a copy? a file unread since: were files born at
// its path since?) are awaited. Also here: finishing (emit what is held back, close), stopping,
// and the timer of partial_line_timeout / multiline.timeout.

import type { FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type FileGoneError, type FileOpenError, FileReadError } from './errors.js';
import { FileReader, type FileReaderOptions, type ReaderContext, type ResumePoint } from './reader.js';

/** What a follower hands to the tailer. */
export type FollowerOutcome =
  /** Read to EOF (the file may grow again), or found deleted while at EOF. */
  | { kind: 'at-eof' }
  /** The file could not be opened; tried again when next woken. */
  | { kind: 'open-failed'; error: FileOpenError }
  /** Opened after earlier failures. */
  | { kind: 'open-recovered' }
  /** The file can no longer be found by its identity; the follower is done. */
  | { kind: 'gone'; error: FileGoneError }
  /** The file was not read (compressed archive, or not the file its resume point describes); the follower is done. */
  | { kind: 'skipped'; reason: string }
  /** Truncated (see ReadOutcome): answer true if a copy was found and is followed from `before`. */
  | { kind: 'truncated'; before: ResumePoint }
  /** About to read the first bytes of a file unread since `since` (see ReadOutcome): follow files born since first. */
  | { kind: 'unread-since'; since: number };

/** Where outcomes go. Resolves true only for 'truncated' with a copy followed. Must not throw. */
export type OutcomeRoute = (follower: Follower, outcome: FollowerOutcome) => Promise<boolean>;

export interface FollowerContext extends ReaderContext {
  log: Logger;
  route: OutcomeRoute;
}

export interface FollowerOptions extends Omit<FileReaderOptions, 'atEof'> {
  /** Resolves when the files this one continues (rotated predecessors) were read to EOF. */
  after?: Promise<unknown>;
}

export class Follower {
  readonly reader: FileReader;

  private readonly log: Logger;
  /**
   * Where it is in its life: following (woken by writes), finishing (released: reads to EOF,
   * emits what is held back, closes), stopping (emits nothing more), ended.
   */
  private life: 'following' | 'finishing' | 'stopping' | 'ended' = 'following';
  /** Where reading stands: woken (something to read), not at EOF (yet), or read to EOF since the last wake. */
  private progress: 'to-read' | 'not-at-eof' | 'at-eof' = 'not-at-eof';
  private pumping: Promise<void> | null = null;
  private openFailing = false;
  /** Ends the current wait for the gate (false: stopped). */
  private endGateWait: ((open: boolean) => void) | null = null;
  private readonly finishedPromise: Promise<void>;
  private signalFinished!: () => void;
  private readonly firstEofPromise: Promise<void>;
  private signalFirstEof!: () => void;
  private quietTimer: NodeJS.Timeout | null = null;
  private readonly after: Promise<unknown>;

  constructor(
    private readonly ctx: FollowerContext,
    options: FollowerOptions,
  ) {
    this.reader = new FileReader(ctx, { ...options, atEof: () => this.atEof });
    this.after = options.after ?? Promise.resolve();
    this.log = ctx.log.child({ input: options.input.id, path: options.source.path, key: options.source.key });
    this.finishedPromise = new Promise((resolve) => (this.signalFinished = resolve));
    this.firstEofPromise = new Promise((resolve) => (this.signalFirstEof = resolve));
  }

  /** Woken and not done with it yet: reading, or waiting for the gate, a handle or a buffer. */
  get isReading(): boolean {
    return this.pumping !== null;
  }

  /** Read to EOF and nothing new signalled since. */
  get atEof(): boolean {
    return this.progress === 'at-eof';
  }

  get isFinished(): boolean {
    return this.life === 'ended';
  }

  /** Resolves once the reader first reached EOF (or ended): successors wait for it. */
  get firstEof(): Promise<void> {
    return this.firstEofPromise;
  }

  /** Something may have changed: read what is available. Cheap when already reading. */
  wake(): void {
    if (this.life === 'ended' || this.life === 'stopping') return;
    this.progress = 'to-read';
    if (this.pumping === null) this.pumping = this.pump();
  }

  /** Resolves when the reader is not reading (woken readers first finish their read). */
  async settled(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  /**
   * Ends after reading to EOF: pending partial line and multiline event are emitted (they can
   * never be completed), then the handle is closed.
   */
  finish(): Promise<void> {
    if (this.life === 'following' || this.life === 'finishing') {
      this.life = 'finishing';
      this.wake();
    }
    return this.finishedPromise;
  }

  /** Stops reading without emitting anything more; pending bytes are read again after a restart. */
  async stop(): Promise<void> {
    await this.halt();
    await this.reader.file.close();
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
    const kept = await this.reader.file.detachIfDeleted(this.life !== 'ended');
    this.end();
    return kept;
  }

  /** Gives up on the file (e.g. removed while Kafka blocks): counts the bytes never emitted. */
  async abandon(): Promise<number> {
    await this.stop();
    return this.reader.backlog;
  }

  /** Looks whether the file was deleted (nlink 0) without reading it; at EOF, that is told. */
  async checkRemoved(): Promise<void> {
    if ((await this.reader.file.checkRemoved()) && this.atEof) await this.ctx.route(this, AT_EOF);
  }

  private async halt(): Promise<void> {
    if (this.life !== 'ended') this.life = 'stopping';
    this.reader.halt();
    this.endGateWait?.(false);
    this.clearQuietTimer();
    await this.settled();
  }

  private async pump(): Promise<void> {
    try {
      await this.after;
      while (this.progress === 'to-read' && (this.life === 'following' || this.life === 'finishing')) {
        this.progress = 'not-at-eof';
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
    if (!this.ctx.gate.isOpen(this.reader.source) && !(await this.waitGate())) return;
    const handle = await this.open();
    if (handle === null) return;
    const { reader } = this;
    try {
      if (!(await this.readToEnd(handle))) return;
      if (this.atEof) await this.afterEof(handle);
    } catch (err) {
      this.ctx.observer.emit({ type: 'read-failed', path: reader.currentPath, key: reader.source.key, error: new FileReadError(reader.currentPath, reader.identity, reader.position, err) });
      await reader.file.close(); // the next read reopens it
    } finally {
      reader.file.idle();
    }
  }

  /** Opens the file for a read; null (told to the tailer) when it cannot be opened. */
  private async open(): Promise<FileHandle | null> {
    const opened = await this.reader.file.open();
    if (opened.kind === 'open') {
      if (this.openFailing) {
        this.openFailing = false;
        await this.ctx.route(this, OPEN_RECOVERED);
      }
      return opened.handle;
    }
    if (opened.kind === 'gone') {
      this.end();
    } else {
      this.openFailing = true;
      // Successors must not wait on a file that cannot be read.
      this.signalFirstEof();
    }
    await this.ctx.route(this, opened);
    return null;
  }

  /** Reads until the reader reports EOF or must wait; the tailer answers what the reader asks. False: done or stopped. */
  private async readToEnd(handle: FileHandle): Promise<boolean> {
    for (;;) {
      const outcome = await this.reader.read(handle);
      switch (outcome.kind) {
        case 'at-eof':
          // Unless woken meanwhile (then it reads again).
          if (this.progress === 'not-at-eof') this.progress = 'at-eof';
          return true;
        case 'read-on':
          this.progress = 'to-read'; // the pump waits for the gate, then continues from here
          return true;
        case 'stopped':
          return false;
        case 'skipped':
          this.end();
          await this.ctx.route(this, outcome);
          return false;
        case 'truncated': {
          const copyFollowed = await this.ctx.route(this, outcome);
          // Stopped meanwhile: the copy was not looked for. The tracker keeps the old position,
          // from which the successor finds the file truncated again and looks for the copy itself.
          if (this.life === 'stopping') return false;
          await this.reader.afterTruncation(handle, copyFollowed);
          continue;
        }
        case 'unread-since':
          await this.ctx.route(this, outcome);
          if (this.life === 'stopping') return false;
          continue;
      }
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
        resolve(open && this.life !== 'stopping');
      };
      this.endGateWait = end;
      void this.ctx.gate.waitOpen(this.reader.source).then(() => end(true));
    });
  }

  private async afterEof(handle: FileHandle): Promise<void> {
    if (this.life === 'finishing') {
      await this.reader.flushRest(handle);
      await this.reader.file.close();
      this.end();
      return;
    }
    await this.reader.flushQuiet(handle);
    this.armQuietTimer();
    this.signalFirstEof();
    await this.ctx.route(this, AT_EOF);
  }

  /** One timer, only while something waits for a timeout: idle files cost no timers. */
  private armQuietTimer(): void {
    this.clearQuietTimer();
    const due = this.reader.quietDueAt;
    if (due === null) return;
    this.quietTimer = setTimeout(
      () => {
        this.quietTimer = null;
        this.wake();
      },
      Math.max(0, due - this.ctx.now()),
    );
    this.quietTimer.unref();
  }

  private clearQuietTimer(): void {
    if (this.quietTimer !== null) clearTimeout(this.quietTimer);
    this.quietTimer = null;
  }

  private end(): void {
    this.life = 'ended';
    this.clearQuietTimer();
    this.signalFirstEof();
    this.signalFinished();
  }
}

const AT_EOF: FollowerOutcome = { kind: 'at-eof' };
const OPEN_RECOVERED: FollowerOutcome = { kind: 'open-recovered' };
