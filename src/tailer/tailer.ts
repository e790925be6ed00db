// The tailer: the thin owner of a watcher, a reader group and the readers' shared context. The
// watcher (watcher.ts) finds files and infers rotation, and tells it as typed file events; the
// prospector (prospector.ts) decides where a file starts; this class routes each event through
// those decisions into reader-group commands — follow a file from a position, continue it under
// its new name, release it, forget it — and routes what readers report the same way. Decisions
// run one at a time on the decision queue; readers read concurrently. Readers that find the
// shipper's gate closed take turns through it (gate-turns.ts).

import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import type { BatchSink, FlowGate } from '../core/batch.js';
import { type FileIdentity, type FilePosition, identityKey } from '../core/file.js';
import { OffsetTracker } from '../core/offset-tracker.js';
import { TailerCounters } from './counters.js';
import { DecisionQueue } from './decision-queue.js';
import type { Observation } from './discovery.js';
import { LoggedTailerEvents, type TailerEvents } from './events.js';
import type { OpenFile } from './file-access.js';
import type { FileEvent, FollowedView } from './file-events.js';
import { GateTurns } from './gate-turns.js';
import { HandlePool } from './handle-pool.js';
import { identityOf, MARKER_MAX_BYTES } from './identity.js';
import { type CheckpointLookup, KnownFiles } from './known-files.js';
import { copyStart, decideStart, type ResumePoint } from './prospector.js';
import { DEFAULT_IN_FLIGHT_BYTES, readChunkPool } from './chunk-pool.js';
import { ReadBuffers } from './read-buffers.js';
import { FollowedFiles } from './followed-files.js';
import { bornAtMs, type DirectoryFile } from './rotation.js';
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
  /** Where reads, lines, rotations... are counted (default: a fresh TailerCounters). */
  counters?: TailerCounters;
  /** Where rotations, truncations, releases, failures... are told (default: counted in `counters` and logged). */
  observer?: TailerEvents;
  /**
   * Safety-net scan period while discovery is scan-only (inotify refused) or files are busy
   * (written or read since the last scan), ms (default 1000). See watcher.ts.
   */
  scanIntervalMs?: number;
  /** Safety-net scan period while inotify works and files are quiet, ms (default 10,000). */
  idleScanIntervalMs?: number;
  /** Bytes per read (default 256 KiB, see DEFAULT_READ_CHUNK_BYTES). */
  readChunkBytes?: number;
  /** kafka.max_in_flight_bytes: bounds how many read chunks the pool makes (default 16 MiB; see chunk-pool.ts). */
  inFlightBytes?: number;
  now?: () => number;
  /** Seam for tests: how files are opened (default fs.promises.open(path, 'r')). */
  openFile?: OpenFile;
  /** Seam for tests: how directories are watched (default fs.watch). */
  startWatch?: StartWatch;
}

export const DEFAULT_SCAN_INTERVAL_MS = 1000;
export const DEFAULT_IDLE_SCAN_INTERVAL_MS = 10_000;
/**
 * Bytes per read of a file that has more than its tail to read (a tail read is at most
 * TAIL_READ_BYTES). Each chunk is one LineBatch, one ticket and one produce call. Larger reads
 * cost less CPU — 1M lines of 125 B read and framed by the tailer alone: 229 ms with 128 KiB,
 * 190 with 256, 176 with 512 (medians of 9) — but each chunk's memory lives outside V8's heap
 * until Kafka acknowledges its batch and a collection frees it, so they raise the agent's peak
 * RSS. With the launchers' --heap-growing-percent=20 (src/cli/node-flags.ts), on the raw 1M
 * shipment (bench/cpu-breakdown --plain, 10 rounds alternated, load ~9): 128 KiB 110.1 MiB
 * [102.9..112.8], 256 KiB 109.8 [101.4..112.2], 512 KiB 115.8 [111.7..120.1] against the
 * 120 MiB target; CPU after start-up × 128 KiB's in the same round: 0.89 (256), 0.84 (512).
 * 256 KiB: the CPU gain at 128 KiB's memory. Since read chunks are pooled and reused at
 * acknowledgement (chunk-pool.ts, no heap flag), measured again (bench/run.js --only throughput,
 * 5 alternated rounds): 512 KiB raw peak 110.2 MiB against 109.0, no CPU gain (1.05 against
 * 1.03 x kcat), `headers: true` up to 124 MiB: 256 KiB stays (README Performance).
 */
export const DEFAULT_READ_CHUNK_BYTES = 256 * 1024;
/** Files skipped by ignore_older remembered (beyond that, one is simply looked at again). */
const IGNORED_MEMORY = 100_000;

export class Tailer {
  /** What its counters counted (read-only). */
  readonly stats: TailerStats;
  private readonly counters: TailerCounters;

