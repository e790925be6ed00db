// Delivery by contents: the record values a shipper left in Kafka compared, as a multiset, with
// the lines of the file it shipped. Used on inputs small enough for the test cluster to keep
// every record (it trims a partition past ~5 MiB; larger runs are checked by high watermarks).

export interface ContentComparison {
  expected: number;
  received: number;
  /** Lines with no record (counted with multiplicity). */
  missing: number;
  /** Records with no line left to match: duplicates or altered values. */
  unexpected: number;
  /** A few unexpected values, for the report. */
  examples: string[];
}

const EXAMPLES = 3;

/** Splits a file's contents into lines (each ends with '\n'; a final unterminated part is a line too). */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function compareValues(lines: readonly string[], values: readonly string[]): ContentComparison {
  const pending = new Map<string, number>();
  for (const line of lines) pending.set(line, (pending.get(line) ?? 0) + 1);
  let unexpected = 0;
  const examples: string[] = [];
  for (const value of values) {
    const left = pending.get(value) ?? 0;
    if (left > 0) {
      pending.set(value, left - 1);
    } else {
      unexpected++;
      if (examples.length < EXAMPLES) examples.push(value);
    }
  }
  let missing = 0;
  for (const left of pending.values()) missing += left;
  return { expected: lines.length, received: values.length, missing, unexpected, examples };
}

export function exact(c: ContentComparison): boolean {
  return c.missing === 0 && c.unexpected === 0;
}

export function describeComparison(c: ContentComparison): string {
  if (exact(c)) return `${c.received.toLocaleString('en-US')} of ${c.expected.toLocaleString('en-US')}, each exactly once`;
  const shown = c.examples.map((e) => JSON.stringify(e.length > 80 ? `${e.slice(0, 80)}...` : e)).join(', ');
  return `${c.received} records for ${c.expected} lines: ${c.missing} missing, ${c.unexpected} unexpected${shown ? ` (e.g. ${shown})` : ''}`;
}
