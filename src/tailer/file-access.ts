// A followed file's handle: opened within max_open_files (HandlePool), reopened by identity —
// at the path the file was last seen at, else wherever it now is in the same directory — and
// closed when the pool needs the slot. Running out of descriptors (EMFILE) is waited out.

import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode, FileGoneError, FileOpenError } from './errors.js';
import type { HandlePool, HandleSlot, PooledReader } from './handle-pool.js';
import { identityOf, sameIdentity } from './identity.js';
import { findByIdentity } from './rotation.js';
import type { FileIdentity } from '../core/file.js';

export type OpenFile = (path: string) => Promise<FileHandle>;

const FD_EXHAUSTED = new Set(['EMFILE', 'ENFILE']);
const MAX_OPEN_ATTEMPTS = 8;

export class FileAccess implements PooledReader {
  private current: FileHandle | null = null;
  private slot: HandleSlot | null = null;
  private closing: Promise<void> = Promise.resolve();
  /** The file was found deleted (nlink 0): once closed, nothing by its identity is it any more. */
  private isDeleted = false;

  constructor(
    private readonly identity: FileIdentity,
    /** Where the file was last seen (updated when it is found under another name). */
    public path: string,
    private readonly pool: HandlePool,
    private readonly openFile: OpenFile,
    /** The owner is at EOF: its handle is the cheapest to close. */
    private readonly ownerAtEof: () => boolean,
    /** A descriptor opened by someone else (a deleted file handed over): used before any open. */
    private inherited?: FileHandle,
  ) {}

  get handle(): FileHandle | null {
    return this.current;
  }

  get atEof(): boolean {
    return this.ownerAtEof();
  }

  get openCount(): number {
    return this.pool.openCount;
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
    if (this.isDeleted) throw new FileGoneError(this.path, this.identity);
    for (let attempt = 1; ; attempt++) {
      const slot = await this.pool.reserve(this);
      try {
        this.current = await this.openByIdentity();
        this.slot = slot;
        return this.current;
      } catch (err) {
        this.pool.released(slot);
        if (!(err instanceof FileOpenError && FD_EXHAUSTED.has(err.code ?? '') && attempt < MAX_OPEN_ATTEMPTS)) throw err;
        this.pool.exhausted(this.path);
      }
    }
  }

  /** Done reading for now: the handle stays open but may be evicted. */
  idle(): void {
    if (this.slot !== null) this.pool.idle(this.slot);
  }

  /**
   * The file is deleted: a closed handle cannot be reopened, since a file found later by the
   * same device and inode is another one that got the freed inode.
   */
  deleted(): void {
    this.isDeleted = true;
  }

  /** A descriptor handed over that was not used yet (the owner never got to read), if any. */
  get unusedInherited(): FileHandle | null {
    return this.inherited ?? null;
  }

  /**
   * Gives the open handle away (still open) and frees its slot — or, when none is open, a
   * descriptor handed over and not used yet; null when there is neither.
   */
  detach(): FileHandle | null {
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
    const atPath = await this.openIfOurs(this.path);
    if (atPath !== null) return atPath;
    const found = await findByIdentity(dirname(this.path), this.identity);
    if (found !== undefined) {
      const moved = await this.openIfOurs(found);
      if (moved !== null) {
        this.path = found;
        return moved;
      }
    }
    throw new FileGoneError(this.path, this.identity);
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
