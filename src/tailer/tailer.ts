// The tailer: the thin owner of a watcher, a reader group and the readers' shared context. The
// watcher (watcher.ts) finds files and infers rotation, and tells it as typed file events; the
// prospector (prospector.ts) decides where a file starts; this class routes each event through
// those decisions into reader-group commands — follow a file from a position, continue it under
// its new name, release it, forget it — and routes what readers report the same way. Decisions
// run one at a time on the decision queue; readers read concurrently. Readers that find the
// shipper's gate closed take turns through it (gate-turns.ts).

import { type FileHandle, open } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import type { BatchSink, FlowGate } from '../core/batch.js';
import { type FileIdentity, type FilePosition, identityKey } from '../core/file.js';
import { OffsetTracker } from '../core/offset-tracker.js';
import { DecisionQueue } from './decision-queue.js';
import type { Observation } from './discovery.js';
import type { FileGoneError, FileOpenError } from './errors.js';
import { LoggedTailerEvents, type TailerEvents } from './events.js';
import type { OpenFile } from './file-access.js';
import type { FileEvent, FollowedView } from './file-events.js';
import { GateTurns } from './gate-turns.js';
import { HandlePool } from './handle-pool.js';
import { identityOf, MARKER_MAX_BYTES } from './identity.js';
import { type CheckpointLookup, KnownFiles } from './known-files.js';
import { copyStart, decideStart, type ResumePoint, type StartPoint } from './prospector.js';
import { ReadBuffers } from './read-buffers.js';
import { FileReader, type ReaderContext, type ReaderOutcome, type ReaderState } from './reader.js';
import { ReaderGroup } from './reader-group.js';
import { bornAtMs } from './rotation.js';
import type { FollowedFile, TailerStats } from './types.js';
import { Watcher } from './watcher.js';
import type { StartWatch } from './watches.js';

export type { CheckpointLookup } from './known-files.js';

export interface TailerOptions {
  inputs: InputConfig[];
  maxOpenFiles: number;
  sink: BatchSink;
  gate: FlowGate;
  checkpoints: CheckpointLookup;
  /**
   * Where files started and what was handed over, shared with the agent and kept across
   * reloads: a new tailer continues where the previous one's readers stood (default: a fresh one).
   */
  tracker?: OffsetTracker;
  log: Logger;
  stats?: TailerStats;
  /** Where rotations, truncations, releases, failures... are told (default: counted in stats and logged). */
  observer?: TailerEvents;
  /**
   * Safety-net scan period while discovery is scan-only (inotify refused) or files are busy
   * (written or read since the last scan), ms (default 1000). See watcher.ts.
   */
  scanIntervalMs?: number;
  /** Safety-net scan period while inotify works and files are quiet, ms (default 10,000). */
  idleScanIntervalMs?: number;
  /** Bytes per read (default 128 KiB). */
  readChunkBytes?: number;
  now?: () => number;
  /** Seam for tests: how files are opened (default fs.promises.open(path, 'r')). */
  openFile?: OpenFile;
  /** Seam for tests: how directories are watched (default fs.watch). */
  startWatch?: StartWatch;
}

export const DEFAULT_SCAN_INTERVAL_MS = 1000;
export const DEFAULT_IDLE_SCAN_INTERVAL_MS = 10_000;
export const DEFAULT_READ_CHUNK_BYTES = 128 * 1024;
/** Files skipped by ignore_older remembered (beyond that, one is simply looked at again). */
const IGNORED_MEMORY = 100_000;

export function newTailerStats(): TailerStats {
  return {
    linesRead: new Map(),
    bytesRead: new Map(),
    rotations: 0,
    truncations: 0,
    splitLines: 0,
    partialLines: 0,
    replacedChars: 0,
    filesOpen: 0,
    filesFollowed: 0,
    bytesAbandoned: 0,
    readErrors: 0,
  };
}

export class Tailer {
  readonly stats: TailerStats;

  private readonly now: () => number;
  private readonly queue: DecisionQueue;
  private readonly watcher: Watcher;
  private readonly checkpoints: CheckpointLookup;
  private readonly tracker: OffsetTracker;
  private readonly observer: TailerEvents;
  private readonly ctx: ReaderContext;
  /** Followed files by identity: one reader per file, one slot state each. */
  private readonly group = new ReaderGroup();
  private readonly known: KnownFiles;
  /** Files skipped by ignore_older: size then (they start there if they become active). */
  private readonly ignoredOld = new Map<string, { size: number; bornAt: number }>();
  private readonly warnedUnopenable = new Set<string>();
  private started = false;
  private stopping = false;

