// FileRoute: everything the shipper derives once per followed file rather than once per line:
// the rendered topic and key, the static parts of headers and of the JSON envelope. Record
// values of a batch are bounds into one buffer: the read chunk itself for raw lines (no
// allocation per line), one packed buffer per batch for transformed values.

import { realpathSync } from 'node:fs';
import type { InputConfig } from '../config/types.js';
import { compileTemplate, fileVars, type BoundTemplate, type LineVars, type Template, type TemplateVars } from '../config/templates.js';
import type { SourceFile } from '../core/file.js';
import { lineOf, type LineBatch, type LineDetails } from '../core/batch.js';
import { utcTimestamp } from '../lines/container-formats.js';
import { jsonPathsOfInput, keyOnlyJsonPath } from '../lines/json-fields.js';
import { kubernetesMetadata, type KubernetesMetadata } from '../lines/kubernetes.js';

import { jsonEnvelopes, NO_KEY, type HeaderSpec, type RecordKeys } from './native-producer.js';

/**
 * The values of a batch's records: (start, length) pairs in `bounds`, record i at
 * bounds[2i], into `data` (raw: the batch's own bytes and bounds; json: one envelope buffer).
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

const MESSAGE_MEMBER = Buffer.from(',"message":');

/** Records of a batch: its ends (one per record). */
export function recordCount(batch: LineBatch): number {
  return batch.ends.length;
}

/** Record i's start offset in its file (its `offset` header, the envelope's `offset`). */
export function recordStart(batch: LineBatch, i: number): number {
  const starts = batch.details?.starts;
  if (starts !== undefined) return starts[i]!;
  return i === 0 ? batch.startOffset : batch.ends[i - 1]!;
}

/** Each record's start offset in its file (the `offset` header, the envelope's `offset`). */
export function lineStartOffsets(batch: LineBatch): Float64Array {
  const starts = batch.details?.starts;
  if (starts !== undefined) return Float64Array.from(starts);
  const n = recordCount(batch);
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
  /** The `headers` map's templates, in order. */
  headers: ReadonlyArray<{ name: string; template: Template }>;
  /** The {json.*} paths of topic, key and headers, in the order the line pipeline extracts them. */
  jsonPaths: readonly string[];
}

export function planInput(input: InputConfig): InputRoutePlan {
  const headers = (input.header_templates ?? []).map((h) => ({ name: h.name, template: compileTemplate(h.template, 'header') }));
  return { input, topic: compileTemplate(input.topic, 'topic'), key: input.key === null ? null : compileTemplate(input.key, 'key'), headers, jsonPaths: jsonPathsOfInput(input) };
}

/**
 * Records of a batch that carry the same headers: one produce call each (topics and keys may
 * differ per record within it). One run per batch unless stream headers change.
 */
export interface RecordRun {
  /** Index after the run's last record. */
  end: number;
  headers: HeaderSpec | null;
}

/** The Kubernetes metadata of a followed file: a /var/log/containers link's target adds the pod uid. */
export function kubernetesOfFile(filePath: string): KubernetesMetadata | null {
  const own = kubernetesMetadata(filePath);
  if (own === null || own.layout === 'pods') return own;
  let target: string | null = null;
  try {
    target = realpathSync(filePath);
  } catch {
    // The container is gone and its link with it: the name still says what it can.
  }
  return kubernetesMetadata(filePath, target);
}

const NO_LINE: LineVars = { stream: null, json: null };