  private readonly now: () => number;
  private readonly queue: DecisionQueue;
  private readonly watcher: Watcher;
  private readonly checkpoints: CheckpointLookup;
  private readonly tracker: OffsetTracker;
  private readonly observer: TailerEvents;
  private readonly followed: FollowedFiles;
  private readonly pool: HandlePool;
  private readonly known: KnownFiles;
  /** Files skipped by ignore_older: size then (they start there if they become active). */
  private readonly ignoredOld = new Map<string, { size: number; bornAt: number }>();
  private started = false;
  private stopping = false;

  constructor(opts: TailerOptions) {
    this.counters = opts.counters ?? new TailerCounters();
    this.stats = this.counters.view;
    this.now = opts.now ?? Date.now;
    this.queue = new DecisionQueue(opts.log);
    this.checkpoints = opts.checkpoints;
    this.tracker = opts.tracker ?? new OffsetTracker();
    const openFile = opts.openFile ?? ((path: string) => open(path, 'r'));
    this.known = new KnownFiles(this.tracker, opts.checkpoints, openFile, this.now);
    this.observer = opts.observer ?? new LoggedTailerEvents(opts.log, this.counters);
    this.watcher = new Watcher({
      inputs: opts.inputs,
      log: opts.log,
      now: this.now,
      queue: this.queue,
      known: this.known,
      followed: this.followedView(),
      openFile,
      emit: (event) => this.onFileEvent(event),
      bytesRead: () => this.counters.totalBytesRead(),
      scanIntervalMs: opts.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS,
      idleScanIntervalMs: opts.idleScanIntervalMs ?? DEFAULT_IDLE_SCAN_INTERVAL_MS,
      ...(opts.startWatch === undefined ? {} : { startWatch: opts.startWatch }),
    });
    this.pool = new HandlePool(opts.maxOpenFiles, opts.log, this.counters);
    this.followed = new FollowedFiles({
      context: {
        gate: new GateTurns(opts.gate),
        sink: opts.sink,
        counters: this.counters,
        log: opts.log,
        pool: this.pool,
        // Each read also re-reads the bytes before its position (truncation check): room for them.
        buffers: new ReadBuffers((opts.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES) + MARKER_MAX_BYTES),
        chunks: readChunkPool(opts.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES, opts.inFlightBytes ?? DEFAULT_IN_FLIGHT_BYTES),
        now: this.now,
        openFile,
        tracker: this.tracker,
        observer: this.observer,
      },
      tracker: this.tracker,
      observer: this.observer,
      counters: this.counters,
      queue: this.queue,
      ask: {
        truncated: ({ reader }, before) =>
          this.queue.run(() => this.watcher.truncated({ original: reader.identity, livePath: reader.source.path, input: reader.input, before, lastReadAt: reader.lastGrowthAt, started: reader.hasStarted })),
        unreadSince: ({ reader }, since) => this.queue.run(() => this.watcher.bornSince(reader.source.path, since, reader.input, reader.identity)),
      },
    });
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
    const stopped = this.followed.stopAll();
    await this.queue.idle();
    await stopped;
    // Followers created by a decision that was already running when stop began.
    await this.followed.stopAll();
    this.counters.openFilesNow(this.pool.openCount);
  }

  files(): FollowedFile[] {
    return this.followed.group.files();
  }

  /**
   * Resolves when every followed file has been read to its EOF as of a fresh scan (files that
   * cannot be opened excepted). Waits while the gate is closed.
   */
  async drained(): Promise<void> {
    for (;;) {
      await this.queue.run(() => this.watcher.scan());
      const followers = this.followed.group.followers();
      await Promise.all(followers.map((follower) => follower.settled()));
      if (this.stopping) return;
      // A reader may have led to another meanwhile (the copy of a file found truncated): look again.
      const added = this.followed.group.followers().some((follower) => !followers.includes(follower));
      const behind = followers.filter((follower) => !follower.isFinished && !follower.atEof && this.followed.group.stateOf(follower) !== 'unopenable');
      if (behind.length === 0 && !added) return;
      for (const follower of behind) follower.wake();
      await Promise.all(behind.map((follower) => follower.settled()));
    }
  }

  /** Deleted files a previous tailer was still reading: continue them through their descriptors. */
  private adoptHeldFiles(): void {
    for (const held of this.tracker.takeHeld()) {
      const input = this.watcher.inputById(held.input);
      if (input === undefined || this.followed.group.has(held.identity)) {
        this.observer.emit({ type: 'deleted-dropped', path: held.path, input: held.input });
        void held.handle.close().catch(() => undefined);
        continue;
      }
      // Where its last reader stood, else the registry's position (a reader stopped while it
      // checked its start has no record); one the file no longer holds means it was truncated
      // (copytruncate) before its deletion: it is read from 0, its copy looked for from there.
      const resume = this.known.resumePointFor(held.identity);
      this.observer.emit({ type: 'deleted-adopted', path: held.path, file: held.currentPath, offset: resume?.offset ?? 0 });
      const start = resume === undefined ? { fallback: 0 } : { resume, fallback: 0 };
      this.followed.follow({ identity: held.identity, input, livePath: held.path, currentPath: held.currentPath, state: 'removed', start, inherited: held.handle });
    }
  }

