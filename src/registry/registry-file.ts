// The on-disk format of the offsets registry: one versioned JSON document, one line long,
//   {"version":1,"written_at":<ms>,"sha256":"<hex>","entries":[<Checkpoint>, ...]}
// `sha256` covers the version, the write time and the exact text of the entries, so a
// truncated file, bit-rot or a hand edit is detected even when the JSON still parses.
// Decoding trusts nothing: every entry is validated before the agent resumes from it, by the
// same predicate (checkpointProblem) that vets entries before they are written, so a file this
// code wrote is always one it can read back.
//
// Why not zod, which the project has: this validation also runs at every write for every
// changed entry, where zod cost ~3 us an entry (30 ms for 10,000) against well under 1 us
// here; and one hand-written predicate serves both directions, so they cannot disagree.
// (Importing zod also adds ~100 ms to a process start, which the SIGKILL test pays 150 times.)

import { createHash } from 'node:crypto';
import { type Checkpoint, identityKey } from '../core/file.js';

export const REGISTRY_FORMAT_VERSION = 1;

export type DecodeResult =
  | { ok: true; entries: Checkpoint[]; writtenAt: number }
  | { ok: false; problem: string };

/**
 * The registry's own copy of a checkpoint: fixed key order (so JSON.stringify of it is the
 * canonical text the checksum covers) and no stray properties from the caller's object.
 * No validation: this runs on the commit hot path; checkpointProblem vets it before a write.
 */
export function copyCheckpoint(cp: Checkpoint, lastSeen: number, seenAt = cp.seenAt, deleted = cp.deleted): Checkpoint {
  const copy: Checkpoint = {
    identity: { dev: cp.identity.dev, ino: cp.identity.ino },
    fingerprint: { len: cp.fingerprint.len, hash: cp.fingerprint.hash },
    input: cp.input,
    path: cp.path,
    offset: cp.offset,
    marker: cp.marker === null ? null : { len: cp.marker.len, hash: cp.marker.hash },
    lastSeen,
  };
  if (seenAt !== undefined) copy.seenAt = seenAt;
  if (deleted === true) copy.deleted = true;
  return copy;
}

/**
 * Why `value` is not a checkpoint this registry can write and read back, or null when it is.
 * The one definition of a valid entry, for loading and for writing alike.
 */
export function checkpointProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'must be an object';
  const { identity, fingerprint, input, path, offset, marker, lastSeen, seenAt, deleted } = value;
  // st_dev / st_ino can exceed 2^53 on some filesystems; they are identities, not arithmetic.
  if (!isRecord(identity) || !isWholeNumber(identity.dev) || !isWholeNumber(identity.ino)) {
    return 'identity must be {dev, ino} with whole numbers >= 0';
  }
  if (!isDigest(fingerprint)) return 'fingerprint must be {len, hash}: a byte count and a hex digest';
  if (!isNonEmptyString(input)) return 'input must be a non-empty string';
  if (!isNonEmptyString(path)) return 'path must be a non-empty string';
  if (!isByteCount(offset)) return 'offset must be a whole number of bytes >= 0';
  if (marker !== null && !isDigest(marker)) return 'marker must be null or {len, hash}: a byte count and a hex digest';
  if (typeof lastSeen !== 'number' || !Number.isFinite(lastSeen) || lastSeen < 0) return 'lastSeen must be a time in ms >= 0';
  if (seenAt !== undefined && (typeof seenAt !== 'number' || !Number.isFinite(seenAt) || seenAt < 0)) return 'seenAt must be absent or a time in ms >= 0';
  if (deleted !== undefined && deleted !== true) return 'deleted must be absent or true';
  return null;
}

/** A validated, canonical (copyCheckpoint-shaped) checkpoint from untrusted data, or why the data is not one. */
export function parseCheckpoint(value: unknown): Checkpoint | string {
  const problem = checkpointProblem(value);
  if (problem !== null) return problem;
  // checkpointProblem just proved every field; copyCheckpoint drops any others.
  const valid = value as Checkpoint;
  return copyCheckpoint(valid, valid.lastSeen);
}

/**
 * The whole file, from the UTF-8 JSON of each entry (JSON.stringify of copyCheckpoint-shaped
 * objects, cached by the caller so unchanged entries are not serialised again). Bytes rather
 * than strings: joining cached buffers costs half of joining strings and converting 3 MB.
 */
export function encodeRegistry(entriesJson: readonly Uint8Array[], writtenAt: number): Buffer {
  const parts: Uint8Array[] = [OPEN_BRACKET];
  for (let i = 0; i < entriesJson.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(entriesJson[i] as Uint8Array);
  }
  parts.push(CLOSE_BRACKET);
  const entries = Buffer.concat(parts);
  const sha256 = digest(REGISTRY_FORMAT_VERSION, writtenAt, entries);
  const head = `{"version":${REGISTRY_FORMAT_VERSION},"written_at":${JSON.stringify(writtenAt)},"sha256":"${sha256}","entries":`;
  return Buffer.concat([Buffer.from(head), entries, DOCUMENT_END]);
}

const OPEN_BRACKET = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE_BRACKET = Buffer.from(']');
const DOCUMENT_END = Buffer.from('}\n');

export function decodeRegistry(text: string): DecodeResult {
  if (text.length === 0) return { ok: false, problem: 'the file is empty' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `not valid JSON (truncated or garbage): ${(err as Error).message}` };
  }
  if (!isRecord(doc)) return { ok: false, problem: 'not a JSON object' };
  const { version, written_at: writtenAt, sha256, entries } = doc;
  if (version !== REGISTRY_FORMAT_VERSION) {
    return { ok: false, problem: `unsupported version ${JSON.stringify(version)} (this agent reads version ${REGISTRY_FORMAT_VERSION})` };
  }
  if (typeof writtenAt !== 'number' || !Number.isFinite(writtenAt)) return { ok: false, problem: 'written_at is missing or not a number' };
  if (typeof sha256 !== 'string') return { ok: false, problem: 'sha256 is missing' };
  if (!Array.isArray(entries)) return { ok: false, problem: 'entries is missing or not an array' };

  // JSON.stringify(JSON.parse(s)) === s for text JSON.stringify wrote, so re-serialising the
  // parsed entries reproduces exactly the bytes that were hashed.
  if (digest(REGISTRY_FORMAT_VERSION, writtenAt, JSON.stringify(entries)) !== sha256) {
    return { ok: false, problem: 'checksum mismatch (the file was altered or is damaged)' };
  }

  const checkpoints: Checkpoint[] = [];
  const keys = new Set<string>();
  for (const [index, entry] of (entries as unknown[]).entries()) {
    const parsed = parseCheckpoint(entry);
    if (typeof parsed === 'string') return { ok: false, problem: `entry ${index} is invalid: ${parsed}` };
    const key = identityKey(parsed.identity);
    if (keys.has(key)) return { ok: false, problem: `entry ${index} repeats file identity ${key}` };
    keys.add(key);
    checkpoints.push(parsed);
  }
  return { ok: true, entries: checkpoints, writtenAt };
}

function digest(version: number, writtenAt: number, entriesJson: string | Buffer): string {
  return createHash('sha256').update(`${version}\n${JSON.stringify(writtenAt)}\n`).update(entriesJson).digest('hex');
}

const HEX = /^[0-9a-fA-F]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isDigest(value: unknown): value is { len: number; hash: string } {
  return isRecord(value) && isByteCount(value.len) && typeof value.hash === 'string' && HEX.test(value.hash);
}
