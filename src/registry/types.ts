// What the offsets registry remembers about one file. An entry is written only with offsets
// that Kafka has acknowledged in full (every line before `offset`), so resuming from it never
// loses a line and, after a clean stop, never repeats one.

import type { FileIdentity, Fingerprint, OffsetMarker } from '../tailer/types.js';

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
  /** ms since the epoch: last time the agent saw this file on disk or committed to it. */
  lastSeen: number;
}

export function identityKey(id: FileIdentity): string {
  return `${id.dev}:${id.ino}`;
}
