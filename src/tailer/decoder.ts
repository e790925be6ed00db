// Encodings: how lines are framed in the raw bytes of a file (newline and CR sequences, where a
// long line may be cut without splitting a character) and how each whole framed line becomes
// UTF-8. Lines are decoded only once framed, so a character split across two reads is never
// corrupted, and offsets stay byte positions in the file.

import { isAscii, isUtf8 } from 'node:buffer';
import type { FileEncoding } from '../config/types.js';
import { framedLine, framedLineList, replaceLine, type FramedLines, type FramingRules } from './framer.js';
import { LineFlag } from '../core/batch.js';

export interface LineDecoder extends FramingRules {
  readonly encoding: FileEncoding;
  /**
   * Turns lines `from..` of `out` into UTF-8 in place (a rewritten line gets a part of its
   * own), flagging lines that needed replacement characters. `atFileStart`: line `from`
   * starts at offset 0 (a BOM there is dropped).
   * Returns the number of U+FFFD characters introduced.
   */
  decode(out: FramedLines, from: number, atFileStart: boolean): number;
}

const REPLACEMENT_CHAR = '\uFFFD';
const UTF8_REPLACEMENT = Buffer.from(REPLACEMENT_CHAR, 'utf8');
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function countInString(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

function countInBuffer(bytes: Buffer, needle: Buffer, alignment: number): number {
  let count = 0;
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) {
    if (at % alignment === 0) count++;
  }
  return count;
}

function addFlag(out: FramedLines, index: number, flag: LineFlag): void {
  out.flags[index] = ((out.flags[index] ?? LineFlag.None) | flag) as LineFlag;
}

function stripPrefix(out: FramedLines, index: number, prefix: Buffer): void {
  if (index >= out.ends.length) return;
  const line = framedLine(out, index);
  if (line.length >= prefix.length && prefix.equals(line.subarray(0, prefix.length))) {
    out.bounds[2 * index] += prefix.length;
    out.bounds[2 * index + 1] -= prefix.length;
  }
}

/** Length <= maxLen from `start` that does not end inside a UTF-8 sequence. */
function cutUtf8(data: Buffer, start: number, maxLen: number): number {
  const end = start + maxLen;
  if (end >= data.length) return maxLen;
  let back = 0;
  while (back < 3 && back < maxLen - 1 && (data[end - back]! & 0xc0) === 0x80) back++;
  // Still inside a continuation run: not valid UTF-8 here, any cut is as good as another.
  return (data[end - back]! & 0xc0) === 0x80 ? maxLen : maxLen - back;
}

const utf8Decoder: LineDecoder = {
  encoding: 'utf-8',
  unit: 1,
  newline: Buffer.from([0x0a]),
  carriageReturn: Buffer.from([0x0d]),
  cut: cutUtf8,
  decode(out, from, atFileStart) {
    if (atFileStart) stripPrefix(out, from, UTF8_BOM);
    // Lines cut only at newlines (ASCII) from valid UTF-8 are valid: one check for the whole
    // read instead of one call per line (~0.05 µs a line, a fifth of the framing's CPU).
    if (from === 0 && out.whole !== undefined && isUtf8(out.whole) && (out.made === undefined || isUtf8(out.made))) return 0;
    let replaced = 0;
    const lines = framedLineList(out);
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]!;
      if (isUtf8(line)) continue;
      const text = line.toString('utf8');
      replaced += countInString(text, REPLACEMENT_CHAR) - countInBuffer(line, UTF8_REPLACEMENT, 1);
      replaceLine(out, i, Buffer.from(text, 'utf8'));
      addFlag(out, i, LineFlag.Replaced);
    }
    return replaced;
  },
};

const latin1Decoder: LineDecoder = {
  encoding: 'latin1',
  unit: 1,
  newline: Buffer.from([0x0a]),
  carriageReturn: Buffer.from([0x0d]),
  cut: (_data, _start, maxLen) => maxLen,
  decode(out, from) {
    // ASCII needs no conversion: one check for the whole read when it was cut at newlines only.
    if (from === 0 && out.whole !== undefined && isAscii(out.whole) && (out.made === undefined || isAscii(out.made))) return 0;
    const lines = framedLineList(out);
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]!;
      if (!isAscii(line)) replaceLine(out, i, Buffer.from(line.toString('latin1'), 'utf8'));
    }
    return 0;
  },
};

function utf16Decoder(encoding: 'utf-16le' | 'utf-16be'): LineDecoder {
  const littleEndian = encoding === 'utf-16le';
  const unitBytes = (code: number): Buffer =>
    Buffer.from(littleEndian ? [code & 0xff, code >> 8] : [code >> 8, code & 0xff]);
  const bom = unitBytes(0xfeff);
  const replacementUnit = unitBytes(0xfffd);
  // ignoreBOM: a U+FEFF inside the file is content; only the one at offset 0 is dropped (below).
  const textDecoder = new TextDecoder(encoding, { ignoreBOM: true });
  const unitAt = (data: Buffer, at: number): number =>
    littleEndian ? data[at]! | (data[at + 1]! << 8) : (data[at]! << 8) | data[at + 1]!;
  return {
    encoding,
    unit: 2,
    newline: unitBytes(0x0a),
    carriageReturn: unitBytes(0x0d),
    cut(data, start, maxLen) {
      let len = Math.max(2, maxLen - (maxLen % 2));
      const end = start + len;
      // Never separate a surrogate pair.
      if (len > 2 && end <= data.length && end - 2 >= start) {
        const unit = unitAt(data, end - 2);
        if (unit >= 0xd800 && unit <= 0xdbff) len -= 2;
      }
      return len;
    },
    decode(out, from, atFileStart) {
      if (atFileStart) stripPrefix(out, from, bom);
      let replaced = 0;
      const lines = framedLineList(out);
      for (let i = from; i < lines.length; i++) {
        const line = lines[i]!;
        const text = textDecoder.decode(line);
        const introduced = countInString(text, REPLACEMENT_CHAR) - countInBuffer(line, replacementUnit, 2);
        if (introduced > 0) {
          replaced += introduced;
          addFlag(out, i, LineFlag.Replaced);
        }
        replaceLine(out, i, Buffer.from(text, 'utf8'));
      }
      return replaced;
    },
  };
}

export function createDecoder(encoding: FileEncoding): LineDecoder {
  switch (encoding) {
    case 'utf-8':
      return utf8Decoder;
    case 'latin1':
      return latin1Decoder;
    case 'utf-16le':
    case 'utf-16be':
      return utf16Decoder(encoding);
  }
}
