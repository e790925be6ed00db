// When the safety-net scan runs (see the watcher's header for why the period adapts): one timer,
// never more; soon while discovery is scan-only or files are busy (written to, as inotify
// reported, or read since the last scan), later while inotify works and files are quiet.
//
// Where the schedule is, as one state (moved only here; an internal move from a state it does
// not come from throws TailerStateError):
//
//   unarmed ──scanned──► armed ──fires / scanOnlyNow──► queued ──runs──► scanning
//      (the start-up scan     ▲  ◄──scanned (re-armed)                     │
//       is still to come)     └────────── scanned, or the scan failed ─────┘
//   any ──stop──► stopped (terminal)
//
// A scan run directly on the decision queue (the start-up scan, `drained()`) calls `scanned`
// too: from unarmed or armed it arms; while a scheduled scan waits (queued) it only records the
// period — that scan arms when it ends. scanOnlyNow pulls an armed scan forward (its timer is
// cancelled: the scan arms the next one).

import { TailerStateError } from './errors.js';

/** A timer the schedule can cancel. */
export interface ScanTimer {
  cancel(): void;
}

export type StartScanTimer = (fire: () => void, ms: number) => ScanTimer;

const realTimer: StartScanTimer = (fire, ms) => {
  const timer = setTimeout(fire, ms);
  return { cancel: () => clearTimeout(timer) };
};

export interface ScanScheduleOptions {
  /** Period while busy or scan-only, ms. */
  busyMs: number;
  /** Period while quiet, ms. */
  idleMs: number;
  scanOnly: () => boolean;
  /** Runs a scan on the tailer's decision queue. */
  enqueueScan: (scan: () => Promise<void>) => Promise<void>;
  scan: () => Promise<void>;
  /** setTimeout by default; tests pass their own (no clock). */
  startTimer?: StartScanTimer;
}

export type ScanScheduleState =
  | { readonly kind: 'unarmed' }
  | { readonly kind: 'armed'; readonly timer: ScanTimer }
  | { readonly kind: 'queued' }
  | { readonly kind: 'scanning' }
  | { readonly kind: 'stopped' };

export type ScanScheduleStateKind = ScanScheduleState['kind'];

export class ScanSchedule {
  private state: ScanScheduleState = { kind: 'unarmed' };
  private armedMs = 0;
  /** inotify reported a write since the last scan (what was seen, like bytesAtScan; not a state). */
  private writtenSinceScan = false;
  /** Bytes read by every reader together at the last scan: tells whether files are busy. */
  private bytesAtScan = 0;
  private readonly startTimer: StartScanTimer;

  constructor(private readonly opts: ScanScheduleOptions) {
    this.startTimer = opts.startTimer ?? realTimer;
  }

  get kind(): ScanScheduleStateKind {
    return this.state.kind;
  }

  /** Period of the next scan, ms (0 before the first scan). */
  get periodMs(): number {
    return this.armedMs;
  }

  /** A scan finished (`bytesRead`: by all readers so far): arm the next one. */
  scanned(bytesRead: number): void {
    const busy = this.writtenSinceScan || bytesRead !== this.bytesAtScan;
    this.writtenSinceScan = false;
    this.bytesAtScan = bytesRead;
    const kind = this.state.kind;
    if (kind === 'stopped') return;
    // A scan waits on the queue (this one ran directly, `drained()`): it arms when it ends.
    if (kind === 'queued') this.armedMs = this.periodFor(busy);
    else this.arm(busy);
  }

  /** inotify reported a write: quiet until now, the next scan must not wait the idle period. */
  written(): void {
    if (this.writtenSinceScan) return;
    this.writtenSinceScan = true;
    if (this.state.kind === 'armed' && this.armedMs > this.opts.busyMs) this.arm(true);
  }

  /** Watches were refused: events may have been missed, and scans are all there is now. */
  scanOnlyNow(): void {
    // Unarmed: the start-up scan is still to come, and arms with the short period. Queued or
    // scanning: the scan that ends arms with it.
    if (this.state.kind === 'armed') this.queue('scanOnlyNow');
  }

  stop(): void {
    if (this.state.kind === 'armed') this.state.timer.cancel();
    this.state = { kind: 'stopped' };
  }

  /** armed → queued: the scan waits its turn on the decision queue. */
  private queue(transition: string): void {
    const state = this.state;
    if (state.kind !== 'armed') throw new TailerStateError('scan schedule', state.kind, transition);
    state.timer.cancel();
    this.state = { kind: 'queued' };
    void this.opts.enqueueScan(() => this.run()).catch(() => undefined);
  }

  /** queued → scanning → armed (by the scan's `scanned`, or here when it failed). */
  private async run(): Promise<void> {
    if (this.state.kind === 'stopped') return;
    if (this.state.kind !== 'queued') throw new TailerStateError('scan schedule', this.state.kind, 'run');
    this.state = { kind: 'scanning' };
    try {
      await this.opts.scan();
    } finally {
      // A scan that failed (or was cut short) must not end the scans: one that ended armed.
      if ((this.state.kind as ScanScheduleStateKind) === 'scanning') this.arm(true);
    }
  }

  private arm(busy: boolean): void {
    if (this.state.kind === 'armed') this.state.timer.cancel();
    this.armedMs = this.periodFor(busy);
    const timer = this.startTimer(() => this.queue('fire'), this.armedMs);
    this.state = { kind: 'armed', timer };
  }

  private periodFor(busy: boolean): number {
    return this.opts.scanOnly() || busy ? this.opts.busyMs : this.opts.idleMs;
  }
}