export class FileRoute {
  /** The file's topic; with line variables, as rendered for a line lacking them (defaults). */
  readonly topic: string;
  /** The file's key, likewise. */
  readonly key: Buffer | null;
  readonly input: InputConfig;
  /** ms since epoch of the last batch shipped; idle routes are dropped and rebuilt on demand. */
  lastUsed = 0;
  /** Consecutive failed attempts of this file's oldest failing ticket (for backoff and logs). */
  failures = 0;
  lastErrorLogAt = 0;
  /** Kubernetes metadata of the file's path (null: not a Kubernetes path). */
  readonly kubernetes: KubernetesMetadata | null;
  private readonly boundTopic: BoundTemplate;
  /** The {json.*} paths the templates are bound with. */
  private readonly jsonPaths: readonly string[];
  private readonly boundKey: BoundTemplate | null;
  /** Topic, key or a header template depend on the line: rendered per record. */
  private readonly perLine: boolean;
  /** Headers of the `headers` map that are the same for every record of the file. */
  private readonly constantHeaders: HeaderSpec;
  /** Headers of the `headers` map rendered per record. */
  private readonly lineHeaders: ReadonlyArray<{ name: string; bound: BoundTemplate }>;
  /** Headers: host, path (and k8s.*), optionally stream, then the name of the per-record offset header. */
  private readonly headerSpecs: { none: HeaderSpec; stdout: HeaderSpec; stderr: HeaderSpec };
  private readonly streamHeaders: boolean;
  private readonly jsonHead: string;
  private readonly jsonTail: Buffer;
  /** The batch whose records' topics and keys were rendered last (runs are asked for again on queue-full). */
  private rendered: RenderedRecords | null = null;
  /**
   * When the topic depends on one JSON field and nothing else of the line: its topic by that
   * field's value (the extractor hands equal values as one string, so this is one lookup per
   * record instead of a render and a lookup of the rendered text). Index of the field, or -1.
   */
  private readonly topicField: number;
  private readonly topicByValue = new Map<string | undefined, string>();
  /**
   * The key is exactly this one {json.*} field (see keyOnlyJsonPath): where the line pipeline
   * passed its values as bounds into the batch's bytes, the keys are those bytes, with no
   * string per record. Null otherwise.
   */
  private readonly keyPath: string | null;
  /** Records of a batch whose acknowledgements were counted per topic already. */
  private readonly ackCounted = new WeakMap<LineBatch, number>();

  constructor(
    readonly source: SourceFile,
    plan: InputRoutePlan,
    readonly host: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.input = plan.input;
    const usesKubernetes = plan.topic.usesKubernetes || plan.key?.usesKubernetes === true || plan.headers.some((h) => h.template.usesKubernetes);
    // Looked up when something uses it: the metadata costs a realpath for a containers link.
    this.kubernetes = usesKubernetes || this.input.headers || this.input.format === 'json' ? kubernetesOfFile(source.path) : null;
    const vars: TemplateVars = { input: source.input, host, file: fileVars(source.path), env, k8s: this.kubernetes };
    this.jsonPaths = plan.jsonPaths;
    this.boundTopic = plan.topic.bind(vars, plan.jsonPaths);
    this.boundKey = plan.key === null ? null : plan.key.bind(vars, plan.jsonPaths);
    this.topic = this.boundTopic.renderTopic(NO_LINE);
    this.key = this.boundKey === null ? null : Buffer.from(this.boundKey.render(NO_LINE));
    this.streamHeaders = this.input.headers && this.input.parser !== 'none';
    const headers = plan.headers.map((h) => ({ name: h.name, bound: h.template.bind(vars, plan.jsonPaths) }));
    this.constantHeaders = headers.flatMap((h) => (h.bound.constant === null ? [] : [h.name, Buffer.from(h.bound.constant)]));
    this.lineHeaders = headers.filter((h) => h.bound.constant === null);
    this.perLine = this.boundTopic.constant === null || (this.boundKey !== null && this.boundKey.constant === null) || this.lineHeaders.length > 0;
    this.keyPath = keyOnlyJsonPath(plan.input);
    this.topicField = !plan.topic.usesStream && plan.topic.jsonPaths.length === 1 ? plan.jsonPaths.indexOf(plan.topic.jsonPaths[0]!) : -1;
    const k8s = this.kubernetes;
    const staticHeaders: HeaderSpec = ['host', Buffer.from(host), 'path', Buffer.from(source.path)];
    if (k8s !== null) {
      staticHeaders.push('k8s.namespace', Buffer.from(k8s.namespace), 'k8s.pod', Buffer.from(k8s.pod), 'k8s.container', Buffer.from(k8s.container));
      if (k8s.pod_uid !== null) staticHeaders.push('k8s.pod_uid', Buffer.from(k8s.pod_uid));
    }
    this.headerSpecs = {
      none: [...staticHeaders, 'offset'],
      stdout: this.streamHeaders ? [...staticHeaders, 'stream', Buffer.from('stdout'), 'offset'] : [...staticHeaders, 'offset'],
      stderr: this.streamHeaders ? [...staticHeaders, 'stream', Buffer.from('stderr'), 'offset'] : [...staticHeaders, 'offset'],
    };
    // The envelope's static members are serialised once; per line only the timestamp,
    // offset and message are added. Configured fields never replace the envelope's own.
    const reserved = new Set(['@timestamp', 'host', 'input', 'path', 'offset', 'message', 'stream', 'kubernetes']);
    const extra = Object.entries(this.input.fields).filter(([k]) => !reserved.has(k));
    const kubernetesMember = k8s === null ? '' : `,"kubernetes":${JSON.stringify({ namespace: k8s.namespace, pod: k8s.pod, container: k8s.container, ...(k8s.pod_uid === null ? {} : { pod_uid: k8s.pod_uid }) })}`;
    this.jsonHead = `,"host":${JSON.stringify(host)},"input":${JSON.stringify(source.input)},"path":${JSON.stringify(source.path)}${kubernetesMember},"offset":`;
    this.jsonTail = Buffer.from(extra.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('') + '}');
  }

