// The offset tracker: per file identity, where its reader started, what it handed to the
// shipper and what Kafka acknowledged — plus the open descriptors of deleted files still being
// read when a tailer stopped. Owned by the agent, it outlives every tailer (a reload replaces
// the tailer, not the tracker), so a new tailer continues exactly where the previous one's
// readers stood, including files they never got to open (the gate was closed) and files that
// exist only through a descriptor. It alone feeds reload hand-over and the lag metric; the
// registry persists what it acknowledges.
//
// Positions are recorded by method calls of the reader that owns the file, never written from
// outside; the hand-over on every batch stores four fields and allocates nothing.

import type { FileHandle } from 'node:fs/promises';
import { identityKey, type FileIdentity, type Fingerprint, type FilePosition, type OffsetMarker, type SourceFile } from './file.js';

/** Identities remembered once their reader is gone (a file may come back under a followed path). */
export const TRACKED_MEMORY = 20_000;

/** One file's positions. Only its reader moves `start` and the hand-over. */
export class TrackedFile {
  private startAt: FilePosition;
  private handedOffset: number;
  private handedMarker: OffsetMarker | null;
  private handedFingerprint: Fingerprint;
  private handedEpoch: number;
  private acked: FilePosition | null = null;
  private floor: number;
  private lookedAt: number | undefined;
  private unreadAt: number | undefined;
  /** What the registry may hold for this file before its own lines are acknowledged (null: nothing). */
  readonly persistable: FilePosition | null;
  /** A copytruncate copy: of which file, in which epoch, continuing it at which offset. */
  readonly copyOf: CopyOrigin | null;

  constructor(
    readonly identity: FileIdentity,
    /** Input id and live path the file is followed under (a rotated file keeps its live path). */
    readonly input: string,
    readonly path: string,
    start: FilePosition,
    /** Bytes before it need nothing shipped by this record (see shippedOffset). */
    floor: number,
    /** SourceFile keys of the readers that followed this very file (one per reload). */
    private readonly sourceKeys: readonly string[],
    persistable: FilePosition | null = null,
    copyOf: CopyOrigin | null = null,
  ) {
    this.persistable = persistable;
    this.copyOf = copyOf;
    this.startAt = start;
    this.floor = floor;
    this.handedOffset = start.offset;
    this.handedMarker = start.marker;
    this.handedFingerprint = start.fingerprint;
    this.handedEpoch = start.epoch ?? 0;
  }

  /** The reader (re)started at `position`: at its first open, or at 0 after a truncation (next epoch). */
  started(position: FilePosition): void {
    this.unreadAt = undefined;
    this.startAt = position;
    this.floor = position.offset;
    this.handedOffset = position.offset;
    this.handedMarker = position.marker;
    this.handedFingerprint = position.fingerprint;
    this.handedEpoch = position.epoch ?? 0;
  }

  /** The reader handed a batch ending at `offset` to the shipper. Hot path: no allocation. */
  handedOver(offset: number, marker: OffsetMarker, fingerprint: Fingerprint, epoch: number): void {
    this.handedOffset = offset;
    this.handedMarker = marker;
    this.handedFingerprint = fingerprint;
    this.handedEpoch = epoch;
  }

  /** Kafka acknowledged everything before `position` (in its epoch). */
  acknowledged(position: FilePosition): void {
    this.acked = position;
  }

  /** Was a batch from `source` read from this very file (not an earlier one on the same inode)? */
  owns(source: SourceFile): boolean {
    return this.sourceKeys.includes(source.key);
  }

  get keys(): readonly string[] {
    return this.sourceKeys;
  }

  /**
   * The reader stands at offset 0 and has read none of the file's bytes since `at` (ms): copies
   * of the file made since hold what no position points to (see unreadSince).
   */
  nothingReadSince(at: number): void {
    this.unreadAt = at;
  }

  /** While nothing is handed over yet: since when nothing of the file was read (a successor looks for copies born since). */
  get unreadSince(): number | undefined {
    return this.handedOffset === 0 ? this.unreadAt : undefined;
  }

  /** The tailer looked at the file's live path and found this file there (ms). */
  seen(at: number): void {
    this.lookedAt = at;
  }

  /** Last time the file was seen at its live path, if it was while this agent ran. */
  get seenAt(): number | undefined {
    return this.lookedAt;
  }

  get start(): FilePosition {
    return this.startAt;
  }

  /** Everything before it is with the shipper (or acknowledged): where a successor continues. */
  get handedOverPosition(): FilePosition {
    return { offset: this.handedOffset, marker: this.handedOffset > 0 ? this.handedMarker : null, fingerprint: this.handedFingerprint, epoch: this.handedEpoch };
  }

