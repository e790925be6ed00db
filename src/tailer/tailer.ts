// Ties discovery, readers and rotation handling together: decides which files are followed,
// where each starts (registry checkpoint, start_at, or 0), notices rotation (a path now holding
// another file, or gone) and removal, keeps reading renamed and deleted files through their
// handles, and releases them when done. All of these decisions run one at a time on a single
// queue; readers read concurrently.
//
// A write reported by inotify wakes the file's reader directly, not through that queue: the
// reader only reads (and checks for truncation itself), so nothing needs deciding, and the
// line is on its way within a millisecond or so of the write. Readers that find the shipper's
// gate closed take turns through it (gate-turns.ts) instead of all rushing at each opening.
//
// The safety-net scan (readdir + stat of every matching path) finds what inotify did not
// report: files written through mmap or on filesystems without inotify (NFS, some overlay
// mounts), and events the kernel dropped when its queue overflowed (it does so silently;
// Node's fs.watch never hears of it). Its period adapts, because with 1,000 files a scan
// each second was most of an idle agent's CPU:
// - every `scanIntervalMs` (1 s) while discovery is scan-only (inotify refused): it is then
//   the only way changes are seen;
// - every `scanIntervalMs` too while files are busy (written to, as inotify reported, or read
//   since the last scan; the first write after a quiet spell brings the next scan forward):
//   that is when the queue can overflow, and a dropped event must not leave a busy file
//   unread for long;
// - every `idleScanIntervalMs` (10 s) otherwise, while inotify works and the files are quiet.
// Skipping the stat of files whose directory's mtime did not change was considered and
// rejected: appends do not change a directory's mtime, and missed appends are exactly what
// the scan is for.

import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import type { BatchSink, FlowGate } from '../core/batch.js';
import { type FileIdentity, type FilePosition, identityKey } from '../core/file.js';
import { OffsetTracker } from '../core/offset-tracker.js';
import { Discovery, type Observation } from './discovery.js';
import type { FileGoneError, FileOpenError } from './errors.js';
import { LoggedTailerEvents, type TailerEvents } from './events.js';
import type { OpenFile } from './file-access.js';
import { GateTurns } from './gate-turns.js';
import { HandlePool } from './handle-pool.js';
import { fingerprintOf, identityOf, MARKER_MAX_BYTES, sameIdentity } from './identity.js';
import { type CheckpointLookup, KnownFiles } from './known-files.js';
import { PathLooks } from './path-looks.js';
import { copyStart, decideStart, liveMayHaveChanged, planKnownPath, registrationBeforeOpen, type ResumePoint, type StartPoint } from './prospector.js';
import { ReadBuffers } from './read-buffers.js';
import { FileReader, type ReaderContext, type ReaderOutcome, type ReaderState } from './reader.js';
import { ReaderGroup } from './reader-group.js';
import { bornAtMs, CLOCK_MARGIN_MS, continuesAt, type DirectoryFile, findTruncatedCopy, listDirectoryFiles, middleFiles } from './rotation.js';
import { ScanSchedule } from './scan-schedule.js';
import type { FollowedFile, TailerStats } from './types.js';
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
   * (written or read since the last scan), ms (default 1000). See the header.
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