  constructor(opts: TailerOptions) {
    this.stats = opts.stats ?? newTailerStats();
    this.now = opts.now ?? Date.now;
    this.queue = new DecisionQueue(opts.log);
    this.checkpoints = opts.checkpoints;
    this.tracker = opts.tracker ?? new OffsetTracker();
    const openFile = opts.openFile ?? ((path: string) => open(path, 'r'));
    this.known = new KnownFiles(this.tracker, opts.checkpoints, openFile, this.now);
    this.observer = opts.observer ?? new LoggedTailerEvents(opts.log, this.stats);
    this.watcher = new Watcher({
      inputs: opts.inputs,
      log: opts.log,
      now: this.now,
      queue: this.queue,
      known: this.known,
      followed: this.followedView(),
      openFile,
      emit: (event) => this.onFileEvent(event),
      bytesRead: () => this.bytesReadSoFar(),
      scanIntervalMs: opts.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS,
      idleScanIntervalMs: opts.idleScanIntervalMs ?? DEFAULT_IDLE_SCAN_INTERVAL_MS,
      ...(opts.startWatch === undefined ? {} : { startWatch: opts.startWatch }),
    });
    this.ctx = {
      gate: new GateTurns(opts.gate),
      sink: opts.sink,
      stats: this.stats,
      log: opts.log,
      pool: new HandlePool(opts.maxOpenFiles, opts.log),
      // Each read also re-reads the bytes before its position (truncation check): room for them.
      buffers: new ReadBuffers((opts.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES) + MARKER_MAX_BYTES),
      now: this.now,
      openFile,
      tracker: this.tracker,
      observer: this.observer,
      host: {
        report: (reader, outcome) => this.onReaderOutcome(reader, outcome),
        copyFollowed: (reader, before) =>
          this.queue.run(() => this.watcher.truncated({ original: reader.identity, livePath: reader.source.path, input: reader.input, before, lastReadAt: reader.lastGrowthAt })),
        bornSince: (reader, since) => this.queue.run(() => this.watcher.bornSince(reader.source.path, since, reader.input, reader.identity)),
      },
    };
  }

  /** Completed safety-net scans (for status, and for tests that must let time pass). */
  get scanCount(): number {
    return this.watcher.scanCount;
  }

  /** Period of the safety-net scan now, ms (see watcher.ts); 0 before the first scan. */
  get scanPeriodMs(): number {
    return this.watcher.scanPeriodMs;
  }

  /** 'inotify', or 'scan-only' after the kernel refused file watches. */
  get discoveryMode(): 'inotify' | 'scan-only' {
    return this.watcher.mode;
  }

  /** Resumes known files (rotated ones first), follows the rest, then watches and scans. */
  async start(): Promise<void> {
    if (this.started) throw new Error('Tailer.start() called twice');
    this.started = true;
    await this.queue.run(async () => {
      this.adoptHeldFiles();
      await this.watcher.startup();
    });
  }

  /** Stops reading (no batch is emitted after this resolves) and closes handles and watchers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.watcher.close();
    const readersStopped = this.group.readers().map((reader) => this.stopReader(reader));
    await this.queue.idle();
    await Promise.all(readersStopped);
    // Readers created by a decision that was already running when stop began.
    await Promise.all(this.group.readers().map((reader) => this.stopReader(reader)));
    this.stats.filesOpen = this.ctx.pool.openCount;
  }

  files(): FollowedFile[] {
    return this.group.files();
  }

  /**
   * Resolves when every followed file has been read to its EOF as of a fresh scan (files that
   * cannot be opened excepted). Waits while the gate is closed.
   */
  async drained(): Promise<void> {
    for (;;) {
      await this.queue.run(() => this.watcher.scan());
      const readers = this.group.readers();
      await Promise.all(readers.map((reader) => reader.settled()));
      if (this.stopping) return;
      // A reader may have led to another meanwhile (the copy of a file found truncated): look again.
      const added = this.group.readers().some((reader) => !readers.includes(reader));
      const behind = readers.filter((reader) => !reader.isFinished && !reader.atEof && this.group.stateOf(reader) !== 'unopenable');
      if (behind.length === 0 && !added) return;
      for (const reader of behind) reader.wake();
      await Promise.all(behind.map((reader) => reader.settled()));
    }
  }