  /** The records of `batch` from `first` on that share record `first`'s headers. */
  runFrom(batch: LineBatch, first: number): RecordRun {
    const n = recordCount(batch);
    // The built-in headers, or the `headers` map's (the config has one or the other).
    if (!this.input.headers) return { end: n, headers: this.templateHeaders(batch) };
    const streams = this.streamHeaders ? (batch.details?.streams ?? null) : null;
    if (streams === null) return { end: n, headers: this.headerSpecs.none };
    const stream = streams[first] ?? null;
    let end = first + 1;
    while (end < n && streams[end] === stream) end++;
    return { end, headers: stream === 'stdout' ? this.headerSpecs.stdout : stream === 'stderr' ? this.headerSpecs.stderr : this.headerSpecs.none };
  }

  /** The `headers` map's headers of a batch's records (per-record values by record index), or null without a map. */
  private templateHeaders(batch: LineBatch): HeaderSpec | null {
    if (this.lineHeaders.length === 0) return this.constantHeaders.length === 0 ? null : this.constantHeaders;
    const rendered = this.renderedFor(batch);
    if (rendered.headerSpec === undefined) rendered.headerSpec = [...this.constantHeaders, ...this.lineHeaders.flatMap((h, k): HeaderSpec => [h.name, packTexts(rendered.headerValues[k]!)])];
    return rendered.headerSpec;
  }

  /** Each record's topic, or null when every record goes to `topic`. */
  recordTopics(batch: LineBatch): readonly string[] | null {
    if (!this.topicPerLine) return null;
    const { distinct, topicIndex } = this.renderedFor(batch);
    return Array.from(topicIndex, (k) => distinct[k]!);
  }

  /** The topic depends on the line. */
  private get topicPerLine(): boolean {
    return this.perLine && this.boundTopic.constant === null;
  }

  /**
   * Each record's topic as the producer's topic id (`idOf` a topic's id), or null when every
   * record goes to `topic`: one lookup per distinct topic of the batch, not one per record.
   */
  recordTopicIds(batch: LineBatch, idOf: (topic: string) => number): Int32Array | null {
    if (!this.topicPerLine) return null;
    const { distinct, topicIndex } = this.renderedFor(batch);
    const ids = distinct.map(idOf);
    const out = new Int32Array(topicIndex.length);
    for (let i = 0; i < out.length; i++) out[i] = ids[topicIndex[i]!]!;
    return out;
  }

