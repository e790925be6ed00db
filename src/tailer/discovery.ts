// Finds the files each input's globs match. Matching is ours (picomatch): every glob is rooted
// at a directory (its static prefix), the scan walks the directories below it as deep as the
// glob can match, and each directory it walks is watched (one inotify watch per directory,
// see watches.ts). The watches are the wake-up, the periodic readdir+stat scan the safety net.
// A write to a file is reported as such ("modified": its reader can read at once); anything
// else that happens to an entry (created, removed, renamed) has the path looked at, and a
// directory created between scans is walked (and watched) at once. When the kernel refuses
// watches (inotify limits) discovery goes on with scans alone.
//
// `exclude` patterns are matched against the full path AND the basename, so "*.gz" excludes
// rotated archives in any directory. Dot files only match patterns that name the dot.
// Symlinked files are followed to their target, and the target's directory is watched too
// (symlink-targets.ts: its events are told under the link's path); symlinked directories are
// not descended into (no loops).
// Directories, FIFOs, sockets and devices matching a glob are skipped with one warning each.

import { type Dirent, realpathSync, type Stats, statSync } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import { errnoCode } from './errors.js';
import { SymlinkTargets } from './symlink-targets.js';
import { DirectoryWatches, type EntryEvent, startFsWatch, type StartWatch } from './watches.js';
import { DiscoveryLife, type DiscoveryMode } from './watch-life.js';

/** A file a glob matches, as stat (following symlinks) saw it. */
export interface Observation {
  path: string;
  input: InputConfig;
  stat: Stats;
  /** Taken just before the stat: the path held this file at some instant after it. */
  lookedAt: number;
}

export interface ScanResult {
  files: Map<string, Observation>;
  /**
   * False when a directory could not be listed or a path not stat'ed (EMFILE, EACCES, ...):
   * a file missing from `files` may then still be there.
   */
  complete: boolean;
  /** Directories walked and directories of symlinks' targets: what is to be watched. */
  watched: Set<string>;
}

export type PathLook =
  | { kind: 'present'; observation: Observation }
  | { kind: 'absent'; lookedAt: number }
  /** Not ours: matches no glob, is excluded, or is not a regular file. */
  | { kind: 'ignored' };

/** Where a glob is rooted and how deep below it a match can be (undefined: any depth). */
export interface GlobRoot {
  dir: string;
  depth: number | undefined;
}

export function globRoot(glob: string): GlobRoot {
  const absolute = resolve(glob);
  const scanned = picomatch.scan(absolute);
  if (!scanned.isGlob) return { dir: dirname(absolute), depth: 0 };
  const segments = scanned.glob.split('/');
  const depth = segments.some((segment) => segment.includes('**')) ? undefined : segments.length - 1;
  return { dir: scanned.base === '' ? '/' : scanned.base, depth };
}

/** One input's globs and excludes. */
export class InputMatcher {
  readonly roots: GlobRoot[];
  private readonly included: picomatch.Matcher;
  private readonly excluded: picomatch.Matcher | null;

  constructor(readonly input: InputConfig) {
    const paths = input.paths.map((glob) => resolve(glob));
    this.roots = paths.map(globRoot);
    this.included = picomatch(paths);
    this.excluded = input.exclude.length === 0 ? null : picomatch(input.exclude);
  }

  matches(path: string): boolean {
    return this.included(path) && !this.isExcluded(path);
  }

  isExcluded(path: string): boolean {
    return this.excluded !== null && (this.excluded(path) || this.excluded(basename(path)));
  }

  /** Matched by a glob, whether excluded or not (to warn about a directory a glob names). */
  namedByGlob(path: string): boolean {
    return this.included(path);
  }
}

export interface DiscoveryOptions {
  inputs: InputConfig[];
  log: Logger;
  /** Something happened at this path (created, removed, renamed away or into it): stat it. */
  onPathEvent: (path: string) => void;
  /** The file at this path was written to (or its attributes changed): it may have grown. */
  onPathModified: (path: string) => void;
  /** The kernel refused watches: from now on only scans find changes. */
  onScanOnly?: () => void;
  now: () => number;
  /** Seam for tests: how a directory (or symlinked file) is watched (default fs.watch). */
  startWatch?: StartWatch;
}

const WATCH_LIMIT_ERRORS = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);
/** Paths stat'ed in one go during a scan, before the event loop gets a turn. */
const STAT_BATCH = 256;

/** One walk of a directory: for which input, and how many levels below it may still match. */
interface Walk {
  matcher: InputMatcher;
  depth: number | undefined;
}

export class Discovery {
  readonly matchers: InputMatcher[];
  private readonly warned = new Set<string>();
  private readonly watches: DirectoryWatches;
  private readonly symlinks = new SymlinkTargets();
  private readonly life = new DiscoveryLife();

