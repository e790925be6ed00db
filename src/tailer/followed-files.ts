// The reader group's commands: follow a file from a start point, continue it under a new name
// (or as removed), take it back at a glob-matched path, release it when done, abandon it when
// stuck, forget it — and what its follower reports (at EOF, unopenable, gone, skipped), routed
// into those commands. The tailer decides (with the prospector) which commands to give; the
// two questions a reader asks (a copy of a truncated file, files born since) go to `ask`.

import type { FileHandle } from 'node:fs/promises';
import type { InputConfig } from '../config/types.js';
import { type FileIdentity, identityKey } from '../core/file.js';
import type { OffsetTracker } from '../core/offset-tracker.js';
import type { DecisionQueue } from './decision-queue.js';
import type { Observation } from './discovery.js';
import type { FileGoneError, FileOpenError } from './errors.js';
import type { TailerEvents } from './events.js';
import { Follower, type FollowerContext, type FollowerOutcome } from './follower.js';
import { registrationBeforeOpen } from './prospector.js';
import type { ReaderState, ResumePoint, StartPoint } from './reader.js';
import { ReaderGroup } from './reader-group.js';
import type { TailerCounters } from './counters.js';

export interface FollowSpec {
  identity: FileIdentity;
  input: InputConfig;
  livePath: string;
  currentPath: string;
  state: ReaderState;
  start: StartPoint;
  /** Resolves when the files this one continues (rotated predecessors) were read to EOF. */
  after?: Promise<unknown>;
  /** The open descriptor of a deleted file, handed over by a previous tailer. */
  inherited?: FileHandle;
}

/** The questions a reader cannot answer itself (see FollowerOutcome), answered on the decision queue. */
export interface ReaderQuestions {
  /** True when a copy of the truncated file was found, and is followed from `before`. */
  truncated(follower: Follower, before: ResumePoint): Promise<boolean>;
  unreadSince(follower: Follower, since: number): Promise<void>;
}

export interface FollowedFilesOptions {
  context: Omit<FollowerContext, 'route'>;
  tracker: OffsetTracker;
  observer: TailerEvents;
  counters: Pick<TailerCounters, 'followedFilesNow'>;
  queue: DecisionQueue;
  ask: ReaderQuestions;
}

export class FollowedFiles {
  /** Followed files by identity: one follower per file, one slot state each. */
  readonly group = new ReaderGroup();
  private readonly ctx: FollowerContext;
  private readonly warnedUnopenable = new Set<string>();
  private stopping = false;

  constructor(private readonly opts: FollowedFilesOptions) {
    this.ctx = { ...opts.context, route: (follower, outcome) => this.route(follower, outcome) };
  }

  follow(spec: FollowSpec): Follower {
    const key = identityKey(spec.identity);
    // The tracker numbers follows for the agent's life: keys stay unique across reloads and inode reuse.
    const source = { key: `${key}:${this.opts.tracker.nextFollow()}`, identity: spec.identity, input: spec.input.id, path: spec.livePath };
    // Registered now where the start needs no look at the file: the reader may wait for the gate past a crash.
    const early = registrationBeforeOpen(spec.start);
    if (early !== null) this.opts.tracker.announce(source, early.at, early.from, this.ctx.now(), spec.start.copyOf ?? null);
    const follower = new Follower(this.ctx, {
      source,
      input: spec.input,
      currentPath: spec.currentPath,
      state: spec.state,
      start: spec.start,
      ...(spec.after === undefined ? {} : { after: spec.after }),
      ...(spec.inherited === undefined ? {} : { inherited: spec.inherited }),
    });
    this.group.add(follower, spec.state === 'live' ? spec.currentPath : null);
    this.opts.counters.followedFilesNow(this.group.size);
    follower.wake();
    return follower;
  }

  /** Something happened at `path`: its followers read now (`liveToo`: also the one live there; else rotated ones named so). */
  wakeAt(path: string, liveToo: boolean): void {
    if (liveToo) this.group.atPath(path)?.wake();
    for (const follower of this.group.notLive()) if (follower.reader.currentPath === path) follower.wake();
  }

  /** A look found the file followed live at its path still there. */
  stillThere(file: Observation): void {
    const live = this.group.atPath(file.path)!;
    this.opts.tracker.get(live.reader.identity)?.seen(file.lookedAt);
    // A follower still reading (or waiting for a handle) reads up to EOF anyway: waking it
    // only adds a read, and with many followers queued for few handles (max_open_files) those
    // reads came back faster than the queue emptied.
    if (live.reader.observed(file.stat) || (!live.atEof && !live.isReading)) live.wake();
  }

  /** The file followed live at `from` left it: now at `to`, or (null) deleted or moved out of sight. Read on. */
  leftPath(identity: FileIdentity, from: string, to: string | null, replaced: boolean): void {
    const follower = this.group.get(identity)!;
    this.group.leftPath(follower);
    follower.reader.file.leftLivePath(to ?? undefined);
    this.opts.observer.emit({ type: 'rotated', path: from, key: follower.reader.source.key, renamedTo: to, replaced });
    if (to === null) void follower.checkRemoved();
    follower.wake();
  }