  /** The records' keys as the producer takes them: one for all, or one per record. */
  recordKeys(batch: LineBatch): RecordKeys {
    if (!this.perLine || this.boundKey === null || this.boundKey.constant !== null) return this.key;
    const rendered = this.renderedFor(batch);
    if (rendered.recordKeys !== undefined) return rendered.recordKeys;
    rendered.recordKeys = rendered.keyBounds === null ? packTexts(rendered.keys) : this.keysFromBounds(batch, rendered.keyBounds);
    return rendered.recordKeys;
  }

  /**
   * Keys of a batch whose key field came as bounds (LineDetails.jsonBounds): those bounds into
   * the batch's own bytes; the other records' keys (an escaped or non-ASCII value, a number, a
   * missing field or a line that is not JSON: the default) packed after a copy of them.
   */
  private keysFromBounds(batch: LineBatch, valueBounds: Int32Array): [Uint8Array, Uint32Array] {
    const n = recordCount(batch);
    const bounds = new Uint32Array(2 * n);
    const json = batch.details?.json ?? null;
    const index = batch.details?.jsonPaths?.indexOf(this.keyPath!) ?? -1;
    const others: number[] = [];
    const texts: string[] = [];
    const fallback = this.key!.toString();
    for (let i = 0; i < n; i++) {
      const start = valueBounds[2 * i]!;
      if (start >= 0) {
        bounds[2 * i] = start;
        bounds[2 * i + 1] = valueBounds[2 * i + 1]!;
      } else {
        others.push(i);
        texts.push((index === -1 ? undefined : json?.[i]?.[index]) || fallback);
      }
    }
    if (others.length === 0) return [batch.data, bounds];
    const [packed, packedBounds] = packTexts(texts);
    const at = batch.data.length;
    others.forEach((i, j) => {
      bounds[2 * i] = at + packedBounds[2 * j]!;
      bounds[2 * i + 1] = packedBounds[2 * j + 1]!;
    });
    return [Buffer.concat([batch.data, packed]), bounds];
  }

  /**
   * Counts records [from, to) of `batch` per topic in `perTopic` (by `by`: +1 produced, -1 a
   * refusal taken back).
   */
  countTopics(batch: LineBatch, from: number, to: number, perTopic: Map<string, number>, by = 1): void {
    if (!this.topicPerLine) {
      perTopic.set(this.topic, (perTopic.get(this.topic) ?? 0) + by * (to - from));
      return;
    }
    countRange(this.renderedFor(batch), from, to, perTopic, by);
  }

  /** The topic record `index` of `batch` goes to. */
  topicOf(batch: LineBatch, index: number): string {
    if (!this.perLine || index < 0 || index >= recordCount(batch)) return this.topic;
    const { distinct, topicIndex } = this.renderedFor(batch);
    return distinct[topicIndex[index]!]!;
  }

  /** The key record `index` of `batch` carries. */
  keyOf(batch: LineBatch, index: number): Buffer | null {
    if (!this.perLine || this.boundKey === null || this.boundKey.constant !== null || index < 0 || index >= recordCount(batch)) return this.key;
    const rendered = this.renderedFor(batch);
    if (rendered.keyBounds !== null) {
      const [data, bounds] = this.recordKeys(batch) as [Uint8Array, Uint32Array];
      return Buffer.from(data.subarray(bounds[2 * index]!, bounds[2 * index]! + bounds[2 * index + 1]!));
    }
    const key = rendered.keys[index] ?? null;
    return key === null ? null : Buffer.from(key);
  }

  /**
   * Counts `n` more acknowledged records of `batch` in `perTopic`: per line-routed topic, in
   * record order (delivery reports count per batch, not per record; the total is exact once
   * the batch is acknowledged in full).
   */
  countAcknowledged(batch: LineBatch, n: number, perTopic: Map<string, number>): void {
    if (!this.perLine) {
      perTopic.set(this.topic, (perTopic.get(this.topic) ?? 0) + n);
      return;
    }
    const from = this.ackCounted.get(batch) ?? 0;
    const to = Math.min(recordCount(batch), from + n);
    this.ackCounted.set(batch, to);
    countRange(this.renderedFor(batch), from, to, perTopic, 1);
  }

