// Who a file is and where a reader stands in it: the vocabulary every part of the pipeline
// shares (tailer, shipper, registry, agent). Imports nothing of ours.

/** A file on disk is its device and inode, never its name: names change under rotation. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The map key of a file identity ("dev:ino"). */
export function identityKey(id: FileIdentity): string {
  return `${id.dev}:${id.ino}`;
}

export function identityOf(stat: { dev: number; ino: number }): FileIdentity {
  return { dev: stat.dev, ino: stat.ino };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * Hash of the first `len` bytes of a file. Tells a reused inode (delete + create) apart from
 * the file we knew. `len` grows with the file up to a fixed maximum, so a young file still
 * has a fingerprint; compare by re-hashing the same number of bytes.
 */
export interface Fingerprint {
  len: number;
  /** hex digest */
  hash: string;
}

/**
 * Hash of the `len` bytes that end at an offset. Stored with each committed offset so that at
 * restart a file truncated or replaced while the agent was down is recognised (marker
 * mismatch or offset past EOF) and read from 0 instead of from the middle of other data.
 */
export interface OffsetMarker {
  len: number;
  hash: string;
}

/**
 * A position in a file together with what identifies the bytes before it: the one shape of a
 * position, whether it is where a reader starts, what it handed to the shipper, what Kafka
 * acknowledged or what the registry persisted. A file continues at a position when its first
 * bytes still hash to `fingerprint` and the bytes before `offset` to `marker`.
 */
export interface FilePosition {
  offset: number;
  fingerprint: Fingerprint;
  /** null at offset 0. */
  marker: OffsetMarker | null;
  /**
   * Times the file was found truncated and read again from 0 while followed (copytruncate).
   * Offsets are only comparable within one epoch; absent (persisted positions) means 0.
   */
  epoch?: number;
}

/** What the pipeline needs to know about the file a batch came from. Stable for a file's life. */
export interface SourceFile {
  /** Unique for the life of the agent: "dev:ino:generation". */
  key: string;
  identity: FileIdentity;
  /** Input id from the config. */
  input: string;
  /**
   * The path the file was discovered under (the live name). A rotated file keeps it, so its
   * remaining lines go to the same topic as before the rename.
   */
  path: string;
}

/**
 * What the registry persists about one file. Written only with offsets that Kafka has
 * acknowledged in full (every line before `offset`), so resuming from it never loses a line
 * and, after a clean stop, never repeats one.
 */
export interface Checkpoint {
  identity: FileIdentity;
  /** Fingerprint of the file's first bytes when the offset was committed. */
  fingerprint: Fingerprint;
  /** Input id that followed the file. */
  input: string;
  /** The path the file was discovered under (its live name before any rotation). */
  path: string;
  /** Byte offset: everything before it has been acknowledged by Kafka. */
  offset: number;
  /** Hash of the bytes just before `offset`; null when offset is 0. */
  marker: OffsetMarker | null;
  /** ms since the epoch: last time the agent saw this file on disk or committed to it (cleaning). */
  lastSeen: number;
  /**
   * ms since the epoch: last time the tailer looked at `path` and found this very file there.
   * Unlike lastSeen it never moves on a commit: files born at the path after it and rotated
   * away before the next look are searched for from it at restart. Absent in registries
   * written before it existed (lastSeen stands in).
   */
  seenAt?: number;
  /**
   * The file was deleted and read to its end (or given up): the entry keeps what was
   * acknowledged, but describes no file on disk — a new file on its inode is not this one.
   */
  deleted?: boolean;
}

/**
 * The checkpoint that persists `at` for a file: the one shape the agent commits, whether for an
 * acknowledgement or for a file registered before its first one.
 */
export function checkpointAt(
  file: Pick<SourceFile, 'identity' | 'input' | 'path'>,
  at: FilePosition,
  lastSeen: number,
  seenAt: number | undefined,
): Checkpoint {
  return {
    identity: file.identity,
    fingerprint: at.fingerprint,
    input: file.input,
    path: file.path,
    offset: at.offset,
    marker: at.offset > 0 ? at.marker : null,
    lastSeen,
    ...(seenAt === undefined ? {} : { seenAt }),
  };
}

/** The position a checkpoint describes. */
export function checkpointPosition(cp: Checkpoint): FilePosition {
  return { offset: cp.offset, fingerprint: cp.fingerprint, marker: cp.marker };
}
