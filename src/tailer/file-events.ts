// What the watcher tells the tailer: typed file events, inferred from watch events, scans and
// directory listings (renamed away, files created and rotated away between two looks,
// copytruncate copies, removed). The watcher never touches a reader: it sees what is followed
// only through FollowedView (identities and positions), and the tailer turns each event into
// reader-group commands, with the prospector deciding where files start.

import type { InputConfig } from '../config/types.js';
import type { FileIdentity } from '../core/file.js';
import type { Observation } from './discovery.js';
import type { ResumePoint } from './prospector.js';
import type { DirectoryFile } from './rotation.js';

export type FileEvent =
  /** inotify: the file at `path` was written to (readers of a file at that name read now). */
  | { type: 'written'; path: string }
  /** An entry event at `path` (created, renamed, removed): a rotated file now at that name may have grown. */
  | { type: 'touched'; path: string }
  /** A look found the file followed live at its path still there. */
  | { type: 'still-there'; file: Observation }
  /** A file nobody follows at a glob-matched path; `since`: the last look at the path before this one. */
  | { type: 'created'; file: Observation; startup: boolean; since: number | undefined }
  /** A followed file left its live path `from` and is now at `to`; `replaced`: another file is at `from` now. */
  | { type: 'renamed'; identity: FileIdentity; from: string; to: string; replaced: boolean }
  /** A followed file left its live path and is not in its directory any more: deleted, or moved out of sight. */
  | { type: 'removed'; identity: FileIdentity; path: string; replaced: boolean }
  /** A followed file showed up at a glob-matched path (renamed into it). */
  | { type: 'arrived'; identity: FileIdentity; path: string }
  /**
   * A file created at `livePath` and rotated away between two looks; `copyOf`: it is the
   * copytruncate copy of a file followed there, continuing it at `point`.
   */
  | { type: 'middle'; file: DirectoryFile; livePath: string; input: InputConfig; copyOf: { original: FileIdentity; point: ResumePoint } | null }
  /** Startup (or reload): a known file found under a rotated name. */
  | { type: 'rotated-known'; file: DirectoryFile; livePath: string; input: InputConfig }
  /** `original` (at `livePath`) no longer holds what was read up to `before`: its copytruncate copy, if one was found. */
  | { type: 'truncated'; original: FileIdentity; livePath: string; input: InputConfig; before: ResumePoint; copy: DirectoryFile | null }
  /** A scan (`startup`: the first one) was reconciled with what is followed. */
  | { type: 'scanned'; startup: boolean };

/** Receives the watcher's events, on the decision queue; awaited before the watcher goes on. */
export type FileEventSink = (event: FileEvent) => void | Promise<void>;

/** What the watcher may know of the followed files: identities and positions, no readers. */
export interface FollowedView {
  /** The identity followed live at `path`, if any. */
  liveAt(path: string): FileIdentity | undefined;
  isFollowed(identity: FileIdentity): boolean;
  livePaths(): string[];
  /** A reader follows a file now named `path` (live there, or rotated to that name). */
  readsAt(path: string): boolean;
  /** Where each file followed under `livePath` stands (all emitted up to there), as far as known. */
  positionsUnder(livePath: string): Array<{ identity: FileIdentity; point: ResumePoint | undefined }>;
}