  private renderedFor(batch: LineBatch): RenderedRecords {
    if (this.rendered?.batch === batch) return this.rendered;
    const fast = this.renderedByIndex(batch);
    if (fast !== null) return (this.rendered = fast);
    const n = recordCount(batch);
    const details = batch.details;
    const keys = new Array<string | null>(n);
    const line: { stream: string | null; json: readonly (string | undefined)[] | null } = { stream: null, json: null };
    // Fields extracted for other paths (a batch read before a reload changed the templates):
    // their values are taken by name.
    const remap = details?.jsonPaths != null && !samePaths(details.jsonPaths, this.jsonPaths) ? this.jsonPaths.map((p) => details.jsonPaths!.indexOf(p)) : null;
    // A field passed as bounds: the keys are its bytes when it is our key's field; otherwise
    // (templates changed by a reload) its values are made strings here, as the extractor would.
    const valueBounds = details?.jsonBounds ?? null;
    const keyBounds = valueBounds !== null && valueBounds.path === this.keyPath ? valueBounds.bounds : null;
    const boundsIndex = valueBounds === null || keyBounds !== null ? -1 : (details?.jsonPaths?.indexOf(valueBounds.path) ?? -1);
    // Records count per topic (metrics) by a small index per record into the batch's distinct topics.
    const distinct: string[] = [];
    const indexOf = new Map<string, number>();
    const topicIndex = new Uint32Array(n);
    let lastTopic: string | undefined;
    let lastIndex = 0;
    const byValue = this.topicByValue;
    const headerValues = this.lineHeaders.map(() => new Array<string>(n));
    for (let i = 0; i < n; i++) {
      line.stream = details?.streams?.[i] ?? null;
      let json = details?.json?.[i] ?? null;
      if (boundsIndex !== -1 && json !== null && valueBounds!.bounds[2 * i]! >= 0) {
        const start = valueBounds!.bounds[2 * i]!;
        json = json.slice();
        (json as (string | undefined)[])[boundsIndex] = batch.data.toString('latin1', start, start + valueBounds!.bounds[2 * i + 1]!);
      }
      line.json = remap === null || json === null ? json : remap.map((k) => (k === -1 ? undefined : json[k]));
      let topic: string | undefined;
      if (this.topicField === -1) topic = this.boundTopic.renderTopic(line);
      else {
        const value = line.json?.[this.topicField];
        topic = byValue.get(value);
        if (topic === undefined) {
          topic = this.boundTopic.renderTopic(line);
          if (byValue.size >= TOPICS_BY_VALUE_KEPT) byValue.clear();
          byValue.set(value, topic);
        }
      }
      if (topic !== lastTopic) {
        let index = indexOf.get(topic);
        if (index === undefined) indexOf.set(topic, (index = distinct.push(topic) - 1));
        lastIndex = index;
        lastTopic = topic;
      }
      topicIndex[i] = lastIndex;
      keys[i] = this.boundKey === null || keyBounds !== null ? null : this.boundKey.render(line);
      for (let k = 0; k < headerValues.length; k++) headerValues[k]![i] = this.lineHeaders[k]!.bound.render(line);
    }
    this.rendered = { batch, keys, keyBounds, recordKeys: undefined, distinct, topicIndex, headerValues, headerSpec: undefined };
    return this.rendered;
  }

