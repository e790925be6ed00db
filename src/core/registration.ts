// When a followed file gets a registry entry before any of its own lines are acknowledged: as
// soon as a position that owes nothing is known (0 for a file read from its start; for a
// copytruncate copy, where its original's lines are acknowledged up to), so that a restart
// after a crash knows the file even if its reader never got to read it.

import { checkpointAt, type Checkpoint, type FilePosition, type SourceFile } from './file.js';
import type { OffsetTracker } from './offset-tracker.js';

/**
 * The entry to commit for a file followed from `from` whose registry may hold `at`, given the
 * entry the registry has for its identity (null: keep that one).
 *
 * An entry is kept only when the follow continues it — it stands where the follow starts, past
 * 0 (the reader checked that the file still holds those bytes): it may be ahead of `at` (a
 * copy's own acknowledgements). Any other live entry describes bytes the file does not hold:
 * another file's on a reused inode (the earlier file deleted while the agent was down), or
 * what the file held before it was truncated (its copy is registered on its own). Kept, it
 * made the restart check the new file against the old position, find no copy, and miss the
 * file's rotated copies and its place at the path (soak --gap 1.5). Replaced, it says what is
 * true: nothing of this file needs reading before `at`.
 *
 * `seenAt` 0 unless the caller saw the file at its live path: a registration is no sighting,
 * and a copy or a middle file never was at the path under its identity — an entry without one
 * would have its lastSeen (moved by every commit) stand in, and hide the files born at the
 * path after the last real look.
 */
export function registrationEntry(
  file: Pick<SourceFile, 'identity' | 'input' | 'path'>,
  at: FilePosition,
  from: FilePosition,
  existing: Checkpoint | undefined,
  now: number,
  seenAt = 0,
): Checkpoint | null {
  if (existing !== undefined && existing.deleted !== true && existing.offset > 0 && existing.offset === from.offset) return null;
  return checkpointAt(file, at, now, seenAt);
}

/**
 * Kafka acknowledged everything before `position` of `source`'s file: recorded in the tracker,
 * and the entries the registry persists for it — the file's own (marked deleted when it was
 * deleted and closed since; none when the acknowledgement is stale: the file's identity is
 * another reader's now, see OffsetTracker.acknowledged) and those of its copytruncate copies
 * holding the position. A copy holds the same bytes up to where its original stood: until its
 * own lines are acknowledged its entry follows the original's (a crash then re-reads the copy
 * from there, and a clean stop re-reads nothing) — also on acknowledgements stale to the
 * original, of bytes the copy holds (soak --gap 1.5 seed 2907, see copiesHolding).
 */
export function acknowledgementEntries(tracker: OffsetTracker, source: SourceFile, position: FilePosition, now: number): Checkpoint[] {
  const verdict = tracker.acknowledged(source, position);
  const entries: Checkpoint[] = [];
  if (verdict !== 'stale') {
    const own = checkpointAt(source, position, now, tracker.get(source.identity)?.seenAt);
    entries.push(verdict === 'deleted' ? { ...own, deleted: true } : own);
  }
  for (const copy of tracker.copiesHolding(source, position)) entries.push(checkpointAt(copy, position, now, undefined));
  return entries;
}
