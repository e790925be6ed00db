// The watcher: discovery (globs, watches, the safety-net scan and its timing) and rotation
// inference, told as typed file events (file-events.ts). It never touches a reader; what is
// followed it sees through FollowedView. Its decisions run on the tailer's decision queue.
//
// A write reported by inotify is told at once, not through that queue: the reader only reads
// (and checks for truncation itself), so nothing needs deciding, and the line is on its way
// within a millisecond or so of the write.
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

import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import type { FileIdentity } from '../core/file.js';
import type { DecisionQueue } from './decision-queue.js';
import { Discovery, type Observation } from './discovery.js';
import type { OpenFile } from './file-access.js';
import type { FileEventSink, FollowedView } from './file-events.js';
import { identityOf, sameIdentity } from './identity.js';
import type { KnownFiles } from './known-files.js';
import { PathLooks } from './path-looks.js';
import { listDirectoryFiles, type DirectoryFile } from './rotation.js';
import { RotationSearch, type Truncation } from './rotation-search.js';
import { ScanSchedule } from './scan-schedule.js';
import { WatcherLife } from './watch-life.js';
import type { StartWatch } from './watches.js';

export interface WatcherOptions {
  inputs: InputConfig[];
  log: Logger;
  now: () => number;
  queue: DecisionQueue;
  known: KnownFiles;
  followed: FollowedView;
  openFile: OpenFile;
  emit: FileEventSink;
  /** Bytes read by all readers so far: files read since the last scan are busy. */
  bytesRead: () => number;
  scanIntervalMs: number;
  idleScanIntervalMs: number;
  startWatch?: StartWatch;
}

export class Watcher {
  /** Completed safety-net scans. */
  scanCount = 0;

  private readonly discovery: Discovery;
  private readonly schedule: ScanSchedule;
  private readonly search: RotationSearch;
  /** Last time each live (or recently vacated) path was looked at: bounds "middle" files. */
  private readonly looks = new PathLooks();
  /** Open, a look at paths queued, closed: one state (watch-life.ts). */
  private readonly life = new WatcherLife();

  constructor(private readonly opts: WatcherOptions) {
    this.discovery = new Discovery({
      inputs: opts.inputs,
      log: opts.log,
      now: opts.now,
      onPathEvent: (path) => this.onPathEvent(path),
      onPathModified: (path) => this.onPathModified(path),
      onScanOnly: () => this.schedule.scanOnlyNow(),
      ...(opts.startWatch === undefined ? {} : { startWatch: opts.startWatch }),
    });
    this.schedule = new ScanSchedule({
      busyMs: opts.scanIntervalMs,
      idleMs: opts.idleScanIntervalMs,
      scanOnly: () => this.discovery.mode === 'scan-only',
      enqueueScan: (scan) => opts.queue.run(scan),
      scan: () => this.scan(),
    });
    this.search = new RotationSearch({
      known: opts.known,
      followed: opts.followed,
      looks: this.looks,
      openFile: opts.openFile,
      emit: opts.emit,
      inputById: (id) => this.inputById(id),
      symlinkTarget: (path) => this.discovery.symlinkTarget(path),
      closed: () => this.life.closed,
    });
  }

  get mode(): 'inotify' | 'scan-only' {
    return this.discovery.mode;
  }

  /** Period of the safety-net scan now, ms; 0 before the first scan. */
  get scanPeriodMs(): number {
    return this.schedule.periodMs;
  }

  /** No more events: scans stop, watches close. */
  close(): void {
    this.life.close();
    this.schedule.stop();
    this.discovery.close();
  }

  inputById(id: string): InputConfig | undefined {
    return this.discovery.matchers.find((matcher) => matcher.input.id === id)?.input;
  }

  /** Startup (on the decision queue): known files first (rotated ones, middle files), then every match. */
  async startup(): Promise<void> {
    const observed = (await this.discovery.scan()).files;
    await this.search.startup(observed);
    for (const obs of observed.values()) {
      if (this.life.closed) return;
      await this.reconcilePresent(obs, true);
    }
    await this.afterScan(true);
  }

  /** The safety net (on the decision queue): one readdir+stat pass reconciled with what is followed. */
  async scan(): Promise<void> {
    if (this.life.closed) return;
    const startedAt = this.opts.now();
    const { files: observed, complete } = await this.discovery.scan();
    for (const obs of observed.values()) {
      if (this.life.closed) return;
      await this.reconcilePresent(obs, false);
    }
    // Absence is only concluded from a complete scan: a directory that could not be listed
    // (EMFILE, EACCES) says nothing about its files.
    if (complete) await this.reconcileVanished(observed, startedAt);
    await this.afterScan(false);
  }

  /** A file followed at `livePath` was found truncated: its copy, and files born since (on the decision queue). */
  truncated(truncation: Truncation): Promise<boolean> {
    return this.search.truncated(truncation);
  }

