// When the safety-net scan runs (see the tailer's header for why the period adapts): one timer,
// never more; soon while discovery is scan-only or files are busy (written to, as inotify
// reported, or read since the last scan), later while inotify works and files are quiet.

export interface ScanScheduleOptions {
  /** Period while busy or scan-only, ms. */
  busyMs: number;
  /** Period while quiet, ms. */
  idleMs: number;
  scanOnly: () => boolean;
  /** Runs a scan on the tailer's decision queue. */
  enqueueScan: (scan: () => Promise<void>) => Promise<void>;
  scan: () => Promise<void>;
}

export class ScanSchedule {
  private timer: NodeJS.Timeout | null = null;
  private armedMs = 0;
  private queued = false;
  /** inotify reported a write since the last scan. */
  private modified = false;
  /** Bytes read by every reader together at the last scan: tells whether files are busy. */
  private bytesAtScan = 0;
  private stopped = false;

  constructor(private readonly opts: ScanScheduleOptions) {}

  /** Period of the next scan, ms (0 before the first scan). */
  get periodMs(): number {
    return this.armedMs;
  }

  /** A scan finished (`bytesRead`: by all readers so far): arm the next one. */
  scanned(bytesRead: number): void {
    const busy = this.modified || bytesRead !== this.bytesAtScan;
    this.modified = false;
    this.bytesAtScan = bytesRead;
    this.arm(busy);
  }

  /** inotify reported a write: quiet until now, the next scan must not wait the idle period. */
  written(): void {
    if (this.modified) return;
    this.modified = true;
    if (this.timer !== null && this.armedMs > this.opts.busyMs) this.arm(true);
  }

  /** Watches were refused: events may have been missed, and scans are all there is now. */
  scanOnlyNow(): void {
    // No timer yet: the start-up scan is still to come, and arms it with the short period.
    if (this.stopped || this.timer === null) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    void this.opts
      .enqueueScan(async () => {
        this.queued = false;
        try {
          await this.opts.scan();
        } finally {
          // A scan that failed (or was cut short) must not end the scans.
          if (this.timer === null) this.arm(true);
        }
      })
      .catch(() => undefined);
  }

  private arm(busy: boolean): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedMs = this.opts.scanOnly() || busy ? this.opts.busyMs : this.opts.idleMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.schedule();
    }, this.armedMs);
  }
}