  get acknowledgedPosition(): FilePosition | null {
    return this.acked;
  }

  /**
   * Up to where the file needs nothing more shipped in the epoch the reader is in: what Kafka
   * acknowledged, and at least where the reader started when the bytes before were not this
   * file's to ship (a copytruncate copy starts where its original stood; start_at: end and
   * ignore_older skip on purpose; a registry checkpoint was acknowledged). A reader continuing
   * a hand-over keeps the floor of the record it continues. The lag metric is size minus this.
   */
  get shippedOffset(): number {
    const epoch = this.startAt.epoch ?? 0;
    const acked = this.acked !== null && (this.acked.epoch ?? 0) === epoch ? this.acked.offset : 0;
    return Math.max(this.floor, acked);
  }
}

/** Where a copytruncate copy came from: its bytes up to `upTo` are the original's of that epoch. */
export interface CopyOrigin {
  identity: FileIdentity;
  epoch: number;
  upTo: number;
  /**
   * The readers (SourceFile keys) of the original that read those bytes, as far as known when the
   * copy was found: their acknowledgements are the copy's, also once a successor restarted the
   * original from 0 and calls them stale (see copiesHolding).
   */
  readBy?: readonly string[];
}

/** A follow announced whose reader has not begun (OffsetTracker.announce). */
interface UnbegunFollow {
  identity: FileIdentity;
  input: string;
  path: string;
  from: FilePosition;
  at: FilePosition;
  since: number | undefined;
  copyOf: CopyOrigin | null;
}

/** A file the registry may hold an acknowledged position of another file for (copiesHolding). */
export interface HoldingCopy {
  identity: FileIdentity;
  input: string;
  path: string;
}

/** A deleted file still being read when its tailer stopped: only this descriptor reaches it. */
export interface HeldFile {
  identity: FileIdentity;
  input: string;
  /** The live path it was followed under. */
  path: string;
  /** Its last name (gone from the directory). */
  currentPath: string;
  handle: FileHandle;
}

export interface TrackerListener {
  /** A reader started following a file (the agent registers never-seen files). */
  tracked(record: TrackedFile): void;
  /**
   * A file is followed from `from` and its registry entry may hold `at`, known before its
   * reader opens it (see announce): the agent registers it now.
   */
  announced(source: SourceFile, at: FilePosition, from: FilePosition): void;
  /** A file was deleted and its last reader closed it (the agent drops its registry entry). */
  gone(identity: FileIdentity): void;
}

const NO_LISTENER: TrackerListener = { tracked: () => undefined, announced: () => undefined, gone: () => undefined };

export class OffsetTracker {
  private readonly files = new Map<string, TrackedFile>();
  /** Identities of files gone for good (until a reader tracks the identity again: inode reuse). */
  private readonly goneKeys = new Set<string>();
  /**
   * Files announced whose reader has not begun (no record yet: the gate held it off, or a reload
   * came first): from where (0, or for a copy where its original's reader stood), what the
   * registry may hold for it (`at`), and — followed from 0 — since when nothing of it was read
   * (see announce); a copy: of which file.
   */
  private readonly unbegun = new Map<string, UnbegunFollow>();
  private held: HeldFile[] = [];
  private follows = 0;

  constructor(private readonly listener: TrackerListener = NO_LISTENER) {}

  /** A number for a new follow, unique for the agent's life (part of SourceFile.key). */
  nextFollow(): number {
    return ++this.follows;
  }

