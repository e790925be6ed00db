// A followed file's handle and whereabouts: where the file is (live at its path, rotated to
// another name, removed), its handle opened within max_open_files (HandlePool), reopened by
// identity — at the path the file was last seen at, else wherever it now is in the same
// directory — and closed when the pool needs the slot. Running out of descriptors (EMFILE) is
// waited out.

import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode, FileGoneError, FileOpenError } from './errors.js';
import type { HandlePool, HandleSlot, PooledReader } from './handle-pool.js';
import { identityOf, sameIdentity } from './identity.js';
import { findByIdentity } from './rotation.js';
import type { FileIdentity } from '../core/file.js';
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

export class FileAccess implements PooledReader {
  private current: FileHandle | null = null;
  private slot: HandleSlot | null = null;
  private closing: Promise<void> = Promise.resolve();
  /** The file was found deleted (nlink 0): once closed, nothing by its identity is it any more. */
  private isDeleted = false;
  private where: FollowedFileState;
  private removedSince: number | undefined;

  constructor(
    private readonly identity: FileIdentity,
    /** Where the file was last seen (updated when it is found under another name). */
    private currentPath: string,
    state: FollowedFileState,
    private readonly pool: HandlePool,
    private readonly openFile: OpenFile,
    private readonly now: () => number,
    /** The owner is at EOF: its handle is the cheapest to close. */
    private readonly ownerAtEof: () => boolean,
    /** A descriptor opened by someone else (a deleted file handed over): used before any open. */
    private inherited?: FileHandle,
  ) {
    this.where = state;
    if (state === 'removed') {
      this.removedSince = now();
      this.isDeleted = true;
    }
  }

  /** Where the file is now (its rotated name, once known). */
  get path(): string {
    return this.currentPath;
  }

  /** live (at a glob-matched path), rotated (renamed away) or removed (deleted: nlink 0). */
  get state(): FollowedFileState {
    return this.where;
  }

  /** When the file was first found deleted (nlink 0), ms. */
  get removedAt(): number | undefined {
    return this.removedSince;
  }

  /** It left its live path: renamed to `movedTo`, or (undefined) deleted or moved out of sight. */
  leftLivePath(movedTo: string | undefined): void {
    if (movedTo !== undefined) this.currentPath = movedTo;
    if (this.where === 'live') this.where = 'rotated';
  }

  /** It was renamed (back) to a glob-matched path. */
  backAtLivePath(path: string): void {
    this.currentPath = path;
    if (this.where !== 'removed') this.where = 'live';
  }

  /**
   * Looks whether the file was deleted (nlink 0) without reading it: true when it was found
   * deleted just now. (Its reader may be waiting for the gate, and close_removed_after runs
   * from the deletion.)
   */
  async checkRemoved(): Promise<boolean> {
    const handle = this.current;
    if (this.where === 'removed' || handle === null) return false;
    let nlink: number;
    try {
      nlink = (await handle.stat()).nlink;
    } catch {
      // Closed meanwhile (evicted): the next read reopens it by identity and looks again.
      return false;
    }
    // Found deleted by another look meanwhile: told once.
    if (nlink !== 0 || this.isDeleted) return false;
    this.where = 'removed';
    this.removedSince = this.now();
    // A closed handle cannot be reopened: a file found later by the same device and inode is
    // another one that got the freed inode.
    this.isDeleted = true;
    return true;
  }

  /**
   * On stopping: the descriptor of a file deleted meanwhile, kept open and given away when
   * `keep` (nothing else reaches such a file, and a successor reads its rest); else null, closed.
   * Without an open handle, a descriptor handed over and not used yet is the one.
   */
  async detachIfDeleted(keep: boolean): Promise<FileHandle | null> {
    const handle = this.current ?? this.inherited ?? null;
    let deleted = false;
    if (handle !== null && keep) {
      try {
        deleted = (await handle.stat()).nlink === 0;
      } catch {
        deleted = false;
      }
    }
    const kept = deleted ? this.detach() : null;
    if (kept === null) await this.close();
    return kept;
  }

  get handle(): FileHandle | null {
    return this.current;
  }

  get atEof(): boolean {
    return this.ownerAtEof();
  }

  /** A deleted file's handle is never evicted: it could not be opened again. */
  get reopenable(): boolean {
    return !this.isDeleted;
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
    if (this.current !== null && this.slot !== null) {
      this.pool.busy(this.slot);
      return this.current;
    }
    if (this.inherited !== undefined) {
      const slot = await this.pool.reserve(this);
      this.current = this.inherited;
      this.inherited = undefined;
      this.slot = slot;
      return this.current;
    }
    if (this.isDeleted) throw new FileGoneError(this.currentPath, this.identity);
    for (let attempt = 1; ; attempt++) {
      const slot = await this.pool.reserve(this);
      try {
        this.current = await this.openByIdentity();
        this.slot = slot;
        return this.current;
      } catch (err) {
        this.pool.released(slot);
        if (!(err instanceof FileOpenError && FD_EXHAUSTED.has(err.code ?? '') && attempt < MAX_OPEN_ATTEMPTS)) throw err;
        this.pool.exhausted(this.currentPath);
      }
    }
  }

  /** Done reading for now: the handle stays open but may be evicted. */
  idle(): void {
    if (this.slot !== null) this.pool.idle(this.slot);
  }

  /**
   * Gives the open handle away (still open) and frees its slot — or, when none is open, a
   * descriptor handed over and not used yet; null when there is neither.
   */
  private detach(): FileHandle | null {
    const handle = this.current ?? this.inherited ?? null;
    const slot = this.slot;
    this.current = null;
    this.inherited = undefined;
    this.slot = null;
    if (slot !== null) this.pool.released(slot);
    return handle;
  }

  close(): Promise<void> {
    if (this.inherited !== undefined) {
      const inherited = this.inherited;
      this.inherited = undefined;
      void inherited.close().catch(() => undefined);
    }
    const handle = this.current;
    const slot = this.slot;
    this.current = null;
    this.slot = null;
    if (handle === null) return this.closing;
    this.closing = handle.close().then(
      () => {
        if (slot !== null) this.pool.released(slot);
      },
      () => {
        // A failed close still frees the descriptor.
        if (slot !== null) this.pool.released(slot);
      },
    );
    return this.closing;
  }

  /** Called by the pool, which frees the slot itself once this resolves. */
  evict(): Promise<void> {
    this.slot = null;
    return this.close();
  }

  private async openByIdentity(): Promise<FileHandle> {
    const atPath = await this.openIfOurs(this.currentPath);
    if (atPath !== null) return atPath;
    const found = await findByIdentity(dirname(this.currentPath), this.identity);
    if (found !== undefined) {
      const moved = await this.openIfOurs(found);
      if (moved !== null) {
        this.currentPath = found;
        return moved;
      }
    }
    throw new FileGoneError(this.currentPath, this.identity);
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
