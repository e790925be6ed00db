// Read chunks: the buffers a read's framed lines live in, each a LineBatch's `data` until the
// batch's final outcome. Before this pool every read allocated a fresh ArrayBuffer outside
// V8's heap, and an acknowledged one was freed only by the next full collection, which V8
// schedules by its own heap's growth, blind to those bytes: 30-37 MiB of acknowledged chunks
// piled up between two collections on the raw 1M-line shipment (README, Performance), which
// is why the launchers ran node with --heap-growing-percent=20. A chunk from this pool is
// given back when the last holder lets it go (the reader while it frames, each batch that
// views it until Kafka settled it, a pipeline stage that keeps a view across reads) and the
// next large read reuses it: no allocation, no page faults, nothing waits for a collection.
//
// Why a reference count and not "a batch owns its read": a detached or reused ArrayBuffer
// does not fail a view that is left over — it reads as empty or as another read's bytes — so
// every view must be accounted for. Who holds one: the framer's push (LinePipeline), the batch
// made from it (BatchEmitter hands the batch its hold; AckWindow.complete lets it go once every
// record is acknowledged, skipped or dead-lettered — retries and dead letters read the batch
// before that, librdkafka copies each value at produce time), and the pipeline while a stage
// (the container parser) keeps views of earlier reads. The multiline joiner copies what it keeps.
//
// Small reads (a few new lines of a tailed file: most reads of a busy host's many files) do not
// take a chunk: a 256 KiB chunk held by a 300-byte batch would multiply memory by the number of
// files in flight. They allocate as before (Node's shared 8 KiB pool below 4 KiB) and are freed
// by V8 as before; their bytes are few.
//
// LOGSHIP_POISON_RELEASED_CHUNKS=1 (set by the test helpers for every agent the tests start):
// every read, small ones too, gets a chunk of its own size, and a released chunk is filled with
// POISON_BYTE and never reused, so a view left over reads 0xDB bytes instead of its line, and
// the end-to-end tests comparing Kafka's records with the file's lines fail.

import type { ChunkHold } from '../core/batch.js';
import { TailerStateError } from './errors.js';
import { DEFAULT_CONCURRENT_READS } from './read-buffers.js';

/** What a released chunk is filled with in poison mode (a byte no ASCII line holds, invalid as UTF-8 start). */
export const POISON_BYTE = 0xdb;
export const POISON_ENV = 'LOGSHIP_POISON_RELEASED_CHUNKS';

/** A chunk is worth taking for at least this fraction of its capacity (see chooseTake). */
export const POOLED_FRACTION = 4;
/** Room past the read size for carried bytes (the unfinished line before the read). */
export const CARRY_ROOM_BYTES = 8 * 1024;

/** How a request for `size` bytes is served. */
export type TakeDecision =
  /** A free chunk is reused. */
  | 'reuse'
  /** A new chunk is allocated and will come back to the pool. */
  | 'allocate'
  /** A plain buffer, freed by V8: too small to hold a chunk for, too large for one, or the pool is at its bound. */
  | 'unpooled'
  /** Poison mode: a chunk of exactly this size, tracked like any chunk and never reused (every read is checked). */
  | 'exact';

export interface PoolFacts {
  /** Bytes wanted. */
  size: number;
  /** Bytes of every chunk. */
  capacity: number;
  /** Free chunks. */
  free: number;
  /** Chunks lent and not given back. */
  lent: number;
  /** Most chunks the pool makes (free + lent). */
  max: number;
  /** Poison mode (tests). */
  poison: boolean;
}

/** Pure: how `size` bytes are served. */
export function chooseTake(f: PoolFacts): TakeDecision {
  if (f.poison) return 'exact';
  if (f.size > f.capacity || f.size * POOLED_FRACTION < f.capacity) return 'unpooled';
  if (f.free > 0) return 'reuse';
  return f.free + f.lent < f.max ? 'allocate' : 'unpooled';
}

/** What becomes of a chunk its last holder let go. */
export type ReturnDecision = 'keep' | 'poison';

/** Pure: a released chunk is kept for reuse, or (poison mode) filled with the marker and dropped. */
export function chooseReturn(poison: boolean): ReturnDecision {
  return poison ? 'poison' : 'keep';
}

/**
 * Most chunks a tailer's pool makes: as many as the in-flight gate lets batches hold at once
 * (its bytes over a chunk's, every chunk full of payload: the gate counts each record's
 * overhead too, so fewer are ever in flight), plus one per concurrent read (a read is not
 * gated once started: the gate may be overshot by one read per reader) and a few held by the
 * pipeline's stages or in a push. Past it reads allocate as they did before the pool.
 */
export function poolBound(inFlightBytes: number, capacity: number, concurrentReads: number): number {
  return Math.ceil(inFlightBytes / capacity) + concurrentReads + 4;
}

/** A pooled read chunk: its own ArrayBuffer, and the count of holds on it. */
export class ReadChunk {
  private holds = 0;

