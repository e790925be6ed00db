// The tailer's counters, with one owner: the classes that count call a method named after what
// happened (a read, a batch handed over, a line cut, a rotation seen...), each through the
// narrow part of TailerCounters it needs; nothing else writes a counter. Whoever reports them
// (/metrics, and `logship top` through it; tests) reads `view`, a live read-only TailerStats.
// The agent keeps one TailerCounters across reloads, so counters never go backwards.
//
// Hot-path counters (bytes, lines, split and partial lines, replaced characters) move at the
// very points the plain fields they replace were written — once per read or per batch (a split
// or partial line once per such line), one Map update per read for the per-input ones —, now
// through a method call; never an event per line.

import type { TailerStats } from './types.js';

/** The counts themselves, writable: only TailerCounters holds them. */
type Counts = { -readonly [K in keyof TailerStats]: TailerStats[K] extends ReadonlyMap<string, number> ? Map<string, number> : TailerStats[K] };

export class TailerCounters {
  private readonly counts: Counts = {
    linesRead: new Map(),
    bytesRead: new Map(),
    rotations: 0,
    truncations: 0,
    splitLines: 0,
    partialLines: 0,
    replacedChars: 0,
    filesOpen: 0,
    filesFollowed: 0,
    bytesAbandoned: 0,
    readErrors: 0,
  };

  /** What was counted so far, live and read-only (accessors without setters). */
  readonly view: TailerStats = readOnlyView(this.counts);

  /** A reader read `bytes` bytes of a file of `input` (once per read). */
  chunkRead(input: string, bytes: number): void {
    const { bytesRead } = this.counts;
    bytesRead.set(input, (bytesRead.get(input) ?? 0) + bytes);
  }

  /** A batch of `lines` lines of a file of `input` was handed to the shipper (once per batch). */
  batchEmitted(input: string, lines: number): void {
    const { linesRead } = this.counts;
    linesRead.set(input, (linesRead.get(input) ?? 0) + lines);
  }

  /** Bytes read so far, all inputs (summed when asked: a few inputs, asked per scan or trace sample). */
  totalBytesRead(): number {
    return sumOf(this.counts.bytesRead);
  }

  /** Lines handed to the shipper so far, all inputs. */
  totalLinesRead(): number {
    return sumOf(this.counts.linesRead);
  }

  /** A followed file was renamed away or replaced at its path, or one was found created and rotated away between two looks. */
  fileRotated(): void {
    this.counts.rotations++;
  }

  /** A followed file was truncated (copytruncate): read again from 0. */
  fileTruncated(): void {
    this.counts.truncations++;
  }

  /** A line longer than max_line_bytes was cut into pieces (once per line, however many pieces). */
  lineSplit(): void {
    this.counts.splitLines++;
  }

  /** An unfinished last line was emitted without its newline (partial_line_timeout, or a flush). */
  partialLineFlushed(): void {
    this.counts.partialLines++;
  }

  /** Decoding replaced `count` invalid sequences with U+FFFD (once per decoded batch; may be 0). */
  charsReplaced(count: number): void {
    this.counts.replacedChars += count;
  }

  /** A removed file was given up (close_removed_after) or disappeared with `unreadBytes` not read. */
  fileAbandoned(unreadBytes: number): void {
    this.counts.bytesAbandoned += unreadBytes;
  }

  /** A read or an open failed (retried). */
  readFailed(): void {
    this.counts.readErrors++;
  }

  /** The handle pool holds `count` handles now (open, being opened or being closed). */
  openFilesNow(count: number): void {
    this.counts.filesOpen = count;
  }

  /** The reader group follows `count` files now. */
  followedFilesNow(count: number): void {
    this.counts.filesFollowed = count;
  }
}

/** What a file's line pipeline counts (framer and decoder). */
export type LineCounters = Pick<TailerCounters, 'lineSplit' | 'partialLineFlushed' | 'charsReplaced'>;
/** What a reader and its batch emitter count: reads, batches, and their line pipeline's counts. */
export type ReaderCounters = Pick<TailerCounters, 'chunkRead' | 'batchEmitted'> & LineCounters;
/** What the tailer's events count (see LoggedTailerEvents). */
export type EventCounters = Pick<TailerCounters, 'fileRotated' | 'fileTruncated' | 'fileAbandoned' | 'readFailed'>;

/** An object with a getter (and no setter) for each property of `counts`, frozen. */
function readOnlyView(counts: Counts): TailerStats {
  const view = {};
  for (const name of Object.keys(counts) as Array<keyof Counts>) Object.defineProperty(view, name, { enumerable: true, get: () => counts[name] });
  return Object.freeze(view) as TailerStats;
}

function sumOf(counts: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}
