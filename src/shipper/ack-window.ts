// AckWindow: for one file identity, turns out-of-order delivery reports into an in-order
// committed position. Each LineBatch becomes a Ticket with a sequence number; the committed
// position is the end of the longest prefix of tickets whose every record Kafka acknowledged.
// Bookkeeping is per batch (one ticket per read chunk), never per line.

import type { Fingerprint, OffsetMarker, SourceFile } from '../core/file.js';
import { releaseChunk, type LineBatch } from '../core/batch.js';

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
   * `head` are cleared at once: a committed ticket must not keep its batch alive — measured,
   * keeping up to 1024 of them held ~120 MiB of a 1M-line file (before pooled read chunks,
   * released in `complete`, the batch held its chunk until collected).
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
   *
   * A prefix that crosses a truncation (the file read again from 0: the next epoch) also hands
   * the end of each earlier epoch it finishes to `epochEnded` (with that batch's source), oldest
   * first, before the returned position: that end is what a copytruncate copy of the file holds
   * acknowledged, and only it moves the copy's registry entry (the agent's copiesHolding).
   * Collapsed into the later epoch's position, the copy's entry stayed where it was registered
   * and a clean restart shipped the original's last lines again from the copy (soak --gap 1.5
   * seed 2203: a stall across a copytruncate, the truncated file's next batch acknowledged
   * before its last one — keyless batches go to different partitions — 16 lines of w3).
   */
  complete(ticket: Ticket<Via>, epochEnded?: (source: SourceFile, position: CommittedPosition) => void): CommittedPosition | null {
    ticket.done = true;
    // Its final outcome: every record acknowledged, skipped or dead-lettered, so nothing reads
    // the batch's bytes again (retries and dead letters came before; librdkafka copied each
    // value when it was produced). Its read chunk goes back to the reader's pool now, not at
    // V8's next full collection — the ticket itself may wait here behind older ones.
    releaseChunk(ticket.batch);
    let last: Ticket<Via> | undefined;
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      const next = this.queue[this.head]!;
      if (last !== undefined && last.batch.epoch !== next.batch.epoch) epochEnded?.(last.batch.source, positionAfter(last));
      last = next;
      this.queue[this.head++] = undefined;
    }
    // Compact now and then so the array does not grow for the life of a busy file.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return last === undefined ? null : positionAfter(last);
  }

  /** Tickets produced but not acknowledged yet. */
  get outstanding(): number {
    return this.queue.length - this.head;
  }
}

function positionAfter<Via>(ticket: Ticket<Via>): CommittedPosition {
  const b = ticket.batch;
  return { offset: b.endOffset, marker: b.marker, fingerprint: b.fingerprint, epoch: b.epoch };
}
