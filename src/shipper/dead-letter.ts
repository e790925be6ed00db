// Dead letters (kafka.dead_letter_topic): a record Kafka refuses for good (too large, invalid,
// not authorised for its topic) is produced to the dead-letter topic instead of only being
// logged — its value, truncated to fit, with headers saying where it came from and why it was
// refused. Rare by nature: built per record in JavaScript, off the batch path.

import { errorCodes } from './binding.js';

/** Header names of a dead letter (documented in the README's Configuration section). */
export const DEAD_LETTER_HEADERS = {
  topic: 'logship.topic',
  input: 'logship.input',
  host: 'logship.host',
  path: 'logship.path',
  offset: 'logship.offset',
  error: 'logship.error',
  errorCode: 'logship.error_code',
  errorMessage: 'logship.error_message',
  valueBytes: 'logship.value_bytes',
  truncated: 'logship.truncated',
} as const;

/**
 * Room kept free in a dead letter for what librdkafka and Kafka add around key, headers and
 * value (record and batch framing: about 61 bytes of batch header and 20 of record header).
 */
export const DEAD_LETTER_FRAMING_BYTES = 256;

/** Where the refused record came from and why it was refused. */
export interface RefusedRecord {
  topic: string;
  input: string;
  host: string;
  path: string;
  /** Byte offset of the record's line in its file. */
  offset: number;
  code: number;
  /** librdkafka's description of the error. */
  message: string;
  /** The record's value as it was produced (raw line or json envelope). */
  value: Uint8Array;
  key: Uint8Array | null;
}

export interface DeadLetter {
  value: Buffer;
  /** Static [name, value] pairs (a HeaderSpec without per-record values). */
  headers: Array<string | Uint8Array>;
}

let names: Map<number, string> | null = null;

/** `MSG_SIZE_TOO_LARGE` for 10: librdkafka's error name without its `ERR_` prefix. */
export function errorName(code: number): string {
  if (!names) {
    names = new Map();
    for (const [name, value] of Object.entries(errorCodes())) if (typeof value === 'number') names.set(value, name.replace(/^ERR_/, ''));
  }
  return names.get(code) ?? `ERROR_${code}`;
}

/**
 * The dead letter of a refused record: headers naming its origin and error, and its value cut
 * (at a UTF-8 character boundary) so that key + headers + value fit `maxMessageBytes`.
 */
export function deadLetter(r: RefusedRecord, maxMessageBytes: number): DeadLetter {
  const H = DEAD_LETTER_HEADERS;
  const fixed: Array<[string, string]> = [
    [H.topic, r.topic],
    [H.input, r.input],
    [H.host, r.host],
    [H.path, r.path],
    [H.offset, String(r.offset)],
    [H.error, errorName(r.code)],
    [H.errorCode, String(r.code)],
    [H.errorMessage, r.message],
    [H.valueBytes, String(r.value.length)],
  ];
  const pairs = fixed.map(([name, value]): [string, Buffer] => [name, Buffer.from(value)]);
  // As Kafka frames them: a count, then per header its name and value, each after its length
  // as a zigzag varint ('logship.truncated' and 'false' still to come).
  let headerBytes = varintBytes(pairs.length + 1) + varintBytes(H.truncated.length) + H.truncated.length + varintBytes(5) + 5;
  for (const [name, value] of pairs) headerBytes += varintBytes(name.length) + name.length + varintBytes(value.length) + value.length;
  const room = Math.max(0, maxMessageBytes - DEAD_LETTER_FRAMING_BYTES - headerBytes - (r.key?.length ?? 0));
  const value = truncateUtf8(r.value, room);
  pairs.push([H.truncated, Buffer.from(value.length < r.value.length ? 'true' : 'false')]);
  return { value, headers: pairs.flat() };
}

/** Bytes of `n` as a Kafka (zigzag) varint. */
function varintBytes(n: number): number {
  let v = 2 * n;
  let bytes = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

/** The longest prefix of at most `max` bytes that does not cut a UTF-8 character. */
export function truncateUtf8(bytes: Uint8Array, max: number): Buffer {
  if (bytes.length <= max) return Buffer.from(bytes);
  let end = Math.max(0, max);
  // Back off continuation bytes (10xxxxxx) to the start of the character cut in two (at most
  // three: beyond that the bytes are not UTF-8, and any cut will do).
  const floor = Math.max(0, end - 3);
  while (end > floor && (bytes[end]! & 0xc0) === 0x80) end--;
  if ((bytes[end]! & 0xc0) === 0x80) end = Math.max(0, max);
  return Buffer.from(bytes.subarray(0, end));
}