  constructor(
    private readonly pool: ChunkPool,
    /** The whole chunk (capacity bytes, its own ArrayBuffer at offset 0). */
    readonly bytes: Buffer,
  ) {}

  /** Does `view` lie in this chunk's memory? */
  holdsView(view: Uint8Array): boolean {
    return view.buffer === this.bytes.buffer;
  }

  get held(): boolean {
    return this.holds > 0;
  }

  /** A new hold: the chunk is not reused before it is released. Refused on a chunk already given back. */
  hold(): ChunkHold {
    if (this.holds === 0) throw new TailerStateError('read chunk', 'released', 'hold');
    this.holds++;
    return new Hold(this);
  }

  /** First hold, by the pool when it lends the chunk. */
  lend(): ChunkHold {
    if (this.holds !== 0) throw new TailerStateError('read chunk', 'held', 'lend');
    this.holds = 1;
    return new Hold(this);
  }

  /** One hold fewer (Hold.release, once per hold); the last one gives the chunk back. */
  drop(): void {
    if (this.holds === 0) throw new TailerStateError('read chunk', 'released', 'release');
    if (--this.holds === 0) this.pool.giveBack(this);
  }
}

/** One holder's claim on a chunk: releasing it twice releases it once. */
class Hold implements ChunkHold {
  private chunk: ReadChunk | null;

  constructor(chunk: ReadChunk) {
    this.chunk = chunk;
  }

  release(): void {
    const chunk = this.chunk;
    if (chunk === null) return;
    this.chunk = null;
    chunk.drop();
  }
}

/** A buffer to frame a read into, and the hold on its chunk (null: a plain buffer, nothing to release). */
export interface TakenBytes {
  bytes: Buffer;
  chunk: ReadChunk | null;
  hold: ChunkHold | null;
}

export interface ChunkPoolOptions {
  /** Bytes of every chunk (a read plus room for carried bytes). */
  capacity: number;
  /** Most chunks made (see poolBound). */
  max: number;
  /** Released chunks are filled with POISON_BYTE and never reused (tests). */
  poison?: boolean;
}

export class ChunkPool {
  readonly capacity: number;
  readonly max: number;
  readonly poison: boolean;
  private readonly free: ReadChunk[] = [];
  private lent = 0;
  private made = 0;
  private reuses = 0;

  constructor(options: ChunkPoolOptions) {
    if (!(options.capacity >= 1)) throw new RangeError(`chunk capacity must be at least 1 byte, got ${options.capacity}`);
    if (!(options.max >= 0)) throw new RangeError(`chunk pool bound must be at least 0, got ${options.max}`);
    this.capacity = options.capacity;
    this.max = options.max;
    this.poison = options.poison ?? false;
  }

  /** Free chunks, ready for reuse. */
  get freeCount(): number {
    return this.free.length;
  }

  /** Chunks made (for tests and figures). */
  get allocated(): number {
    return this.made;
  }

  /** Takes served by a free chunk. */
  get reused(): number {
    return this.reuses;
  }

  /** Chunks lent and not given back yet. */
  get lentCount(): number {
    return this.lent;
  }

  /**
   * `size` bytes to frame a read into: the start of a chunk (held once, by the caller) or a
   * plain buffer. The bytes are not zeroed.
   */
  take(size: number): TakenBytes {
    const decision = chooseTake({ size, capacity: this.capacity, free: this.free.length, lent: this.lent, max: this.max, poison: this.poison });
    if (decision === 'unpooled') return { bytes: Buffer.allocUnsafe(size), chunk: null, hold: null };
    let chunk: ReadChunk;
    if (decision === 'reuse') {
      chunk = this.free.pop()!;
      this.reuses++;
    } else {
      chunk = new ReadChunk(this, Buffer.allocUnsafeSlow(decision === 'exact' ? size : this.capacity));
      this.made++;
    }
    this.lent++;
    const hold = chunk.lend();
    return { bytes: chunk.bytes.subarray(0, size), chunk, hold };
  }

  /** The last hold on `chunk` was released (ReadChunk.drop). */
  giveBack(chunk: ReadChunk): void {
    this.lent--;
    if (chooseReturn(this.poison) === 'poison') {
      chunk.bytes.fill(POISON_BYTE);
      return;
    }
    this.free.push(chunk);
  }
}

/** kafka.max_in_flight_bytes's default (the config schema's), when a tailer is not told. */
export const DEFAULT_IN_FLIGHT_BYTES = 16 * 1024 * 1024;

/** A tailer's pool: chunks of a read plus carry room, bounded by the in-flight budget; poison mode from the environment. */
export function readChunkPool(readBytes: number, inFlightBytes: number, env: NodeJS.ProcessEnv = process.env): ChunkPool {
  const capacity = readBytes + CARRY_ROOM_BYTES;
  return new ChunkPool({ capacity, max: poolBound(inFlightBytes, capacity, DEFAULT_CONCURRENT_READS), poison: poisonFromEnv(env) });
}

/** Poison mode from the environment (LOGSHIP_POISON_RELEASED_CHUNKS=1). */
export function poisonFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[POISON_ENV] === '1';
}
