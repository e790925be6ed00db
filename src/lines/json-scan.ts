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
  /** Segments as UTF-8 bytes, to compare with unescaped ASCII keys without decoding them. */
  readonly segmentBytes: readonly (readonly Buffer[])[];

  constructor(readonly paths: readonly string[]) {
    this.segments = paths.map((p) => p.split('.'));
    this.indexes = this.segments.map((segments) => segments.map((s) => (/^\d+$/.test(s) ? Number(s) : -1)));
    this.segmentBytes = this.segments.map((segments) => segments.map((s) => Buffer.from(s, 'utf8')));
  }
}

class Invalid extends Error {}
const INVALID = new Invalid();

/**
 * The wanted fields' values in `paths` order (undefined: missing), or null when `line` is not
 * a JSON object as JSON.parse sees it. Throws RangeError for nesting deeper than the stack
 * (thousands of levels; the scan recurses per level): the caller then asks JSON.parse.
 */
export function scanJsonFields(line: Buffer, paths: JsonPaths): (string | undefined)[] | null {
  const scanner = new Scanner(line, paths);
  try {
    return scanner.run();
  } catch (err) {
    if (err === INVALID) return null;
    throw err;
  }
}

class Scanner {
  private i = 0;
  private readonly n: number;
  readonly values: (string | undefined)[];

  constructor(
    private readonly line: Buffer,
    private readonly paths: JsonPaths,
  ) {
    this.n = line.length;
    this.values = new Array<string | undefined>(paths.paths.length).fill(undefined);
  }

  run(): (string | undefined)[] {
    this.skipSpace();
    if (this.line[this.i] !== OPEN_OBJECT) throw INVALID;
    const all: number[] = [];
    for (let p = 0; p < this.paths.paths.length; p++) all.push(p);
    this.value(all, 0);
    this.skipSpace();
    if (this.i !== this.n) throw INVALID;
    return this.values;
  }