  constructor(private readonly options: DiscoveryOptions) {
    this.matchers = options.inputs.map((input) => new InputMatcher(input));
    this.watches = new DirectoryWatches(options.startWatch ?? startFsWatch, {
      entry: (path, event) => this.onEntryEvent(path, event),
      failed: (path, err) => this.warnOnce(`watch:${path}`, { path, err }, 'file watch failed; watching it again at the next scan'),
    });
  }

  /** 'inotify' while watches work, 'scan-only' after the kernel refused them. */
  get mode(): DiscoveryMode {
    return this.life.mode;
  }

  close(): void {
    this.life.close();
    this.watches.closeAll();
  }

  /** Where the symlink at `path` led when last resolved (undefined: not a known symlink). */
  symlinkTarget(path: string): string | undefined {
    return this.symlinks.targetOf(path);
  }

  /** The input whose globs match `path` (the first one, if several do). */
  inputFor(path: string): InputConfig | undefined {
    return this.matchers.find((matcher) => matcher.matches(path))?.input;
  }

  /**
   * One readdir+stat pass over every root: the regular files the globs match, by path. The
   * directories walked are watched from now on; after a complete pass, no others.
   */
  async scan(): Promise<ScanResult> {
    const result: ScanResult = { files: new Map(), complete: true, watched: new Set() };
    const since = this.watches.mark();
    const linksSince = this.symlinks.mark();
    for (const matcher of this.matchers) {
      for (const root of matcher.roots) await this.walk(root.dir, root.depth, matcher, result);
    }
    if (result.complete) this.symlinks.retain(result.files, linksSince);
    if (result.complete && this.life.watching) this.watches.retain(result.watched, since);
    return result;
  }

  /** Looks at one path now (after a watch event). */
  async look(path: string): Promise<PathLook> {
    const matcher = this.matchers.find((candidate) => candidate.matches(path));
    if (matcher === undefined) return { kind: 'ignored' };
    const lookedAt = this.options.now();
    try {
      const stats = await stat(path);
      if (!stats.isFile()) {
        this.warnNotRegular(path, stats);
        return { kind: 'ignored' };
      }
      // A symlink created (or retargeted) since the last scan: its target's directory is
      // watched from now on, so the target's growth wakes the reader at once.
      if ((await lstat(path)).isSymbolicLink()) this.watchTarget(path, { files: new Map(), complete: true, watched: new Set() });
      return { kind: 'present', observation: { path, input: matcher.input, stat: stats, lookedAt } };
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent', lookedAt };
      this.warnOnce(`stat:${path}`, { path, err }, 'cannot stat a matching path; retrying each scan');
      return { kind: 'ignored' };
    }
  }

  private onEntryEvent(path: string, event: EntryEvent): void {
    if (this.life.closed) return;
    // An event in a symlink target's directory: told under each link's path as well.
    for (const link of this.symlinks.linksTo(path)) this.onLinkEvent(link, event);
    if (event === 'change') {
      this.options.onPathModified(path);
      return;
    }
    this.options.onPathEvent(path);
    const walks = this.walksOf(path);
    if (walks.length > 0) void this.walkIfNewDirectory(path, walks);
  }

  private onLinkEvent(link: string, event: EntryEvent): void {
    if (event === 'change') this.options.onPathModified(link);
    else this.options.onPathEvent(link);
  }

  /**
   * An entry was created or renamed into a watched directory where subdirectories are walked:
   * if it is a directory, walk (and watch) it now, instead of at the next scan, and have the
   * files in it looked at. A file created in it before its watch starts is found by the walk.
   */
  private async walkIfNewDirectory(path: string, walks: Walk[]): Promise<void> {
    try {
      if (!(await lstat(path)).isDirectory()) return;
    } catch {
      return; // gone again (or unreadable: the scan reports what matters)
    }
    const result: ScanResult = { files: new Map(), complete: true, watched: new Set() };
    for (const { matcher, depth } of walks) await this.walk(path, depth, matcher, result);
    for (const file of result.files.keys()) this.options.onPathEvent(file);
  }

  /** The walks that would reach `path` as a directory (under a root, within its depth). */
  private walksOf(path: string): Walk[] {
    const walks: Walk[] = [];
    for (const matcher of this.matchers) {
      for (const root of matcher.roots) {
        const below = relative(root.dir, path);
        if (below === '' || below.startsWith('..') || isAbsolute(below)) continue;
        const depth = root.depth === undefined ? undefined : root.depth - below.split(sep).length;
        if (depth === undefined || depth >= 0) walks.push({ matcher, depth });
      }
    }
    return walks;
  }

