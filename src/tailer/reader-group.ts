// The reader group: every followed file, by identity, in one slot with one state —
//   live        at a glob-matched path (indexed by that path)
//   rotated     renamed away (or moved out of the globs): read on through its handle
//   removed     deleted (nlink 0): read on through its handle, within close_removed_after
//   releasing   done: its last lines are being emitted and its handle closed
//   unopenable  cannot be opened now (EACCES, ...): tried again at each scan, then back to where it is
// The first three are where the file is: its reader's FileLocation (file-location.ts), held
// there alone; a slot holds what the group does with the file (following, releasing,
// unopenable) and the live path it is indexed under. FollowedFiles (the group's commands) moves
// slots between states; what to do with the rotated and removed ones at a scan (release,
// abandon, look again) is decided by review(), which only reads — FollowedFiles acts.

import type { FileIdentity } from '../core/file.js';
import { identityKey } from '../core/file.js';
import type { Follower } from './follower.js';
import type { FollowedFile, FollowedFileState } from './types.js';

export type SlotState = FollowedFileState | 'releasing' | 'unopenable';

interface Slot {
  readonly follower: Follower;
  /** What the group does with the file; where it is (live, rotated, removed) is its reader's. */
  phase: 'following' | 'releasing' | 'unopenable';
  /** The glob-matched path it is indexed under as live (null once it left it). */
  livePath: string | null;
}

/** What review() decides for a rotated or removed file. */
export type ReviewAction = 'release' | 'abandon' | 'forget' | 'look-again';

export class ReaderGroup {
  private readonly slots = new Map<string, Slot>();
  /** Index of the 'live' slots by their path (inotify reports writes by path). */
  private readonly byPath = new Map<string, Slot>();

  get size(): number {
    return this.slots.size;
  }

  get(identity: FileIdentity): Follower | undefined {
    return this.slots.get(identityKey(identity))?.follower;
  }

  has(identity: FileIdentity): boolean {
    return this.slots.has(identityKey(identity));
  }

  /** The reader live at `path`, if any. */
  atPath(path: string): Follower | undefined {
    return this.byPath.get(path)?.follower;
  }

  livePaths(): string[] {
    return [...this.byPath.keys()];
  }

  followers(): Follower[] {
    return [...this.slots.values()].map((slot) => slot.follower);
  }

  /** Readers not live at a path: rotated, removed, releasing. */
  notLive(): Follower[] {
    const out: Follower[] = [];
    for (const slot of this.slots.values()) if (slot.livePath === null) out.push(slot.follower);
    return out;
  }

  stateOf(follower: Follower): SlotState | undefined {
    const slot = this.slotOf(follower);
    if (slot === undefined) return undefined;
    return slot.phase === 'following' ? follower.reader.state : slot.phase;
  }

  /** A new reader: indexed live at `livePath`, or (null) rotated/removed as the reader says. */
  add(follower: Follower, livePath: string | null): void {
    const slot: Slot = { follower, phase: 'following', livePath };
    this.slots.set(identityKey(follower.reader.identity), slot);
    if (livePath !== null) this.byPath.set(livePath, slot);
  }

  /** Its file left its live path (renamed, moved out, deleted): read on as a rotated file. */
  leftPath(follower: Follower): void {
    const slot = this.slotOf(follower);
    if (slot === undefined) return;
    this.unindex(slot);
  }

  /** A followed file showed up at a glob-matched path (renamed into it): live there, unless deleted. */
  adopt(follower: Follower, path: string): void {
    const slot = this.slotOf(follower);
    if (slot === undefined) return;
    this.unindex(slot);
    slot.livePath = path;
    this.byPath.set(path, slot);
  }

  /** The reader found its file deleted (nlink 0): no longer indexed as live. */
  removed(follower: Follower): void {
    const slot = this.slotOf(follower);
    if (slot === undefined) return;
    this.unindex(slot);
  }

  releasing(follower: Follower): void {
    const slot = this.slotOf(follower);
    if (slot === undefined) return;
    this.unindex(slot);
    slot.phase = 'releasing';
  }

  isReleasing(follower: Follower): boolean {
    return this.slotOf(follower)?.phase === 'releasing';
  }

  /** Opening failed (true) or works again (false): back to following, wherever the file is now. */
  unopenable(follower: Follower, failing: boolean): void {
    const slot = this.slotOf(follower);
    if (slot === undefined || slot.phase === 'releasing') return;
    slot.phase = failing ? 'unopenable' : 'following';
  }

  unopenableFollowers(): Follower[] {
    return [...this.slots.values()].filter((slot) => slot.phase === 'unopenable').map((slot) => slot.follower);
  }

  forget(follower: Follower): void {
    const key = identityKey(follower.reader.identity);
    const slot = this.slots.get(key);
    if (slot === undefined || slot.follower !== follower) return;
    this.unindex(slot);
    this.slots.delete(key);
  }

  /**
   * At a scan, for each rotated or removed file: release it when done (read to the end and quiet
   * for close_renamed_after, or deleted with close_removed), abandon a deleted one stuck for
   * close_removed_after, forget one that ended by itself, else look at it again.
   */
  review(now: number): Array<{ follower: Follower; action: ReviewAction }> {
    const out: Array<{ follower: Follower; action: ReviewAction }> = [];
    for (const slot of this.slots.values()) {
      const { follower } = slot;
      if (slot.phase === 'releasing' || slot.livePath !== null) continue;
      if (follower.isFinished) {
        out.push({ follower, action: 'forget' });
        continue;
      }
      const rotation = follower.reader.input.rotation;
      const quietFor = now - follower.reader.lastGrowthAt;
      let action: ReviewAction = 'look-again';
      if (follower.reader.state === 'removed') {
        if (follower.atEof && (rotation.close_removed || quietFor >= rotation.close_renamed_after)) action = 'release';
        else if (!follower.atEof && now - (follower.reader.file.removedAt ?? now) >= rotation.close_removed_after) action = 'abandon';
      } else if (follower.atEof && quietFor >= rotation.close_renamed_after) {
        action = 'release';
      }
      out.push({ follower, action });
    }
    return out;
  }

  files(): FollowedFile[] {
    return this.followers().map((follower) => ({
      key: follower.reader.source.key,
      input: follower.reader.input.id,
      path: follower.reader.source.path,
      currentPath: follower.reader.currentPath,
      identity: follower.reader.identity,
      position: follower.reader.position,
      size: follower.reader.lastSize,
      state: follower.reader.state,
    }));
  }

  private slotOf(follower: Follower): Slot | undefined {
    const slot = this.slots.get(identityKey(follower.reader.identity));
    return slot?.follower === follower ? slot : undefined;
  }

  private unindex(slot: Slot): void {
    if (slot.livePath !== null && this.byPath.get(slot.livePath) === slot) this.byPath.delete(slot.livePath);
    slot.livePath = null;
  }
}
