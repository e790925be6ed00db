// `logship tap -c FILE [--input ID] [--from-beginning] [-n N]`: the records the agent would
// produce for the files its inputs match right now — topic, partition key, headers, value —
// after every parser and filter, one JSON object per line on stdout, following new lines until
// interrupted. No Kafka, no registry: what an operator runs to check a config before deploying.
//
// It runs the agent's own stages: Discovery (globs, excludes, symlinks), the reader's
// LinePipeline (framing, container parser, decoding, multiline, filters, JSON fields) and the
// shipper's FileRoute (topic and key templates, headers, json envelope). Only the reading is its
// own: a poll every TAP_POLL_MS of each file's descriptor, which is all a diagnostic needs.
// Files there at start begin at their end (--from-beginning: at 0); files found later, and a
// file's next generation after a rotation, from 0. A compressed file is skipped, like the agent
// skips compressed rotations.

import { open, type FileHandle } from 'node:fs/promises';
import pino from 'pino';
import type { LineBatch } from '../core/batch.js';
import { identityKey, identityOf } from '../core/file.js';
import type { AgentConfig, InputConfig } from '../config/types.js';
import { FileRoute, planInput, recordStart } from '../shipper/route.js';
import type { HeaderSpec } from '../shipper/native-producer.js';
import { Discovery } from '../tailer/discovery.js';
import { LinePipeline, type PipelineLines } from '../tailer/line-pipeline.js';
import { isCompressedHead } from '../tailer/rotation.js';
import { TailerCounters } from '../tailer/counters.js';

export const TAP_POLL_MS = 200;
const SCAN_EVERY_MS = 1_000;
const READ_BYTES = 256 * 1024;

export interface TapOptions {
  config: AgentConfig;
  /** Only this input (checked by the caller). */
  input: string | null;
  fromBeginning: boolean;
  /** Stop after this many records (null: follow until aborted). */
  limit: number | null;
  write: (line: string) => void;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** One record as tap prints it. */
export interface TappedRecord {
  topic: string;
  key: string | null;
  headers: Record<string, string> | null;
  value: string;
}

/** A file being tapped: its descriptor, where it stands, its stages and route. */
class TappedFile {
  position: number;
  private readonly lines: LinePipeline;
  private readonly route: FileRoute;
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
  /** Another file took its path: read to the end, flush, close. */
  rotated = false;

  constructor(
    readonly path: string,
    readonly identity: string,
    private readonly handle: FileHandle,
    input: InputConfig,
    route: FileRoute,
    start: number,
  ) {
    this.lines = new LinePipeline(input, new TailerCounters());
    this.lines.reset(start);
    this.position = start;
    this.route = route;
  }

  /** Reads what was appended and returns the records it completes (all held back too, once rotated). */
  async poll(): Promise<TappedRecord[]> {
    const records: TappedRecord[] = [];
    const { size } = await this.handle.stat();
    if (size < this.position) {
      // Truncated (copytruncate): read again from 0, like the agent.
      this.lines.reset(0);
      this.position = 0;
    }
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.position);
      if (bytesRead === 0) break;
      const chunk = Buffer.from(this.buffer.subarray(0, bytesRead));
      const start = this.position;
      this.position += bytesRead;
      records.push(...this.records(this.lines.push(chunk), start));
      if (bytesRead < this.buffer.length) break;
    }
    if (this.rotated) for (const out of this.lines.flush(true)) records.push(...this.records(out, this.position));
    return records;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private records(out: PipelineLines, startOffset: number): TappedRecord[] {
    const n = out.ends.length;
    if (n === 0) return [];
    const batch: LineBatch = {
      source: this.route.source,
      epoch: 0,
      data: out.data,
      bounds: out.bounds,
      startOffset: out.details?.starts[0] ?? startOffset,
      ends: out.ends,
      flags: out.flags,
      endOffset: out.through ?? out.ends[n - 1]!,
      marker: { len: 0, hash: '' },
      fingerprint: { len: 0, hash: '' },
      details: out.details,
    };
    const now = new Date().toISOString();
    const records: TappedRecord[] = [];
    for (let i = 0; i < n; i++) {
      const key = this.route.keyOf(batch, i);
      records.push({
        topic: this.route.topicOf(batch, i),
        key: key === null ? null : key.toString('utf8'),
        headers: headerObject(this.route.runFrom(batch, i).headers, recordStart(batch, i), i),
        value: this.route.valueOf(batch, i, now).toString('utf8'),
      });
    }
    return records;
  }
}

/** The headers of record `index` (a per-record value is the record's own). */
function headerObject(spec: HeaderSpec | null, offset: number, index: number): Record<string, string> | null {
  if (spec === null) return null;
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const value = spec[i + 1]!;
    const bytes = Array.isArray(value) ? value[0].subarray(value[1][2 * index]!, value[1][2 * index]! + value[1][2 * index + 1]!) : value;
    headers[String(spec[i])] = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  }
  if (spec.length % 2 === 1) headers[String(spec[spec.length - 1])] = String(offset);
  return headers;
}

/** Taps until `limit` records were printed or the signal aborts. Resolves with the number printed. */
export async function runTap(opts: TapOptions): Promise<number> {
  const inputs = opts.config.inputs.filter((input) => opts.input === null || input.id === opts.input);
  const plans = new Map(inputs.map((input) => [input.id, planInput(input)]));
  const env = opts.env ?? process.env;
  const discovery = new Discovery({
    inputs,
    log: pino({ level: 'silent' }),
    onPathEvent: () => undefined,
    onPathModified: () => undefined,
    now: Date.now,
  });
  const files = new Map<string, TappedFile>();
  /** Identities seen (skipped compressed ones too), so a file is tapped once. */
  const seen = new Set<string>();
  let printed = 0;
  let first = true;
  let lastScan = -Infinity;
  const done = (): boolean => opts.signal.aborted || (opts.limit !== null && printed >= opts.limit);
  try {
    while (!done()) {
      if (Date.now() - lastScan >= SCAN_EVERY_MS) {
        lastScan = Date.now();
        const scan = await discovery.scan();
        const live = new Map<string, string>();
        for (const [path, observation] of scan.files) {
          const id = identityKey(identityOf(observation.stat));
          live.set(path, id);
          if (seen.has(id)) continue;
          seen.add(id);
          const handle = await open(path, 'r').catch(() => null);
          if (handle === null) continue;
          const head = Buffer.alloc(8);
          await handle.read(head, 0, head.length, 0);
          if (isCompressedHead(head)) {
            await handle.close();
            continue;
          }
          const plan = plans.get(observation.input.id)!;
          const route = new FileRoute({ key: id, identity: identityOf(observation.stat), input: observation.input.id, path }, plan, opts.config.agent.name, env);
          const start = first && !opts.fromBeginning ? observation.stat.size : 0;
          files.set(id, new TappedFile(path, id, handle, observation.input, route, start));
        }
        for (const file of files.values()) if (live.get(file.path) !== file.identity) file.rotated = true;
        first = false;
      }
      for (const file of [...files.values()]) {
        for (const record of await file.poll()) {
          if (done()) break;
          opts.write(JSON.stringify(record));
          printed++;
        }
        if (file.rotated) {
          files.delete(file.identity);
          await file.close();
        }
        if (done()) break;
      }
      if (!done()) await sleep(TAP_POLL_MS, opts.signal);
    }
  } finally {
    discovery.close();
    await Promise.all([...files.values()].map((f) => f.close()));
  }
  return printed;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
