// The watcher's detective work in directories, when a look alone cannot tell what happened:
// at startup (or a reload), which known files are now under a rotated name and whether the path
// changed hands while nobody looked; files created at a path and rotated away between two looks
// ("middle" files); the copy a copytruncate left. Each finding is a typed file event.

import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { InputConfig } from '../config/types.js';
import { type FileIdentity, identityKey } from '../core/file.js';
import type { Observation } from './discovery.js';
import type { OpenFile } from './file-access.js';
import type { FileEventSink, FollowedView } from './file-events.js';
import { identityOf, sameIdentity } from './identity.js';
import type { KnownFiles } from './known-files.js';
import type { PathLooks } from './path-looks.js';
import { decideMiddle, type LiveFileFacts, middleSearchSince, planKnownPath, type ResumePoint } from './prospector.js';
import { bornAtMs, CLOCK_MARGIN_MS, continuesAt, type DirectoryFile, findTruncatedCopy, holdsAllOf, listDirectoryFiles, middleFiles } from './rotation.js';

export interface RotationSearchOptions {
  known: KnownFiles;
  followed: FollowedView;
  looks: PathLooks;
  openFile: OpenFile;
  emit: FileEventSink;
  inputById: (id: string) => InputConfig | undefined;
  /** Where a symlinked live path leads (its rotated generations are named after the target, next to it). */
  symlinkTarget: (path: string) => string | undefined;
  /** The watcher was closed: no more events. */
  closed: () => boolean;
}

/** A file followed at `livePath` found truncated (or not holding its position any more). */
export interface Truncation {
  original: FileIdentity;
  livePath: string;
  input: InputConfig;
  before: ResumePoint;
  /** Last time its reader read bytes (or was created), ms. */
  lastReadAt: number;
  /** Its reader has started (false: still checking its resume point, at a restart or after a reload). */
  started: boolean;
}

export class RotationSearch {
  constructor(private readonly opts: RotationSearchOptions) {}

  /**
   * Startup: for each live path files are known under (tracker, registry), the known files now
   * under a rotated name (oldest first), then the files that came and went at the path.
   */
  async startup(observed: ReadonlyMap<string, Observation>): Promise<void> {
    const { known, followed, looks } = this.opts;
    const observedIds = new Set([...observed.values()].map((obs) => identityKey(identityOf(obs.stat))));
    for (const [path, knownHere] of known.byPath()) {
      if (this.opts.closed()) return;
      const current = observed.get(path);
      const currentId = current === undefined ? undefined : identityOf(current.stat);
      const plan = planKnownPath(knownHere, currentId);
      if (plan === null) continue;
      looks.looked(path, plan.since);
      const { rotated } = plan;
      // The live file is known but no longer holds what we knew (truncated while we were down):
      // copies of it may have come and gone too — the newest holds what no position points to.
      // So may it when nothing can tell: a position at 0 with no first bytes (registered when
      // followed, before any byte was read) matches whatever the file holds now. Since when:
      // middleSearchSince.
      const live = plan.searchMiddle || current === undefined ? undefined : await this.liveFacts(path, currentId!, current);
      const since = middleSearchSince(plan, live);
      if (since === null && rotated.length === 0) continue;
      const input = this.opts.inputById(knownHere[0]!.input) ?? current?.input;
      if (input === undefined) continue;
      const around = await this.around(path);
      const listing = around.flatMap((dir) => dir.listing);
      for (const cp of rotated) {
        if (observedIds.has(identityKey(cp.identity))) continue; // followed where it matches now
        const found = listing.find((file) => sameIdentity(file.identity, cp.identity));
        if (found === undefined || followed.isFollowed(cp.identity)) continue;
        // No longer what the position describes, and born after the file was last seen: another
        // file got the inode (a copy, a newer rotation) — found as such below, not taken for this one.
        if (bornAtMs(found.stat) > cp.seenAt && (await known.verified(found)) === undefined) continue;
        // Even a fully read one is followed: the application may still write to it until it
        // reopens its log. It is released after close_renamed_after of quiet. One that no longer
        // holds what the position describes was truncated before its rename (its old content is
        // looked for in a copy), or is another file on a reused inode: either way, all of it is
        // new, as for a live file.
        await this.opts.emit({ type: 'rotated-known', file: found, livePath: path, input });
      }
      // New files came and went at the path only if it changed hands (or its live file may have changed).
      const originals = knownHere.filter((file) => file.deleted !== true).map((file) => file.identity);
      if (since !== null) for (const dir of around) await this.middle(dir.listing, path, since, input, currentId, originals, dir.namedAfter);
    }
  }

