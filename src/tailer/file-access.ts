// A followed file's handle and whereabouts: where the file is (its FileLocation: live at its
// path, rotated to another name, removed), its handle opened within max_open_files
// (HandlePool), reopened by identity — at the path the file was last seen at, else wherever it
// now is in the same directory — and closed when the pool needs the slot. Running out of
// descriptors (EMFILE) is waited out. Two states, one field each: `location` and `held`.

import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode, FileGoneError, FileOpenError } from './errors.js';
import type { HandlePool, HandleSlot, PooledReader } from './handle-pool.js';
import { identityOf, sameIdentity } from './identity.js';
import { findByIdentity } from './rotation.js';
import type { FileIdentity } from '../core/file.js';
import { type FileLocation, type LocationFact, locationAt, moveLocation } from './file-location.js';
import type { FollowedFileState } from './types.js';

export type OpenFile = (path: string) => Promise<FileHandle>;

/** What came of opening the file for a read. */
export type OpenOutcome =
  /** Open, and marked busy until idle(). */
  | { kind: 'open'; handle: FileHandle }
  /** Cannot be opened now (EACCES, ...): tried again when next woken. */
  | { kind: 'open-failed'; error: FileOpenError }
  /** Not found by its identity any more: its reader is done. */
  | { kind: 'gone'; error: FileGoneError };

const FD_EXHAUSTED = new Set(['EMFILE', 'ENFILE']);
const MAX_OPEN_ATTEMPTS = 8;

/** The descriptor a FileAccess holds. */
type HeldHandle =
  | { readonly kind: 'none' }
  /** Opened by someone else (a deleted file handed over by a previous tailer), not used yet: no pool slot. */
  | { readonly kind: 'inherited'; readonly handle: FileHandle }
  /** Opened for a read, in its pool slot. */
  | { readonly kind: 'open'; readonly handle: FileHandle; readonly slot: HandleSlot };

const NONE: HeldHandle = { kind: 'none' };

export class FileAccess implements PooledReader {
  /** Where the file is: moved only through moveLocation (file-location.ts). */
  private place: FileLocation;
  private held: HeldHandle;
  /** The last close: an open waits for it (the descriptor is freed first). */
  private closing: Promise<void> = Promise.resolve();

  constructor(
    private readonly identity: FileIdentity,
    /** Where the file was last seen. */
    path: string,
    state: FollowedFileState,
    private readonly pool: HandlePool,
    private readonly openFile: OpenFile,
    private readonly now: () => number,
    /** The owner is at EOF: its handle is the cheapest to close. */
    private readonly ownerAtEof: () => boolean,
    /** A descriptor opened by someone else (a deleted file handed over): used before any open. */
    inherited?: FileHandle,
  ) {
    this.place = locationAt(path, state, now());
    this.held = inherited === undefined ? NONE : { kind: 'inherited', handle: inherited };
  }

  /** Where the file is now (its rotated name, once known). */
  get path(): string {
    return this.place.path;
  }

  /** live (at a glob-matched path), rotated (renamed away) or removed (deleted: nlink 0). */
  get state(): FollowedFileState {
    return this.place.kind;
  }

  /** Where the file is, with its path (and, once removed, since when). */
  get location(): FileLocation {
    return this.place;
  }

  /** When the file was first found deleted (nlink 0), ms. */
  get removedAt(): number | undefined {
    return this.place.kind === 'removed' ? this.place.since : undefined;
  }

  /** It left its live path: renamed to `movedTo`, or (undefined) deleted or moved out of sight. */
  leftLivePath(movedTo: string | undefined): void {
    this.learn({ kind: 'left-live-path', to: movedTo });
  }

  /** It was renamed (back) to a glob-matched path. */
  backAtLivePath(path: string): void {
    this.learn({ kind: 'back-at-live-path', path });
  }

  /**
   * Looks whether the file was deleted (nlink 0) without reading it: true when it was found
   * deleted just now. (Its reader may be waiting for the gate, and close_removed_after runs
   * from the deletion.)
   */
  async checkRemoved(): Promise<boolean> {
    const held = this.held;
    if (this.place.kind === 'removed' || held.kind !== 'open') return false;
    let nlink: number;
    try {
      nlink = (await held.handle.stat()).nlink;
    } catch {
      // Closed meanwhile (evicted): the next read reopens it by identity and looks again.
      return false;
    }
    // Found deleted by another look meanwhile: told once. Once removed it is never reopened: a
    // file found later by the same device and inode is another one that got the freed inode.
    if (nlink !== 0 || !this.reopenable) return false;
    this.learn({ kind: 'found-deleted', at: this.now() });
    return true;
  }

