// Where a FileReader is in its life, as one state, with every transition here and each legal
// only from the states it comes from. Pure: no file, no clock (times come in as arguments), so
// the transitions are tested alone (test/tailer-reader-life.test.ts).
//
//   starting ──settleStart──► reading ◄───────────┐
//      │  └─tellMismatch (a position that no        │ restart (afterTruncation)
//      │    longer matched: resolved again)         │
//      └─skip──► skipped         reading ──truncate──► truncated
//   any ──halt──► stopped (terminal)
//
// A read in flight when the reader is halted (one waiting for a handle, or for its start to be
// resolved) emits nothing more: its transitions leave `stopped` as it is — the stop wins — but
// a start not settled yet is still settled by it, as before: the file is then tracked from
// there, and a successor (after a reload) is handed that position.

import type { FileIdentity } from '../core/file.js';
import { TailerError } from './errors.js';
import type { StartPoint } from './prospector.js';

/** What a started reader's next read does first (see FileReader.read). */
export type NextRead =
  /** A truncation check, then a small synchronous first read. */
  | 'fresh'
  /** Neither: the read that stopped to settle its start or to ask about a truncation goes on. */
  | 'continuing'
  /**
   * A truncation check, no tail read: the read that stopped to look for copies born since. The
   * search may have left a copy the live file held to this reader, whose truncation since must
   * show — else the copy is lost and the refill read under the old first bytes.
   */
  | 'after-search';

export type ReaderLife =
  /**
   * Not opened yet: where to start is settled at the first read (start-resolution.ts).
   * `mismatchTold`: a resume point that no longer matched was told (and its copy looked for).
   */
  | { readonly kind: 'starting'; readonly start: StartPoint; readonly mismatchTold: boolean }
  /**
   * Started. `unreadSince`: standing at 0 with none of the file's bytes read since then (ms) —
   * before the first bytes are read, copies born since are looked for; else null.
   */
  | { readonly kind: 'reading'; readonly next: NextRead; readonly unreadSince: number | null }
  /** Found truncated: waits for afterTruncation (its copy looked for) to restart from 0 in `epoch`. */
  | { readonly kind: 'truncated'; readonly epoch: number; readonly unreadSince: number | null }
  /** Not read (compressed archive, not the file its resume point describes): done. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /**
   * Halted: nothing more is emitted. `unsettled`: stopped while starting — the start a read
   * already under way settles (then null); null once settled (it read, or was skipped).
   */
  | { readonly kind: 'stopped'; readonly unsettled: Unsettled | null };

/** A start not settled yet: where to start, and whether a mismatch was told (its copy looked for). */
export interface Unsettled {
  readonly start: StartPoint;
  readonly mismatchTold: boolean;
}

export type ReaderLifeKind = ReaderLife['kind'];

/** A transition asked of a reader in a state it does not come from: a bug, told with its context. */
export class ReaderStateError extends TailerError {
  constructor(
    path: string,
    identity: FileIdentity,
    readonly from: ReaderLifeKind,
    readonly transition: string,
  ) {
    super(`reader of ${path} (${identity.dev}:${identity.ino}): '${transition}' is not possible while ${from}`, path, identity);
  }
}

export class ReaderLifecycle {
  private life: ReaderLife;

  constructor(
    start: StartPoint,
    private readonly identity: FileIdentity,
    /** Where the file is now, for errors. */
    private readonly path: () => string,
  ) {
    this.life = { kind: 'starting', start, mismatchTold: false };
  }

  get current(): ReaderLife {
    return this.life;
  }

  /** Its start was settled (read from a position, or skipped). */
  get started(): boolean {
    return this.unsettled === null;
  }

  get stopped(): boolean {
    return this.life.kind === 'stopped';
  }

  /** The start to settle at the next read: starting, or stopped while starting; else null. */
  get unsettled(): Unsettled | null {
    const life = this.life;
    return life.kind === 'starting' ? life : life.kind === 'stopped' ? life.unsettled : null;
  }