  /** The record of a file a reader starts following (replacing an older record of the identity). */
  track(source: SourceFile, start: FilePosition, persistable: FilePosition | null = start.offset === 0 ? start : null, copyOf: CopyOrigin | null = null): TrackedFile {
    const { identity, input, path } = source;
    const key = identityKey(identity);
    const previous = this.files.get(key);
    // Continuing where the previous record's reader stood (a reload, a file coming back): the
    // reader checked that the file still holds those bytes before it started there, so its
    // acknowledgements (some maybe still on their way) and its floor carry over. (Not compared:
    // the fingerprints — the new one may cover more of the first bytes than the old one did.)
    const continues = previous !== undefined && (previous.start.epoch ?? 0) === (start.epoch ?? 0) && previous.handedOverPosition.offset === start.offset;
    // A copy stays one for a reader continuing it (a reload: the successor follows it as a known
    // rotated file) until its own lines are acknowledged: its registry entry follows its
    // original's acknowledgements meanwhile (copiesHolding) — else a clean restart re-read it
    // from the position registered when it was found.
    const announced = this.unbegun.get(key);
    const startsAnnounced = previous === undefined && announced !== undefined && announced.from.offset === start.offset && (announced.from.epoch ?? 0) === (start.epoch ?? 0);
    const inherited = continues ? (previous.acknowledgedPosition === null ? previous.copyOf : null) : startsAnnounced ? announced.copyOf : null;
    const record = new TrackedFile(
      identity,
      input,
      path,
      start,
      continues ? previous.shippedOffset : start.offset,
      continues ? [...previous.keys.slice(-7), source.key] : [source.key],
      copyOf === null ? persistable : this.acknowledgedInCopy(copyOf, persistable),
      copyOf ?? inherited,
    );
    if (continues) {
      const acked = previous.acknowledgedPosition;
      if (acked !== null) record.acknowledged(acked);
      if (previous.seenAt !== undefined) record.seen(previous.seenAt);
      const unread = previous.unreadSince;
      if (unread !== undefined && start.offset === 0) record.nothingReadSince(unread);
    }
    this.files.delete(key);
    this.files.set(key, record);
    if (this.files.size > TRACKED_MEMORY) this.files.delete(this.files.keys().next().value!);
    this.goneKeys.delete(key);
    this.unbegun.delete(key);
    this.listener.tracked(record);
    return record;
  }

  /**
   * The tailer decided to follow `source` from `from`, and the registry may hold `at` for it,
   * before the file's reader opens it (a closed gate can hold the reader off until after a
   * crash): registered now, a restart finds the file however long the reader waited. No record
   * yet — the reader makes one when it starts (track).
   *
   * The follow is remembered until then, and a successor across a reload continues from `from`
   * (resumeFor), as it would from the hand-over of a reader that began there. A follow from 0
   * (`followedAt`: when it was decided, ms): nothing of the file is read since — the successor
   * looks for copies born since the follow, not since its own (soak --gap 1.5 seed 2202: a new
   * file copytruncated while its reader waited for the gate, the copy alone holding lines). A
   * copy: its bytes before `from` are its original's, handed to the shipper by the original's
   * reader; continued from `at` (the registry's), the successor shipped them twice (soak --gap
   * 1.5 seed 2205: a copy found 2 ms before a reload, 492 lines).
   */
  announce(source: SourceFile, at: FilePosition, from: FilePosition, followedAt?: number, copyOf: CopyOrigin | null = null): void {
    this.listener.announced(source, at, from);
    const key = identityKey(source.identity);
    if ((from.offset === 0 && followedAt === undefined) || this.files.has(key)) return;
    this.unbegun.set(key, { identity: source.identity, input: source.input, path: source.path, from, at, since: from.offset === 0 ? followedAt : undefined, copyOf });
    if (this.unbegun.size > TRACKED_MEMORY) this.unbegun.delete(this.unbegun.keys().next().value!);
  }

  /**
   * What the registry may hold for a copy about to be tracked: the copy's reader opens it only
   * once the gate lets it, and acknowledgements of its original that arrived since the copy was
   * found (`found`) were not passed on to it (copiesHolding knows tracked copies only) — the
   * original's latest one in the copied epoch, if the copy holds it, else `found`.
   */
  private acknowledgedInCopy(origin: CopyOrigin, found: FilePosition | null): FilePosition | null {
    const acked = this.files.get(identityKey(origin.identity))?.acknowledgedPosition;
    if (acked === null || acked === undefined || (acked.epoch ?? 0) !== origin.epoch || acked.offset > origin.upTo) return found;
    if (found !== null && found.offset >= acked.offset) return found;
    return { offset: acked.offset, fingerprint: acked.fingerprint, marker: acked.marker };
  }

  /**
   * The file was deleted and its reader closed it: its positions describe nothing on disk any
   * more, and a new file may get its inode — forgotten, so that file is not taken for it.
   */
  gone(identity: FileIdentity, record: TrackedFile | null): void {
    const key = identityKey(identity);
    const current = this.files.get(key);
    // A new file on the reused inode is followed already: it is not the one that went.
    if (current !== undefined && current !== record) return;
    this.files.delete(key);
    this.unbegun.delete(key);
    this.goneKeys.add(key);
    if (this.goneKeys.size > TRACKED_MEMORY) this.goneKeys.delete(this.goneKeys.keys().next().value!);
    this.listener.gone(identity);
  }

  /** Deleted and closed (see gone()): late acknowledgements of it are not worth persisting. */
  isGone(identity: FileIdentity): boolean {
    return this.goneKeys.has(identityKey(identity));
  }

