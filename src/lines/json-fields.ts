// JSON fields of a line for routing: `parse: json` makes {json.a.b} usable in topic and key
// templates. An input's templates share one JsonFieldExtractor, so a line is parsed at most
// once, and only when some template names a field (inputs without {json.*} never parse).
// The lines of a read are scanned natively (native/src/json_fields.c: one strict RFC 8259 pass
// per line, answering per path the value's bounds, no tree and no strings), and strings are
// built here only for values not seen lately: a small cache per path, keyed by the value's hash
// and checked byte by byte, so four services cost four strings, not one per line. The first
// path (the topic's field, see jsonPathsOfInput) comes numbered by distinct value per read
// instead (jsonIndex): one string per distinct value and no lookup per line, and the router
// renders a topic per distinct value (FileRoute.renderedByIndex). Measured:
// JSON.parse alone cost about what shipping the line raw costs (~2.5 CPU-s per million 220-byte
// lines); a JavaScript scanner (commits 8546f41, 7171071) was no faster (V8's parser is C++,
// a JavaScript scan reads ~2.5 ns a byte here). extractByParse — JSON.parse and a lookup — is
// the meaning both must have (property-tested against each other, test/lines-json-native.test.ts),
// and it still answers when the addon cannot (paths it does not take, nesting past its depth).
// Values: a string as it is; a number or boolean as its text; null, an object or an array is
// no routing value and counts as missing. A line that is not a JSON object, or lacks a field,
// leaves it missing: the template renders its default ({json.service:-unknown}), counted here.
// Paths are dotted names; a segment that is a whole number also indexes an array
// ({json.tags.0}). The record value is not touched: it stays the line's bytes.

import { isAscii } from 'node:buffer';
import { createRequire } from 'node:module';
import { compileTemplate } from '../config/templates.js';
import type { InputConfig } from '../config/types.js';
import type { JsonFieldCounters } from './stats.js';

const OPEN_BRACE = 0x7b;

/**
 * The field paths an input's topic, key and header templates use, in one list (the order of
 * the values JsonFieldExtractor returns, and what their templates are bound with). Empty when
 * the input routes by no field: then no line of it is parsed, whatever `parse` says.
 */
export function jsonPathsOfInput(input: Pick<InputConfig, 'topic' | 'key' | 'header_templates'>): string[] {
  const templates = [
    compileTemplate(input.topic, 'topic'),
    ...(input.key === null ? [] : [compileTemplate(input.key, 'key')]),
    ...(input.header_templates ?? []).map((h) => compileTemplate(h.template, 'header')),
  ];
  return [...new Set(templates.flatMap((t) => t.jsonPaths))];
}

/**
 * The path of a key that is exactly one {json.*} field (`key: "{json.trace_id}"`, with or
 * without a default) that no topic or header template uses: its values need no string, the
 * producer takes their bytes from the read (LineDetails.jsonBounds). Null otherwise.
 */
export function keyOnlyJsonPath(input: Pick<InputConfig, 'topic' | 'key' | 'header_templates'>): string | null {
  if (input.key === null) return null;
  const parts = compileTemplate(input.key, 'key').parts;
  const only = parts.length === 1 ? parts[0]! : null;
  if (only?.type !== 'json') return null;
  const others = jsonPathsOfInput({ topic: input.topic, key: null, header_templates: input.header_templates });
  return others.includes(only.path) ? null : only.path;
}

/**
 * One path's values as bounds into the read (core's LineDetails.jsonBounds; this module
 * imports only config): line i at (bounds[2i], bounds[2i+1]), start -1 when not passed so.
 */
export interface JsonValueBounds {
  path: string;
  bounds: Int32Array;
}

/**
 * One path's values as an index per line into the read's distinct values (core's
 * LineDetails.jsonIndex): line i's value is values[ids[i]].
 */
export interface JsonValueIndex {
  path: string;
  ids: Int32Array;
  values: readonly (string | undefined)[];
}

/** The values of one line in `paths` order (undefined: missing), or null when it is not a JSON object. */
export type JsonValues = (string | undefined)[] | null;

/** What JsonFieldExtractor.extractWithBounds returns for a read. */
export interface ExtractedFields {
  json: JsonValues[];
  jsonBounds: JsonValueBounds | null;
  jsonIndex: JsonValueIndex | null;
}