  private skipSpace(): void {
    const line = this.line;
    let i = this.i;
    for (;;) {
      const c = line[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  /**
   * Scans one value at the position. `on`: the paths whose first `depth` segments led here
   * (empty: no wanted field below, the value is only validated).
   */
  private value(on: readonly number[], depth: number): void {
    const c = this.line[this.i];
    if (c === OPEN_OBJECT) return this.object(on, depth);
    if (c === OPEN_ARRAY) return this.array(on, depth);
    if (c === QUOTE) {
      const start = this.i;
      const escaped = this.string();
      if (on.length > 0) this.found(on, depth, escaped ? (JSON.parse(this.line.toString('utf8', start, this.i)) as string) : this.line.toString('utf8', start + 1, this.i - 1));
      return;
    }
    if (c === 0x74) return this.word(TRUE, on, depth, 'true');
    if (c === 0x66) return this.word(FALSE, on, depth, 'false');
    if (c === 0x6e) return this.word(NULL, on, depth, undefined);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      const start = this.i;
      this.number();
      if (on.length > 0) this.found(on, depth, String(Number(this.line.toString('latin1', start, this.i))));
      return;
    }
    throw INVALID;
  }

  /** A scalar ended paths whose every segment matched: those are found (undefined for null). */
  private found(on: readonly number[], depth: number, text: string | undefined): void {
    for (const p of on) if (this.paths.segments[p]!.length === depth) this.values[p] = text;
  }

  private word(bytes: Buffer, on: readonly number[], depth: number, text: string | undefined): void {
    const line = this.line;
    for (let k = 0; k < bytes.length; k++) if (line[this.i + k] !== bytes[k]) throw INVALID;
    this.i += bytes.length;
    if (on.length > 0) this.found(on, depth, text);
  }

  private number(): void {
    const line = this.line;
    let i = this.i;
    if (line[i] === 0x2d) i++;
    if (line[i] === 0x30) i++;
    else if (isDigit19(line[i])) while (isDigit(line[i])) i++;
    else throw INVALID;
    if (line[i] === 0x2e) {
      i++;
      if (!isDigit(line[i])) throw INVALID;
      while (isDigit(line[i])) i++;
    }
    if (line[i] === 0x65 || line[i] === 0x45) {
      i++;
      if (line[i] === 0x2b || line[i] === 0x2d) i++;
      if (!isDigit(line[i])) throw INVALID;
      while (isDigit(line[i])) i++;
    }
    this.i = i;
  }

  /** Skips a string (the position at its opening quote); true when it holds an escape. */
  private string(): boolean {
    const line = this.line;
    const n = this.n;
    let i = this.i + 1;
    let escaped = false;
    for (;;) {
      if (i >= n) throw INVALID;
      const c = line[i]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw INVALID;
      if (c === BACKSLASH) {
        escaped = true;
        const e = line[i + 1];
        if (e === 0x75) {
          for (let k = i + 2; k < i + 6; k++) if (!isHex(line[k])) throw INVALID;
          i += 6;
          continue;
        }
        if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) throw INVALID;
        i += 2;
        continue;
      }
      i++;
    }
    this.i = i + 1;
    return escaped;
  }

  private object(on: readonly number[], depth: number): void {
    this.i++; // {
    this.skipSpace();
    if (this.line[this.i] === CLOSE_OBJECT) {
      this.i++;
      return this.found(on, depth, undefined);
    }
    // An object at a wanted path is no routing value; deeper paths through it are looked for.
    this.found(on, depth, undefined);
    for (;;) {
      if (this.line[this.i] !== QUOTE) throw INVALID;
      const keyStart = this.i;
      const escaped = this.string();
      const keyEnd = this.i;
      this.skipSpace();
      if (this.line[this.i] !== COLON) throw INVALID;
      this.i++;
      this.skipSpace();
      let next: number[] | readonly number[] = NONE;
      if (on.length > 0) {
        let key: string | null = null;
        for (const p of on) {
          const segments = this.paths.segments[p]!;
          if (segments.length <= depth) continue;
          const match = escaped || this.hasHighBytes(keyStart, keyEnd) ? (key ??= this.keyText(keyStart, keyEnd, escaped)) === segments[depth] : this.sameBytes(keyStart + 1, keyEnd - 1, this.paths.segmentBytes[p]![depth]!);
          if (!match) continue;
          if (next === NONE) next = [];
          (next as number[]).push(p);
          // This key's value replaces any earlier one (duplicate keys: the last wins).
          this.values[p] = undefined;
        }
      }
      this.value(next, depth + 1);
      this.skipSpace();
      const c = this.line[this.i];
      if (c === COMMA) {
        this.i++;
        this.skipSpace();
        continue;
      }
      if (c === CLOSE_OBJECT) {
        this.i++;
        return;
      }
      throw INVALID;
    }
  }

  private array(on: readonly number[], depth: number): void {
    this.i++; // [
    this.found(on, depth, undefined);
    this.skipSpace();
    if (this.line[this.i] === CLOSE_ARRAY) {
      this.i++;
      return;
    }
    for (let index = 0; ; index++) {
      let next: number[] | readonly number[] = NONE;
      for (const p of on) {
        if (this.paths.segments[p]!.length > depth && this.paths.indexes[p]![depth] === index) {
          if (next === NONE) next = [];
          (next as number[]).push(p);
        }
      }
      this.value(next, depth + 1);
      this.skipSpace();
      const c = this.line[this.i];
      if (c === COMMA) {
        this.i++;
        this.skipSpace();
        continue;
      }
      if (c === CLOSE_ARRAY) {
        this.i++;
        return;
      }
      throw INVALID;
    }
  }

  private hasHighBytes(start: number, end: number): boolean {
    for (let k = start; k < end; k++) if (this.line[k]! >= 0x80) return true;
    return false;
  }

  private keyText(start: number, end: number, escaped: boolean): string {
    return escaped ? (JSON.parse(this.line.toString('utf8', start, end)) as string) : this.line.toString('utf8', start + 1, end - 1);
  }

  private sameBytes(start: number, end: number, expected: Buffer): boolean {
    if (end - start !== expected.length) return false;
    for (let k = 0; k < expected.length; k++) if (this.line[start + k] !== expected[k]) return false;
    return true;
  }
}

const NONE: readonly number[] = [];
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isDigit19(c: number | undefined): boolean {
  return c !== undefined && c >= 0x31 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
}
