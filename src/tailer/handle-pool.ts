// Bounds open file handles (max_open_files): a reader reserves a slot before opening; when all
// slots are taken the least recently active idle reader is closed (preferring one at EOF, whose
// file can disappear while closed without losing a byte; never one of a deleted file, which
// could not be opened again); when every slot is busy, it waits.

import type { Logger } from 'pino';

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
}

/** After EMFILE, the bound becomes this fraction of what could be opened. */
const EXHAUSTED_HEADROOM = 0.875;

/** One open (or opening) handle, held by one reader. */
export class HandleSlot {
  busy = true;
  closing = false;
  constructor(readonly reader: PooledReader) {}
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
    /** Where the number of open handles is kept up to date (the logship_files_open gauge). */
    private readonly counted: { filesOpen: number } = { filesOpen: 0 },
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
      victim.closing = true;
      try {
        await victim.reader.evict();
      } finally {
        this.slots.delete(victim);
      }
    }
    const slot = new HandleSlot(reader);
    this.slots.add(slot);
    this.counted.filesOpen = this.slots.size;
    return slot;
  }

  /** The reader starts reading through its open handle: most recently active, not evictable. */
  busy(slot: HandleSlot): void {
    slot.busy = true;
    if (this.slots.delete(slot)) this.slots.add(slot);
  }

  /** The reader stopped reading; its handle stays open but may be evicted. */
  idle(slot: HandleSlot): void {
    slot.busy = false;
    this.wakeOne();
  }

  /** The reader closed its handle (or failed to open it): the slot is free. */
  released(slot: HandleSlot): void {
    if (!slot.closing) this.slots.delete(slot);
    this.counted.filesOpen = this.slots.size;
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
      if (slot.busy || slot.closing || slot.reader.reopenable === false) continue;
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
