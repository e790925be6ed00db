// The routing values of a JSON line, found by one strict scan of its bytes: no string for the
// whole line, no object tree — only the few fields the templates name are turned into strings.
// JSON.parse of a 200-byte line and the object it builds cost about 2 CPU-s per million lines
// (bench/lines-micro.ts); routing needs two or three values of it.
//
// Semantics are JSON.parse's (property-tested against it, test/lines-json-scan.test.ts):
//   - the whole line is validated (RFC 8259 grammar, whitespace around it); anything JSON.parse
//     would refuse, or a top-level value that is not an object, gives null;
//   - a duplicate key's last value wins, also when it replaces an object holding a wanted field;
//   - a segment that is a whole number indexes an array (as Number(segment), like lookup by
//     JSON.parse + value[Number(segment)]), any other segment names an own key;
//   - a string is its decoded text (escapes decoded by JSON.parse of that string alone, which
//     only routed strings with a backslash pay), a number its JavaScript text (String(Number)),
//     true/false as written; null, an object or an array at a wanted path is missing.
// Bytes >= 0x80 are legal inside strings only, as after UTF-8 decoding (invalid sequences there
// become U+FFFD, which JSON accepts in a string).
//
// Speed: the scan runs over the line as a latin1 string (one byte, one character: offsets are
// byte offsets, and V8's string builtins beat indexing a Buffer). A line with no backslash and
// no control character (one regex test, the usual case) has strings that end at the next quote
// (String#indexOf); the others are checked character by character.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Wanted paths, compiled once per input. */
export class JsonPaths {
  /** Per path: its segments as text, and as array indexes (-1: not a whole number). */
  readonly segments: readonly (readonly string[])[];
  readonly indexes: readonly (readonly number[])[];
  /**
   * Segments as UTF-8 bytes: an unescaped key names a segment exactly when its bytes are the
   * segment's (decoding turns only invalid sequences into U+FFFD, which such a segment lacks).
   */
  readonly segmentBytes: readonly (readonly Buffer[])[];
  /** Segments holding U+FFFD or a lone surrogate: compared as decoded text, never by bytes. */
  readonly textOnly: readonly (readonly boolean[])[];
  /** Every path index, the paths the top object's keys are compared with. */
  readonly all: readonly number[];
  /** segmentBytes as latin1 text, compared with the line's latin1 text. */
  readonly segmentLatin1: readonly (readonly string[])[];

  constructor(readonly paths: readonly string[]) {
    this.segments = paths.map((p) => p.split('.'));
    this.indexes = this.segments.map((segments) => segments.map((s) => (/^\d+$/.test(s) ? Number(s) : -1)));
    this.segmentBytes = this.segments.map((segments) => segments.map((s) => Buffer.from(s, 'utf8')));
    this.textOnly = this.segments.map((segments) => segments.map((s) => Buffer.from(s, 'utf8').toString('utf8') !== s || s.includes('\uFFFD')));
    this.all = paths.map((_, i) => i);
    this.segmentLatin1 = this.segmentBytes.map((segments) => segments.map((b) => b.toString('latin1')));
  }
}

/** Containers on the scan's stack. */
const OBJECT = 1;
const ARRAY = 2;
const NONE: readonly number[] = [];
/** Characters that make a string need the careful scan (escapes, and control characters JSON refuses there). */
const NOT_PLAIN = /[\x00-\x1f\\]/;

/** The line being scanned: its latin1 text, bytes, and whether its strings end at the next quote. */
interface Line {
  readonly text: string;
  readonly bytes: Buffer;
  readonly plain: boolean;
}

/** The scan's stack, reused from line to line (the scan is synchronous). */
const kinds: number[] = [];
const ons: (readonly number[])[] = [];
const indexes: number[] = [];

/**
 * The wanted fields' values in `paths` order (undefined: missing), or null when `line` is not
 * a JSON object as JSON.parse sees it.
 *
 * One loop with an explicit stack (no recursion: any depth), each container remembering which
 * wanted paths lead into it. Values off every path are only validated.
 */