export class JsonFieldExtractor {
  private readonly segments: readonly (readonly string[])[];
  /** The paths as the addon takes them, or null when it cannot answer for them (then JSON.parse). */
  private readonly nativeSpec: Uint8Array | null;
  /** Recently seen values per path, by hash (see ValueCache). */
  private readonly caches: ValueCache[];
  private out = new Int32Array(0);
  /** The addon's modes per path, by the index of the path passed as bounds (-1: none). */
  private readonly modes = new Map<number, Uint8Array>();

  /** `paths`: dotted field paths ("http.status"), in the order the values are returned. */
  constructor(
    readonly paths: readonly string[],
    private readonly counters: JsonFieldCounters,
  ) {
    this.segments = paths.map((p) => p.split('.'));
    this.nativeSpec = nativeFields() === null ? null : nativeSpecOf(this.segments);
    this.caches = paths.map(() => new ValueCache());
  }

  /** The fields' values in `paths` order (undefined: missing), or null when the line is not a JSON object. */
  extract(line: Buffer): JsonValues {
    return this.extractBounds(line, [0, line.length])[0]!;
  }

  /**
   * extract() of each line of `data`, line i at (start, length) = bounds[2i], bounds[2i+1]:
   * one call into the addon for all of them, no object per line.
   */
  extractBounds(data: Buffer, bounds: Uint32Array | readonly number[]): JsonValues[] {
    return this.extractLines(data, bounds, -1).json;
  }

  /**
   * extractBounds(), but the values of `boundsPath` (one of `paths`, see keyOnlyJsonPath) that
   * are their bytes as they stand in `data` come as bounds, without a string: a trace id per
   * line costs no JavaScript string (measured: about a third of the JavaScript work of a keyed
   * line). Such a value is undefined in `json` (and not counted missing). And the values of the
   * first path (the topic's field, see jsonPathsOfInput), unless it is `boundsPath`, come also
   * as `jsonIndex`: an index per line into the read's distinct values.
   */
  extractWithBounds(data: Buffer, bounds: Uint32Array | readonly number[], boundsPath: string | null): ExtractedFields {
    const k = boundsPath === null ? -1 : this.paths.indexOf(boundsPath);
    return this.extractLines(data, bounds, k);
  }