  /** A deleted file still being read is left, open, to the tracker: a successor reads its rest. */
  private async stopReader(reader: FileReader): Promise<void> {
    const handle = await reader.stopKeepingDeleted();
    if (handle === null) return;
    this.observer.emit({ type: 'deleted-held', path: reader.source.path, key: reader.source.key, position: reader.position });
    this.tracker.hold({ identity: reader.identity, input: reader.input.id, path: reader.source.path, currentPath: reader.currentPath, handle });
  }

  /** Deleted files a previous tailer was still reading: continue them through their descriptors. */
  private adoptHeldFiles(): void {
    for (const held of this.tracker.takeHeld()) {
      const input = this.watcher.inputById(held.input);
      const resume = this.tracker.resumeFor(held.identity);
      if (input === undefined || resume === undefined || this.group.has(held.identity)) {
        this.observer.emit({ type: 'deleted-dropped', path: held.path, input: held.input });
        void held.handle.close().catch(() => undefined);
        continue;
      }
      this.observer.emit({ type: 'deleted-adopted', path: held.path, file: held.currentPath, offset: resume.offset });
      this.follow({ identity: held.identity, input, livePath: held.path, currentPath: held.currentPath, state: 'removed', start: { resume, fallback: 'skip' }, inherited: held.handle });
    }
  }

  private bytesReadSoFar(): number {
    let total = 0;
    for (const bytes of this.stats.bytesRead.values()) total += bytes;
    return total;
  }

  /** What the watcher sees of the followed files: identities and positions. */
  private followedView(): FollowedView {
    return {
      liveAt: (path) => this.group.atPath(path)?.identity,
      isFollowed: (identity) => this.group.has(identity),
      livePaths: () => this.group.livePaths(),
      readsAt: (path) => this.group.atPath(path) !== undefined || this.group.notLive().some((reader) => reader.currentPath === path),
      positionsUnder: (livePath) =>
        this.group
          .readers()
          .filter((reader) => reader.source.path === livePath)
          .map((reader) => ({ identity: reader.identity, point: reader.hasStarted ? reader.resumePoint() : this.known.resumePointFor(reader.identity) })),
    };
  }

  // --- Watcher events -> reader-group commands --------------------------------------------------