  /** A followed file showed up at a glob-matched path (renamed into it). */
  arrived(identity: FileIdentity, path: string): void {
    const follower = this.group.get(identity)!;
    this.group.adopt(follower, path);
    follower.reader.file.backAtLivePath(path);
    follower.wake();
  }

  /** Rotated and removed files: release when done, give up when stuck too long, else look again. */
  review(now: number): void {
    for (const { follower, action } of this.group.review(now)) {
      if (action === 'forget') this.forget(follower);
      else if (action === 'release') this.release(follower);
      else if (action === 'abandon') this.abandon(follower);
      else {
        // Old rotations get deleted; the gate may keep the reader from seeing it.
        if (follower.reader.state !== 'removed') void follower.checkRemoved();
        follower.wake();
      }
    }
    for (const follower of this.group.unopenableFollowers()) follower.wake();
  }

  /** Stops every follower; a deleted file still being read is left, open, to the tracker: a successor reads its rest. */
  stopAll(): Promise<void> {
    this.stopping = true;
    return Promise.all(this.group.followers().map((follower) => this.stop(follower))).then(() => undefined);
  }

  private async stop(follower: Follower): Promise<void> {
    const handle = await follower.stopKeepingDeleted();
    if (handle === null) return;
    const { reader } = follower;
    this.opts.observer.emit({ type: 'deleted-held', path: reader.source.path, key: reader.source.key, position: reader.position });
    this.opts.tracker.hold({ identity: reader.identity, input: reader.input.id, path: reader.source.path, currentPath: reader.currentPath, handle });
  }

  /** Done with a rotated or removed file: emit what it still holds, close it, remember where it ended. */
  private release(follower: Follower): void {
    this.group.releasing(follower);
    void follower.finish().then(() => {
      // Interrupted by stop(): keep it listed, it is stopped with the others.
      if (this.stopping) return;
      this.forget(follower);
      const { reader } = follower;
      // Deleted and closed: nothing reaches it any more, and its inode may be given to a new
      // file, which must not be taken for it.
      if (reader.state === 'removed') this.opts.tracker.gone(reader.identity, reader.tracking);
      this.opts.observer.emit({ type: 'released', path: reader.source.path, file: reader.currentPath, key: reader.source.key, state: reader.state });
    });
  }

  private abandon(follower: Follower): void {
    this.group.releasing(follower);
    void follower.abandon().then((bytes) => {
      this.forget(follower);
      this.opts.observer.emit({ type: 'abandoned', path: follower.reader.source.path, key: follower.reader.source.key, bytes });
    });
  }

  private forget(follower: Follower): void {
    this.group.forget(follower);
    this.opts.counters.followedFilesNow(this.group.size);
  }

  // --- What followers report ------------------------------------------------------------------

  private async route(follower: Follower, outcome: FollowerOutcome): Promise<boolean> {
    switch (outcome.kind) {
      case 'truncated':
        return this.stopping ? false : this.opts.ask.truncated(follower, outcome.before);
      case 'unread-since':
        if (!this.stopping) await this.opts.ask.unreadSince(follower, outcome.since);
        return false;
      case 'at-eof':
        this.onEof(follower);
        return false;
      case 'open-failed':
        this.onOpenFailed(follower, outcome.error);
        return false;
      case 'open-recovered':
        this.group.unopenable(follower, false);
        if (this.warnedUnopenable.delete(follower.reader.currentPath)) this.opts.observer.emit({ type: 'open-recovered', path: follower.reader.currentPath });
        return false;
      case 'gone':
        this.onGone(follower, outcome.error);
        return false;
      case 'skipped':
        this.opts.observer.emit({ type: 'skipped', path: follower.reader.source.path, file: follower.reader.currentPath, reason: outcome.reason });
        this.forget(follower);
        return false;
    }
  }

  /** A deleted file read to its end, with close_removed: released (on the decision queue). */
  private onEof(follower: Follower): void {
    const { reader } = follower;
    if (reader.state !== 'removed' || !reader.input.rotation.close_removed || this.group.isReleasing(follower) || this.stopping) return;
    void this.opts.queue
      .run(async () => {
        if (this.group.get(reader.identity) !== follower || this.group.isReleasing(follower)) return;
        this.group.removed(follower);
        this.release(follower);
      })
      .catch(() => undefined);
  }

  private onOpenFailed(follower: Follower, error: FileOpenError): void {
    this.group.unopenable(follower, true);
    if (this.warnedUnopenable.has(error.path)) return;
    this.warnedUnopenable.add(error.path);
    this.opts.observer.emit({ type: 'open-failed', path: error.path, code: error.code, error });
  }

  private onGone(follower: Follower, error: FileGoneError): void {
    this.opts.observer.emit({ type: 'gone', path: error.path, key: follower.reader.source.key, bytes: follower.reader.backlog });
    this.forget(follower);
    this.opts.tracker.gone(follower.reader.identity, follower.reader.tracking);
  }
}
