// The decoders' whole-read check (FramedLines.whole): a read the framer cut at newlines only is
// checked once (UTF-8 valid / ASCII) instead of line by line. Whatever the bytes, the chunking
// and max_line_bytes, the lines, flags and replacement counts must be exactly those of the
// line-by-line path.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createDecoder } from '../src/tailer/decoder.js';
import { emptyLines, framedLineList, type FramedLines, LineFramer } from '../src/tailer/framer.js';
import { TailerCounters } from '../src/tailer/counters.js';

/** Bytes likely to matter: newlines, CR, ASCII, every UTF-8 sequence length, stray continuation and invalid bytes, a BOM. */
const piece = fc.oneof(
  fc.constantFrom('\n', '\r\n', 'a', 'xyz', 'é', '€', '😀', '\uFEFF').map((s) => Buffer.from(s, 'utf8')),
  fc.constantFrom([0x80], [0xbf], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xff], [0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80]).map((b) => Buffer.from(b)),
);

interface Framed {
  whole: boolean;
  lines: string[];
  flags: Array<number | undefined>;
  replaced: number;
}

/** Frames `file` read in `cuts` pieces and decodes each read: as the pipeline does, or with the whole-read hint removed. */
function frameAndDecode(encoding: 'utf-8' | 'latin1', file: Buffer, cuts: number[], maxLineBytes: number, useWhole: boolean): Framed {
  const decoder = createDecoder(encoding);
  const framer = new LineFramer(decoder, maxLineBytes, new TailerCounters());
  const result: Framed = { whole: false, lines: [], flags: [], replaced: 0 };
  let at = 0;
  let decodedAny = false;
  const bounds = [...cuts.filter((c) => c > 0 && c < file.length).sort((a, b) => a - b), file.length];
  for (const end of bounds) {
    if (end <= at) continue;
    const out: FramedLines = emptyLines();
    framer.push(file.subarray(at, end), out);
    if (out.ends.length > 0) {
      if (out.whole !== undefined) result.whole = true;
      if (!useWhole) delete out.whole;
      // As LinePipeline: the first read that yields lines starts at the file's start (BOM dropped).
      result.replaced += decoder.decode(out, 0, !decodedAny);
      decodedAny = true;
      const lines = framedLineList(out);
      for (let i = 0; i < lines.length; i++) {
        result.lines.push(lines[i]!.toString('latin1'));
        result.flags.push(out.flags[i]);
      }
    }
    at = end;
  }
  return result;
}

for (const encoding of ['utf-8', 'latin1'] as const) {
  test(`${encoding}: the whole-read check decodes exactly as line by line (any bytes, reads, max_line_bytes)`, () => {
    let sawWhole = 0;
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.array(fc.nat(400), { maxLength: 6 }), fc.integer({ min: 1, max: 12 }), (pieces, cuts, maxLineBytes) => {
        const file = Buffer.concat(pieces);
        const fast = frameAndDecode(encoding, file, cuts, maxLineBytes, true);
        const slow = frameAndDecode(encoding, file, cuts, maxLineBytes, false);
        if (fast.whole) sawWhole++;
        assert.deepEqual(fast.lines, slow.lines);
        assert.deepEqual(fast.flags, slow.flags);
        assert.equal(fast.replaced, slow.replaced);
      }),
      { numRuns: 2000 },
    );
    // The fast path was exercised, not only the fallback.
    assert.ok(sawWhole > 100, `whole-read hint set in ${sawWhole} of 2000 runs`);
  });
}

test('utf-8: one invalid line in a read is replaced and flagged, its neighbours are left alone', () => {
  const decoder = createDecoder('utf-8');
  const framer = new LineFramer(decoder, 1024, new TailerCounters());
  const out = emptyLines();
  framer.push(Buffer.concat([Buffer.from('good é\n'), Buffer.from([0x62, 0x61, 0x64, 0xff, 0x0a]), Buffer.from('€ fine\n')]), out);
  assert.ok(out.whole !== undefined, 'a read cut at newlines only carries the whole-read hint');
  assert.equal(decoder.decode(out, 0, false), 1);
  assert.deepEqual(framedLineList(out).map((l) => l.toString('utf8')), ['good é', 'bad\uFFFD', '€ fine']);
  assert.deepEqual([out.flags[0], out.flags[2]], [undefined, undefined]);
  assert.notEqual(out.flags[1], undefined);
});

test('a read that cuts a line at max_line_bytes carries no whole-read hint', () => {
  const framer = new LineFramer(createDecoder('utf-8'), 4, new TailerCounters());
  const out = emptyLines();
  framer.push(Buffer.from('abcdefgh\nij\n'), out);
  assert.equal(out.whole, undefined);
  assert.deepEqual(framedLineList(out).map((l) => l.toString()), ['abcd', 'efgh', 'ij']);
});