  private async onFileEvent(event: FileEvent): Promise<void> {
    switch (event.type) {
      case 'written': {
        // A reader already reading just reads once more.
        this.group.atPath(event.path)?.wake();
        for (const reader of this.group.notLive()) if (reader.currentPath === event.path) reader.wake();
        return;
      }
      case 'touched':
        for (const reader of this.group.notLive()) if (reader.currentPath === event.path) reader.wake();
        return;
      case 'still-there': {
        const { file } = event;
        const live = this.group.atPath(file.path)!;
        this.tracker.get(live.identity)?.seen(file.lookedAt);
        // A reader still reading (or waiting for a handle) reads up to EOF anyway: waking it
        // only adds a pass, and with many readers queued for few handles (max_open_files) those
        // passes came back faster than the queue emptied.
        if (live.observed(file.stat) || (!live.atEof && !live.isReading)) live.wake();
        return;
      }
      case 'created':
        return this.followNew(event.file, event.startup, event.since);
      case 'renamed':
      case 'removed': {
        const reader = this.group.get(event.identity)!;
        const from = event.type === 'renamed' ? event.from : event.path;
        const to = event.type === 'renamed' ? event.to : null;
        this.group.leftPath(reader);
        reader.leftLivePath(to ?? undefined);
        this.observer.emit({ type: 'rotated', path: from, key: reader.source.key, renamedTo: to, replaced: event.replaced });
        if (to === null) void reader.checkRemoved();
        reader.wake();
        return;
      }
      case 'arrived': {
        const reader = this.group.get(event.identity)!;
        this.group.adopt(reader, event.path);
        reader.backAtLivePath(event.path);
        reader.wake();
        return;
      }
      case 'rotated-known': {
        const { file, livePath, input } = event;
        const resume = this.known.resumePointFor(file.identity)!;
        this.observer.emit({ type: 'rotated-resumed', path: livePath, file: file.path, offset: resume.offset });
        this.follow({ identity: file.identity, input, livePath, currentPath: file.path, state: 'rotated', start: { resume, fallback: 0, skipCompressed: true } });
        return;
      }
      case 'middle': {
        const { file, livePath, input, copyOf } = event;
        if (copyOf === null) {
          this.observer.emit({ type: 'middle-file', path: livePath, file: file.path });
          this.follow({ identity: file.identity, input, livePath, currentPath: file.path, state: 'rotated', start: { fallback: 0, skipCompressed: true } });
          return;
        }
        this.observer.emit({ type: 'copy-found', path: livePath, copy: file.path, offset: copyOf.point.offset });
        return this.followCopy(file.identity, file.path, livePath, input, copyOf.original, copyOf.point, await this.known.acknowledgedIn(file, copyOf.original, copyOf.point));
      }
      case 'truncated': {
        const { copy, livePath, before, original } = event;
        if (copy === null) return;
        const resume = copyStart({ ...before, path: livePath }, await this.known.verified(copy));
        const acknowledgedUpTo = await this.known.acknowledgedIn(copy, original, before);
        this.observer.emit({ type: 'copy-found', path: livePath, copy: copy.path, offset: resume.offset });
        return this.followCopy(copy.identity, copy.path, livePath, event.input, original, resume, acknowledgedUpTo, before);
      }
      case 'scanned':
        if (!event.startup) {
          this.reviewNonLive();
          for (const reader of this.group.unopenableReaders()) reader.wake();
        }
        for (const reader of this.group.readers()) this.checkpoints.seen(reader.identity, reader.source.path);
        this.stats.filesFollowed = this.group.size;
        return;
    }
  }

  /** A copytruncate copy, continuing `original` at `resume` (`before`: where the original stood, if not there). */
  private followCopy(identity: FileIdentity, path: string, livePath: string, input: InputConfig, original: FileIdentity, resume: ResumePoint, acknowledgedUpTo: FilePosition, before: ResumePoint = resume): void {
    const copyOf = { identity: original, epoch: before.epoch ?? 0, upTo: before.offset };
    this.follow({ identity, input, livePath, currentPath: path, state: 'rotated', start: { resume, fallback: 'skip', acknowledgedUpTo, copyOf } });
  }

  /** A file we do not follow yet at a glob-matched path: the prospector decides where it starts. */
  private followNew(obs: Observation, startup: boolean, since: number | undefined): void {
    const { path, input, stat } = obs;
    const identity = identityOf(stat);
    const key = identityKey(identity);
    const decision = decideStart({
      input,
      file: { size: stat.size, mtimeMs: stat.mtimeMs, bornAt: bornAtMs(stat), birthtimeKnown: stat.birthtimeMs !== 0 },
      known: this.known.resumePointFor(identity),
      ignored: this.ignoredOld.get(key),
      startup,
      since,
      now: this.now(),
    });
    if (decision.kind === 'ignore') {
      if (!this.ignoredOld.has(key)) {
        this.ignoredOld.set(key, decision.remember);
        if (this.ignoredOld.size > IGNORED_MEMORY) this.ignoredOld.delete(this.ignoredOld.keys().next().value!);
      }
      return;
    }
    if (decision.forgetIgnored) this.ignoredOld.delete(key);
    // Whatever was rotated away from this path is read first, so a topic gets old lines first.
    const predecessors = this.group.notLive().filter((reader) => reader.source.path === path).map((reader) => reader.firstEof);
    const reader = this.follow({ identity, input, livePath: path, currentPath: path, state: 'live', start: decision.start, after: Promise.all(predecessors) });
    reader.observed(stat); // so the next scan wakes it only if the file changed since
  }