  private extractLines(data: Buffer, bounds: Uint32Array | readonly number[], boundsIndex: number): ExtractedFields {
    const n = bounds.length >> 1;
    const out = new Array<JsonValues>(n);
    const line = (i: number): Buffer => data.subarray(bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!);
    const addon = nativeFields();
    if (this.nativeSpec === null || addon === null) {
      for (let i = 0; i < n; i++) out[i] = this.count(extractByParse(line(i), this.segments));
      return { json: out, jsonBounds: null, jsonIndex: null };
    }
    const valueBounds = boundsIndex === -1 ? null : new Int32Array(2 * n).fill(-1);
    const paths = this.paths.length;
    const stride = 1 + 4 * paths;
    if (this.out.length < stride * n) this.out = new Int32Array(stride * n);
    const res = this.out;
    // Value positions come back relative to `data`, as the bounds are.
    addon.jsonFields(data, bounds instanceof Uint32Array ? bounds : Uint32Array.from(bounds), n, this.nativeSpec, res, this.modesFor(boundsIndex));
    // The first path's values by their index among the read's distinct ones (the addon numbers
    // them by bytes): one string per distinct value, and the lines whose other values are all
    // undefined share one array per distinct value. Null once there are too many of them.
    const numbered = boundsIndex !== 0;
    let index: DistinctIndex | null = numbered ? new DistinctIndex(n) : null;
    for (let i = 0; i < n; i++) {
      const at = stride * i;
      const status = res[at]!;
      if (status === LINE_DEEP) {
        const values = this.count(extractByParse(line(i), this.segments));
        out[i] = values;
        if (index !== null && !index.setText(i, values?.[0])) index = null;
        continue;
      }
      if (status !== LINE_OBJECT) {
        out[i] = this.count(null);
        if (index !== null && !index.setText(i, undefined)) index = null;
        continue;
      }
      if (paths === 1 && index !== null && res[at + 1]! !== VALUE_MISSING) {
        // The one field, numbered, as most lines of a read are: its line array is the read's
        // shared one for that value, without building the value's text again.
        const known = index.knownShared(i, res[at + 4]!);
        if (known !== null) {
          out[i] = known;
          continue;
        }
      }
      let missing = false;
      let first: string | undefined;
      let k = 0;
      if (numbered) {
        const kind = res[at + 1]!;
        if (kind === VALUE_MISSING) {
          missing = true;
          if (index !== null && !index.setText(i, undefined)) index = null;
        } else {
          const d = res[at + 4]!;
          if (index !== null && d >= 0) first = index.setNumbered(i, d, data, kind, res[at + 2]!, res[at + 3]!);
          else {
            // Past the addon's distinct values: this read goes on without the index.
            index = null;
            first = valueText(data, kind, res[at + 2]!, res[at + 3]!);
          }
        }
        k = 1;
      }
      // The other paths' values; an array of its own only for a line that has some.
      let values: (string | undefined)[] | null = null;
      for (; k < paths; k++) {
        const o = at + 1 + 4 * k;
        const kind = res[o]!;
        if (kind === VALUE_MISSING) {
          missing = true;
          continue;
        }
        if (k === boundsIndex) {
          if (kind === VALUE_STRING && res[o + 2]! > 0) {
            // Exactly VALUE_STRING: no escape, ASCII only, so the bytes are the text (an empty
            // value renders the default: left to the string path).
            valueBounds![2 * i] = res[o + 1]!;
            valueBounds![2 * i + 1] = res[o + 2]!;
            continue;
          }
          values ??= new Array<string | undefined>(paths).fill(undefined);
          values[k] = valueText(data, kind, res[o + 1]!, res[o + 2]!);
          continue;
        }
        values ??= new Array<string | undefined>(paths).fill(undefined);
        values[k] = this.caches[k]!.value(data, kind, res[o + 1]!, res[o + 2]!, res[o + 3]!);
      }
      if (missing) this.counters.fieldsMissing();
      if (index !== null && values === null) out[i] = index.shared(i, paths);
      else {
        values ??= new Array<string | undefined>(paths).fill(undefined);
        if (numbered) values[0] = first;
        out[i] = values;
      }
    }
    return {
      json: out,
      jsonBounds: valueBounds === null ? null : { path: this.paths[boundsIndex]!, bounds: valueBounds },
      jsonIndex: index === null ? null : { path: this.paths[0]!, ids: index.ids, values: index.values },
    };
  }

  /** The addon's mode per path: the first numbered by distinct value, `boundsIndex` without a hash. */
  private modesFor(boundsIndex: number): Uint8Array {
    let modes = this.modes.get(boundsIndex);
    if (modes === undefined) {
      modes = new Uint8Array(this.paths.length).fill(MODE_HASH);
      modes[0] = MODE_DISTINCT;
      if (boundsIndex !== -1) modes[boundsIndex] = MODE_BOUNDS;
      this.modes.set(boundsIndex, modes);
    }
    return modes;
  }

  private count(values: JsonValues): JsonValues {
    if (values === null) this.counters.lineNotJson();
    else if (values.includes(undefined)) this.counters.fieldsMissing();
    return values;
  }
}

/**
 * The meaning of extraction: JSON.parse of the line and a lookup per path (undefined: missing),
 * or null when the line is not a JSON object. Exported for the property test.
 */
export function extractByParse(line: Buffer, segments: readonly (readonly string[])[]): JsonValues {
  const parsed = parseObject(line);
  if (parsed === null) return null;
  return segments.map((s) => routingValue(lookup(parsed, s)));
}

// The addon's answers (native/src/json_fields.c).
const LINE_OBJECT = 1;
const LINE_DEEP = 2;
const VALUE_MISSING = 0;
const VALUE_STRING = 1;
const VALUE_NUMBER = 2;
const VALUE_TRUE = 3;
const VALUE_ESCAPED = 8;
const VALUE_NON_ASCII = 16;
const MODE_HASH = 0;
const MODE_BOUNDS = 1;
const MODE_DISTINCT = 2;
/** Distinct values a read's index holds in JavaScript (the addon numbers up to 64; lines that are not objects, or deep, add theirs). */
const INDEX_VALUES = 128;
/** Distinct values the addon numbers per call (MAX_DISTINCT in json_fields.c). */
const ADDON_DISTINCT = 64;
const MAX_PATHS = 32;
const MAX_SEGMENTS = 16;
const MAX_SEGMENT_BYTES = 256;
/** Distinct values a path remembers; past it the cache starts again (a key unique per line only churns it). */
const CACHE_ENTRIES = 256;
/** Every so many lookups the cache judges itself: under one hit in eight, it steps aside for CACHE_BYPASS_VALUES values. */
const CACHE_VERDICT_LOOKUPS = 1024;
const CACHE_BYPASS_VALUES = 16_384;

