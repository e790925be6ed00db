// A reader's line pipeline: framer (bytes -> lines at newlines, max_line_bytes), container log
// parser (`parser: cri | docker | auto`: the runtime's wrapper removed, P/F and Docker 16 KiB
// pieces joined), decoder (the input's encoding -> UTF-8, invalid sequences replaced),
// multiline joiner, line filters (include_lines / exclude_lines) and JSON fields for routing
// (`parse: json`), in that order. Bytes in, lines out (with their end offsets); what is held
// back — an unfinished last line, runtime pieces or a multiline event still open — leaves on a
// flush or after its timeout. No I/O here: the reader turns what comes out into LineBatches.
//
// The stages after the framer exist only when configured: an input with no parser, no filter
// and no parse runs framer -> decoder (-> joiner) exactly as before, with no per-line column.
// With any of them, each record also carries its start offset, and with a parser its stream
// and runtime time (LineBatch.details); `through` tells how far a batch moves the offset when
// filters dropped lines after its last record (or all of them).

import { LineFlag, type ChunkHold, type LineDetails } from '../core/batch.js';
import type { InputConfig } from '../config/types.js';
import { ContainerLogParser } from '../lines/container-log.js';
import { emptyEvents, type ContainerEvents, type LogStream } from '../lines/events.js';
import { LineFilter, LineFilterRules } from '../lines/filter.js';
import { JsonFieldExtractor, jsonPathsOfInput, keyOnlyJsonPath } from '../lines/json-fields.js';
import { lineCountersOf, type InputLineCounters } from '../lines/stats.js';
import type { ChunkPool, ReadChunk } from './chunk-pool.js';
import { createDecoder, type LineDecoder } from './decoder.js';
import { emptyLines, framedData, type FramedLines, LineFramer } from './framer.js';
import { MultilineJoiner } from './multiline.js';
import type { LineCounters } from './counters.js';

/**
 * Lines out of the pipeline, as a LineBatch carries them: line i is
 * data[bounds[2i], bounds[2i] + bounds[2i+1]) — raw lines are bounds into the read, rewritten
 * ones (decoded, joined, unwrapped) packed into one buffer —, plus what the configured stages add.
 */
export interface PipelineLines {
  data: Buffer;
  bounds: Uint32Array;
  ends: number[];
  flags: (LineFlag | undefined)[];
  /** Per-record columns (see LineBatch.details); absent when no stage after the framer is configured. */
  details?: LineDetails;
  /**
   * The offset this output moves the file to, when it is not its last line's end: filters
   * dropped lines after it (or every line: then there is no line, only this).
   */
  through?: number;
  /** A hold on the pooled read chunk `data` views, for the batch made of these lines (see LineBatch.chunk). */
  chunk?: ChunkHold;
}

/** A pooled chunk a stage still has views of after its push, and the pipeline's hold on it. */
interface KeptChunk {
  chunk: ReadChunk;
  hold: ChunkHold;
}

/**
 * Events between the stages: lines (bounds into their parts, with ends and flags) and their
 * columns (streams and times only with a parser).
 */
interface Columns {
  lines: FramedLines;
  starts: number[];
  streams: (LogStream | null)[] | null;
  times: (string | null)[] | null;
}

interface QueuedColumns {
  starts: number[];
  ends: number[];
  streams: (LogStream | null)[];
  times: (string | null)[];
}

function noQueuedColumns(): QueuedColumns {
  return { starts: [], ends: [], streams: [], times: [] };
}

/**
 * Carries starts, streams and times of container events through the multiline joiner, which
 * knows only lines and ends: it is fed sequence numbers as ends, and each event it emits is the
 * run of queued events up to the one its "end" names.
 */
class JoinerColumns {
  private next = 0;
  private base = 0;
  private queued: QueuedColumns = noQueuedColumns();

  /** Queues `events`; returns them with sequence numbers as ends (for the joiner). */
  enqueue(events: Columns): FramedLines {
    const { lines } = events;
    const ends: number[] = [];
    for (let i = 0; i < lines.ends.length; i++) {
      ends.push(this.next++);
      this.queued.starts.push(events.starts[i]!);
      this.queued.ends.push(lines.ends[i]!);
      this.queued.streams.push(events.streams?.[i] ?? null);
      this.queued.times.push(events.times?.[i] ?? null);
    }
    return { ...lines, ends };
  }

