// The tailer's own reporting shapes: its counters and its list of followed files. The
// vocabulary it shares with the rest of the pipeline (identities, positions, batches, the flow
// gate) is in src/core.

import type { FileIdentity } from '../core/file.js';

/** Counters the tailer keeps; src/metrics exposes them. Plain numbers: free on the hot path. */
export interface TailerStats {
  linesRead: Map<string, number>; // per input
  bytesRead: Map<string, number>; // per input
  rotations: number;
  truncations: number;
  splitLines: number;
  partialLines: number;
  replacedChars: number;
  filesOpen: number;
  filesFollowed: number;
  /** Bytes of removed files given up after close_removed_after (never silently). */
  bytesAbandoned: number;
  readErrors: number;
}

/** Where a followed file stands (see Tailer.files()). */
export type FollowedFileState = 'live' | 'rotated' | 'removed';

/** One followed file, for `logship status` and metrics. */
export interface FollowedFile {
  /** SourceFile.key */
  key: string;
  input: string;
  /** The live path it was discovered under (SourceFile.path). */
  path: string;
  /** Where it is now (its rotated name, or its last path once removed). */
  currentPath: string;
  identity: FileIdentity;
  /** Next byte the tailer will read. */
  position: number;
  /** Size at the tailer's last look. */
  size: number;
  state: FollowedFileState;
}
