// Where a reader starts in its file, settled on first open: the prospector chose the start
// point, but only the open file can tell whether its position still holds — the resume point
// if the file still holds the bytes it describes, else the fallback, or not at all.

import type { FileHandle } from 'node:fs/promises';
import type { OffsetMarker } from '../core/file.js';
import { continuationMismatch, markerAt, readHead } from './identity.js';
import { type ResumePoint, type StartPoint, unreadSinceAtStart } from './prospector.js';
import { bornAtMs, isCompressedHead } from './rotation.js';

export type StartResolution =
  /** Not read: a compressed archive, or not the file its resume point describes. */
  | { kind: 'skip'; reason: string; size: number }
  /**
   * The resume point no longer matches (truncated or replaced since it was taken, maybe while
   * the agent was down): to be told once, and its copy looked for; then resolved again.
   */
  | { kind: 'mismatch'; resume: ResumePoint; reason: string; size: number }
  | {
      kind: 'start';
      position: number;
      epoch: number;
      size: number;
      /** The file's first bytes (its fingerprint). */
      head: Buffer;
      /** Of the bytes before `position` (null at 0). */
      marker: OffsetMarker | null;
      /** The live path the resumed file keeps (same topic), if the resume point names one. */
      path: string | undefined;
      /** Read from 0 with nothing read before: since when (copies born since are looked for), else null. */
      unreadSince: number | null;
    };

/**
 * `mismatchTold`: a mismatch was told already (and the copy looked for from the resume point):
 * the fallback applies, without checking the resume point again — had the file come to hold it
 * meanwhile, both the copy and the file would be read on from there.
 *
 * The size and first bytes are read at each call, so after a mismatch they are those of the
 * file as it is once the copy search is done: a copytruncate in progress (copied, not yet
 * truncated) when the mismatch was found has refilled the file since, and with the old first
 * bytes the first read of the new ones looked like a truncation — they were read and shipped
 * twice (soak --gap 1.5 seed 2204).
 */
export async function resolveStart(handle: FileHandle, start: StartPoint, followedAt: number, mismatchTold: boolean): Promise<StartResolution> {
  const stat = await handle.stat();
  const { size } = stat;
  const head = await readHead(handle, size);
  if (start.skipCompressed === true && isCompressedHead(head)) return { kind: 'skip', reason: 'compressed archive', size };
  let position = start.fallback === 'skip' || start.fallback > size ? 0 : start.fallback;
  let epoch = 0;
  let path: string | undefined;
  if (start.resume !== undefined) {
    const resume = start.resume;
    const mismatch = mismatchTold ? 'told' : await continuationMismatch(handle, size, head, resume);
    if (mismatch === null) {
      position = resume.offset;
      epoch = resume.epoch ?? 0;
      path = resume.path;
    } else if (start.fallback === 'skip') {
      return { kind: 'skip', reason: `checkpoint does not match (${mismatch})`, size };
    } else if (!mismatchTold) {
      return { kind: 'mismatch', resume, reason: mismatch, size };
    } else {
      epoch = epochAfterMismatch(resume);
    }
  } else if (start.fallback === 'skip') {
    return { kind: 'skip', reason: 'nothing to resume', size };
  }
  // Read from 0 with nothing read before (not a middle file: it is what was found rotated away);
  // a predecessor that stood at 0 too says since when (unreadSinceAtStart).
  const fromScratch = position === 0 && start.skipCompressed !== true && (start.resume === undefined || start.resume.offset === 0);
  const unreadSince = fromScratch ? unreadSinceAtStart(start.resume, followedAt, bornAtMs(stat)) : null;
  const marker = position === 0 ? null : position === start.resume?.offset ? start.resume.marker : await markerAt(handle, position);
  return { kind: 'start', position, epoch, size, head, marker, path, unreadSince };
}

/**
 * The epoch a reader starts in when its resume point no longer matches the file (truncated or
 * replaced since it was taken): the next one, as for a truncation found while reading. The bytes
 * the resume point counted belong to its epoch — its copytruncate copy holds them, and the copy's
 * registry entry follows acknowledgements of the original in that epoch (copiesHolding). Read
 * from 0 in the same epoch, the file's new content was taken for the copy's: the copy's entry got
 * the new first bytes, matched nothing at the next start, and the copy was read again from 0
 * (soak --gap 1.5 seed 2907: 1,260 lines twice after a clean stop).
 */
export function epochAfterMismatch(resume: ResumePoint): number {
  return (resume.epoch ?? 0) + 1;
}