  private async walk(dir: string, depth: number | undefined, matcher: InputMatcher, result: ScanResult): Promise<void> {
    const found = result.files;
    let entries: Dirent[];
    try {
      // Watched before it is listed: whatever is created after the listing is reported.
      await this.watchDirectory(dir, result);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        result.complete = false;
        this.warnOnce(`readdir:${dir}`, { dir, err }, 'cannot list a watched directory; retrying each scan');
      }
      return;
    }
    const candidates: string[] = [];
    const symlinks = new Set<string>();
    const subdirectories: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (matcher.namedByGlob(path)) this.warnOnce(`special:${path}`, { path, type: 'directory' }, 'a glob matches a directory: skipped');
        if (depth === undefined || depth > 0) subdirectories.push(path);
        continue;
      }
      if (found.has(path) || !matcher.matches(path)) continue;
      if (!entry.isFile() && !entry.isSymbolicLink()) {
        this.warnOnce(`special:${path}`, { path, type: fileType(entry) }, 'a glob matches something that is not a regular file: skipped');
        continue;
      }
      if (entry.isSymbolicLink()) symlinks.add(path);
      candidates.push(path);
    }
    // Stats are synchronous, in groups with a turn of the event loop between two: through the
    // thread pool each cost ~20 µs of CPU (hand-off, wake-ups, promise) against ~2 µs for the
    // stat itself, which made the scan of 1,000 files most of an idle agent's CPU.
    for (let from = 0; from < candidates.length; from += STAT_BATCH) {
      if (from > 0) await nextTurn();
      const lookedAt = this.options.now();
      for (const path of candidates.slice(from, from + STAT_BATCH)) this.record(path, statNow(path), lookedAt, matcher, result, symlinks);
    }
    for (const subdirectory of subdirectories) await this.walk(subdirectory, depth === undefined ? undefined : depth - 1, matcher, result);
  }

  private record(path: string, settled: PromiseSettledResult<Stats>, lookedAt: number, matcher: InputMatcher, result: ScanResult, symlinks: ReadonlySet<string>): void {
    if (settled.status === 'fulfilled') {
      const stats = settled.value;
      if (!stats.isFile()) {
        this.warnNotRegular(path, stats);
        return;
      }
      result.files.set(path, { path, input: matcher.input, stat: stats, lookedAt });
      if (symlinks.has(path)) this.watchTarget(path, result);
      return;
    }
    const code = errnoCode(settled.reason);
    // Gone since readdir (rotation in progress), or a dangling symlink: not a file now.
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      result.complete = false;
      this.warnOnce(`stat:${path}`, { path, err: settled.reason }, 'cannot stat a matching path; retrying each scan');
    }
  }

  /** Throws what stat throws (ENOENT: not there yet, the next scan looks again). */
  private async watchDirectory(dir: string, result: ScanResult): Promise<void> {
    if (!this.life.watching) return;
    this.watchPath(dir, await stat(dir), result);
  }

  /** The directory of symlink `link`'s target is watched (see symlink-targets.ts). */
  private watchTarget(link: string, result: ScanResult): void {
    let target: string;
    try {
      target = realpathSync.native(link);
    } catch {
      return; // dangling since the stat: the next look or scan sees what it is
    }
    this.symlinks.set(link, target);
    const dir = dirname(target);
    if (result.watched.has(dir) || !this.life.watching) return;
    try {
      this.watchPath(dir, statSync(dir), result);
    } catch {
      // Gone meanwhile: the next scan tries again.
    }
  }

  private watchPath(path: string, stats: Stats, result: ScanResult): void {
    result.watched.add(path);
    if (!this.life.watching) return;
    try {
      this.watches.watch(path, `${stats.dev}:${stats.ino}`, true);
    } catch (err) {
      if (WATCH_LIMIT_ERRORS.has(errnoCode(err) ?? '')) this.fallBackToScans(err);
      // Anything else (the entry vanished meanwhile, EACCES): the next scan tries again.
    }
  }

  private fallBackToScans(err: unknown): void {
    if (!this.life.refused()) return;
    this.options.log.warn({ err }, 'the kernel refused file watches (inotify limits?): discovering files by periodic scans only');
    this.watches.closeAll();
    this.options.onScanOnly?.();
  }

  private warnNotRegular(path: string, stats: Stats): void {
    this.warnOnce(`special:${path}`, { path, type: statType(stats) }, 'a glob matches something that is not a regular file: skipped');
  }

  private warnOnce(key: string, context: object, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.log.warn(context, message);
  }
}

function statNow(path: string): PromiseSettledResult<Stats> {
  try {
    return { status: 'fulfilled', value: statSync(path) };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

function fileType(entry: Dirent): string {
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'device';
  return 'other';
}

function statType(stats: Stats): string {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'device';
  return 'other';
}