  private follow(spec: {
    identity: FileIdentity;
    input: InputConfig;
    livePath: string;
    currentPath: string;
    state: ReaderState;
    start: StartPoint;
    after?: Promise<unknown>;
    inherited?: FileHandle;
  }): FileReader {
    const key = identityKey(spec.identity);
    const reader = new FileReader(this.ctx, {
      // The tracker numbers follows for the agent's life: keys stay unique across reloads and inode reuse.
      source: { key: `${key}:${this.tracker.nextFollow()}`, identity: spec.identity, input: spec.input.id, path: spec.livePath },
      input: spec.input,
      currentPath: spec.currentPath,
      state: spec.state,
      start: spec.start,
      ...(spec.after === undefined ? {} : { after: spec.after }),
      ...(spec.inherited === undefined ? {} : { inherited: spec.inherited }),
    });
    this.group.add(reader, spec.state === 'live' ? spec.currentPath : null);
    this.stats.filesFollowed = this.group.size;
    reader.wake();
    return reader;
  }

  // --- Ending readers -------------------------------------------------------------------------

  /** Rotated and removed files: release when done, give up when stuck too long, else look again. */
  private reviewNonLive(): void {
    for (const { reader, action } of this.group.review(this.now())) {
      if (action === 'forget') this.forget(reader);
      else if (action === 'release') this.release(reader);
      else if (action === 'abandon') this.abandon(reader);
      else {
        // Old rotations get deleted; the gate may keep the reader from seeing it.
        if (reader.state !== 'removed') void reader.checkRemoved();
        reader.wake();
      }
    }
  }

  /** Done with a rotated or removed file: emit what it still holds, close it, remember where it ended. */
  private release(reader: FileReader): void {
    this.group.releasing(reader);
    void reader.finish().then(() => {
      // Interrupted by stop(): keep it listed, it is stopped with the others.
      if (this.stopping) return;
      this.forget(reader);
      // Deleted and closed: nothing reaches it any more, and its inode may be given to a new
      // file, which must not be taken for it.
      if (reader.state === 'removed') this.tracker.gone(reader.identity, reader.tracking);
      this.observer.emit({ type: 'released', path: reader.source.path, file: reader.currentPath, key: reader.source.key, state: reader.state });
    });
  }

  private abandon(reader: FileReader): void {
    this.group.releasing(reader);
    void reader.abandon().then((bytes) => {
      this.forget(reader);
      this.observer.emit({ type: 'abandoned', path: reader.source.path, key: reader.source.key, bytes });
    });
  }

  private forget(reader: FileReader): void {
    this.group.forget(reader);
    this.stats.filesFollowed = this.group.size;
  }

  // --- Reader events --------------------------------------------------------------------------

  private onReaderOutcome(reader: FileReader, outcome: ReaderOutcome): void {
    switch (outcome.kind) {
      case 'at-eof':
        return this.onReaderEof(reader);
      case 'open-failed':
        return this.onOpenFailed(reader, outcome.error);
      case 'open-recovered':
        return this.onOpenRecovered(reader);
      case 'gone':
        return this.onReaderGone(reader, outcome.error);
      case 'skipped':
        return this.onReaderSkipped(reader, outcome.reason);
    }
  }

  private onReaderEof(reader: FileReader): void {
    if (reader.state !== 'removed' || !reader.input.rotation.close_removed || this.group.isReleasing(reader) || this.stopping) return;
    void this.queue.run(async () => {
      if (this.group.get(reader.identity) !== reader || this.group.isReleasing(reader)) return;
      this.group.removed(reader);
      this.release(reader);
    }).catch(() => undefined);
  }

  private onOpenFailed(reader: FileReader, error: FileOpenError): void {
    this.group.unopenable(reader, true);
    if (this.warnedUnopenable.has(error.path)) return;
    this.warnedUnopenable.add(error.path);
    this.observer.emit({ type: 'open-failed', path: error.path, code: error.code, error });
  }

  private onOpenRecovered(reader: FileReader): void {
    this.group.unopenable(reader, false);
    if (this.warnedUnopenable.delete(reader.currentPath)) this.observer.emit({ type: 'open-recovered', path: reader.currentPath });
  }

  private onReaderGone(reader: FileReader, error: FileGoneError): void {
    this.observer.emit({ type: 'gone', path: error.path, key: reader.source.key, bytes: reader.backlog });
    this.forget(reader);
    this.tracker.gone(reader.identity, reader.tracking);
  }

  private onReaderSkipped(reader: FileReader, reason: string): void {
    this.observer.emit({ type: 'skipped', path: reader.source.path, file: reader.currentPath, reason });
    this.forget(reader);
  }
}
