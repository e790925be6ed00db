// Proves by contents what reached Kafka: every line each writer wrote is counted in the records
// read back from its topic. A line never delivered is lost; a line delivered n times has n-1
// duplicates, and each duplicate copy is attributed: explained by a crash when a SIGKILL falls
// between the producing of the previous copy and of this one (the agent had shipped it but
// not yet persisted the offset, so the next life read it again); appended twice by the cluster
// when both copies carry the same producer timestamp (one produce call whose request librdkafka
// retried after a timeout: the agent shipped it once); unexplained otherwise.

import type { TimedRecord } from './kafka-readback.js';
import type { FileSegment } from './writer.js';

/** Clock slack between the agent's record timestamps and our kill times (same clock, ms ticks). */
const CLOCK_SLACK_MS = 5;
/** Examples kept per kind of problem: enough to diagnose, bounded for the report. */
const EXAMPLES = 20;

/** What the verifier needs to know about a writer. */
export interface WrittenLines {
  name: string;
  topic: string;
  written: number;
  writtenAt(seq: number): number;
  segmentOf(seq: number): FileSegment;
}

/** Consecutive lost lines of one writer. */
export interface LostRun {
  writer: string;
  first: number;
  last: number;
  /** When the first and the last of them were written. */
  writtenAt: number;
  lastWrittenAt: number;
  /** The file (inode) the first of them went into. */
  file: FileSegment;
}

export interface UnexplainedDuplicate {
  writer: string;
  seq: number;
  writtenAt: number;
  file: FileSegment;
  /** Every copy, oldest first. */
  copies: Array<{ partition: number; offset: number; timestamp: number }>;
}

export interface Verdict {
  written: number;
  /** Records read back that are lines of ours. */
  delivered: number;
  lost: number;
  lostRuns: LostRun[];
  /** Extra copies: delivered - distinct lines delivered. */
  duplicates: number;
  /** Extra copies with a SIGKILL between them and the copy before. */
  duplicatesExplainedByCrash: number;
  /** Among those, the longest time from producing the earlier copy to the kill, ms. */
  crashWindowMs: number;
  /** Extra copies with the same producer timestamp as the copy before: one produce, appended twice. */
  duplicatesByCluster: number;
  /** How many of the kills re-shipped anything. */
  killsWithDuplicates: number;
  unexplainedDuplicates: number;
  unexplainedExamples: UnexplainedDuplicate[];
  /** Records that are not a line written to their topic (garbage, cut lines, wrong topic). */
  foreign: number;
  foreignExamples: string[];
  /**
   * From a line's write to the producing of its first copy (the record's timestamp), over every
   * delivered line, ms: how far behind the agent ran, measured from the contents alone.
   */
  latency: { min: number; p50: number; p99: number; max: number; maxLine: string };
}

const LINE = /^(w\d+)-(\d+)$/;

interface Tally {
  lines: WrittenLines;
  counts: Uint16Array;
  /** Where and when each line's first copy was read: copies are dated only when duplicated. */
  firstTimestamp: Float64Array;
  firstPartition: Int32Array;
  firstOffset: Float64Array;
  /** The further copies of lines delivered more than once. */
  copies: Map<number, Array<{ partition: number; offset: number; timestamp: number }>>;
}

