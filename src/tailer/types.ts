// Contracts between the tailer (produces framed lines of followed files) and the rest of the
// pipeline (ships them, acknowledges them, persists offsets). Data flows one way:
// discover -> tail -> frame lines -> LineBatch -> ship -> acknowledge -> persist.

/** A file on disk is its device and inode, never its name: names change under rotation. */
export interface FileIdentity {
  dev: number;
  ino: number;
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

/** Per-line flags; most lines have none, so the array in LineBatch is sparse. */
export const enum LineFlag {
  None = 0,
  /** A piece of a line longer than max_line_bytes (all but the last piece carry it). */
  Split = 1,
  /** Emitted without its newline after partial_line_timeout of quiet. */
  Partial = 2,
  /** Bytes invalid for the encoding were replaced with U+FFFD. */
  Replaced = 4,
  /** Several lines joined by multiline.start. */
  Multiline = 8,
}

/**
 * Lines framed from one contiguous read of one file. Offsets are byte positions in the file
 * (whatever the encoding); `ends[i]` is the position just after line i's newline, so the
 * last element equals `endOffset`. Payloads are UTF-8, without the newline (and without a
 * trailing \r).
 */
export interface LineBatch {
  source: SourceFile;
  /**
   * Increments each time the file is found truncated (copytruncate) and read again from 0.
   * Offsets are only comparable within one epoch.
   */
  epoch: number;
  /**
   * Owned by the receiver: the tailer never writes to these bytes again, so they may be kept
   * (until acknowledged) without copying. Lines of one batch usually share one backing buffer,
   * so keeping any line keeps its batch's bytes.
   */
  lines: Buffer[];
  /** Byte position where the first line of this batch starts (ends[i-1] is where line i starts). */
  startOffset: number;
  ends: number[];
  /** Sparse: flags[i] undefined means LineFlag.None. */
  flags: (LineFlag | undefined)[];
  endOffset: number;
  /** Marker of the bytes ending at endOffset (see OffsetMarker). */
  marker: OffsetMarker;
  /** Fingerprint of the file as read so far; stored with the checkpoint. */
  fingerprint: Fingerprint;
}

/** Where the tailer hands its batches. Called synchronously from the read loop. */
export type BatchSink = (batch: LineBatch) => void;

/**
 * Backpressure from the shipper: readers check `isOpen()` before each read and, when closed,
 * await `waitOpen()`. A paused reader reads nothing and buffers nothing.
 */
export interface FlowGate {
  /**
   * With a source: may this particular file be read? (The shipper closes it alone for a file
   * whose topic is failing, so the other files keep flowing.) Readers pass their SourceFile.
   */
  isOpen(source?: SourceFile): boolean;
  waitOpen(source?: SourceFile): Promise<void>;
}

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
