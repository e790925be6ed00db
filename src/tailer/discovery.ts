// Finds the files each input's globs match. Matching is ours (picomatch: chokidar 4 has no
// globs): every glob is watched through the directory it is rooted at (its static prefix),
// chokidar (inotify) is the wake-up, and a periodic readdir+stat scan is the safety net. When
// the kernel refuses watches (inotify limits) discovery goes on with scans alone.
//
// `exclude` patterns are matched against the full path AND the basename, so "*.gz" excludes
// rotated archives in any directory. Dot files only match patterns that name the dot.
// Symlinked files are followed to their target; symlinked directories are not descended into
// by the scan (no loops). Directories, FIFOs, sockets and devices matching a glob are skipped
// with one warning each.

import { watch, type ChokidarOptions } from 'chokidar';
import type { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import type { InputConfig } from '../config/types.js';
import { errnoCode } from './errors.js';

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

/** The part of chokidar's FSWatcher discovery uses (a seam for tests). */
export interface DirectoryWatcher {
  on(event: 'all', listener: (event: string, path: string) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  close(): Promise<void>;
}

export type CreateWatcher = (root: GlobRoot) => DirectoryWatcher;

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
  /** Something happened at this path (chokidar); stat it. */
  onPathEvent: (path: string) => void;
  now: () => number;
  createWatcher?: CreateWatcher;
}

const WATCH_LIMIT_ERRORS = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);
/** Paths stat'ed at the same time during a scan. */
const STAT_BATCH = 64;

function defaultCreateWatcher(root: GlobRoot): DirectoryWatcher {
  const options: ChokidarOptions = {
    ignoreInitial: true,
    usePolling: false,
    // Raw events: we stat every path we hear of, so editor-style debouncing only adds delay.
    atomic: false,
    followSymlinks: true,
    ignorePermissionErrors: true,
    persistent: true,
  };
  if (root.depth !== undefined) options.depth = root.depth;
  return watch(root.dir, options);
}

export class Discovery {
  readonly matchers: InputMatcher[];
  private readonly roots: GlobRoot[];
  private readonly watchers = new Map<string, DirectoryWatcher>();
  private readonly warned = new Set<string>();
  private readonly createWatcher: CreateWatcher;
  private scanOnly = false;
  private closed = false;

  constructor(private readonly options: DiscoveryOptions) {
    this.matchers = options.inputs.map((input) => new InputMatcher(input));
    this.createWatcher = options.createWatcher ?? defaultCreateWatcher;
    const unique = new Map<string, GlobRoot>();
    for (const root of this.matchers.flatMap((matcher) => matcher.roots)) {
      const key = `${root.dir}\0${root.depth ?? '*'}`;
      unique.set(key, root);
    }
    this.roots = [...unique.values()];
  }

  /** 'inotify' while watchers work, 'scan-only' after the kernel refused them. */
  get mode(): 'inotify' | 'scan-only' {
    return this.scanOnly ? 'scan-only' : 'inotify';
  }

  /** Starts watchers for the roots that exist (others are watched once they appear). */
  async start(): Promise<void> {
    await this.watchExistingRoots();
  }

  async close(): Promise<void> {
    this.closed = true;
    const watchers = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(watchers.map((watcher) => watcher.close()));
  }

  /** The input whose globs match `path` (the first one, if several do). */
  inputFor(path: string): InputConfig | undefined {
    return this.matchers.find((matcher) => matcher.matches(path))?.input;
  }

  /** One readdir+stat pass over every root: the regular files the globs match, by path. */
  async scan(): Promise<ScanResult> {
    await this.watchExistingRoots();
    const result: ScanResult = { files: new Map(), complete: true };
    for (const matcher of this.matchers) {
      for (const root of matcher.roots) await this.walk(root.dir, root.depth, matcher, result);
    }
    return result;
  }

  /** Looks at one path now (after a watcher event). */
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
      return { kind: 'present', observation: { path, input: matcher.input, stat: stats, lookedAt } };
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent', lookedAt };
      this.warnOnce(`stat:${path}`, { path, err }, 'cannot stat a matching path; retrying each scan');
      return { kind: 'ignored' };
    }
  }

  private async walk(dir: string, depth: number | undefined, matcher: InputMatcher, result: ScanResult): Promise<void> {
    const found = result.files;
    let entries: Dirent[];
    try {
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
      candidates.push(path);
    }
    // Stats go out in parallel groups: one at a time, the thread-pool hand-off of each costs
    // more CPU than the stat itself (a third of an idle agent's CPU with 1,000 files).
    for (let from = 0; from < candidates.length; from += STAT_BATCH) {
      const batch = candidates.slice(from, from + STAT_BATCH);
      const lookedAt = this.options.now();
      const results = await Promise.allSettled(batch.map((path) => stat(path)));
      results.forEach((settled, i) => this.record(batch[i]!, settled, lookedAt, matcher, result));
    }
    for (const subdirectory of subdirectories) await this.walk(subdirectory, depth === undefined ? undefined : depth - 1, matcher, result);
  }

  private record(path: string, settled: PromiseSettledResult<Stats>, lookedAt: number, matcher: InputMatcher, result: ScanResult): void {
    if (settled.status === 'fulfilled') {
      if (settled.value.isFile()) result.files.set(path, { path, input: matcher.input, stat: settled.value, lookedAt });
      else this.warnNotRegular(path, settled.value);
      return;
    }
    const code = errnoCode(settled.reason);
    // Gone since readdir (rotation in progress), or a dangling symlink: not a file now.
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      result.complete = false;
      this.warnOnce(`stat:${path}`, { path, err: settled.reason }, 'cannot stat a matching path; retrying each scan');
    }
  }

  private async watchExistingRoots(): Promise<void> {
    if (this.scanOnly || this.closed) return;
    for (const root of this.roots) {
      const key = `${root.dir}\0${root.depth ?? '*'}`;
      if (this.watchers.has(key)) continue;
      try {
        if (!(await stat(root.dir)).isDirectory()) continue;
      } catch {
        continue; // not there yet: the next scan tries again
      }
      if (this.closed) return;
      await this.startWatcher(key, root);
      if (this.scanOnly) return;
    }
  }

  private async startWatcher(key: string, root: GlobRoot): Promise<void> {
    let watcher: DirectoryWatcher;
    try {
      watcher = this.createWatcher(root);
    } catch (err) {
      this.fallBackToScans(err);
      return;
    }
    this.watchers.set(key, watcher);
    watcher.on('all', (event, path) => {
      if (event === 'add' || event === 'change' || event === 'unlink') this.options.onPathEvent(path);
    });
    const ready = new Promise<void>((resolveReady) => {
      watcher.on('ready', resolveReady);
      watcher.on('error', (err) => {
        if (WATCH_LIMIT_ERRORS.has(errnoCode(err) ?? '')) {
          this.fallBackToScans(err);
          resolveReady();
        } else {
          this.warnOnce(`watch:${root.dir}:${String(err)}`, { dir: root.dir, err }, 'file watcher error');
        }
      });
    });
    await ready;
  }

  private fallBackToScans(err: unknown): void {
    if (this.scanOnly) return;
    this.scanOnly = true;
    this.options.log.warn({ err }, 'the kernel refused file watches (inotify limits?): discovering files by periodic scans only');
    const watchers = [...this.watchers.values()];
    this.watchers.clear();
    for (const watcher of watchers) void watcher.close();
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