  /** The joiner's output, with real ends and the first joined event's start, stream and time. */
  resolve(joined: FramedLines): Columns {
    const out: Columns = { lines: { ...joined, ends: [] }, starts: [], streams: [], times: [] };
    const q = this.queued;
    let used = 0;
    for (let j = 0; j < joined.ends.length; j++) {
      const last = joined.ends[j]! - this.base;
      out.starts.push(q.starts[used]!);
      out.streams!.push(q.streams[used]!);
      out.times!.push(q.times[used]!);
      out.lines.ends.push(q.ends[last]!);
      used = last + 1;
    }
    if (used > 0) {
      this.base += used;
      this.queued = { starts: q.starts.slice(used), ends: q.ends.slice(used), streams: q.streams.slice(used), times: q.times.slice(used) };
    }
    return out;
  }

  reset(): void {
    this.base = this.next;
    this.queued = noQueuedColumns();
  }
}

export class LinePipeline {
  private readonly decoder: LineDecoder;
  private readonly framer: LineFramer;
  private readonly joiner: MultilineJoiner | null;
  private readonly parser: ContainerLogParser | null;
  private readonly filter: LineFilter | null;
  private readonly json: JsonFieldExtractor | null;
  /** A key's one {json.*} field, passed to the shipper as bounds (see keyOnlyJsonPath), or null. */
  private readonly keyPath: string | null;
  /** A stage after the framer is configured: records carry details. */
  private readonly detailed: boolean;
  private readonly lineCounters: InputLineCounters;
  private readonly joinerColumns: JoinerColumns | null;
  /** Events keep the runtime's time (format: json). */
  private readonly withTimes: boolean;
  /** End of the last record out before filtering: where the next one starts (no parser). */
  private lastEnd = 0;
  /** The next line out starts at offset 0 (a BOM there is dropped). */
  private atFileStart = false;
  /** Chunks of earlier reads the container parser still has views of (held until it has none). */
  private kept: KeptChunk[] = [];

  /**
   * @param chunks where reads are framed into (pooled chunks, released when their batches are
   *   done); null: a fresh buffer per read, freed by V8.
   */
  constructor(
    private readonly input: InputConfig,
    private readonly counters: LineCounters,
    private readonly chunks: ChunkPool | null = null,
  ) {
    this.decoder = createDecoder(input.encoding);
    this.framer = new LineFramer(this.decoder, input.max_line_bytes, counters);
    this.joiner = input.multiline === null ? null : new MultilineJoiner(input.multiline, input.max_line_bytes);
    this.lineCounters = lineCountersOf(input.id);
    // The runtime's time is the json envelope's @timestamp; raw records have no use for it.
    this.withTimes = input.format === 'json';
    this.parser = input.parser === 'none' ? null : new ContainerLogParser(input.parser, { maxEventBytes: input.max_line_bytes, position: 0, times: this.withTimes }, this.lineCounters);
    const rules = LineFilterRules.forInput(input);
    this.filter = rules === null ? null : new LineFilter(rules);
    const paths = input.parse === 'json' ? jsonPathsOfInput(input) : [];
    this.json = paths.length === 0 ? null : new JsonFieldExtractor(paths, this.lineCounters);
    this.keyPath = paths.length === 0 ? null : keyOnlyJsonPath(input);
    this.detailed = this.parser !== null || this.filter !== null || this.json !== null;
    this.joinerColumns = this.parser !== null && this.joiner !== null ? new JoinerColumns() : null;
  }

  /** Next byte to frame (bytes before it are out, or held as an unfinished line or event). */
  get position(): number {
    return this.framer.position;
  }

  /** Continue at `position` (start, truncation): nothing held back. */
  reset(position: number): void {
    this.releaseKept(true);
    this.framer.reset(position);
    this.joiner?.reset();
    this.parser?.reset(position);
    this.joinerColumns?.reset();
    this.lastEnd = position;
    this.atFileStart = position === 0;
  }