  /**
   * On stopping: the descriptor of a file deleted meanwhile, kept open and given away when
   * `keep` (nothing else reaches such a file, and a successor reads its rest); else null, closed.
   * Without an open handle, a descriptor handed over and not used yet is the one.
   */
  async detachIfDeleted(keep: boolean): Promise<FileHandle | null> {
    const held = this.held;
    let deleted = false;
    if (held.kind !== 'none' && keep) {
      try {
        deleted = (await held.handle.stat()).nlink === 0;
      } catch {
        deleted = false;
      }
    }
    const kept = deleted ? this.detach() : null;
    if (kept === null) await this.close();
    return kept;
  }

  get handle(): FileHandle | null {
    return this.held.kind === 'open' ? this.held.handle : null;
  }

  get atEof(): boolean {
    return this.ownerAtEof();
  }

  /** A deleted file's handle is never evicted: it could not be opened again. */
  get reopenable(): boolean {
    return this.place.kind !== 'removed';
  }

  get openCount(): number {
    return this.pool.openCount;
  }

  /** The handle for a read (busy until `idle()`), or why there is none. */
  async open(): Promise<OpenOutcome> {
    try {
      return { kind: 'open', handle: await this.acquire() };
    } catch (err) {
      if (err instanceof FileGoneError) return { kind: 'gone', error: err };
      if (err instanceof FileOpenError) return { kind: 'open-failed', error: err };
      throw err;
    }
  }

  /**
   * The open handle, marked busy (not evictable until `idle()`); opens it first if needed.
   * Throws FileOpenError (EACCES, ...) or FileGoneError (not found by identity).
   */
  async acquire(): Promise<FileHandle> {
    await this.closing;
    const held = this.held;
    if (held.kind === 'open') {
      this.pool.busy(held.slot);
      return held.handle;
    }
    if (held.kind === 'inherited') {
      const slot = await this.pool.reserve(this);
      // Closed or given away while waiting for the slot (a stop; its follower waits for the read
      // to settle first, so not expected): nothing to read through. Not 'gone' — the tracker
      // may hold that descriptor now.
      if (this.held !== held) {
        this.pool.released(slot);
        throw new FileOpenError(this.place.path, undefined, new Error('closed while waiting for a handle slot'), this.identity);
      }
      this.held = { kind: 'open', handle: held.handle, slot };
      return held.handle;
    }
    if (this.place.kind === 'removed') throw new FileGoneError(this.place.path, this.identity);
    for (let attempt = 1; ; attempt++) {
      const slot = await this.pool.reserve(this);
      try {
        const handle = await this.openByIdentity();
        this.held = { kind: 'open', handle, slot };
        return handle;
      } catch (err) {
        this.pool.released(slot);
        if (!(err instanceof FileOpenError && FD_EXHAUSTED.has(err.code ?? '') && attempt < MAX_OPEN_ATTEMPTS)) throw err;
        this.pool.exhausted(this.place.path);
      }
    }
  }

  /** Done reading for now: the handle stays open but may be evicted. */
  idle(): void {
    if (this.held.kind === 'open') this.pool.idle(this.held.slot);
  }

  /**
   * Gives the open handle away (still open) and frees its slot — or, when none is open, a
   * descriptor handed over and not used yet; null when there is neither.
   */
  private detach(): FileHandle | null {
    const held = this.held;
    this.held = NONE;
    if (held.kind === 'none') return null;
    if (held.kind === 'open') this.pool.released(held.slot);
    return held.handle;
  }

  close(): Promise<void> {
    return this.release(true);
  }

  /** Called by the pool, which frees the slot itself once this resolves. */
  evict(): Promise<void> {
    return this.release(false);
  }

  /** Closes what is held; `freeSlot`: its pool slot is freed once closed (not when the pool evicts it). */
  private release(freeSlot: boolean): Promise<void> {
    const held = this.held;
    this.held = NONE;
    if (held.kind === 'inherited') void held.handle.close().catch(() => undefined);
    if (held.kind !== 'open') return this.closing;
    // A failed close still frees the descriptor.
    const freed = (): void => {
      if (freeSlot) this.pool.released(held.slot);
    };
    this.closing = held.handle.close().then(freed, freed);
    return this.closing;
  }

  private learn(fact: LocationFact): void {
    this.place = moveLocation(this.place, fact);
  }

  private async openByIdentity(): Promise<FileHandle> {
    const atPath = await this.openIfOurs(this.place.path);
    if (atPath !== null) return atPath;
    const found = await findByIdentity(dirname(this.place.path), this.identity);
    if (found !== undefined) {
      const moved = await this.openIfOurs(found);
      if (moved !== null) {
        this.learn({ kind: 'found-at', path: found });
        return moved;
      }
    }
    throw new FileGoneError(this.place.path, this.identity);
  }

  private async openIfOurs(path: string): Promise<FileHandle | null> {
    let handle: FileHandle;
    try {
      handle = await this.openFile(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw new FileOpenError(path, errnoCode(err), err, this.identity);
    }
    const stats = await handle.stat();
    if (sameIdentity(identityOf(stats), this.identity)) return handle;
    await handle.close();
    return null;
  }
}