  /** What startup knows of the file now at a known live path (see middleSearchSince). */
  private async liveFacts(path: string, identity: FileIdentity, current: Observation): Promise<LiveFileFacts> {
    const { known } = this.opts;
    const verified = await known.verified({ path, name: basename(path), identity, stat: current.stat });
    return { known: known.resumePointFor(identity), holds: verified !== undefined, bornAt: bornAtMs(current.stat) };
  }

  /** Middle files of `livePath` (see middle()), next to it and, for a symlinked path, next to its target. */
  async middleAround(livePath: string, listing: readonly DirectoryFile[], since: number, input: InputConfig, newcomer: FileIdentity): Promise<void> {
    for (const dir of await this.around(livePath, listing)) await this.middle(dir.listing, livePath, since, input, newcomer, [], dir.namedAfter);
  }

  /**
   * The directories rotated files of `livePath` are in, with the name they are named after: its
   * own, and — a symlinked path — its target's (logrotate or the kubelet rotate the target: a
   * rename or a copytruncate copy lands next to it, named after it). `listing`: the live path's
   * directory, listed already.
   */
  private async around(livePath: string, listing?: readonly DirectoryFile[]): Promise<Array<{ listing: readonly DirectoryFile[]; namedAfter: string }>> {
    const own = listing ?? (await listDirectoryFiles(dirname(livePath)));
    const dirs = [{ listing: own, namedAfter: livePath }];
    const target = this.opts.symlinkTarget(livePath);
    if (target !== undefined && target !== livePath) dirs.push({ listing: dirname(target) === dirname(livePath) ? own : await listDirectoryFiles(dirname(target)), namedAfter: target });
    return dirs;
  }

  /** The copytruncate copy continuing `point` of the file followed at `livePath`, next to it or to its symlink target. */
  private async truncatedCopy(livePath: string, point: ResumePoint, isKnown: (identity: FileIdentity) => boolean): Promise<DirectoryFile | undefined> {
    const target = this.opts.symlinkTarget(livePath);
    for (const namedAfter of target === undefined || target === livePath ? [livePath] : [livePath, target]) {
      const copy = await findTruncatedCopy(namedAfter, point, isKnown, this.opts.openFile);
      if (copy !== undefined) return copy;
    }
    return undefined;
  }

  /** Files created at `livePath` after `since` and rotated away before we looked. */
  async middle(
    listing: readonly DirectoryFile[],
    livePath: string,
    since: number,
    input: InputConfig,
    newcomer: FileIdentity | undefined,
    /** Files known at the path but not followed yet (startup): a copy may continue one of them. */
    originals: readonly FileIdentity[] = [],
    /** Where rotated files are named after: the live path, or a symlinked one's target (0.log -> 0.log.<ts>). */
    namedAfter: string = livePath,
  ): Promise<void> {
    const { known, followed } = this.opts;
    const isFollowed = (identity: FileIdentity): boolean => followed.isFollowed(identity) || (newcomer !== undefined && sameIdentity(identity, newcomer));
    for (const file of middleFiles(listing, namedAfter, since, isFollowed)) {
      // Known (tracker, registry) and still holding what we knew of it: not a newcomer. (A
      // remembered position whose bytes are gone belonged to a deleted file whose inode was reused.)
      // A position at 0 tells nothing (with no first bytes it matches any file, a reused inode's
      // too), and reading from 0 is what it would say anyway.
      const remembered = await known.verified(file);
      if (remembered !== undefined && remembered.offset > 0) continue;
      // A copytruncate copy born since the last look (its original was renamed away before the
      // truncation was seen) holds what was read already: it continues where that reader stood.
      // One the live file still holds all of is left to the live file's reader (decideMiddle).
      const decision = decideMiddle({
        liveStillHolds: await this.liveStillHolds(file, livePath, listing, newcomer, namedAfter),
        continues: await this.copiedFrom(file, livePath, originals),
      });
      if (decision.kind === 'left-to-live-reader') continue;
      await this.opts.emit({ type: 'middle', file, livePath, input, copyOf: decision.kind === 'copy' ? decision.origin : null });
    }
  }