  /** The lines `chunk` (the bytes at `position`) completes, decoded and joined; empty when none. */
  push(chunk: Buffer): PipelineLines {
    const framed = emptyLines();
    if (this.chunks === null || chunk.length === 0) {
      this.framer.push(chunk, framed);
      return this.finish(framed);
    }
    // The read goes into a pooled chunk; this push holds it until its lines are out: the batch
    // made of them takes its own hold, a stage keeping views of it another.
    const taken = this.chunks.take(this.framer.pendingBytes + chunk.length);
    this.framer.push(chunk, framed, taken.bytes);
    const out = this.finish(framed);
    this.holdData(out, taken.chunk);
    if (taken.chunk !== null && this.parser?.viewsMemory(taken.chunk.bytes.buffer) === true) this.kept.push({ chunk: taken.chunk, hold: taken.hold! });
    else taken.hold?.release();
    this.releaseKept(false);
    return out;
  }

  /** `out.chunk`: a hold on the chunk `out.data` views (this push's, or one a stage kept), if any. */
  private holdData(out: PipelineLines, current: ReadChunk | null): void {
    if (out.ends.length === 0 && out.through === undefined) return;
    if (current !== null && current.holdsView(out.data)) {
      out.chunk = current.hold();
      return;
    }
    for (const k of this.kept) {
      if (k.chunk.holdsView(out.data)) {
        out.chunk = k.chunk.hold();
        return;
      }
    }
  }

  /** Lets go of the kept chunks the parser no longer has views of (every one when `all`: a reset). */
  private releaseKept(all: boolean): void {
    if (this.kept.length === 0) return;
    const parser = this.parser;
    const still: KeptChunk[] = [];
    for (const k of this.kept) {
      if (!all && parser !== null && parser.viewsMemory(k.chunk.bytes.buffer)) still.push(k);
      else k.hold.release();
    }
    this.kept = still;
  }

  /**
   * What is held back: the unfinished last line (flagged Partial) when `partial`, then the
   * runtime pieces still being joined and the open multiline event. In emission order; empty
   * ones left out.
   */
  flush(partial: boolean): PipelineLines[] {
    const out: PipelineLines[] = [];
    const framed = emptyLines();
    if (partial && this.framer.flushPartial(framed)) out.push(this.finish(framed));
    if (this.parser !== null) {
      const events = emptyEvents();
      if (this.parser.flush(events)) out.push(this.afterParser(events));
    }
    const events = emptyLines();
    if (this.joiner?.flush(events) === true) out.push(this.detailed ? this.afterJoiner(events) : outputOf(events));
    return this.heldOutputs(out);
  }

  /** Outputs of a flush: the empty ones left out, the others holding the kept chunk they view (if any). */
  private heldOutputs(out: PipelineLines[]): PipelineLines[] {
    const kept = out.filter((lines) => lines.ends.length > 0 || lines.through !== undefined);
    for (const lines of kept) this.holdData(lines, null);
    this.releaseKept(false);
    return kept;
  }

  /** partial_line_timeout / multiline.timeout: what waited that long (`quietFor` ms without growth). */
  flushQuiet(quietFor: number): PipelineLines[] {
    const out: PipelineLines[] = [];
    const partialTimeout = this.input.partial_line_timeout;
    if (partialTimeout > 0 && this.framer.pendingBytes > 0 && quietFor >= partialTimeout) {
      const framed = emptyLines();
      this.framer.flushPartial(framed);
      out.push(this.finish(framed));
    }
    const multiline = this.input.multiline;
    if (multiline !== null && this.joiner?.hasPending === true && quietFor >= multiline.timeout) {
      const events = emptyLines();
      this.joiner.flush(events);
      out.push(this.detailed ? this.afterJoiner(events) : outputOf(events));
    }
    return this.heldOutputs(out);
  }

  /** After how much quiet something held back is due (ms), or null when nothing waits for a timeout. */
  get quietDeadline(): number | null {
    let delay = Infinity;
    if (this.input.partial_line_timeout > 0 && this.framer.pendingBytes > 0) delay = this.input.partial_line_timeout;
    if (this.input.multiline !== null && this.joiner?.hasPending === true) delay = Math.min(delay, this.input.multiline.timeout);
    return delay === Infinity ? null : delay;
  }

