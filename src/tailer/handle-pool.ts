// Bounds open file handles (max_open_files): a reader reserves a slot before opening; when all
// slots are taken the least recently active idle reader is closed (preferring one at EOF, whose
// file can disappear while closed without losing a byte; never one of a deleted file, which
// could not be opened again); when every slot is busy, it waits.

import type { Logger } from 'pino';
import type { TailerCounters } from './counters.js';
import { TailerError } from './errors.js';

export interface PooledReader {
  /**
   * Closes the reader's handle; it reopens by identity when it next has to read. Must forget
   * its slot synchronously, before its first await.
   */
  evict(): Promise<void>;
  /** Read to EOF: nothing is lost if its file disappears while its handle is closed. */
  readonly atEof: boolean;
  /**
   * False for a deleted file: its handle is the only way to its bytes (a file found later by
   * the same device and inode is another one), so it is never evicted. Default true.
   */
  readonly reopenable?: boolean;
  /** Where the reader's file is, for errors. */
  readonly path?: string;
}

/** After EMFILE, the bound becomes this fraction of what could be opened. */
const EXHAUSTED_HEADROOM = 0.875;

/**
 * Where a slot is in its life. A slot is reserved busy (its reader opens the handle, then reads);
 * between reads it is idle, the only state the pool may evict from; closing while the pool
 * evicts it; free once its handle is closed (terminal).
 *
 *   busy ◄──use── idle        (busy → busy and idle → idle: no-ops, the reader may repeat itself)
 *   busy ──rest──► idle ──evict──► closing ──free──► free
 *   busy | idle ──free──► free;   closing ──free──► closing (the evicting pool frees it)
 */
export type HandleSlotState = 'busy' | 'idle' | 'closing' | 'free';

/** A move asked of a slot in a state it does not come from: a bug, told with its context. */
export class HandleSlotError extends TailerError {
  constructor(
    path: string,
    readonly from: HandleSlotState,
    readonly transition: string,
  ) {
    super(`handle slot of ${path}: '${transition}' is not possible while ${from}`, path);
  }
}

/** One open (or opening) handle, held by one reader; its state is moved only by its methods. */
export class HandleSlot {
  private current: HandleSlotState = 'busy';
  constructor(readonly reader: PooledReader) {}

  get state(): HandleSlotState {
    return this.current;
  }

  /** Neither busy, closing nor freed, and reopenable: the pool may close it. */
  get evictable(): boolean {
    return this.current === 'idle' && this.reader.reopenable !== false;
  }

  /** The reader reads through it: not evictable until `rest`. */
  use(): void {
    if (this.current !== 'idle' && this.current !== 'busy') this.refuse('use');
    this.current = 'busy';
  }

  /** The reader stopped reading: its handle stays open but may be evicted. */
  rest(): void {
    if (this.current !== 'idle' && this.current !== 'busy') this.refuse('rest');
    this.current = 'idle';
  }

  /** The pool closes it to make room: only an idle slot. */
  evict(): void {
    if (this.current !== 'idle') this.refuse('evict');
    this.current = 'closing';
  }

  /**
   * Its handle is closed (or failed to open). True when the pool must drop it now; false while
   * closing — the pool that evicts it drops it once the eviction is over — or already free.
   */
  free(): boolean {
    if (this.current === 'closing' || this.current === 'free') return false;
    this.current = 'free';
    return true;
  }

  /** The eviction is over: the pool drops it. */
  evicted(): void {
    if (this.current !== 'closing') this.refuse('evicted');
    this.current = 'free';
  }

  private refuse(transition: string): never {
    throw new HandleSlotError(this.reader.path ?? '(unnamed reader)', this.current, transition);
  }
}

export class HandlePool {
  /** Insertion order is recency order: the first slot is the least recently active. */
  private readonly slots = new Set<HandleSlot>();
  private readonly waiters: Array<() => void> = [];
  private limit: number;
  private warnedExhausted = false;

  constructor(
    limit: number,
    private readonly log: Logger,
    /** Told the number of open handles whenever it changes (the logship_files_open gauge). */
    private readonly counters: Pick<TailerCounters, 'openFilesNow'> = { openFilesNow: () => undefined },
  ) {
    if (!(limit >= 1)) throw new RangeError(`max_open_files must be at least 1, got ${limit}`);
    this.limit = limit;
  }

  /** Handles open, being opened or being closed right now. */
  get openCount(): number {
    return this.slots.size;
  }

  get maxOpen(): number {
    return this.limit;
  }

  /** Waits for a slot for `reader`, which must then open its handle; the slot starts busy. */
  async reserve(reader: PooledReader): Promise<HandleSlot> {
    while (this.slots.size >= this.limit) {
      const victim = this.pickVictim();
      if (victim === undefined) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      victim.evict();
      try {
        await victim.reader.evict();
      } finally {
        victim.evicted();
        this.slots.delete(victim);
      }
    }
    const slot = new HandleSlot(reader);
    this.slots.add(slot);
    this.counters.openFilesNow(this.slots.size);
    return slot;
  }

  /** The reader starts reading through its open handle: most recently active, not evictable. */
  busy(slot: HandleSlot): void {
    slot.use();
    if (this.slots.delete(slot)) this.slots.add(slot);
  }

  /** The reader stopped reading; its handle stays open but may be evicted. */
  idle(slot: HandleSlot): void {
    slot.rest();
    this.wakeOne();
  }

  /** The reader closed its handle (or failed to open it): the slot is free. */
  released(slot: HandleSlot): void {
    if (slot.free()) this.slots.delete(slot);
    this.counters.openFilesNow(this.slots.size);
    this.wakeOne();
  }

  /**
   * The process ran out of descriptors (EMFILE/ENFILE) below max_open_files: lower the bound
   * below what could actually be opened, so readers take turns instead of failing and the rest
   * of the process (directory listings, sockets) keeps some descriptors.
   */
  exhausted(path: string): void {
    const opened = this.slots.size - 1; // the slot that just failed to open is still counted
    const lowered = Math.max(1, Math.min(opened - 1, Math.floor(opened * EXHAUSTED_HEADROOM)));
    if (lowered < this.limit) this.limit = lowered;
    if (!this.warnedExhausted) {
      this.warnedExhausted = true;
      this.log.warn({ path, maxOpenFiles: this.limit }, 'out of file descriptors: lowering max_open_files to what the process can open');
    }
  }

  private pickVictim(): HandleSlot | undefined {
    let fallback: HandleSlot | undefined;
    for (const slot of this.slots) {
      if (!slot.evictable) continue;
      if (slot.reader.atEof) return slot;
      fallback ??= slot;
    }
    return fallback;
  }

  /**
   * One slot became usable: one waiter (the longest waiting) gets to try. Waking them all would
   * make thousands of readers scan the pool for each freed slot.
   */
  private wakeOne(): void {
    this.waiters.shift()?.();
  }
}
