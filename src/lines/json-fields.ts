// JSON fields of a line for routing: `parse: json` makes {json.a.b} usable in topic and key
// templates. An input's templates share one JsonFieldExtractor, so a line is parsed at most
// once, and only when some template names a field (inputs without {json.*} never parse).
// JSON.parse, not a scanner of our own: an exact JavaScript scan that validates the line and
// turns only the wanted fields into strings (property-tested against JSON.parse with
// fast-check; commits 8546f41, 7171071) measured no faster — 2.3..3.4 CPU-s per
// million 220-byte lines against JSON.parse's 2.5..2.6 in the same runs (bench/lines-micro.ts),
// and no better on 1.3 KB lines: V8's parser is C++, a JavaScript scan reads ~2.5 ns a byte here.
// Values: a string as it is; a number or boolean as its text; null, an object or an array is
// no routing value and counts as missing. A line that is not a JSON object, or lacks a field,
// leaves it missing: the template renders its default ({json.service:-unknown}), counted here.
// Paths are dotted names; a segment that is a whole number also indexes an array
// ({json.tags.0}). The record value is not touched: it stays the line's bytes.

import { isAscii } from 'node:buffer';
import { compileTemplate } from '../config/templates.js';
import type { InputConfig } from '../config/types.js';

const OPEN_BRACE = 0x7b;

/** Lines whose fields fell back to defaults, by reason. */
export interface JsonFieldStats {
  /** Not a JSON object. */
  notJson: number;
  /** A JSON object lacking at least one of the fields (or holding null, an object or a list there). */
  missingField: number;
}

/**
 * The field paths an input's topic and key use, in one list (the order of the values
 * JsonFieldExtractor returns, and what their templates are bound with). Empty when the input
 * routes by no field: then no line of it is parsed, whatever `parse` says.
 */
export function jsonPathsOfInput(input: Pick<InputConfig, 'topic' | 'key'>): string[] {
  const templates = [compileTemplate(input.topic, 'topic'), ...(input.key === null ? [] : [compileTemplate(input.key, 'key')])];
  return [...new Set(templates.flatMap((t) => t.jsonPaths))];
}

export function emptyJsonFieldStats(): JsonFieldStats {
  return { notJson: 0, missingField: 0 };
}

export class JsonFieldExtractor {
  private readonly segments: readonly (readonly string[])[];

  /** `paths`: dotted field paths ("http.status"), in the order the values are returned. */
  constructor(
    readonly paths: readonly string[],
    private readonly stats: JsonFieldStats,
  ) {
    this.segments = paths.map((p) => p.split('.'));
  }

  /** The fields' values in `paths` order (undefined: missing), or null when the line is not a JSON object. */
  extract(line: Buffer): (string | undefined)[] | null {
    const parsed = parseObject(line);
    if (parsed === null) {
      this.stats.notJson++;
      return null;
    }
    let missing = false;
    const values = this.segments.map((segments) => {
      const value = routingValue(lookup(parsed, segments));
      if (value === undefined) missing = true;
      return value;
    });
    if (missing) this.stats.missingField++;
    return values;
  }
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