  /**
   * renderedFor() without a step per record, where the batch allows it: the topic depends on
   * one field only, whose values came as an index into the read's distinct values
   * (LineDetails.jsonIndex), and nothing else is rendered per record (no key, or a key taken as
   * bounds; no header template). A topic is rendered per distinct value, and each record's
   * index into the batch's distinct topics is its value's. Null: render record by record.
   */
  private renderedByIndex(batch: LineBatch): RenderedRecords | null {
    const details = batch.details;
    const index = details?.jsonIndex ?? null;
    if (index === null || this.topicField === -1 || index.path !== this.jsonPaths[this.topicField] || this.lineHeaders.length > 0) return null;
    const valueBounds = details?.jsonBounds ?? null;
    const keyBounds = valueBounds !== null && valueBounds.path === this.keyPath ? valueBounds.bounds : null;
    if (this.boundKey !== null && this.boundKey.constant === null && keyBounds === null) return null;
    // Each distinct value's topic (rendered as for a line holding only that field), and its
    // index among the batch's distinct topics (two values may sanitise to one topic).
    const distinct: string[] = [];
    const topicOfValue = new Uint32Array(index.values.length);
    const json = new Array<string | undefined>(this.jsonPaths.length).fill(undefined);
    const line: LineVars = { stream: null, json };
    for (let v = 0; v < index.values.length; v++) {
      const value = index.values[v];
      let topic = this.topicByValue.get(value);
      if (topic === undefined) {
        json[this.topicField] = value;
        topic = this.boundTopic.renderTopic(line);
        if (this.topicByValue.size >= TOPICS_BY_VALUE_KEPT) this.topicByValue.clear();
        this.topicByValue.set(value, topic);
      }
      const k = distinct.indexOf(topic);
      topicOfValue[v] = k !== -1 ? k : distinct.push(topic) - 1;
    }
    const n = recordCount(batch);
    const ids = index.ids;
    const topicIndex = new Uint32Array(n);
    for (let i = 0; i < n; i++) topicIndex[i] = topicOfValue[ids[i]!]!;
    return { batch, keys: [], keyBounds, recordKeys: undefined, distinct, topicIndex, headerValues: [], headerSpec: undefined };
  }

  /** The record values of a batch (json: in the shared scratch buffer, see RecordValues). */
  values(batch: LineBatch, timestampIso: string): RecordValues {
    // Raw lines are the batch's own bytes: bounds into the read chunk (or its packed buffer).
    const raw: RecordValues = { data: batch.data, bounds: batch.bounds, scratch: false };
    if (this.input.format === 'raw') return raw;
    const n = recordCount(batch);
    const times = batch.details?.times ?? null;
    if (times !== null) return this.containerEnvelopes(batch, times, timestampIso);
    // The envelope per line is built natively into one buffer: only the timestamp (per batch),
    // the offset and the escaped message vary.
    const bounds = new Uint32Array(2 * n);
    const head = Buffer.from(`{"@timestamp":"${timestampIso}"${this.jsonHead}`);
    envelopeScratch = jsonEnvelopes(raw.data, raw.bounds, n, lineStartOffsets(batch), head, MESSAGE_MEMBER, this.jsonTail, bounds, envelopeScratch);
    return { data: envelopeScratch, bounds, scratch: true };
  }

  /**
   * Envelopes of container lines: "@timestamp" is the runtime's time of each line (moved to
   * UTC), "stream" its stream; a malformed line (no runtime time) gets the batch's time.
   */
  private containerEnvelopes(batch: LineBatch, times: (string | null)[], timestampIso: string): RecordValues {
    const n = recordCount(batch);
    const { data, bounds: lineBounds } = batch;
    const streams = batch.details?.streams ?? null;
    const tail = this.jsonTail.toString();
    const parts: Buffer[] = new Array<Buffer>(n);
    const bounds = new Uint32Array(2 * n);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const time = times[i];
      const stream = streams?.[i] ?? null;
      const text =
        `{"@timestamp":"${time === null || time === undefined ? timestampIso : utcTimestamp(time)}"` +
        (stream === null ? '' : `,"stream":"${stream}"`) +
        `${this.jsonHead}${recordStart(batch, i)},"message":${JSON.stringify(data.toString('utf8', lineBounds[2 * i]!, lineBounds[2 * i]! + lineBounds[2 * i + 1]!))}${tail}`;
      const part = Buffer.from(text, 'utf8');
      parts[i] = part;
      bounds[2 * i] = pos;
      bounds[2 * i + 1] = part.length;
      pos += part.length;
    }
    return { data: Buffer.concat(parts, pos), bounds, scratch: false };
  }

  /**
   * The value record `index` of a batch has (a copy): the line, or its envelope built again
   * with `timestampIso`. For the rare record that needs it after produce (a dead letter).
   */
  valueOf(batch: LineBatch, index: number, timestampIso: string): Buffer {
    const line = lineOf(batch, index);
    if (this.input.format === 'raw') return Buffer.from(line);
    const start = recordStart(batch, index);
    const one: LineBatch = { ...batch, data: line, bounds: Uint32Array.of(0, line.length), startOffset: start, ends: [batch.ends[index]!], flags: [], details: detailsOf(batch.details, index) };
    const v = this.values(one, timestampIso);
    const bytes = v.data instanceof Uint8Array ? v.data : new Uint8Array(v.data);
    return Buffer.from(bytes.subarray(v.bounds[0]!, v.bounds[0]! + v.bounds[1]!));
  }

  /** The built-in record headers of the file's first run (host, path, then each record's offset), or null when the input has none. */
  headers(): HeaderSpec | null {
    return this.input.headers ? this.headerSpecs.none : null;
  }
}