  /** A reader is about to read the first bytes of a file unread since `since` (on the decision queue). */
  bornSince(livePath: string, since: number, input: InputConfig, identity: FileIdentity): Promise<void> {
    return this.search.bornSince(livePath, since, input, identity);
  }

  /**
   * inotify says the file at `path` was written to: told at once (readers read now). A path
   * nobody follows yet is looked at.
   */
  private onPathModified(path: string): void {
    if (this.life.closed) return;
    this.schedule.written();
    const followed = this.opts.followed.readsAt(path);
    void this.opts.emit({ type: 'written', path });
    // E.g. a file ignore_older skipped, or whose creation went unreported.
    if (!followed && this.discovery.inputFor(path) !== undefined) this.onPathEvent(path);
  }

  private onPathEvent(path: string): void {
    if (!this.life.pathEvent(path)) return;
    void this.opts.queue.run(() => this.lookAtPendingPaths()).catch(() => undefined);
  }

  private async lookAtPendingPaths(): Promise<void> {
    for (const path of this.life.takePaths()) {
      if (this.life.closed) return;
      await this.opts.emit({ type: 'touched', path });
      const look = await this.discovery.look(path);
      if (look.kind === 'present') await this.reconcilePresent(look.observation, false);
      else if (look.kind === 'absent') await this.reconcileAbsent(path, look.lookedAt);
    }
  }

  /** Live paths missing from a complete scan, and how long emptied paths are remembered. */
  private async reconcileVanished(observed: ReadonlyMap<string, Observation>, startedAt: number): Promise<void> {
    const listings = new Map<string, Promise<DirectoryFile[]>>();
    for (const path of this.opts.followed.livePaths()) {
      if (!observed.has(path)) await this.reconcileAbsent(path, startedAt, listings);
    }
    this.looks.expire((path) => !observed.has(path), startedAt, (path) => this.vacancyMemoryMs(path));
  }

  private async afterScan(startup: boolean): Promise<void> {
    await this.opts.emit({ type: 'scanned', startup });
    this.scanCount++;
    this.schedule.scanned(this.opts.bytesRead());
  }

  /** A glob-matched path holds a regular file. */
  private async reconcilePresent(obs: Observation, startup: boolean): Promise<void> {
    const { path } = obs;
    const identity = identityOf(obs.stat);
    const live = this.opts.followed.liveAt(path);
    if (live !== undefined && sameIdentity(live, identity)) {
      this.looks.looked(path, obs.lookedAt);
      await this.opts.emit({ type: 'still-there', file: obs });
      return;
    }
    const since = this.looks.since(path);
    let listing: DirectoryFile[] | undefined;
    if (live !== undefined) {
      listing = await listDirectoryFiles(dirname(path));
      await this.leftPath(live, path, listing, true);
    }
    this.looks.occupied(path, obs.lookedAt);
    if (this.opts.followed.isFollowed(identity)) {
      await this.opts.emit({ type: 'arrived', identity, path });
      return;
    }
    if (!startup && since !== undefined) {
      listing ??= await listDirectoryFiles(dirname(path));
      // A symlinked path's generations are rotated next to its target (the kubelet's 0.log) too.
      await this.search.middleAround(path, listing, since, obs.input, identity);
    }
    await this.opts.emit({ type: 'created', file: obs, startup, since });
  }

  /**
   * A glob-matched path we followed a file at is empty now: renamed away or deleted.
   * `listings` shares directory listings between the paths of one scan.
   */
  private async reconcileAbsent(path: string, lookedAt: number, listings = new Map<string, Promise<DirectoryFile[]>>()): Promise<void> {
    const live = this.opts.followed.liveAt(path);
    if (live === undefined) return;
    this.looks.vacate(path, lookedAt);
    const dir = dirname(path);
    let listing = listings.get(dir);
    if (listing === undefined) {
      listing = listDirectoryFiles(dir);
      listings.set(dir, listing);
    }
    await this.leftPath(live, path, await listing, false);
  }

  /**
   * The file followed at `path` is no longer there (`replaced`: another file is): where did it
   * go? In its directory, or — a symlinked path — in its target's (the kubelet renames 0.log
   * to 0.log.<timestamp> next to it).
   */
  private async leftPath(identity: FileIdentity, path: string, listing: readonly DirectoryFile[], replaced: boolean): Promise<void> {
    const target = this.discovery.symlinkTarget(path);
    const near = target === undefined || dirname(target) === dirname(path) ? [] : await listDirectoryFiles(dirname(target));
    const moved = [...listing, ...near].find((file) => sameIdentity(file.identity, identity));
    if (moved !== undefined) await this.opts.emit({ type: 'renamed', identity, from: path, to: moved.path, replaced });
    else await this.opts.emit({ type: 'removed', identity, path, replaced });
  }

  /** How long an emptied path's last look is kept (middle files are found relative to it). */
  private vacancyMemoryMs(path: string): number {
    const rotation = this.discovery.inputFor(path)?.rotation;
    return Math.max(rotation?.close_renamed_after ?? 0, 10 * this.opts.scanIntervalMs);
  }
}