/** The fingerprint of no bytes: any file continues it. */
const EMPTY_FINGERPRINT = fingerprintOf(Buffer.alloc(0));

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
  /** Completed safety-net scans (for status, and for tests that must let time pass). */
  scanCount = 0;

  private readonly log: Logger;
  private readonly now: () => number;
  private readonly scanIntervalMs: number;
  private readonly discovery: Discovery;
  private readonly checkpoints: CheckpointLookup;
  private readonly tracker: OffsetTracker;
  private readonly observer: TailerEvents;
  private readonly ctx: ReaderContext;

  /** Followed files by identity: one reader per file, one slot state each. */
  private readonly group = new ReaderGroup();
  /** Last time each live (or recently vacated) path was looked at: bounds "middle" files. */
  private readonly looks = new PathLooks();
  private readonly known: KnownFiles;
  /** Files skipped by ignore_older: size then (they start there if they become active). */
  private readonly ignoredOld = new Map<string, { size: number; bornAt: number }>();
  private readonly warnedUnopenable = new Set<string>();

  private control: Promise<void> = Promise.resolve();
  private readonly pendingPaths = new Set<string>();
  private pathsQueued = false;
  private readonly schedule: ScanSchedule;
  private started = false;
  private stopping = false;

  constructor(opts: TailerOptions) {
    this.stats = opts.stats ?? newTailerStats();
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.scanIntervalMs = opts.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
    this.checkpoints = opts.checkpoints;
    this.tracker = opts.tracker ?? new OffsetTracker();
    this.known = new KnownFiles(this.tracker, opts.checkpoints, opts.openFile ?? ((path) => open(path, 'r')), this.now);
    this.observer = opts.observer ?? new LoggedTailerEvents(opts.log, this.stats);
    this.discovery = new Discovery({
      inputs: opts.inputs,
      log: opts.log,
      now: this.now,
      onPathEvent: (path) => this.onPathEvent(path),
      onPathModified: (path) => this.onPathModified(path),
      onScanOnly: () => this.schedule.scanOnlyNow(),
      ...(opts.startWatch === undefined ? {} : { startWatch: opts.startWatch }),
    });
    this.schedule = new ScanSchedule({
      busyMs: this.scanIntervalMs,
      idleMs: opts.idleScanIntervalMs ?? DEFAULT_IDLE_SCAN_INTERVAL_MS,
      scanOnly: () => this.discovery.mode === 'scan-only',
      enqueueScan: (scan) => this.enqueue(scan),
      scan: () => this.scan(),
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
      openFile: opts.openFile ?? ((path) => open(path, 'r')),
      tracker: this.tracker,
      observer: this.observer,
      host: {
        report: (reader, outcome) => this.onReaderOutcome(reader, outcome),
        copyFollowed: (reader, before) => this.enqueue(() => this.followTruncatedCopy(reader, before)),
        bornSince: (reader, since) => this.enqueue(() => this.followBornSince(reader, since)),
      },
    };
  }

  /** Period of the safety-net scan now, ms (see the header); 0 before the first scan. */
  get scanPeriodMs(): number {
    return this.schedule.periodMs;
  }

  /** 'inotify', or 'scan-only' after the kernel refused file watches. */
  get discoveryMode(): 'inotify' | 'scan-only' {
    return this.discovery.mode;
  }

  /** Resumes known files (rotated ones first), follows the rest, then watches and scans. */
  async start(): Promise<void> {
    if (this.started) throw new Error('Tailer.start() called twice');
    this.started = true;
    await this.enqueue(() => this.startupScan());
  }

  /** Stops reading (no batch is emitted after this resolves) and closes handles and watchers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.schedule.stop();
    const readersStopped = this.group.readers().map((reader) => this.stopReader(reader));
    this.discovery.close();
    await this.control;
    await Promise.all(readersStopped);
    // Readers created by a decision that was already running when stop began.
    await Promise.all(this.group.readers().map((reader) => this.stopReader(reader)));
    this.stats.filesOpen = this.ctx.pool.openCount;
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
      const input = this.inputById(held.input);
      if (input === undefined || this.group.has(held.identity)) {
        this.observer.emit({ type: 'deleted-dropped', path: held.path, input: held.input });
        void held.handle.close().catch(() => undefined);
        continue;
      }
      // Where its last reader stood, else the registry's position (a reader stopped while it
      // checked its start has no record); one the file no longer holds means it was truncated
      // (copytruncate) before its deletion: it is read from 0, its copy looked for from there.
      const resume = this.known.resumePointFor(held.identity);
      this.observer.emit({ type: 'deleted-adopted', path: held.path, file: held.currentPath, offset: resume?.offset ?? 0 });
      this.follow({
        identity: held.identity,
        input,
        livePath: held.path,
        currentPath: held.currentPath,
        state: 'removed',
        start: resume === undefined ? { fallback: 0 } : { resume, fallback: 0 },
        inherited: held.handle,
      });
    }
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
      await this.enqueue(() => this.scan());
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

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.control.then(task);
    this.control = run.then(
      () => undefined,
      (err: unknown) => this.log.error({ err }, 'tailer decision failed'),
    );
    return run;
  }

  private bytesReadSoFar(): number {
    let total = 0;
    for (const bytes of this.stats.bytesRead.values()) total += bytes;
    return total;
  }

  /**
   * inotify says the file at `path` was written to: its reader reads now (a reader already
   * reading just reads once more). A path nobody follows yet is looked at.
   */
  private onPathModified(path: string): void {
    if (this.stopping) return;
    this.schedule.written();
    const live = this.group.atPath(path);
    live?.wake();
    let woken = live !== undefined;
    for (const reader of this.group.notLive()) {
      if (reader.currentPath !== path) continue;
      reader.wake();
      woken = true;
    }
    // E.g. a file ignore_older skipped, or whose creation went unreported.
    if (!woken && this.discovery.inputFor(path) !== undefined) this.onPathEvent(path);
  }

  private onPathEvent(path: string): void {
    if (this.stopping) return;
    this.pendingPaths.add(path);
    if (this.pathsQueued) return;
    this.pathsQueued = true;
    void this.enqueue(() => this.lookAtPendingPaths()).catch(() => undefined);
  }

  private async lookAtPendingPaths(): Promise<void> {
    this.pathsQueued = false;
    const paths = [...this.pendingPaths];
    this.pendingPaths.clear();
    for (const path of paths) {
      if (this.stopping) return;
      for (const reader of this.group.notLive()) if (reader.currentPath === path) reader.wake();
      const look = await this.discovery.look(path);
      if (look.kind === 'present') await this.reconcilePresent(look.observation, false);
      else if (look.kind === 'absent') await this.reconcileAbsent(path, look.lookedAt);
    }
  }

  // --- Scans ---------------------------------------------------------------------------------

  private async startupScan(): Promise<void> {
    this.adoptHeldFiles();
    const observed = (await this.discovery.scan()).files;
    const observedIds = new Set([...observed.values()].map((obs) => identityKey(identityOf(obs.stat))));
    for (const [path, known] of this.known.byPath()) {
      if (this.stopping) return;
      const current = observed.get(path);
      const currentId = current === undefined ? undefined : identityOf(current.stat);
      const plan = planKnownPath(known, currentId);
      if (plan === null) continue;
      this.looks.looked(path, plan.since);
      const { rotated } = plan;
      // The live file is known but no longer holds what we knew (truncated while we were down):
      // copies of it may have come and gone too — the newest holds what no position points to.
      const liveChanged =
        !plan.searchMiddle && current !== undefined && liveMayHaveChanged(await this.known.verified({ path, name: basename(path), identity: currentId!, stat: current.stat }));
      const searchMiddle = plan.searchMiddle || liveChanged;
      if (!searchMiddle && rotated.length === 0) continue;
      const input = this.inputById(known[0]!.input) ?? current?.input;
      if (input === undefined) continue;
      const listing = await listDirectoryFiles(dirname(path));
      for (const cp of rotated) {
        if (observedIds.has(identityKey(cp.identity))) continue; // followed where it matches now
        const found = listing.find((file) => sameIdentity(file.identity, cp.identity));
        if (found === undefined || this.group.has(cp.identity)) continue;
        const resume = this.known.resumePointFor(cp.identity)!;
        // No longer what the position describes, and born after the file was last seen: another
        // file got the inode (a copy, a newer rotation) — found as such below, not taken for this one.
        if (bornAtMs(found.stat) > cp.seenAt && (await this.known.verified(found)) === undefined) continue;
        // Even a fully read one is followed: the application may still write to it until it
        // reopens its log. It is released after close_renamed_after of quiet. One that no longer
        // holds what the position describes was truncated before its rename (its old content is
        // looked for in a copy), or is another file on a reused inode: either way, all of it is
        // new, as for a live file.
        this.observer.emit({ type: 'rotated-resumed', path, file: found.path, offset: resume.offset });
        this.follow({
          identity: cp.identity,
          input,
          livePath: path,
          currentPath: found.path,
          state: 'rotated',
          start: { resume, fallback: 0, skipCompressed: true },
        }).observed(found.stat);
      }
      // New files came and went at the path only if it changed hands.
      if (searchMiddle) await this.followMiddleFiles(listing, path, plan.since, input, currentId, known.map((file) => file.identity));
    }
    for (const obs of observed.values()) {
      if (this.stopping) return;
      await this.reconcilePresent(obs, true);
    }
    this.afterScan();
  }

  /** The safety net: one readdir+stat pass reconciled with what we follow. */
  private async scan(): Promise<void> {
    if (this.stopping) return;
    const startedAt = this.now();
    const { files: observed, complete } = await this.discovery.scan();
    for (const obs of observed.values()) {
      if (this.stopping) return;
      await this.reconcilePresent(obs, false);
    }
    // Absence is only concluded from a complete scan: a directory that could not be listed
    // (EMFILE, EACCES) says nothing about its files.
    if (complete) await this.reconcileVanished(observed, startedAt);
    this.reviewNonLive();
    for (const reader of this.group.unopenableReaders()) reader.wake();
    this.afterScan();
  }

  /** Live paths missing from a complete scan, and how long emptied paths are remembered. */
  private async reconcileVanished(observed: ReadonlyMap<string, Observation>, startedAt: number): Promise<void> {
    const listings = new Map<string, Promise<DirectoryFile[]>>();
    for (const path of this.group.livePaths()) {
      if (!observed.has(path)) await this.reconcileAbsent(path, startedAt, listings);
    }
    this.looks.expire((path) => !observed.has(path), startedAt, (path) => this.vacancyMemoryMs(path));
  }

  private afterScan(): void {
    for (const reader of this.group.readers()) this.checkpoints.seen(reader.identity, reader.source.path);
    this.stats.filesFollowed = this.group.size;
    this.scanCount++;
    this.schedule.scanned(this.bytesReadSoFar());
  }

  // --- Reconciling what is on disk with what we follow ----------------------------------------

  /** A glob-matched path holds a regular file. */
  private async reconcilePresent(obs: Observation, startup: boolean): Promise<void> {
    const { path } = obs;
    const identity = identityOf(obs.stat);
    const live = this.group.atPath(path);
    if (live !== undefined && sameIdentity(live.identity, identity)) {
      this.looks.looked(path, obs.lookedAt);
      this.tracker.get(identity)?.seen(obs.lookedAt);
      // A reader still reading (or waiting for a handle) reads up to EOF anyway: waking it
      // only adds a pass, and with many readers queued for few handles (max_open_files) those
      // passes came back faster than the queue emptied.
      if (live.observed(obs.stat) || (!live.atEof && !live.isReading)) live.wake();
      return;
    }
    const since = this.looks.since(path);
    let listing: DirectoryFile[] | undefined;
    if (live !== undefined) {
      listing = await listDirectoryFiles(dirname(path));
      this.rotatedAway(live, path, listing, true);
    }
    this.looks.occupied(path, obs.lookedAt);
    const known = this.group.get(identity);
    if (known !== undefined) {
      this.adopt(known, path);
      return;
    }
    if (!startup && since !== undefined) {
      listing ??= await listDirectoryFiles(dirname(path));
      await this.followMiddleFiles(listing, path, since, obs.input, identity);
    }
    this.followNew(obs, startup, since);
  }

  /**
   * A glob-matched path we followed a file at is empty now: renamed away or deleted.
   * `listings` shares directory listings between the paths of one scan.
   */
  private async reconcileAbsent(path: string, lookedAt: number, listings = new Map<string, Promise<DirectoryFile[]>>()): Promise<void> {
    const reader = this.group.atPath(path);
    if (reader === undefined) return;
    this.group.leftPath(reader);
    this.looks.vacate(path, lookedAt);
    const dir = dirname(path);
    let listing = listings.get(dir);
    if (listing === undefined) {
      listing = listDirectoryFiles(dir);
      listings.set(dir, listing);
    }
    this.rotatedAway(reader, path, await listing, false);
  }

  /**
   * `reader`'s file is no longer at `path` (`replaced`: another file is there now): keep
   * reading it through its handle.
   */
  private rotatedAway(reader: FileReader, path: string, listing: readonly DirectoryFile[], replaced: boolean): void {
    this.group.leftPath(reader);
    const moved = listing.find((file) => sameIdentity(file.identity, reader.identity));
    reader.leftLivePath(moved?.path);
    this.observer.emit({ type: 'rotated', path, key: reader.source.key, renamedTo: moved?.path ?? null, replaced });
    if (moved === undefined) void reader.checkRemoved();
    reader.wake();
  }

  /** A file we follow showed up at a glob-matched path (renamed into it). */
  private adopt(reader: FileReader, path: string): void {
    this.group.adopt(reader, path);
    reader.backAtLivePath(path);
    reader.wake();
  }

  /** Follows the files created at `livePath` after `since` and rotated away before we looked. */
  private async followMiddleFiles(
    listing: readonly DirectoryFile[],
    livePath: string,
    since: number,
    input: InputConfig,
    newcomer: FileIdentity | undefined,
    /** Files known at the path but not followed yet (startup): a copy may continue one of them. */
    originals: readonly FileIdentity[] = [],
  ): Promise<void> {
    const isFollowed = (identity: FileIdentity): boolean => this.group.has(identity) || (newcomer !== undefined && sameIdentity(identity, newcomer));
    for (const middle of middleFiles(listing, livePath, since, isFollowed)) {
      // Known (tracker, registry) and still holding what we knew of it: not a newcomer. (A
      // remembered position whose bytes are gone belonged to a deleted file whose inode was reused.)
      // A position at 0 tells nothing (with no first bytes it matches any file, a reused inode's
      // too), and reading from 0 is what it would say anyway.
      const remembered = await this.known.verified(middle);
      if (remembered !== undefined && remembered.offset > 0) continue;
      // A copytruncate copy born since the last look (its original was renamed away before the
      // truncation was seen) holds what was read already: it continues where that reader stood.
      const copied = await this.copiedFrom(middle, livePath, originals);
      if (copied !== undefined) {
        this.observer.emit({ type: 'copy-found', path: livePath, copy: middle.path, offset: copied.point.offset });
        const acknowledgedUpTo = await this.acknowledgedIn(middle, copied.original, copied.point);
        const copyOf = { identity: copied.original, epoch: copied.point.epoch ?? 0, upTo: copied.point.offset };
        this.follow({ identity: middle.identity, input, livePath, currentPath: middle.path, state: 'rotated', start: { resume: copied.point, fallback: 'skip', acknowledgedUpTo, copyOf } }).observed(middle.stat);
        continue;
      }
      this.observer.emit({ type: 'middle-file', path: livePath, file: middle.path });
      this.follow({ identity: middle.identity, input, livePath, currentPath: middle.path, state: 'rotated', start: { fallback: 0, skipCompressed: true } }).observed(middle.stat);
    }
  }

  /** The position of a file followed under `livePath` that `file` continues (a copy of it), if any. */
  private async copiedFrom(file: DirectoryFile, livePath: string, originals: readonly FileIdentity[]): Promise<{ point: ResumePoint; original: FileIdentity } | undefined> {
    const candidates: Array<{ identity: FileIdentity; point: ResumePoint | undefined }> = [];
    for (const reader of this.group.readers()) {
      if (reader.source.path !== livePath) continue;
      candidates.push({ identity: reader.identity, point: reader.hasStarted ? reader.resumePoint() : this.known.resumePointFor(reader.identity) });
    }
    for (const identity of originals) if (!this.group.has(identity)) candidates.push({ identity, point: this.known.resumePointFor(identity) });
    for (const { identity, point } of candidates) {
      if (point === undefined || point.offset === 0 || file.stat.size < point.offset) continue;
      if (await continuesAt(file.path, point, this.ctx.openFile)) return { point, original: identity };
    }
    return undefined;
  }

  /**
   * In `copy` (which continues `original` at `before`): the position up to which the original's
   * lines are acknowledged (tracker, else registry) if the copy holds it, else the copy's start.
   */
  private async acknowledgedIn(copy: DirectoryFile, original: FileIdentity, before: ResumePoint): Promise<FilePosition> {
    const registered = this.known.checkpointOf(original);
    for (const at of [this.tracker.get(original)?.acknowledgedPosition ?? undefined, registered]) {
      if (at === undefined || at.offset > before.offset || (at.epoch ?? 0) !== (before.epoch ?? 0)) continue;
      if (at.offset === 0 || (await continuesAt(copy.path, at, this.ctx.openFile))) return at;
    }
    return { offset: 0, fingerprint: before.offset === 0 ? before.fingerprint : EMPTY_FINGERPRINT, marker: null };
  }

  /** A file we do not follow yet at a glob-matched path. */
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
    const start = decision.start;
    // Whatever was rotated away from this path is read first, so a topic gets old lines first.
    const predecessors = this.group.notLive().filter((reader) => reader.source.path === path).map((reader) => reader.firstEof);
    const reader = this.follow({ identity, input, livePath: path, currentPath: path, state: 'live', start, after: Promise.all(predecessors) });
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
    // The tracker numbers follows for the agent's life: keys stay unique across reloads and inode reuse.
    const source = { key: `${key}:${this.tracker.nextFollow()}`, identity: spec.identity, input: spec.input.id, path: spec.livePath };
    // Registered now where the start needs no look at the file: the reader may wait for the gate past a crash.
    const early = registrationBeforeOpen(spec.start);
    if (early !== null) this.tracker.announce(source, early.at, early.from);
    const reader = new FileReader(this.ctx, {
      source,
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
    void this.enqueue(async () => {
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

  /**
   * copytruncate: the file was copied, then truncated. The copy holds what we had not read yet:
   * if it is there, finish it from where we stood.
   */
  private async followTruncatedCopy(reader: FileReader, before: ResumePoint): Promise<boolean> {
    if (this.stopping) return false;
    // Only files followed right now are left out: a position remembered for an identity
    // (tracker, registry) may belong to a deleted file whose inode the copy reuses — it counts
    // only if the copy still holds what it describes, and then the copy continues from it.
    const isFollowed = (identity: FileIdentity): boolean => sameIdentity(identity, reader.identity) || this.group.has(identity);
    // Copies are named after the live path (a file truncated before its rename is found again
    // under a rotated name; its copy is still named after the live one).
    const copy = await findTruncatedCopy(reader.source.path, before, isFollowed, this.ctx.openFile);
    if (copy !== undefined) await this.followCopy(reader, before, copy);
    // Truncated more than once since the reader last read (its output was blocked): the later
    // copies hold content it never read at all — files born since, found like middle files.
    // Since the reader last read, or since the copy that continues it was born, whichever is
    // earlier: a reader created after the copies (a reload or restart behind a stalled Kafka)
    // has read nothing yet, and the path was looked at after they were born (seenAt is no help).
    // That copy may be followed already (registered when found, resumed at the restart).
    const continuing = copy ?? (await findTruncatedCopy(reader.source.path, before, (identity) => sameIdentity(identity, reader.identity), this.ctx.openFile));
    let since = continuing === undefined ? reader.lastGrowthAt : Math.min(reader.lastGrowthAt, bornAtMs(continuing.stat));
    const listing = await listDirectoryFiles(dirname(reader.source.path));
    // A reader still checking where to start (at a restart or after a reload) has read nothing to
    // count from, and its predecessor's search may have been cut short by the reload (nothing of
    // it is recorded): copies of the file made since the file was born count.
    const own = reader.hasStarted ? undefined : listing.find((file) => sameIdentity(file.identity, reader.identity));
    if (own !== undefined) since = Math.min(since, bornAtMs(own.stat));
    await this.followMiddleFiles(listing, reader.source.path, since, reader.input, reader.identity);
    return copy !== undefined;
  }

  /**
   * A reader is about to read the first bytes of a file it has read nothing of since `since`:
   * files born at its live path since then and gone from the path before anyone looked (its
   * copytruncate copy, made while the reader waited for the gate) are followed as middle files.
   * Only when the directory changed since: a listing per new file would be most of a start
   * with thousands of files.
   */
  private async followBornSince(reader: FileReader, since: number): Promise<void> {
    if (this.stopping) return;
    const dir = dirname(reader.source.path);
    let changedAt: number;
    try {
      changedAt = (await stat(dir)).mtimeMs;
    } catch {
      return;
    }
    if (changedAt <= since - CLOCK_MARGIN_MS) return;
    await this.followMiddleFiles(await listDirectoryFiles(dir), reader.source.path, since, reader.input, reader.identity);
  }

  private async followCopy(reader: FileReader, before: ResumePoint, copy: DirectoryFile): Promise<void> {
    const resume = copyStart({ ...before, path: reader.source.path }, await this.known.verified(copy));
    const acknowledgedUpTo = await this.acknowledgedIn(copy, reader.identity, before);
    this.observer.emit({ type: 'copy-found', path: reader.source.path, copy: copy.path, offset: resume.offset });
    this.follow({
      identity: copy.identity,
      input: reader.input,
      livePath: reader.source.path,
      currentPath: copy.path,
      state: 'rotated',
      start: { resume, fallback: 'skip', acknowledgedUpTo, copyOf: { identity: reader.identity, epoch: before.epoch ?? 0, upTo: before.offset } },
    }).observed(copy.stat);
  }

  private onReaderSkipped(reader: FileReader, reason: string): void {
    this.observer.emit({ type: 'skipped', path: reader.source.path, file: reader.currentPath, reason });
    this.forget(reader);
  }

  // --- Helpers --------------------------------------------------------------------------------

  private inputById(id: string): InputConfig | undefined {
    return this.discovery.matchers.find((matcher) => matcher.input.id === id)?.input;
  }

  /** How long an emptied path's last look is kept (middle files are found relative to it). */
  private vacancyMemoryMs(path: string): number {
    const rotation = this.discovery.inputFor(path)?.rotation;
    return Math.max(rotation?.close_renamed_after ?? 0, 10 * this.scanIntervalMs);
  }
}