  /** starting (no mismatch told yet) → starting, mismatch told: its copy is looked for, then the start resolved again. */
  tellMismatch(): void {
    const unsettled = this.unsettled;
    if (unsettled === null || unsettled.mismatchTold) throw this.illegal('tell a mismatch');
    const told = { start: unsettled.start, mismatchTold: true };
    this.life = this.life.kind === 'stopped' ? { kind: 'stopped', unsettled: told } : { kind: 'starting', ...told };
  }

  /** starting → reading: the read that settled the start goes on without a truncation check. */
  settleStart(unreadSince: number | null): void {
    this.settle('start');
    if (this.life.kind === 'starting') this.life = { kind: 'reading', next: 'continuing', unreadSince };
  }

  /** starting → skipped. */
  skip(reason: string): void {
    this.settle('skip');
    if (this.life.kind === 'starting') this.life = { kind: 'skipped', reason };
  }

  /** reading: what this read does first; the one after it is 'fresh' unless a transition says otherwise. */
  takeNextRead(): NextRead {
    const life = this.life;
    if (life.kind !== 'reading') throw this.illegal('read');
    if (life.next !== 'fresh') this.life = { ...life, next: 'fresh' };
    return life.next;
  }

  /** Standing at 0 with nothing read since (ms), or null (reading and truncated only). */
  get unreadSince(): number | null {
    return this.life.kind === 'reading' || this.life.kind === 'truncated' ? this.life.unreadSince : null;
  }

  /**
   * reading, unread since a time → reading: the first bytes are about to be read; the since is
   * returned (copies born since are looked for first) and the next read follows that search.
   */
  reportUnread(): number {
    const life = this.life;
    if (life.kind !== 'reading' || life.unreadSince === null) throw this.illegal('report unread since');
    this.life = { kind: 'reading', next: 'after-search', unreadSince: null };
    return life.unreadSince;
  }

  /** reading → truncated: read again from 0 in `epoch` once its copy was looked for. */
  truncate(epoch: number): void {
    const life = this.life;
    if (life.kind === 'stopped') return;
    if (life.kind !== 'reading') throw this.illegal('truncate');
    this.life = { kind: 'truncated', epoch, unreadSince: life.unreadSince };
  }

  /**
   * truncated → reading (the next read goes on without a truncation check): the epoch to restart
   * in. null from starting (a resume point that no longer matched: the next read settles the
   * start) and once stopped: nothing to restart.
   */
  restart(): number | null {
    const life = this.life;
    if (life.kind === 'starting' || life.kind === 'stopped') return null;
    if (life.kind !== 'truncated') throw this.illegal('restart after a truncation');
    this.life = { kind: 'reading', next: 'continuing', unreadSince: life.unreadSince };
    return life.epoch;
  }

  /** reading, just restarted from 0: its first bytes were read — none (emptied): unread since `since`. */
  restartedFrom0(unreadSince: number | null): void {
    const life = this.life;
    if (life.kind === 'stopped') return;
    if (life.kind !== 'reading') throw this.illegal('restart from 0');
    this.life = { ...life, unreadSince };
  }

  /** any → stopped. */
  halt(): void {
    const life = this.life;
    if (life.kind === 'stopped') return;
    this.life = { kind: 'stopped', unsettled: life.kind === 'starting' ? { start: life.start, mismatchTold: life.mismatchTold } : null };
  }

  /** The start settles from starting, or from stopped while starting (it stays stopped). */
  private settle(transition: string): void {
    if (this.unsettled === null) throw this.illegal(transition);
    if (this.life.kind === 'stopped') this.life = { kind: 'stopped', unsettled: null };
  }

  private illegal(transition: string): ReaderStateError {
    return new ReaderStateError(this.path(), this.identity, this.life.kind, transition);
  }
}
