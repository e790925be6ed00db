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
import { identityKey, type FileIdentity, type Fingerprint, type FilePosition, type OffsetMarker } from './file.js';

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

  constructor(
    readonly identity: FileIdentity,
    /** Input id and live path the file is followed under (a rotated file keeps its live path). */
    readonly input: string,
    readonly path: string,
    start: FilePosition,
    /** Bytes before it need nothing shipped by this record (see shippedOffset). */
    floor = start.offset,
  ) {
    this.startAt = start;
    this.floor = floor;
    this.handedOffset = start.offset;
    this.handedMarker = start.marker;
    this.handedFingerprint = start.fingerprint;
    this.handedEpoch = start.epoch ?? 0;
  }

  /** The reader (re)started at `position`: at its first open, or at 0 after a truncation (next epoch). */
  started(position: FilePosition): void {
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

export class OffsetTracker {
  private readonly files = new Map<string, TrackedFile>();
  private held: HeldFile[] = [];

  /** The record of a file a reader starts following (replacing an older record of the identity). */
  track(identity: FileIdentity, input: string, path: string, start: FilePosition): TrackedFile {
    const key = identityKey(identity);
    const previous = this.files.get(key);
    // Continuing where the previous record's reader stood (a reload): same bytes, so its
    // acknowledgements (some maybe still on their way) and its floor carry over.
    const continues =
      previous !== undefined && (previous.start.epoch ?? 0) === (start.epoch ?? 0) && previous.handedOverPosition.offset === start.offset && previous.handedOverPosition.fingerprint.hash === start.fingerprint.hash;
    const record = new TrackedFile(identity, input, path, start, continues ? previous.shippedOffset : start.offset);
    if (continues) {
      const acked = previous.acknowledgedPosition;
      if (acked !== null) record.acknowledged(acked);
      if (previous.seenAt !== undefined) record.seen(previous.seenAt);
    }
    this.files.delete(key);
    this.files.set(key, record);
    if (this.files.size > TRACKED_MEMORY) this.files.delete(this.files.keys().next().value!);
    return record;
  }

  get(identity: FileIdentity): TrackedFile | undefined {
    return this.files.get(identityKey(identity));
  }

  /** Where a new reader of `identity` continues: the end of what the last one handed over. */
  resumeFor(identity: FileIdentity): (FilePosition & { path: string; input: string }) | undefined {
    const record = this.files.get(identityKey(identity));
    return record === undefined ? undefined : { ...record.handedOverPosition, path: record.path, input: record.input };
  }

  /** Every file that has a record, most recently followed last. */
  all(): Iterable<TrackedFile> {
    return this.files.values();
  }

  /** Kafka acknowledged a position of a file (from the shipper's commit path). */
  acknowledged(identity: FileIdentity, position: FilePosition): void {
    this.files.get(identityKey(identity))?.acknowledged(position);
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
