// The prospector: pure decisions about which files to follow and where each starts — no
// filesystem, no clock (the caller passes what it saw and the time). One function decides
// where a file starts, whether it is found at startup, while running or after a reload, so a
// file is treated the same whichever way it turns up:
//   1. a known position (where the last reader of the file stood — this tailer's, or the
//      previous one's across a reload — else the registry's acknowledged checkpoint): continue
//      there if the file still holds those bytes; if it does not (truncated, maybe while the
//      agent was down), read it from 0 and look for the copytruncate copy from that position;
//   2. never followed and untouched for ignore_older: skip it, remembering its size;
//   3. skipped before by ignore_older and written since: start where it was skipped;
//   4. found at startup: start_at (unless born at a known path after the last look there);
//      found while running: 0.
// The reader checks the position against the file (it has the handle); everything else is here.

import type { FilePosition, FileIdentity } from '../core/file.js';
import type { CopyOrigin } from '../core/offset-tracker.js';
import { sameIdentity } from '../core/file.js';
import { fingerprintOf } from './identity.js';
import { CLOCK_MARGIN_MS } from './rotation.js';

/** The fingerprint of no bytes: what a position at 0 taken before the file was opened holds. */
const NO_BYTES = fingerprintOf(Buffer.alloc(0));

/** A position to continue from, if the file still holds the same bytes. */
export interface ResumePoint extends FilePosition {
  /** The live path the file was followed under then; it keeps it (same topic) when resumed. */
  path?: string;
  /** At offset 0: since when nothing of the file was read (copies born since are looked for), ms. */
  unreadSince?: number;
}

export interface StartPoint {
  resume?: ResumePoint;
  /**
   * Where to start without a (matching) resume point: 0, or the size seen for start_at: end;
   * 'skip' for a file we only want if it is the one the resume point describes.
   */
  fallback: number | 'skip';
  /** Rotated/middle candidates: a file starting with a compressed format's magic is skipped. */
  skipCompressed?: boolean;
  /**
   * A copytruncate copy: the position in it up to which its original's lines are acknowledged
   * (else its start). The registry may hold it before any of the copy's own lines are: should
   * the agent crash, the copy is found again from there — some lines twice, none lost.
   */
  acknowledgedUpTo?: FilePosition;
  /** A copytruncate copy: of which file (see OffsetTracker.copiesHolding). */
  copyOf?: CopyOrigin;
}

/** A file skipped by ignore_older: its size and birth then. */
export interface IgnoredFile {
  size: number;
  bornAt: number;
}

/** What the caller knows about a file it found at a glob-matched path. */
export interface StartFacts {
  input: { start_at: 'beginning' | 'end'; ignore_older: number };
  file: { size: number; mtimeMs: number; bornAt: number; birthtimeKnown: boolean };
  /** Known position (hand-over, else registry checkpoint), if any. */
  known: ResumePoint | undefined;
  /** The file was skipped by ignore_older before (and is remembered). */
  ignored: IgnoredFile | undefined;
  /** Found by the startup scan (start_at applies) rather than while running. */
  startup: boolean;
  /** Last look at the path before this one, if the path was looked at (ms). */
  since: number | undefined;
  now: number;
}

export type StartDecision =
  /** Follow the file from `start`; `forgetIgnored`: drop its ignore_older memory. */
  | { kind: 'follow'; start: StartPoint; forgetIgnored: boolean }
  /** ignore_older: not followed; remember it at this size. */
  | { kind: 'ignore'; remember: IgnoredFile };

export function decideStart(facts: StartFacts): StartDecision {
  const { input, file, known, ignored } = facts;
  if (known !== undefined) return { kind: 'follow', start: { resume: known, fallback: 0 }, forgetIgnored: false };
  if (input.ignore_older > 0 && facts.now - file.mtimeMs > input.ignore_older) {
    return { kind: 'ignore', remember: ignored ?? { size: file.size, bornAt: file.bornAt } };
  }
  if (ignored !== undefined) {
    const sameFile = ignored.bornAt === file.bornAt || !file.birthtimeKnown;
    if (sameFile && file.size >= ignored.size) return { kind: 'follow', start: { fallback: ignored.size }, forgetIgnored: true };
  }
  return { kind: 'follow', start: { fallback: fallbackOffset(facts) }, forgetIgnored: ignored !== undefined };
}

function fallbackOffset({ input, file, startup, since }: StartFacts): number {
  // Files that appear while running always start at 0; start_at is for files found at
  // startup, unless the file was created at a path we knew after we last looked at it.
  if (!startup) return 0;
  if (since !== undefined && file.bornAt > since - CLOCK_MARGIN_MS) return 0;
  return input.start_at === 'end' ? file.size : 0;
}

