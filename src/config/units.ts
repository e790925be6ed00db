// Parses the human units of agent.yaml: durations ("250ms", "5s", "24h") into milliseconds
// and sizes ("64KiB", "1MiB", plain integers) into bytes. Parsing is delegated to `ms` and
// `bytes-iec`; this module adds the rules those libraries are lenient about (negatives,
// fractions, bare numbers for durations) and operator-friendly messages.

import ms from 'ms';
import bytes from 'bytes-iec';

/** A value that is not a valid duration or size. The message is meant for the operator. */
export class UnitError extends Error {
  constructor(
    readonly value: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'UnitError';
  }
}

const DURATION_EXAMPLES = '(e.g. 250ms, 5s, 24h)';
const SIZE_EXAMPLES = '(e.g. 64KiB, 1MiB, or a number of bytes)';
const BARE_NUMBER = /^[+-]?\d+(\.\d+)?$/;

/** Short, quoted rendering of a config value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/**
 * Milliseconds from "250ms", "5s", "5m", "24h", "7d" (anything `ms` reads), or 0 / "0".
 * A bare number other than 0 is rejected: `timeout: 30` could mean seconds or milliseconds.
 */
export function parseDuration(value: unknown): number {
  if (value === 0 || value === '0') return 0;
  if (typeof value === 'number') {
    if (value < 0) throw new UnitError(value, `${value} is negative; a duration must be 0 or more`);
    throw new UnitError(value, `${value} has no unit: say ${value}s or ${value}ms`);
  }
  if (typeof value !== 'string') {
    throw new UnitError(value, `expected a duration ${DURATION_EXAMPLES}, got ${describeValue(value)}`);
  }
  const text = value.trim();
  if (text.startsWith('-')) {
    throw new UnitError(value, `${describeValue(value)} is negative; a duration must be 0 or more`);
  }
  if (BARE_NUMBER.test(text)) {
    if (Number(text) === 0) return 0;
    throw new UnitError(value, `${describeValue(value)} has no unit: say ${text}s or ${text}ms`);
  }
  // `ms` types its argument as a template-literal type; any string is fine at runtime.
  const millis = text === '' ? undefined : (ms(text as ms.StringValue) as number | undefined);
  if (millis === undefined || !Number.isFinite(millis)) {
    throw new UnitError(value, `${describeValue(value)} is not a duration ${DURATION_EXAMPLES}`);
  }
  if (!Number.isInteger(millis)) {
    throw new UnitError(value, `${describeValue(value)} is not a whole number of milliseconds`);
  }
  return millis;
}

/**
 * Bytes from "64KiB", "1MiB", "16MiB" (IEC, powers of 1024), "1MB" (SI, powers of 1000),
 * a plain integer string, or a YAML integer. Fractions of a unit round down to whole bytes.
 */
export function parseSize(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new UnitError(value, `${value} is not a whole number of bytes`);
    }
    if (value < 0) throw new UnitError(value, `${value} is negative; a size must be 0 or more`);
    return value;
  }
  if (typeof value !== 'string') {
    throw new UnitError(value, `expected a size ${SIZE_EXAMPLES}, got ${describeValue(value)}`);
  }
  const text = value.trim();
  if (text.startsWith('-')) {
    throw new UnitError(value, `${describeValue(value)} is negative; a size must be 0 or more`);
  }
  const parsed = bytes.parse(text);
  if (parsed === null || !Number.isSafeInteger(parsed)) {
    throw new UnitError(value, `${describeValue(value)} is not a size ${SIZE_EXAMPLES}`);
  }
  return parsed;
}

/** "1 MiB" style rendering of a byte count, for messages. */
export function formatSize(byteCount: number): string {
  return bytes.format(byteCount, { mode: 'binary', unitSeparator: ' ' }) ?? `${byteCount} B`;
}