  /** Runs framed lines through the stages after the framer. */
  private finish(framed: FramedLines): PipelineLines {
    if (framed.ends.length === 0) return noLines();
    if (!this.detailed) {
      // The raw path, as it always was: decode, then join.
      this.counters.charsReplaced(this.decoder.decode(framed, 0, this.atFileStart));
      this.atFileStart = false;
      if (this.joiner === null) return outputOf(framed);
      const events = emptyLines();
      this.joiner.push(framed, events);
      return outputOf(events);
    }
    if (this.parser === null) {
      this.counters.charsReplaced(this.decoder.decode(framed, 0, this.atFileStart));
      this.atFileStart = false;
      if (this.joiner === null) return this.afterJoiner(framed);
      const events = emptyLines();
      this.joiner.push(framed, events);
      return this.afterJoiner(events);
    }
    const events = emptyEvents();
    this.parser.push(framed, events);
    return this.afterParser(events);
  }

  /** Container events: decoded (the runtime's pieces are whole again), joined, filtered. */
  private afterParser(events: ContainerEvents): PipelineLines {
    this.atFileStart = false;
    if (events.ends.length === 0) return noLines();
    // The parser's events are bounds into the read, or parts of their own (joined pieces):
    // FramedLines as they are. Container logs are UTF-8 and carry no BOM; the check replaces
    // what is invalid — the read and the parser's made events at once when they hold every event.
    const lines: FramedLines = { parts: events.parts, size: events.size, bounds: events.bounds, ends: events.ends, flags: events.flags as FramedLines['flags'] };
    if (events.whole !== null && events.made !== null) {
      // No view of the read (only made events): nothing of it to check.
      lines.whole = events.whole ?? NO_BYTES;
      if (events.made !== undefined) lines.made = events.made;
    }
    this.counters.charsReplaced(this.decoder.decode(lines, 0, false));
    const columns: Columns = { lines, starts: events.starts, streams: events.streams, times: events.times };
    if (this.joiner === null) return this.filtered(columns);
    const joined = emptyLines();
    this.joiner.push(this.joinerColumns!.enqueue(columns), joined);
    return this.filtered(this.joinerColumns!.resolve(joined));
  }

  /** Lines out of the decoder or joiner without a parser: their starts follow from their ends. */
  private afterJoiner(events: FramedLines): PipelineLines {
    if (this.joinerColumns !== null) return this.filtered(this.joinerColumns.resolve(events));
    const starts: number[] = new Array<number>(events.ends.length);
    let start = this.lastEnd;
    for (let i = 0; i < events.ends.length; i++) {
      starts[i] = start;
      start = events.ends[i]!;
    }
    return this.filtered({ lines: events, starts, streams: null, times: null });
  }

  /** Drops what the filters reject (the offset still moves past it), then extracts JSON fields. */
  private filtered(events: Columns): PipelineLines {
    const { lines, starts, streams, times } = events;
    const { ends, flags, bounds } = lines;
    const n = ends.length;
    if (n === 0) return noLines();
    const through = ends[n - 1]!;
    this.lastEnd = through;
    // One buffer for the batch: the read itself, or the parts packed (events rewritten).
    const data = framedData(lines);
    if (this.filter !== null) {
      const columns: unknown[][] = [ends, starts];
      if (streams !== null) columns.push(streams);
      if (times !== null) columns.push(times);
      this.filter.apply(data, bounds, flags, columns, this.lineCounters);
    }
    const kept = new Uint32Array(bounds);
    const fields = this.json === null ? null : this.json.extractWithBounds(data, kept, this.keyPath);
    const details: LineDetails = { starts, streams, times: this.withTimes ? times : null, json: fields?.json ?? null, jsonPaths: this.json?.paths ?? null, jsonBounds: fields?.jsonBounds ?? null, jsonIndex: fields?.jsonIndex ?? null };
    const out: PipelineLines = { data, bounds: kept, ends, flags, details };
    if (ends.length === 0 || ends[ends.length - 1] !== through) out.through = through;
    return out;
  }
}

/** The pipeline's output of framed lines: their parts as one buffer, their bounds as the batch carries them. */
function outputOf(framed: FramedLines): PipelineLines {
  return { data: framedData(framed), bounds: new Uint32Array(framed.bounds), ends: framed.ends, flags: framed.flags };
}

const NO_BYTES = Buffer.alloc(0);

function noLines(): PipelineLines {
  return { data: NO_BYTES, bounds: new Uint32Array(0), ends: [], flags: [] };
}
