// The tailer's own reporting shapes: what it counted and its list of followed files. The
// vocabulary it shares with the rest of the pipeline (identities, positions, batches, the flow
// gate) is in src/core.

import type { FileIdentity } from '../core/file.js';

/**
 * What the tailer counted, read-only: TailerCounters (counters.ts) owns and moves the counts and
 * hands this out as its live `view`; src/metrics exposes them.
 */
export interface TailerStats {
  readonly linesRead: ReadonlyMap<string, number>; // per input
  readonly bytesRead: ReadonlyMap<string, number>; // per input
  readonly rotations: number;
  readonly truncations: number;
  readonly splitLines: number;
  readonly partialLines: number;
  readonly replacedChars: number;
  readonly filesOpen: number;
  readonly filesFollowed: number;
  /** Bytes of removed files given up after close_removed_after (never silently). */
  readonly bytesAbandoned: number;
  readonly readErrors: number;
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