  get(identity: FileIdentity): TrackedFile | undefined {
    return this.files.get(identityKey(identity));
  }

  /**
   * Where a new reader of `identity` continues: the end of what the last one handed over — or,
   * announced for a reader that never began, where it was to start (followed from 0: and since
   * when nothing of it was read).
   */
  resumeFor(identity: FileIdentity): (FilePosition & { path: string; input: string; unreadSince?: number }) | undefined {
    const record = this.files.get(identityKey(identity));
    if (record === undefined) {
      const unbegun = this.unbegun.get(identityKey(identity));
      if (unbegun === undefined) return undefined;
      return { ...unbegun.from, path: unbegun.path, input: unbegun.input, ...(unbegun.since === undefined ? {} : { unreadSince: unbegun.since }) };
    }
    const unreadSince = record.unreadSince;
    return { ...record.handedOverPosition, path: record.path, input: record.input, ...(unreadSince === undefined ? {} : { unreadSince }) };
  }

  /** Every file that has a record, most recently followed last. */
  all(): Iterable<TrackedFile> {
    return this.files.values();
  }

  /**
   * Kafka acknowledged a position of a file (from the shipper's commit path). 'current': the
   * file is followed (or was, and is remembered no more); 'deleted': it was deleted and closed
   * since (persist it as such: a new file on its inode is not it); 'stale': the batch came from
   * an earlier file on an identity another file has now — its position says nothing about it.
   */
  acknowledged(source: SourceFile, position: FilePosition): 'current' | 'deleted' | 'stale' {
    const key = identityKey(source.identity);
    const record = this.files.get(key);
    if (record === undefined) return this.goneKeys.has(key) ? 'deleted' : 'current';
    if (!record.owns(source)) return 'stale';
    record.acknowledged(position);
    return 'current';
  }

  /**
   * Copies of `source`'s file that none of their own lines were acknowledged of yet, and that
   * hold `position` (an acknowledged position of it, from `source`'s batches): the registry may
   * hold it for them. Also copies announced whose reader has not begun (its gate closed, or a
   * reload came first). An acknowledgement the file's record calls stale counts for the copies
   * its reader read the bytes of (`CopyOrigin.readBy`): a reload's successor restarted the file
   * from 0 (it no longer held the hand-over) — its predecessor's batches, in flight behind a
   * stalled Kafka, were acknowledged after that, and the copy's entry stayed where it was
   * registered: a clean restart read the rest of the copy again (soak --gap 1.5 seed 2907).
   */
  copiesHolding(source: SourceFile, position: FilePosition): HoldingCopy[] {
    const original = source.identity;
    const record = this.files.get(identityKey(original));
    const current = record === undefined || record.owns(source);
    const holds = (origin: CopyOrigin | null): boolean =>
      origin !== null &&
      origin.identity.dev === original.dev &&
      origin.identity.ino === original.ino &&
      origin.epoch === (position.epoch ?? 0) &&
      position.offset <= origin.upTo &&
      (current || origin.readBy?.includes(source.key) === true);
    const out: HoldingCopy[] = [];
    for (const record of this.files.values()) {
      if (record.acknowledgedPosition === null && holds(record.copyOf)) out.push(record);
    }
    for (const follow of this.unbegun.values()) if (holds(follow.copyOf)) out.push(follow);
    return out;
  }

  /**
   * What was handed over but not acknowledged will not be acknowledged any more (the producer
   * was replaced without draining): successors continue from the acknowledged positions.
   */
  rewindToAcknowledged(committed: (identity: FileIdentity) => FilePosition | undefined): void {
    for (const [key, record] of this.files) {
      const acked = record.acknowledgedPosition ?? committed(record.identity);
      if (acked === undefined) this.files.delete(key);
      else record.started({ ...acked, epoch: acked.epoch ?? 0 });
    }
    // An unbegun copy's start stood on its original's hand-over: back to what the registry holds for it.
    for (const unbegun of this.unbegun.values()) unbegun.from = unbegun.at;
  }

  /** A stopping tailer leaves the descriptor of a deleted, unfinished file for its successor. */
  hold(file: HeldFile): void {
    this.held.push(file);
  }

  /** The held descriptors, handed to the next tailer (which owns them from now on). */
  takeHeld(): HeldFile[] {
    const held = this.held;
    this.held = [];
    return held;
  }

  /** The agent stops for good: close what no tailer will read. */
  async closeHeld(): Promise<void> {
    await Promise.all(this.takeHeld().map((file) => file.handle.close().catch(() => undefined)));
  }
}