/**
 * A reader starts a file from 0 with nothing of it read before: since when nothing of it was
 * read (copies of it born since hold what no position points to; it looks for them before its
 * first read). Found now (no resume point): since its follow — files born at the path before
 * were looked for when it was found. Resumed at 0: since its predecessor's follow (a reload), or,
 * when only the registry's entry says so (a restart), since the file's birth: nothing of it is
 * shipped, and a copy left to this reader at startup (the live file still held it) may have
 * been truncated since, before this reader read the first bytes to tell it by.
 */
export function unreadSinceAtStart(resume: ResumePoint | undefined, followedAt: number, bornAt: number): number {
  if (resume === undefined) return followedAt;
  return Math.min(followedAt, resume.unreadSince ?? bornAt);
}

/** Where a follow is registered before its reader opens the file (see registrationBeforeOpen). */
export interface EarlyRegistration {
  /** The position the registry may hold for the file: it owes nothing. */
  at: FilePosition;
  /** Where the follow starts: an entry already there is the one it continues (kept). */
  from: FilePosition;
}

/**
 * A followed file is registered when the decision to follow it is taken, not when its reader
 * first opens it: a closed gate (Kafka stalled) can hold the reader off for seconds, and a crash
 * meanwhile left a middle file or a copytruncate copy nowhere in the registry — while a later
 * sighting of the live path, persisted with the next commit, hid it from the restart's search
 * for files born at the path (soak --gap 1.5 seed 2203: 2,060 + 560 lines). Possible without
 * looking at the file only for a start that needs no check of it: a file read from its start
 * (registered at 0, no first bytes yet), and a copy, at the position up to which its original's
 * lines are acknowledged (the caller checked that the copy holds it). A resume point must be
 * checked against the file first, and start_at: end takes the size at open: null.
 */
export function registrationBeforeOpen(start: StartPoint): EarlyRegistration | null {
  if (start.copyOf !== undefined) {
    if (start.acknowledgedUpTo === undefined || start.resume === undefined) return null;
    return { at: start.acknowledgedUpTo, from: start.resume };
  }
  if (start.resume !== undefined || start.fallback !== 0) return null;
  const zero: FilePosition = { offset: 0, fingerprint: NO_BYTES, marker: null };
  return { at: zero, from: zero };
}

/**
 * Where a copytruncate copy continues: from where its original stood (`before`), unless the
 * copy's own remembered position — one it still holds (checked by the caller) — is further on
 * (the copy was followed and shipped from before, e.g. in an earlier life of the agent).
 */
export function copyStart(before: ResumePoint, own: ResumePoint | undefined): ResumePoint {
  return own !== undefined && own.offset >= before.offset ? own : before;
}

/** A file known (tracker or registry) under a live path, and when it was last seen there. */
export interface KnownFile {
  identity: FileIdentity;
  input: string;
  path: string;
  /** Last time it was seen at `path`, ms. */
  seenAt: number;
  /**
   * Deleted and closed (its registry entry says so): nothing to finish, and its identity may be
   * another file's now — only its last sighting counts, a look at the path like any other.
   */
  deleted?: boolean;
  /**
   * Followed by this agent but never seen at `path` (a rotated file resumed at startup, a copy,
   * a middle file): `seenAt` is only "now", no look at the path — see planKnownPath.
   */
  unsighted?: boolean;
}

export interface PathPlan {
  /** Last look at the path: files born there after it and rotated away are "middle" files. */
  since: number;
  /** Known files no longer at the path (rotated away before the stop or reload), oldest first: finish them. */
  rotated: KnownFile[];
  /** The path changed hands: look for middle files (only then can new files have come and gone). */
  searchMiddle: boolean;
}

/**
 * The live file at a path is one we know, and `verified` is its remembered position if the
 * file still holds what it describes: may files have come and gone at the path while we were
 * away? Yes when it no longer holds it (truncated while we were down: its copies, and copies of
 * those, hold what no position points to) — and when nothing can tell: a position at 0 taken
 * before any of the file's bytes were read (registered when followed, or the file was empty)
 * matches whatever the file holds now, also after it was written, copytruncated and refilled.
 */
export function liveMayHaveChanged(verified: FilePosition | undefined): boolean {
  return verified === undefined || (verified.offset === 0 && verified.fingerprint.len === 0);
}

