// What the tailer knows of files it does not follow right now: where each continues (the offset
// tracker's hand-over — this tailer's readers or the previous tailer's across a reload — else
// the registry's acknowledged checkpoint), which files are known under each live path, and
// whether a file on disk still holds what its remembered position describes (a position of a
// deleted file may sit on an identity a new file got).

import { checkpointPosition, type Checkpoint, type FileIdentity, type FilePosition, identityKey } from '../core/file.js';
import type { OffsetTracker } from '../core/offset-tracker.js';
import type { OpenFile } from './file-access.js';
import type { KnownFile, ResumePoint } from './prospector.js';
import { fingerprintOf } from './identity.js';
import { continuesAt, type DirectoryFile } from './rotation.js';

/** The fingerprint of no bytes: any file continues it. */
const EMPTY_FINGERPRINT = fingerprintOf(Buffer.alloc(0));

/** The registry as the tailer reads it. */
export interface CheckpointLookup {
  get(identity: FileIdentity): Checkpoint | undefined;
  all(): Iterable<Checkpoint>;
  /** Tell the registry the file still exists (keeps its entry from being cleaned). */
  seen(identity: FileIdentity, path: string): void;
}

export class KnownFiles {
  constructor(
    private readonly tracker: OffsetTracker,
    private readonly checkpoints: CheckpointLookup,
    private readonly openFile: OpenFile,
    private readonly now: () => number,
  ) {}

  /** Where a file we know continues: the last hand-over, else the acknowledged checkpoint. */
  resumePointFor(identity: FileIdentity): ResumePoint | undefined {
    const handedOver = this.tracker.resumeFor(identity);
    if (handedOver !== undefined) return handedOver;
    const checkpoint = this.checkpoints.get(identity);
    return checkpoint === undefined || checkpoint.deleted === true ? undefined : { ...checkpointPosition(checkpoint), path: checkpoint.path };
  }

  /**
   * The readers (SourceFile keys) of the file's positions the tracker knows — the last hand-over
   * is theirs: a copy found continuing it holds what they read (CopyOrigin.readBy).
   */
  readersOf(identity: FileIdentity): readonly string[] {
    return this.tracker.get(identity)?.keys ?? [];
  }

  /** The registry's acknowledged position of a file (not of a deleted one). */
  checkpointOf(identity: FileIdentity): ResumePoint | undefined {
    const checkpoint = this.checkpoints.get(identity);
    return checkpoint === undefined || checkpoint.deleted === true ? undefined : { ...checkpointPosition(checkpoint), path: checkpoint.path };
  }

  /** The remembered position of `file` if the file still holds what it describes. */
  async verified(file: DirectoryFile): Promise<ResumePoint | undefined> {
    const own = this.resumePointFor(file.identity);
    if (own === undefined || file.stat.size < own.offset) return undefined;
    return (await continuesAt(file.path, own, this.openFile)) ? own : undefined;
  }

  /**
   * In `copy` (which continues `original` at `before`): the position up to which the original's
   * lines are acknowledged (tracker, else registry) if the copy holds it, else the copy's start.
   */
  async acknowledgedIn(copy: DirectoryFile, original: FileIdentity, before: ResumePoint): Promise<FilePosition> {
    const registered = this.checkpointOf(original);
    for (const at of [this.tracker.get(original)?.acknowledgedPosition ?? undefined, registered]) {
      if (at === undefined || at.offset > before.offset || (at.epoch ?? 0) !== (before.epoch ?? 0)) continue;
      if (at.offset === 0 || (await continuesAt(copy.path, at, this.openFile))) return at;
    }
    return { offset: 0, fingerprint: before.offset === 0 ? before.fingerprint : EMPTY_FINGERPRINT, marker: null };
  }

  /**
   * Files known by live path — handed over by a previous tailer (reload) or in the registry —
   * with the last time each was seen at that path (a checkpoint's commit time does not count:
   * a file born at the path after the last look and rotated away must still be found). Deleted
   * ones (their registry entries marked so) are listed for that sighting alone — and one
   * without a sighting (an entry first written by the acknowledgement of a deleted file, which
   * carries none) as unsighted: its lastSeen is that acknowledgement's time, which may come
   * long after the file was last at the path (behind a stalled Kafka), after files born there
   * since (see planKnownPath).
   */
  byPath(): Map<string, KnownFile[]> {
    const byPath = new Map<string, KnownFile[]>();
    const add = (file: KnownFile): void => {
      const list = byPath.get(file.path);
      if (list === undefined) byPath.set(file.path, [file]);
      else list.push(file);
    };
    const now = this.now();
    const tracked = new Set<string>();
    for (const record of this.tracker.all()) {
      tracked.add(identityKey(record.identity));
      add({ identity: record.identity, input: record.input, path: record.path, ...(record.seenAt === undefined ? { seenAt: now, unsighted: true } : { seenAt: record.seenAt }) });
    }
    for (const cp of this.checkpoints.all()) {
      if (tracked.has(identityKey(cp.identity))) continue;
      add({ identity: cp.identity, input: cp.input, path: cp.path, seenAt: cp.seenAt ?? cp.lastSeen, ...(cp.deleted === true ? { deleted: true, ...(cp.seenAt === undefined ? { unsighted: true } : {}) } : {}) });
    }
    return byPath;
  }
}
