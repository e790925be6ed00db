// FileRoute: everything the shipper derives once per followed file rather than once per line:
// the rendered topic and key, the static parts of headers and of the JSON envelope. Record
// values of a batch are bounds into one buffer: the read chunk itself for raw lines (no
// allocation per line), one packed buffer per batch for transformed values.

import type { InputConfig } from '../config/types.js';
import { compileTemplate, fileVars, renderTopic, type Template } from '../config/templates.js';
import type { SourceFile } from '../core/file.js';
import type { LineBatch } from '../core/batch.js';

import { jsonEnvelopes, type HeaderSpec } from './native-producer.js';

/**
 * The values of a batch's records: (start, length) pairs in `bounds`, record i at
 * bounds[2i], into `data` (an ArrayBuffer shared by the lines, or one packed Buffer).
 */
export interface RecordValues {
  data: ArrayBufferLike | Uint8Array;
  bounds: Uint32Array;
  /**
   * `data` is the shared envelope scratch buffer, overwritten by the next batch: valid until
   * then only (librdkafka copies values at produce time; keep() it for longer).
   */
  scratch: boolean;
}

/** Values that stay valid however many batches are built after them. */
export function keep(values: RecordValues): RecordValues {
  if (!values.scratch) return values;
  let end = 0;
  for (let i = 1; i < values.bounds.length; i += 2) end = Math.max(end, values.bounds[i - 1]! + values.bounds[i]!);
  const bytes = values.data instanceof Uint8Array ? values.data : new Uint8Array(values.data);
  return { data: Buffer.from(bytes.subarray(0, end)), bounds: values.bounds, scratch: false };
}

/** Envelopes of one batch after another are built here (grown when a batch needs more). */
let envelopeScratch: Buffer | null = null;

/**
 * Raw lines as they are. Lines of one batch are subarrays of one read chunk: their bounds
 * are taken in its backing store. Lines that do not share one (decoded, joined multiline
 * events) are packed into one buffer.
 */
export function rawValues(lines: readonly Buffer[]): RecordValues {
  const n = lines.length;
  const bounds = new Uint32Array(2 * n);
  const store = n > 0 ? lines[0]!.buffer : new ArrayBuffer(0);
  let shared = true;
  for (let i = 0; i < n; i++) {
    const line = lines[i]!;
    if (line.buffer !== store) {
      shared = false;
      break;
    }
    bounds[2 * i] = line.byteOffset;
    bounds[2 * i + 1] = line.length;
  }
  if (shared) return { data: store, bounds, scratch: false };
  let total = 0;
  for (const line of lines) total += line.length;
  const packed = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const line = lines[i]!;
    line.copy(packed, pos);
    bounds[2 * i] = pos;
    bounds[2 * i + 1] = line.length;
    pos += line.length;
  }
  return { data: packed, bounds, scratch: false };
}

const MESSAGE_MEMBER = Buffer.from(',"message":');

/** Each record's start offset in its file (the `offset` header, the envelope's `offset`). */
export function lineStartOffsets(batch: LineBatch): Float64Array {
  const n = batch.lines.length;
  const out = new Float64Array(n);
  out[0] = batch.startOffset;
  for (let i = 1; i < n; i++) out[i] = batch.ends[i - 1]!;
  return out;
}

/** Compiled templates of one input, shared by all its files. */
export interface InputRoutePlan {
  input: InputConfig;
  topic: Template;
  key: Template | null;
}

export function planInput(input: InputConfig): InputRoutePlan {
  return { input, topic: compileTemplate(input.topic, 'topic'), key: input.key === null ? null : compileTemplate(input.key, 'key') };
}

export class FileRoute {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly input: InputConfig;
  /** ms since epoch of the last batch shipped; idle routes are dropped and rebuilt on demand. */
  lastUsed = 0;
  /** Consecutive failed attempts of this file's oldest failing ticket (for backoff and logs). */
  failures = 0;
  lastErrorLogAt = 0;
  /** host and path as static headers, then the name of the per-record offset header. */
  private readonly headerSpec: HeaderSpec;
  private readonly jsonHead: string;
  private readonly jsonTail: Buffer;

  constructor(
    readonly source: SourceFile,
    plan: InputRoutePlan,
    readonly host: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.input = plan.input;
    const vars = { input: source.input, host, file: fileVars(source.path), env };
    this.topic = renderTopic(plan.topic, vars);
    this.key = plan.key === null ? null : Buffer.from(plan.key.render(vars));
    this.headerSpec = ['host', Buffer.from(host), 'path', Buffer.from(source.path), 'offset'];
    // The envelope's static members are serialised once; per line only the timestamp,
    // offset and message are added. Configured fields never replace the envelope's own.
    const reserved = new Set(['@timestamp', 'host', 'input', 'path', 'offset', 'message']);
    const extra = Object.entries(this.input.fields).filter(([k]) => !reserved.has(k));
    this.jsonHead = `,"host":${JSON.stringify(host)},"input":${JSON.stringify(source.input)},"path":${JSON.stringify(source.path)},"offset":`;
    this.jsonTail = Buffer.from(extra.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('') + '}');
  }

  /** The record values of a batch (json: in the shared scratch buffer, see RecordValues). */
  values(batch: LineBatch, timestampIso: string): RecordValues {
    const raw = rawValues(batch.lines);
    if (this.input.format === 'raw') return raw;
    // The envelope per line is built natively into one buffer: only the timestamp (per batch),
    // the offset and the escaped message vary.
    const n = batch.lines.length;
    const bounds = new Uint32Array(2 * n);
    const head = Buffer.from(`{"@timestamp":"${timestampIso}"${this.jsonHead}`);
    envelopeScratch = jsonEnvelopes(raw.data, raw.bounds, n, lineStartOffsets(batch), head, MESSAGE_MEMBER, this.jsonTail, bounds, envelopeScratch);
    return { data: envelopeScratch, bounds, scratch: true };
  }

  /**
   * The value record `index` of a batch has (a copy): the line, or its envelope built again
   * with `timestampIso`. For the rare record that needs it after produce (a dead letter).
   */
  valueOf(batch: LineBatch, index: number, timestampIso: string): Buffer {
    const line = batch.lines[index]!;
    if (this.input.format === 'raw') return Buffer.from(line);
    const start = index === 0 ? batch.startOffset : batch.ends[index - 1]!;
    const one: LineBatch = { ...batch, lines: [line], startOffset: start, ends: [batch.ends[index]!], flags: [] };
    const v = this.values(one, timestampIso);
    const bytes = v.data instanceof Uint8Array ? v.data : new Uint8Array(v.data);
    return Buffer.from(bytes.subarray(v.bounds[0]!, v.bounds[0]! + v.bounds[1]!));
  }

  /** Record headers (host, path, then each record's offset), or null when the input has none. */
  headers(): HeaderSpec | null {
    return this.input.headers ? this.headerSpec : null;
  }
}
