// Where a followed file is: live at a glob-matched path, rotated (renamed away, or moved out of
// sight), or removed (deleted: nlink 0, reached only through an open descriptor) — one state,
// held by the file's FileAccess and nowhere else (the reader group reads it; its slots hold only
// what the group does with a file: following, unopenable, releasing). The moves are pure, so
// they are tested with no file and no clock (test/tailer-file-location.test.ts).

import type { FollowedFileState } from './types.js';

export type FileLocation =
  /** At a glob-matched path. `path`: where it was last found (another name only until the watcher tells the rename). */
  | { readonly kind: 'live'; readonly path: string }
  /** Renamed away, or moved out of sight: `path` is its new name, or the last one known. */
  | { readonly kind: 'rotated'; readonly path: string }
  /** Deleted (nlink 0) since `since` (ms): only its open descriptor reaches it; `path` is its last name. */
  | { readonly kind: 'removed'; readonly path: string; readonly since: number };

/** What was learnt of where the file is. */
export type LocationFact =
  /** It left its live path: renamed to `to`, or (undefined) deleted or moved out of sight. */
  | { readonly kind: 'left-live-path'; readonly to: string | undefined }
  /** It was renamed (back) to a glob-matched path. */
  | { readonly kind: 'back-at-live-path'; readonly path: string }
  /** Opened by identity under another name in its directory. */
  | { readonly kind: 'found-at'; readonly path: string }
  /** Its link count was 0 when looked at, at `at` (ms). */
  | { readonly kind: 'found-deleted'; readonly at: number };

export function locationAt(path: string, state: FollowedFileState, now: number): FileLocation {
  return state === 'removed' ? { kind: 'removed', path, since: now } : { kind: state, path };
}

/**
 * Where the file is after `fact`. A removed file stays removed whatever its names do (nothing by
 * its identity is it any more: a file found later by the same device and inode is another one
 * that got the freed inode), and keeps when it was first found deleted.
 */
export function moveLocation(location: FileLocation, fact: LocationFact): FileLocation {
  switch (fact.kind) {
    case 'left-live-path': {
      const path = fact.to ?? location.path;
      return location.kind === 'live' ? { kind: 'rotated', path } : { ...location, path };
    }
    case 'back-at-live-path':
      return location.kind === 'removed' ? { ...location, path: fact.path } : { kind: 'live', path: fact.path };
    case 'found-at':
      return { ...location, path: fact.path };
    case 'found-deleted':
      return location.kind === 'removed' ? location : { kind: 'removed', path: location.path, since: fact.at };
  }
}