interface JsonFieldsAddon {
  jsonFields(data: Uint8Array, bounds: Uint32Array, n: number, spec: Uint8Array, out: Int32Array, modes?: Uint8Array): void;
}

let addon: JsonFieldsAddon | null | undefined;

/**
 * The addon, or null where it cannot load (then JSON.parse answers the same). Loaded after the
 * Kafka binding, as the producer is, so that one librdkafka serves both (see native/index.cjs).
 */
function nativeFields(): JsonFieldsAddon | null {
  if (addon === undefined) {
    try {
      const require = createRequire(import.meta.url);
      require('@confluentinc/kafka-javascript');
      const mod = require('@logship/native') as Partial<JsonFieldsAddon>;
      addon = typeof mod.jsonFields === 'function' ? (mod as JsonFieldsAddon) : null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** For tests: extraction without the addon (the JSON.parse path). */
export function useNativeJsonFields(enabled: boolean): void {
  addon = enabled ? undefined : null;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The paths as the addon reads them (see json_fields.c), or null when it cannot answer for
 * them exactly: too many or too long, or a segment whose UTF-8 is not its text (a lone
 * surrogate) or holds U+FFFD (which invalid bytes in a line decode to).
 */
function nativeSpecOf(segments: readonly (readonly string[])[]): Uint8Array | null {
  if (segments.length > MAX_PATHS) return null;
  const parts: Buffer[] = [u32(segments.length)];
  for (const path of segments) {
    if (path.length > MAX_SEGMENTS) return null;
    parts.push(u32(path.length));
    for (const segment of path) {
      const bytes = Buffer.from(segment, 'utf8');
      if (bytes.length > MAX_SEGMENT_BYTES || LONE_SURROGATE.test(segment) || segment.includes('\uFFFD')) return null;
      const index = /^\d+$/.test(segment) ? Number(segment) : -1;
      parts.push(i32(index <= 0x7fffffff ? index : -1), u32(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function i32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

/**
 * A path's recent values by the hash of their bytes: a string is made for a value only when it
 * is not here. A hit is checked byte by byte against the remembered text (ASCII only: its
 * characters are its bytes), so a hash collision costs a string, never a wrong value.
 */
class ValueCache {
  /** `base`: the value's kind (a number 1.0 renders "1", the string "1.0" as it is). */
  private readonly byHash = new Map<number, { raw: string; base: number; value: string }>();
  /** Lookups and hits since the last verdict, and values still to make without the cache. */
  private lookups = 0;
  private hits = 0;
  private bypass = 0;

  value(line: Buffer, kind: number, start: number, length: number, hash: number): string | undefined {
    if (kind === VALUE_MISSING) return undefined;
    const base = kind & 7;
    if ((kind & (VALUE_ESCAPED | VALUE_NON_ASCII)) !== 0) return valueText(line, kind, start, length);
    if (this.bypass > 0) {
      // A value per line (a trace id): remembering them would only churn the map.
      this.bypass--;
      return rendered(line.toString('latin1', start, start + length), base);
    }
    const cached = this.byHash.get(hash);
    if (++this.lookups === CACHE_VERDICT_LOOKUPS) {
      if (this.hits < CACHE_VERDICT_LOOKUPS / 8) {
        this.bypass = CACHE_BYPASS_VALUES;
        this.byHash.clear();
      }
      this.lookups = this.hits = 0;
    }
    if (cached !== undefined && cached.base === base && sameAscii(line, start, length, cached.raw)) {
      this.hits++;
      return cached.value;
    }
    const raw = line.toString('latin1', start, start + length);
    const value = rendered(raw, base);
    if (this.byHash.size >= CACHE_ENTRIES) this.byHash.clear();
    this.byHash.set(hash, { raw, base, value });
    return value;
  }
}

/** The text of a value the addon found (not missing), as JSON.parse and routingValue make it. */
function valueText(line: Buffer, kind: number, start: number, length: number): string {
  if ((kind & (VALUE_ESCAPED | VALUE_NON_ASCII)) !== 0) {
    // Rare: decoded exactly as JSON.parse would (invalid UTF-8 becomes U+FFFD first).
    const text = line.toString('utf8', start, start + length);
    return (kind & VALUE_ESCAPED) !== 0 ? (JSON.parse(`"${text}"`) as string) : text;
  }
  return rendered(line.toString('latin1', start, start + length), kind & 7);
}

/**
 * A read's values of the first path as an index per line into its distinct values (each text
 * once: two spellings of one text, "a" and "\u0061", share an index), and per distinct value
 * the array of a line whose other values are all undefined.
 */
class DistinctIndex {
  readonly ids: Int32Array;
  readonly values: (string | undefined)[] = [];
  /** The index of the addon's distinct value d (by bytes) in `values`, -1: not yet seen. */
  private readonly ofNumbered = new Int32Array(ADDON_DISTINCT).fill(-1);
  private readonly sharedArrays: (string | undefined)[][] = [];

  constructor(lines: number) {
    this.ids = new Int32Array(lines);
  }

  /** Line i holds the addon's distinct value d (at start, length in `data`): its text. */
  setNumbered(i: number, d: number, data: Buffer, kind: number, start: number, length: number): string {
    let id = this.ofNumbered[d]!;
    if (id === -1) {
      id = this.idOf(valueText(data, kind, start, length));
      this.ofNumbered[d] = id;
    }
    this.ids[i] = id;
    return this.values[id]!;
  }

  /**
   * Line i holds the addon's distinct value d of a single path, already seen this read: the
   * shared array of its text (see shared()). Null when d is not numbered or not seen yet.
   */
  knownShared(i: number, d: number): (string | undefined)[] | null {
    if (d < 0) return null;
    const id = this.ofNumbered[d]!;
    if (id === -1) return null;
    this.ids[i] = id;
    return this.sharedArrays[id] ?? this.shared(i, 1);
  }

  /** Line i holds `text` (undefined: missing); false when the index holds too many values to go on. */
  setText(i: number, text: string | undefined): boolean {
    if (this.values.length >= INDEX_VALUES && !this.values.includes(text)) return false;
    this.ids[i] = this.idOf(text);
    return true;
  }

  /** The array of line i's values when only the first is (or may be) defined. */
  shared(i: number, paths: number): (string | undefined)[] {
    const id = this.ids[i]!;
    let values = this.sharedArrays[id];
    if (values === undefined) {
      values = new Array<string | undefined>(paths).fill(undefined);
      values[0] = this.values[id];
      this.sharedArrays[id] = values;
    }
    return values;
  }

  private idOf(text: string | undefined): number {
    const id = this.values.indexOf(text);
    return id !== -1 ? id : this.values.push(text) - 1;
  }
}

/** What JSON.parse and routingValue make of an ASCII value's text. */
function rendered(raw: string, base: number): string {
  return base === VALUE_STRING ? raw : base === VALUE_NUMBER ? String(Number(raw)) : base === VALUE_TRUE ? 'true' : 'false';
}

function sameAscii(line: Buffer, start: number, length: number, text: string): boolean {
  if (text.length !== length) return false;
  for (let k = 0; k < length; k++) if (line[start + k] !== text.charCodeAt(k)) return false;
  return true;
}

function parseObject(line: Buffer): Record<string, unknown> | null {
  // Most non-JSON lines are told apart by their first byte, without decoding them.
  let first = 0;
  while (first < line.length && (line[first] === 0x20 || line[first] === 0x09)) first++;
  if (line[first] !== OPEN_BRACE) return null;
  try {
    // An ASCII line decodes faster as latin1 (the same text), and V8 parses one-byte strings
    // faster: 15 % of the cost of a typical 200-byte line (measured, bench/lines-micro.ts).
    const value: unknown = JSON.parse(line.toString(isAscii(line) ? 'latin1' : 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function lookup(root: Record<string, unknown>, segments: readonly string[]): unknown {
  let value: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(segment)) return undefined;
      value = value[Number(segment)];
    } else if (typeof value === 'object' && value !== null) {
      // Own keys only: a line without "constructor" must not route by Object's.
      value = Object.hasOwn(value, segment) ? (value as Record<string, unknown>)[segment] : undefined;
    } else {
      return undefined;
    }
  }
  return value;
}

function routingValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