  /** What the watcher sees of the followed files: identities and positions. */
  private followedView(): FollowedView {
    return {
      liveAt: (path) => this.followed.group.atPath(path)?.reader.identity,
      isFollowed: (identity) => this.followed.group.has(identity),
      livePaths: () => this.followed.group.livePaths(),
      readsAt: (path) => this.followed.group.atPath(path) !== undefined || this.followed.group.notLive().some((follower) => follower.reader.currentPath === path),
      positionsUnder: (livePath) =>
        this.followed.group
          .followers()
          .filter((follower) => follower.reader.source.path === livePath)
          .map((follower) => ({ identity: follower.reader.identity, point: follower.reader.hasStarted ? follower.reader.resumePoint() : this.known.resumePointFor(follower.reader.identity) })),
    };
  }

  // --- Watcher events -> reader-group commands --------------------------------------------------
  // Each follow is told the stat the watcher saw (reader.observed): behind a closed gate its
  // reader does not open the file, and its size — the lag metric — would stay 0 until then.

  private async onFileEvent(event: FileEvent): Promise<void> {
    switch (event.type) {
      case 'written':
        return this.followed.wakeAt(event.path, true);
      case 'touched':
        return this.followed.wakeAt(event.path, false);
      case 'still-there':
        return this.followed.stillThere(event.file);
      case 'created':
        return this.followNew(event.file, event.startup, event.since);
      case 'renamed':
        return this.followed.leftPath(event.identity, event.from, event.to, event.replaced);
      case 'removed':
        return this.followed.leftPath(event.identity, event.path, null, event.replaced);
      case 'arrived':
        return this.followed.arrived(event.identity, event.path);
      case 'rotated-known': {
        const { file, livePath, input } = event;
        const resume = this.known.resumePointFor(file.identity)!;
        this.observer.emit({ type: 'rotated-resumed', path: livePath, file: file.path, offset: resume.offset });
        this.followed.follow({ identity: file.identity, input, livePath, currentPath: file.path, state: 'rotated', start: { resume, fallback: 0, skipCompressed: true } }).reader.observed(file.stat);
        return;
      }
      case 'middle': {
        const { file, livePath, input, copyOf } = event;
        if (copyOf === null) {
          this.observer.emit({ type: 'middle-file', path: livePath, file: file.path });
          this.followed.follow({ identity: file.identity, input, livePath, currentPath: file.path, state: 'rotated', start: { fallback: 0, skipCompressed: true } }).reader.observed(file.stat);
          return;
        }
        this.observer.emit({ type: 'copy-found', path: livePath, copy: file.path, offset: copyOf.point.offset });
        const acknowledgedUpTo = await this.known.acknowledgedIn(file, copyOf.original, copyOf.point);
        return this.followCopy(file, livePath, input, copyOf.original, { resume: copyOf.point, before: copyOf.point, acknowledgedUpTo });
      }
      case 'truncated': {
        const { copy, livePath, before, original } = event;
        if (copy === null) return;
        const resume = copyStart({ ...before, path: livePath }, await this.known.verified(copy));
        const acknowledgedUpTo = await this.known.acknowledgedIn(copy, original, before);
        this.observer.emit({ type: 'copy-found', path: livePath, copy: copy.path, offset: resume.offset });
        return this.followCopy(copy, livePath, event.input, original, { resume, before, acknowledgedUpTo });
      }
      case 'scanned':
        if (!event.startup) this.followed.review(this.now());
        for (const follower of this.followed.group.followers()) this.checkpoints.seen(follower.reader.identity, follower.reader.source.path);
        this.counters.followedFilesNow(this.followed.group.size);
        return;
    }
  }

  /**
   * A copytruncate copy of `original`, read from `at.resume`; `at.before`: where the original
   * stood; `at.acknowledgedUpTo`: how far in the copy the original's lines are acknowledged.
   */
  private followCopy(copy: DirectoryFile, livePath: string, input: InputConfig, original: FileIdentity, at: { resume: ResumePoint; before: ResumePoint; acknowledgedUpTo: FilePosition }): void {
    const copyOf = { identity: original, epoch: at.before.epoch ?? 0, upTo: at.before.offset, readBy: this.known.readersOf(original) };
    const start = { resume: at.resume, fallback: 'skip' as const, acknowledgedUpTo: at.acknowledgedUpTo, copyOf };
    this.followed.follow({ identity: copy.identity, input, livePath, currentPath: copy.path, state: 'rotated', start }).reader.observed(copy.stat);
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
    const predecessors = this.followed.group.notLive().filter((follower) => follower.reader.source.path === path).map((follower) => follower.firstEof);
    const follower = this.followed.follow({ identity, input, livePath: path, currentPath: path, state: 'live', start: decision.start, after: Promise.all(predecessors) });
    follower.reader.observed(stat); // so the next scan wakes it only if the file changed since
  }
}