export function verify(writers: readonly WrittenLines[], recordsByTopic: ReadonlyMap<string, readonly TimedRecord[]>, killTimes: readonly number[]): Verdict {
  const tallies = new Map<string, Tally>(
    writers.map((lines) => [
      lines.name,
      {
        lines,
        counts: new Uint16Array(lines.written),
        firstTimestamp: new Float64Array(lines.written),
        firstPartition: new Int32Array(lines.written),
        firstOffset: new Float64Array(lines.written),
        copies: new Map(),
      },
    ]),
  );
  const verdict: Verdict = {
    written: writers.reduce((sum, w) => sum + w.written, 0),
    delivered: 0,
    lost: 0,
    lostRuns: [],
    duplicates: 0,
    duplicatesExplainedByCrash: 0,
    crashWindowMs: 0,
    duplicatesByCluster: 0,
    killsWithDuplicates: 0,
    unexplainedDuplicates: 0,
    unexplainedExamples: [],
    foreign: 0,
    foreignExamples: [],
    latency: { min: 0, p50: 0, p99: 0, max: 0, maxLine: '' },
  };
  const foreign = (topic: string, record: TimedRecord, why: string): void => {
    verdict.foreign++;
    if (verdict.foreignExamples.length < EXAMPLES) {
      verdict.foreignExamples.push(`${topic}[${record.partition}]@${record.offset}: ${why}: ${JSON.stringify(record.value.toString('latin1').slice(0, 80))}`);
    }
  };

  for (const [topic, records] of recordsByTopic) {
    for (const record of records) {
      const match = LINE.exec(record.value.toString('latin1'));
      const tally = match ? tallies.get(match[1]!) : undefined;
      const seq = match ? Number(match[2]) : -1;
      if (tally === undefined) {
        foreign(topic, record, 'not a line of the soak');
        continue;
      }
      if (tally.lines.topic !== topic) {
        foreign(topic, record, `belongs to topic ${tally.lines.topic}`);
        continue;
      }
      if (seq >= tally.lines.written) {
        foreign(topic, record, 'never written');
        continue;
      }
      verdict.delivered++;
      const copy = { partition: record.partition, offset: record.offset, timestamp: record.timestamp };
      if (tally.counts[seq] === 0) {
        tally.firstTimestamp[seq] = record.timestamp;
        tally.firstPartition[seq] = record.partition;
        tally.firstOffset[seq] = record.offset;
      } else {
        const copies = tally.copies.get(seq);
        if (copies === undefined) tally.copies.set(seq, [copy]);
        else copies.push(copy);
      }
      tally.counts[seq] = Math.min(65535, tally.counts[seq]! + 1);
    }
  }

  const killsUsed = new Set<number>();
  for (const tally of tallies.values()) {
    countLost(tally, verdict);
    for (const [seq, extra] of tally.copies) attributeCopies(tally, seq, extra, killTimes, killsUsed, verdict);
  }
  verdict.killsWithDuplicates = killsUsed.size;
  verdict.latency = latency([...tallies.values()]);
  return verdict;
}

function latency(tallies: readonly Tally[]): Verdict['latency'] {
  const delays: number[] = [];
  let max = -Infinity;
  let maxLine = '';
  for (const { lines, counts, firstTimestamp, copies } of tallies) {
    for (let seq = 0; seq < lines.written; seq++) {
      if (counts[seq] === 0) continue;
      const produced = Math.min(firstTimestamp[seq]!, ...(copies.get(seq)?.map((c) => c.timestamp) ?? []));
      const delay = produced - lines.writtenAt(seq);
      delays.push(delay);
      if (delay > max) {
        max = delay;
        maxLine = `${lines.name}-${seq}`;
      }
    }
  }
  if (delays.length === 0) return { min: 0, p50: 0, p99: 0, max: 0, maxLine: '' };
  delays.sort((a, b) => a - b);
  const at = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!;
  return { min: delays[0]!, p50: at(0.5), p99: at(0.99), max, maxLine };
}

function countLost(tally: Tally, verdict: Verdict): void {
  const { lines, counts } = tally;
  let runStart = -1;
  for (let seq = 0; seq <= lines.written; seq++) {
    const missing = seq < lines.written && counts[seq] === 0;
    if (missing) {
      verdict.lost++;
      if (runStart < 0) runStart = seq;
    } else if (runStart >= 0) {
      verdict.lostRuns.push({
        writer: lines.name,
        first: runStart,
        last: seq - 1,
        writtenAt: lines.writtenAt(runStart),
        lastWrittenAt: lines.writtenAt(seq - 1),
        file: lines.segmentOf(runStart),
      });
      runStart = -1;
    }
  }
}

function attributeCopies(
  tally: Tally,
  seq: number,
  extra: Array<{ partition: number; offset: number; timestamp: number }>,
  killTimes: readonly number[],
  killsUsed: Set<number>,
  verdict: Verdict,
): void {
  const firstCopy = { partition: tally.firstPartition[seq]!, offset: tally.firstOffset[seq]!, timestamp: tally.firstTimestamp[seq]! };
  const copies = [firstCopy, ...extra].sort((a, b) => a.timestamp - b.timestamp);
  let unexplained = false;
  for (let i = 1; i < copies.length; i++) {
    verdict.duplicates++;
    const earlier = copies[i - 1]!.timestamp;
    const later = copies[i]!.timestamp;
    if (earlier === later) {
      verdict.duplicatesByCluster++;
      continue;
    }
    const kill = killTimes.find((k) => k >= earlier - CLOCK_SLACK_MS && k <= later + CLOCK_SLACK_MS);
    if (kill === undefined) {
      unexplained = true;
      verdict.unexplainedDuplicates++;
      continue;
    }
    killsUsed.add(kill);
    verdict.duplicatesExplainedByCrash++;
    verdict.crashWindowMs = Math.max(verdict.crashWindowMs, kill - earlier);
  }
  if (unexplained && verdict.unexplainedExamples.length < EXAMPLES) {
    verdict.unexplainedExamples.push({ writer: tally.lines.name, seq, writtenAt: tally.lines.writtenAt(seq), file: tally.lines.segmentOf(seq), copies });
  }
}
