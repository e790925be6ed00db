// Who a file is and whether it still holds the bytes we knew: identity (dev+ino), fingerprint
// (hash of the first bytes, tells a reused inode apart) and offset markers (hash of the bytes
// ending at a committed offset, tells a file truncated or replaced while we were down apart).

import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Fingerprint, FilePosition, OffsetMarker } from '../core/file.js';

/** A fingerprint covers at most this many leading bytes. */
export const FINGERPRINT_MAX_BYTES = 1024;
/** A marker covers at most this many bytes before its offset. */
export const MARKER_MAX_BYTES = 64;

export { identityOf, sameIdentity } from '../core/file.js';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads up to `length` bytes at `position`; shorter only at EOF. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(out, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return out.subarray(0, filled);
}

export function fingerprintOf(head: Buffer): Fingerprint {
  const len = Math.min(head.length, FINGERPRINT_MAX_BYTES);
  return { len, hash: sha256(head.subarray(0, len)) };
}

/** Does `head` (the file's first bytes) start with the bytes `fingerprint` was taken from? */
export function fingerprintMatches(head: Buffer, fingerprint: Fingerprint): boolean {
  if (head.length < fingerprint.len) return false;
  return sha256(head.subarray(0, fingerprint.len)) === fingerprint.hash;
}

/** Reads the file's first min(size, FINGERPRINT_MAX_BYTES) bytes. */
export function readHead(handle: FileHandle, size: number): Promise<Buffer> {
  return readAt(handle, 0, Math.min(size, FINGERPRINT_MAX_BYTES));
}

/**
 * Reads the file's first (up to FINGERPRINT_MAX_BYTES) bytes now, blocking (see the reader's
 * readAvailable for why), into `scratch` when it is that large (the result is then a view of
 * it, valid until `scratch` is reused), else into a new buffer.
 */
export function readHeadInto(handle: FileHandle, scratch: Buffer): Buffer {
  const target = scratch.length >= FINGERPRINT_MAX_BYTES ? scratch : Buffer.allocUnsafe(FINGERPRINT_MAX_BYTES);
  const bytesRead = readSync(handle.fd, target, 0, FINGERPRINT_MAX_BYTES, 0);
  return target.subarray(0, bytesRead);
}

export async function fingerprint(handle: FileHandle, size: number): Promise<Fingerprint> {
  return fingerprintOf(await readHead(handle, size));
}

/** Marker of `bytes`, which must be the (up to MARKER_MAX_BYTES) bytes ending at the offset. */
export function markerOf(bytes: Uint8Array): OffsetMarker {
  return { len: bytes.length, hash: sha256(bytes) };
}

export async function markerAt(handle: FileHandle, offset: number): Promise<OffsetMarker> {
  const len = Math.min(offset, MARKER_MAX_BYTES);
  return markerOf(await readAt(handle, offset - len, len));
}

/** True when the `marker.len` bytes ending at `offset` are still the ones the marker hashed. */
export async function verifyMarker(handle: FileHandle, offset: number, marker: OffsetMarker): Promise<boolean> {
  if (marker.len > offset) return false;
  const bytes = await readAt(handle, offset - marker.len, marker.len);
  return bytes.length === marker.len && sha256(bytes) === marker.hash;
}

const EMPTY = Buffer.alloc(0);


/**
 * Why the file (of `size` bytes, starting with `head`) does not continue at `point`, or null
 * when it does: same first bytes and same bytes before the offset.
 */
export async function continuationMismatch(handle: FileHandle, size: number, head: Buffer, point: FilePosition): Promise<string | null> {
  if (point.offset > size) return 'offset past EOF';
  if (!fingerprintMatches(head, point.fingerprint)) return 'first bytes differ (inode reused or file replaced)';
  if (point.marker !== null && !(await verifyMarker(handle, point.offset, point.marker))) return 'bytes before the offset differ';
  return null;
}

/**
 * Keeps the last MARKER_MAX_BYTES raw bytes read before the current chunk, so the marker of
 * a batch ending shortly after a chunk boundary is computed without reading the file again.
 */
export class MarkerWindow {
  private tail: Buffer = Buffer.alloc(0);
  /** File offset just after `tail`. */
  private tailEnd = 0;

  reset(position: number): void {
    this.tail = Buffer.alloc(0);
    this.tailEnd = position;
  }

  /**
   * Marker for `end`, using `chunk` (raw bytes read at `chunkStart`, may be empty) and the
   * window; undefined when those bytes are no longer in memory.
   */
  markerFor(end: number, chunk: Buffer, chunkStart: number): OffsetMarker | undefined {
    const from = Math.max(0, end - MARKER_MAX_BYTES);
    const chunkEnd = chunkStart + chunk.length;
    if (end > chunkEnd) return undefined;
    if (from >= chunkStart) return markerOf(chunk.subarray(from - chunkStart, end - chunkStart));
    const tailStart = this.tailEnd - this.tail.length;
    if (from < tailStart) return undefined;
    if (end <= this.tailEnd) return markerOf(this.tail.subarray(from - tailStart, end - tailStart));
    if (this.tailEnd !== chunkStart) return undefined;
    return markerOf(Buffer.concat([this.tail.subarray(from - tailStart), chunk.subarray(0, end - chunkStart)]));
  }

  /** The bytes read just before `position` (up to MARKER_MAX_BYTES), if that is where the window ends. */
  bytesBefore(position: number): Buffer {
    return this.tailEnd === position ? this.tail : EMPTY;
  }

  /** Slides the window over a chunk just consumed (read at `chunkStart`). */
  advance(chunk: Buffer, chunkStart: number): void {
    if (chunk.length >= MARKER_MAX_BYTES || chunkStart !== this.tailEnd) {
      const keep = Math.min(chunk.length, MARKER_MAX_BYTES);
      this.tail = Buffer.from(chunk.subarray(chunk.length - keep));
    } else {
      const joined = Buffer.concat([this.tail, chunk]);
      this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - MARKER_MAX_BYTES)));
    }
    this.tailEnd = chunkStart + chunk.length;
  }
}