export function scanJsonFields(bytes: Buffer, paths: JsonPaths): (string | undefined)[] | null {
  const text = bytes.toString('latin1');
  const line: Line = { text, bytes, plain: !NOT_PLAIN.test(text) };
  const n = text.length;
  const values = new Array<string | undefined>(paths.paths.length).fill(undefined);
  kinds.length = 0;
  ons.length = 0;
  indexes.length = 0;
  let i = skipSpace(text, 0, n);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return null;
  /** Paths the value about to be scanned is on (its container's level + 1 segments matched). */
  let on: readonly number[] = paths.all;
  for (;;) {
    // A value at i, on the paths `on`.
    const c = text.charCodeAt(i);
    const level = kinds.length; // segments matched by `on` (the value's depth)
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      i = skipSpace(text, i + 1, n);
      const closing = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      if (text.charCodeAt(i) === closing) {
        i++;
      } else {
        kinds.push(c === OPEN_OBJECT ? OBJECT : ARRAY);
        ons.push(on);
        indexes.push(0);
        if (c === OPEN_OBJECT) {
          const member = memberAt(line, i, on, level, paths, values);
          if (member < 0) return null;
          i = member;
          on = memberPaths;
        } else {
          on = on.length === 0 ? NONE : elementPaths(on, level, 0, paths);
        }
        continue;
      }
    } else if (c === QUOTE) {
      const start = i;
      i = stringEnd(line, i);
      if (i < 0) return null;
      if (on.length > 0) found(on, level, stringText(line, start, i, stringEscaped), paths, values);
    } else if (c === 0x74 /* t */) {
      if (!text.startsWith('true', i)) return null;
      i += 4;
      if (on.length > 0) found(on, level, 'true', paths, values);
    } else if (c === 0x66 /* f */) {
      if (!text.startsWith('false', i)) return null;
      i += 5;
      if (on.length > 0) found(on, level, 'false', paths, values);
    } else if (c === 0x6e /* n */) {
      if (!text.startsWith('null', i)) return null;
      i += 4;
    } else {
      const start = i;
      i = numberEnd(text, i);
      if (i < 0) return null;
      if (on.length > 0) found(on, level, String(Number(text.slice(start, i))), paths, values);
    }
    // After a value: the next member or element, or the end of containers.
    for (;;) {
      i = skipSpace(text, i, n);
      const top = kinds.length - 1;
      if (top < 0) return i === n ? values : null;
      const d = text.charCodeAt(i);
      if (d === COMMA) {
        i = skipSpace(text, i + 1, n);
        const parent = ons[top]!;
        if (kinds[top] === OBJECT) {
          const member = memberAt(line, i, parent, top, paths, values);
          if (member < 0) return null;
          i = member;
          on = memberPaths;
        } else {
          const index = ++indexes[top]!;
          on = parent.length === 0 ? NONE : elementPaths(parent, top, index, paths);
        }
        break;
      }
      if (d !== (kinds[top] === OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return null;
      i++;
      kinds.pop();
      ons.pop();
      indexes.pop();
    }
  }
}

/** Set by memberAt: the paths its member's value is on. */
let memberPaths: readonly number[] = NONE;
/** Set by stringEnd: the string held a backslash. */
let stringEscaped = false;

/**
 * A member "key": at i (of an object on `on`, its keys at segment `level`): returns where its
 * value starts (or -1: not JSON) and sets memberPaths. A key on a path resets that path's
 * value: the last of duplicate keys wins.
 */
function memberAt(line: Line, i: number, on: readonly number[], level: number, paths: JsonPaths, values: (string | undefined)[]): number {
  const text = line.text;
  if (text.charCodeAt(i) !== QUOTE) return -1;
  const keyStart = i;
  i = stringEnd(line, i);
  if (i < 0) return -1;
  const keyEnd = i;
  const escaped = stringEscaped;
  i = skipSpace(text, i, text.length);
  if (text.charCodeAt(i) !== COLON) return -1;
  memberPaths = on.length === 0 ? NONE : pathsOfKey(line, on, level, keyStart, keyEnd, escaped, paths, values);
  return skipSpace(text, i + 1, text.length);
}

/** The paths of `on` whose segment at `level` is the key at [keyStart, keyEnd) (quotes included). */
function pathsOfKey(line: Line, on: readonly number[], level: number, keyStart: number, keyEnd: number, escaped: boolean, paths: JsonPaths, values: (string | undefined)[]): readonly number[] {
  let next: number[] | null = null;
  let key: string | null = null;
  const length = keyEnd - keyStart - 2;
  for (let k = 0; k < on.length; k++) {
    const p = on[k]!;
    const segments = paths.segments[p]!;
    if (segments.length <= level) continue;
    let match: boolean;
    if (escaped || paths.textOnly[p]![level]!) {
      key ??= stringText(line, keyStart, keyEnd, escaped);
      match = key === segments[level];
    } else {
      const bytes = paths.segmentLatin1[p]![level]!;
      match = bytes.length === length && line.text.startsWith(bytes, keyStart + 1);
    }
    if (!match) continue;
    (next ??= []).push(p);
    values[p] = undefined;
  }
  return next ?? NONE;
}

/** The paths of `on` that index element `index` of an array at segment `level`. */
function elementPaths(on: readonly number[], level: number, index: number, paths: JsonPaths): readonly number[] {
  let next: number[] | null = null;
  for (let k = 0; k < on.length; k++) {
    const p = on[k]!;
    if (paths.segments[p]!.length > level && paths.indexes[p]![level] === index) (next ??= []).push(p);
  }
  return next ?? NONE;
}

/** A scalar at depth `level` on `on`: the paths that end here get its text. */
function found(on: readonly number[], level: number, text: string, paths: JsonPaths, values: (string | undefined)[]): void {
  for (let k = 0; k < on.length; k++) if (paths.segments[on[k]!]!.length === level) values[on[k]!] = text;
}

function skipSpace(text: string, i: number, n: number): number {
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * The end (after the closing quote) of the string whose opening quote is at i, or -1 when it
 * is not a JSON string (unterminated, a raw control character, an unknown escape). Sets
 * stringEscaped.
 */
function stringEnd(line: Line, i: number): number {
  const text = line.text;
  if (line.plain) {
    // No backslash and no control character in the whole line: the next quote closes it.
    const close = text.indexOf('"', i + 1);
    stringEscaped = false;
    return close < 0 ? -1 : close + 1;
  }
  const n = text.length;
  let escaped = false;
  i++;
  for (;;) {
    if (i >= n) return -1;
    const c = text.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      escaped = true;
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        if (!isHex(text.charCodeAt(i + 2)) || !isHex(text.charCodeAt(i + 3)) || !isHex(text.charCodeAt(i + 4)) || !isHex(text.charCodeAt(i + 5))) return -1;
        i += 6;
        continue;
      }
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      i += 2;
      continue;
    }
    if (c < 0x20) return -1;
    i++;
  }
  stringEscaped = escaped;
  return i + 1;
}

/** The text of the string at [start, end) (quotes included). Escapes: JSON.parse of it alone. */
function stringText(line: Line, start: number, end: number, escaped: boolean): string {
  if (escaped) return JSON.parse(line.bytes.toString('utf8', start, end)) as string;
  const text = line.text;
  for (let k = start + 1; k < end - 1; k++) if (text.charCodeAt(k) >= 0x80) return line.bytes.toString('utf8', start + 1, end - 1);
  // ASCII: its latin1 text is its text.
  return text.slice(start + 1, end - 1);
}

/** The end of the number at i (RFC 8259 grammar), or -1. */
function numberEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++;
  if (text.charCodeAt(i) === 0x30) i++;
  else if (isDigit19(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
  else return -1;
  if (text.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/** charCodeAt past the end is NaN: every comparison below is false for it. */
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isDigit19(c: number): boolean {
  return c >= 0x31 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