/** Line-routed topics of a batch, rendered once (see FileRoute.renderedFor). */
interface RenderedRecords {
  batch: LineBatch;
  /** Keys by record (empty or null when they come from `keyBounds`, or the key is the file's). */
  keys: (string | null)[];
  /** The key field's bounds (see FileRoute.keysFromBounds), or null: keys rendered in `keys`. */
  keyBounds: Int32Array | null;
  recordKeys: RecordKeys | undefined;
  /** The batch's distinct topics, and each record's index into them. */
  distinct: string[];
  topicIndex: Uint32Array;
  /** Per line-rendered header of the `headers` map, each record's value; and the spec built from them. */
  headerValues: string[][];
  headerSpec: HeaderSpec | undefined;
}

/**
 * Texts by record index as the producer takes them: [data, (start, length) per record],
 * NO_KEY for a null. One encoding of all of them, not one per text (each is a call into C++):
 * when the text is ASCII, character offsets are byte offsets.
 */
function packTexts(texts: readonly (string | null)[]): [Uint8Array, Uint32Array] {
  const bounds = new Uint32Array(2 * texts.length);
  const joined = texts.join('');
  let data = Buffer.from(joined, 'utf8');
  const ascii = data.length === joined.length;
  if (!ascii) data = Buffer.allocUnsafe(data.length);
  let pos = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    if (text === null) {
      bounds[2 * i + 1] = NO_KEY;
      continue;
    }
    const length = ascii ? text.length : data.write(text, pos);
    bounds[2 * i] = pos;
    bounds[2 * i + 1] = length;
    pos += length;
  }
  return [data, bounds];
}

/** Distinct values FileRoute.topicByValue keeps: a field with a value per line starts it over instead of growing it. */
const TOPICS_BY_VALUE_KEPT = 1024;

/** Adds `by` per record [from, to) of `rendered` to its topic's count: one map update per distinct topic. */
function countRange(rendered: RenderedRecords, from: number, to: number, perTopic: Map<string, number>, by: number): void {
  const { distinct, topicIndex } = rendered;
  if (distinct.length === 1) {
    perTopic.set(distinct[0]!, (perTopic.get(distinct[0]!) ?? 0) + by * (to - from));
    return;
  }
  const counts = new Array<number>(distinct.length).fill(0);
  for (let i = from; i < to; i++) counts[topicIndex[i]!]!++;
  for (let k = 0; k < distinct.length; k++) if (counts[k]! > 0) perTopic.set(distinct[k]!, (perTopic.get(distinct[k]!) ?? 0) + by * counts[k]!);
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

/** The details of record `index` alone. */
function detailsOf(details: LineDetails | undefined, index: number): LineDetails | undefined {
  if (details === undefined) return undefined;
  return {
    starts: [details.starts[index]!],
    streams: details.streams === null ? null : [details.streams[index] ?? null],
    times: details.times === null ? null : [details.times[index] ?? null],
    json: details.json === null ? null : [details.json[index] ?? null],
    jsonPaths: details.jsonPaths,
  };
}
