// Read buffers shared by all readers: a reader borrows one only while it reads, so idle files
// cost no buffer memory. The number of buffers bounds how many files are read at the same
// time (memory, and garbage, stay flat with thousands of busy files); a reader waits its turn.

export const DEFAULT_CONCURRENT_READS = 16;

export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(buffer: Buffer) => void> = [];
  private allocated = 0;

  constructor(
    readonly size: number,
    private readonly max = DEFAULT_CONCURRENT_READS,
  ) {
    if (!(size >= 1)) throw new RangeError(`read chunk size must be at least 1 byte, got ${size}`);
    if (!(max >= 1)) throw new RangeError(`concurrent reads must be at least 1, got ${max}`);
  }

  async take(): Promise<Buffer> {
    const free = this.free.pop();
    if (free !== undefined) return free;
    if (this.allocated < this.max) {
      this.allocated++;
      return Buffer.allocUnsafeSlow(this.size);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Readers are waiting for a buffer: a long read should make way. */
  get contended(): boolean {
    return this.waiters.length > 0;
  }

  give(buffer: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(buffer);
    else this.free.push(buffer);
  }
}