/** What startup knows of the file at a known live path. */
export interface LiveFileFacts {
  /** Its remembered position (tracker, else registry), if any. */
  known: FilePosition | undefined;
  /** The file still holds what `known` describes. */
  holds: boolean;
  /** When the file was born (statx birth, else ctime), ms. */
  bornAt: number;
}

/**
 * Startup (and reload) for one live path: since when files born at the path and gone from it
 * are looked for ("middle" files, copies), or null: not at all. From the path's last sighting
 * when it changed hands (the plan says so) or its live file may have changed (see
 * liveMayHaveChanged); from the live file's own birth, if earlier, when nothing of it is
 * shipped (its position is at 0): then each copy made of it since it was born holds what no
 * position points to. Its last sighting does not bound them: a look at the path found the live
 * file, never its copy, and the reader that would have found the copy by the file's first
 * bytes had read none (soak --gap 1.5 seed 2202: a new file followed behind a stalled Kafka,
 * copytruncated before its reader began, then a reload — the copy alone held 3 lines). A live
 * file no longer holding a position past 0 is left to its reader: finding the truncation at its
 * start, it looks for copies born since the file was born (RotationSearch.truncated).
 */
export function middleSearchSince(plan: PathPlan, live: LiveFileFacts | undefined): number | null {
  if (plan.searchMiddle) return plan.since;
  if (live === undefined || !liveMayHaveChanged(live.holds ? live.known : undefined)) return null;
  if (live.known !== undefined && live.known.offset === 0) return Math.min(plan.since, live.bornAt);
  return plan.since;
}

/**
 * Startup (and reload) for one live path: which known files to finish, and whether files may
 * have come and gone there. `current`: the identity at the path now, if any.
 */
export function planKnownPath(known: readonly KnownFile[], current: FileIdentity | undefined): PathPlan | null {
  if (known.length === 0) return null;
  // The last look at the path, also one that found a file deleted since: a path whose every
  // file was deleted before the stop still had files born at it while the agent was down. A
  // file never seen at the path says nothing of when it was looked at: counted as "now", it hid
  // the files born there between a reload's two tailers (the old one's watches closed) — only
  // when nothing at the path was ever seen there is "now" the bound.
  const sighted = known.filter((file) => file.unsighted !== true);
  const since = Math.max(...(sighted.length > 0 ? sighted : known).map((file) => file.seenAt));
  const present = known.filter((file) => file.deleted !== true);
  // The live file is one we know: the path did not change hands while we were down, but files
  // rotated away before (or handed over by a reload) may still be unfinished and even growing,
  // as long as the application has not reopened its log.
  const liveKnown = current !== undefined && present.some((file) => sameIdentity(file.identity, current));
  const rotated = present.filter((file) => current === undefined || !sameIdentity(file.identity, current)).sort((a, b) => a.seenAt - b.seenAt);
  return { since, rotated, searchMiddle: !liveKnown };
}

/** A reader of a live path whose position a file rotated away from that path holds. */
export interface CopyCandidateOrigin {
  original: FileIdentity;
  point: ResumePoint;
}

/** What the caller read of a file found created and rotated away between two looks ("middle"). */
export interface MiddleFacts {
  /**
   * The file at the live path now — followed, or about to be — still holds every byte of this
   * one from its start: a copytruncate copy whose truncation has not happened yet (or not been
   * read yet). Its reader reads those bytes from the live file.
   */
  liveStillHolds: boolean;
  /** A reader of the live path (or a file known there) whose position this file holds. */
  continues: CopyCandidateOrigin | null;
}

export type MiddleDecision =
  /** A copy in the making of the live file: left to its reader, which finds it when it finds the truncation, where it stands then. */
  | { kind: 'left-to-live-reader' }
  /** A copytruncate copy of `origin.original`: it continues where that reader stood. */
  | { kind: 'copy'; origin: CopyCandidateOrigin }
  /** A file of its own: all of it is new, read from 0. */
  | { kind: 'new' };

/**
 * A middle file holding bytes a reader of the path reads anyway is no new file. While the live
 * file still holds all of it, the copy is followed by nobody yet: taken as a copy from where the
 * live reader stands now (often 0, its first read held back while files born since are looked
 * for) or read from 0, the bytes the live reader reads next from the live file were shipped twice
 * (soak --gap 1.5 seed 2204: a copytruncate 2 ms after a reload, 15 lines). The live reader
 * finds the truncation and then the copy, from where it stands then.
 */
export function decideMiddle(facts: MiddleFacts): MiddleDecision {
  if (facts.liveStillHolds) return { kind: 'left-to-live-reader' };
  if (facts.continues !== null) return { kind: 'copy', origin: facts.continues };
  return { kind: 'new' };
}
