// One inotify watch (fs.watch) per watched directory (glob directories, and the directories of
// symlinked files' targets, see symlink-targets.ts): reports what
// happens to the entries as it happens, unthrottled — "change" (a file was written to) and
// "rename" (an entry was created, removed or renamed). Which directories to watch is decided
// by discovery, which walks them anyway; a watch whose directory was replaced (deleted and
// created again: the old watch is dead) is started again.
//
// Why not chokidar, which was used before: it watched every file on its own besides its
// directory (1,001 inotify watches for 1,000 files in one directory), throttled `change` to
// one event per 50 ms per file with no trailing event (a write in that window waited for the
// next write, or for a scan), and listed the directory again with an lstat of every entry
// after each event in it (with 200 of 1,000 files being written, a tenth of the agent's time).
// Node's fs.watch on a directory already reports writes to the files in it, by name.

import { watch as fsWatch } from 'node:fs';
import { join } from 'node:path';

export type EntryEvent = 'change' | 'rename';

/** A running watch: Node's FSWatcher, or a test's stand-in. */
export interface Watch {
  close(): void;
}

/**
 * Starts watching `path` (a directory: `name` is the entry's name; a file: its own name).
 * Throws when the kernel refuses (ENOSPC: out of inotify watches). A seam for tests.
 */
export type StartWatch = (path: string, onEvent: (event: EntryEvent, name: string | null) => void, onError: (err: unknown) => void) => Watch;

export const startFsWatch: StartWatch = (path, onEvent, onError) => {
  const watcher = fsWatch(path, { persistent: true }, (eventType, name) => onEvent(eventType === 'change' ? 'change' : 'rename', name));
  watcher.on('error', onError);
  return watcher;
};

export interface WatchListener {
  /** Something happened to the entry at `path` (or, when the name is unknown, somewhere in the watched `path`). */
  entry(path: string, event: EntryEvent): void;
  /** A running watch failed (it is closed; the next walk starts it again). */
  failed(path: string, err: unknown): void;
}

interface RunningWatch {
  watch: Watch;
  /** "dev:ino" of what was watched: another one at the same path needs a new watch. */
  identity: string;
  /** Its number in the order watches were started (see `mark`). */
  number: number;
}

export class DirectoryWatches {
  private readonly running = new Map<string, RunningWatch>();
  private startedSoFar = 0;

  constructor(
    private readonly startWatch: StartWatch,
    private readonly listener: WatchListener,
  ) {}

  /**
   * Watches `path` (a directory, or a symlinked file) unless it already is, as `identity`.
   * Throws what the kernel said when it refused.
   */
  watch(path: string, identity: string, isDirectory: boolean): void {
    const current = this.running.get(path);
    if (current !== undefined && current.identity === identity) return;
    current?.watch.close();
    this.running.delete(path);
    const watch = this.startWatch(
      path,
      (event, name) => this.listener.entry(isDirectory && name !== null && name !== '' ? join(path, name) : path, event),
      (err) => {
        const failed = this.running.get(path);
        if (failed?.watch !== watch) return;
        this.running.delete(path);
        watch.close();
        this.listener.failed(path, err);
      },
    );
    this.running.set(path, { watch, identity, number: ++this.startedSoFar });
  }

  /** A point in time for `retain`: watches started after it are kept. */
  mark(): number {
    return this.startedSoFar;
  }

  /**
   * Closes the watches of paths not in `keep` (what a complete walk found), except those
   * started after `since` (a directory created while the walk went on is not in it).
   */
  retain(keep: ReadonlySet<string>, since: number): void {
    for (const [path, running] of this.running) {
      if (keep.has(path) || running.number > since) continue;
      running.watch.close();
      this.running.delete(path);
    }
  }

  closeAll(): void {
    for (const running of this.running.values()) running.watch.close();
    this.running.clear();
  }
}