  /**
   * The file at `livePath` — the one followed there, or `newcomer` (about to be) — still holds
   * all of `file`'s bytes from its start: `file` is its copytruncate copy, not truncated yet.
   * (`listing` may be the directory of a symlinked path's target, `namedAfter`: the file is
   * there under that name.)
   */
  private async liveStillHolds(file: DirectoryFile, livePath: string, listing: readonly DirectoryFile[], newcomer: FileIdentity | undefined, namedAfter: string): Promise<boolean> {
    const live = this.opts.followed.liveAt(livePath) ?? newcomer;
    if (live === undefined) return false;
    const atPath = listing.find((entry) => entry.path === livePath || entry.path === namedAfter);
    if (atPath === undefined || !sameIdentity(atPath.identity, live) || atPath.stat.size < file.stat.size) return false;
    return holdsAllOf(livePath, file.path, this.opts.openFile);
  }

  /**
   * copytruncate: the file was copied, then truncated. The copy holds what was not read yet:
   * if it is there, it is told (and followed from where the original stood); files born at the
   * path since are middle files. True when a copy was found.
   */
  async truncated(t: Truncation): Promise<boolean> {
    if (this.opts.closed()) return false;
    // Only files followed right now are left out: a position remembered for an identity
    // (tracker, registry) may belong to a deleted file whose inode the copy reuses — it counts
    // only if the copy still holds what it describes, and then the copy continues from it.
    const isFollowed = (identity: FileIdentity): boolean => sameIdentity(identity, t.original) || this.opts.followed.isFollowed(identity);
    // Copies are named after the live path (a file truncated before its rename is found again
    // under a rotated name; its copy is still named after the live one).
    const copy = (await this.truncatedCopy(t.livePath, t.before, isFollowed)) ?? null;
    await this.opts.emit({ type: 'truncated', original: t.original, livePath: t.livePath, input: t.input, before: t.before, copy });
    // Truncated more than once since the reader last read (its output was blocked): the later
    // copies hold content it never read at all — files born since, found like middle files.
    // Since the reader last read, or since the copy that continues it was born, whichever is
    // earlier: a reader created after the copies (a reload or restart behind a stalled Kafka)
    // has read nothing yet, and the path was looked at after they were born (seenAt is no help).
    // That copy may be followed already (registered when found, resumed at the restart).
    const continuing = copy ?? (await this.truncatedCopy(t.livePath, t.before, (identity) => sameIdentity(identity, t.original)));
    let since = continuing === undefined ? t.lastReadAt : Math.min(t.lastReadAt, bornAtMs(continuing.stat));
    const around = await this.around(t.livePath);
    // A reader still checking where to start (at a restart or after a reload) has read nothing to
    // count from, and its predecessor's search may have been cut short by the reload (nothing of
    // it is recorded): copies of the file made since the file was born count.
    const own = t.started ? undefined : around.flatMap((dir) => dir.listing).find((file) => sameIdentity(file.identity, t.original));
    if (own !== undefined) since = Math.min(since, bornAtMs(own.stat));
    for (const dir of around) await this.middle(dir.listing, t.livePath, since, t.input, t.original, [], dir.namedAfter);
    return copy !== null;
  }

  /**
   * A reader is about to read the first bytes of a file it has read nothing of since `since`:
   * files born at its live path since then and gone from the path before anyone looked (its
   * copytruncate copy, made while the reader waited for the gate) are middle files. Only when
   * the directory changed since: a listing per new file would be most of a start with
   * thousands of files.
   */
  async bornSince(livePath: string, since: number, input: InputConfig, identity: FileIdentity): Promise<void> {
    if (this.opts.closed()) return;
    const target = this.opts.symlinkTarget(livePath);
    for (const namedAfter of target === undefined || target === livePath ? [livePath] : [livePath, target]) {
      const dir = dirname(namedAfter);
      let changedAt: number;
      try {
        changedAt = (await stat(dir)).mtimeMs;
      } catch {
        continue;
      }
      if (changedAt > since - CLOCK_MARGIN_MS) await this.middle(await listDirectoryFiles(dir), livePath, since, input, identity, [], namedAfter);
    }
  }

  /** The position of a file followed under `livePath` that `file` continues (a copy of it), if any. */
  private async copiedFrom(file: DirectoryFile, livePath: string, originals: readonly FileIdentity[]): Promise<{ original: FileIdentity; point: ResumePoint } | null> {
    const candidates = this.opts.followed.positionsUnder(livePath);
    for (const identity of originals) if (!this.opts.followed.isFollowed(identity)) candidates.push({ identity, point: this.opts.known.resumePointFor(identity) });
    for (const { identity, point } of candidates) {
      if (point === undefined || point.offset === 0 || file.stat.size < point.offset) continue;
      if (await continuesAt(file.path, point, this.opts.openFile)) return { point, original: identity };
    }
    return null;
  }
}
