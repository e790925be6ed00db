// AckWindow: for one file identity, turns out-of-order delivery reports into an in-order
// committed position. Each LineBatch becomes a Ticket with a sequence number; the committed
// position is the end of the longest prefix of tickets whose every record Kafka acknowledged.
// Bookkeeping is per batch (one ticket per read chunk), never per line.

import type { Fingerprint, OffsetMarker } from '../core/file.js';
import type { LineBatch } from '../core/batch.js';

/**
 * One batch in flight: its records still unacknowledged, and where the file stands after it.
 * `via` is the caller's context for the batch (the shipper's route: topic, key...).
 */
export interface Ticket<Via> {
  readonly window: AckWindow<Via>;
  readonly via: Via;
  readonly seq: number;
  readonly batch: LineBatch;
  /** Records produced (or still to produce) and not yet acknowledged. */
  remaining: number;
  /** Payload bytes counted against kafka.max_in_flight_bytes until the ticket is done. */
  bytes: number;
  /** Records whose delivery failed with a retriable error: the whole ticket is produced again. */
  failed: number;
  done: boolean;
}

export interface CommittedPosition {
  offset: number;
  marker: OffsetMarker;
  fingerprint: Fingerprint;
  epoch: number;
}

export class AckWindow<Via> {
  private nextSeq = 0;
  /**
   * Tickets not yet committed, in sequence order; `head` indexes the oldest. Slots before
   * `head` are cleared at once: a committed ticket must not keep its batch (the read chunk)
   * alive — measured, keeping up to 1024 of them held ~120 MiB of a 1M-line file.
   */
  private queue: Array<Ticket<Via> | undefined> = [];
  private head = 0;
  /** ms since epoch of the last ticket opened (idle windows are dropped). */
  lastUsed = 0;

  /** `records`: the batch's record count (by default its lines). */
  open(batch: LineBatch, bytes: number, via: Via, now: number, records = batch.ends.length): Ticket<Via> {
    this.lastUsed = now;
    const ticket: Ticket<Via> = { window: this, via, seq: this.nextSeq++, batch, remaining: records, bytes, failed: 0, done: false };
    this.queue.push(ticket);
    return ticket;
  }

  /**
   * Marks a ticket fully acknowledged. Returns the new committed position when the
   * acknowledged prefix grew, or null when an older ticket is still outstanding.
   */
  complete(ticket: Ticket<Via>): CommittedPosition | null {
    ticket.done = true;
    let last: Ticket<Via> | undefined;
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      last = this.queue[this.head];
      this.queue[this.head++] = undefined;
    }
    // Compact now and then so the array does not grow for the life of a busy file.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (!last) return null;
    const b = last.batch;
    return { offset: b.endOffset, marker: b.marker, fingerprint: b.fingerprint, epoch: b.epoch };
  }

  /** Tickets produced but not acknowledged yet. */
  get outstanding(): number {
    return this.queue.length - this.head;
  }
}
