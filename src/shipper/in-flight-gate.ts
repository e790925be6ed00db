// InFlightGate: the backpressure valve between the shipper and the tailers. It is open while
// the bytes produced but not yet acknowledged stay under kafka.max_in_flight_bytes and the
// producer runs; closed, readers stop reading, so the files on disk are the buffer and memory
// stays flat however long Kafka is slow or away. Single files can be held back on their own (a
// topic that keeps failing) while the others flow.
//
// It opens when the shipper starts, not when Kafka first answers: librdkafka queues what it is
// given until its brokers answer, and the bytes in flight bound memory the same either way. On
// the raw 1M-line shipment the first answer (a metadata request) came 40-50 ms after the
// tailer had started, which readers spent waiting (bench/trace-shipment.ts, README Performance).

import type { SourceFile } from '../core/file.js';
import type { FlowGate } from '../core/batch.js';

export class InFlightGate implements FlowGate {
  private bytes = 0;
  /** Before the shipper starts, running, or stopped for good (shutdown). */
  private life: 'unstarted' | 'running' | 'stopped' = 'unstarted';
  private readonly heldFiles = new Set<string>();
  private waiters: Array<() => void> = [];
  /** Times the bytes in flight reached the limit (the gate closed by memory); for traces. */
  private closedByBytes = 0;

  constructor(private readonly maxBytes: number) {}

  isOpen(source?: SourceFile): boolean {
    if (this.life !== 'running' || this.bytes >= this.maxBytes) return false;
    return source === undefined || !this.heldFiles.has(source.key);
  }

  waitOpen(source?: SourceFile): Promise<void> {
    if (this.isOpen(source)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.isOpen(source)) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  get inFlightBytes(): number {
    return this.bytes;
  }

  add(bytes: number): void {
    const wasOpen = this.bytes < this.maxBytes;
    this.bytes += bytes;
    if (wasOpen && this.bytes >= this.maxBytes) this.closedByBytes++;
  }

  /** Times the in-flight bytes reached kafka.max_in_flight_bytes so far. */
  get closings(): number {
    return this.closedByBytes;
  }

  release(bytes: number): void {
    const wasClosed = this.bytes >= this.maxBytes;
    this.bytes -= bytes;
    if (wasClosed && this.bytes < this.maxBytes) this.wake();
  }

  /** The producer exists: readers may go (a stopped gate stays closed). */
  start(): void {
    if (this.life !== 'unstarted') return;
    this.life = 'running';
    this.wake();
  }

  hold(source: SourceFile): void {
    this.heldFiles.add(source.key);
  }

  unhold(source: SourceFile): void {
    if (this.heldFiles.delete(source.key)) this.wake();
  }

  /** Closes the gate for good (shutdown): readers that wait keep waiting until stopped. */
  stop(): void {
    this.life = 'stopped';
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
