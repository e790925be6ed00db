// Pooled read chunks (src/tailer/chunk-pool.ts): the pool's decisions as pure functions, the
// holds on a chunk, and the line pipeline releasing and keeping chunks so that a batch's bytes
// stay intact until its own release — whatever multiline, the container parser, decoding, filters
// or parse: json keep across reads. No filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { linesOf } from '../src/core/batch.js';
import { ChunkPool, chooseReturn, chooseTake, POISON_BYTE, poisonFromEnv, poolBound, readChunkPool, type PoolFacts } from '../src/tailer/chunk-pool.js';
import { TailerStateError } from '../src/tailer/errors.js';
import { LinePipeline, type PipelineLines } from '../src/tailer/line-pipeline.js';
import { TailerCounters } from '../src/tailer/counters.js';
import { inputWith } from './helpers/configs.js';

const facts = (f: Partial<PoolFacts>): PoolFacts => ({ size: 1000, capacity: 1000, free: 0, lent: 0, max: 4, poison: false, ...f });

describe('chunk pool decisions', () => {
  test('a read worth a chunk reuses a free one, else allocates while under the bound, else is served unpooled', () => {
    assert.equal(chooseTake(facts({ free: 2, lent: 2 })), 'reuse');
    assert.equal(chooseTake(facts({ free: 0, lent: 3 })), 'allocate');
    assert.equal(chooseTake(facts({ free: 0, lent: 4 })), 'unpooled', 'at the bound: a plain buffer, as before the pool');
  });

  test('small reads and reads larger than a chunk are not pooled (a chunk held by a few lines would multiply memory)', () => {
    assert.equal(chooseTake(facts({ size: 249, free: 1 })), 'unpooled', 'under a quarter of the capacity');
    assert.equal(chooseTake(facts({ size: 250, free: 1 })), 'reuse');
    assert.equal(chooseTake(facts({ size: 1001, free: 1 })), 'unpooled', 'carried bytes beyond the room: larger than a chunk');
  });

  test('poison mode: every read gets a chunk of its own, and a released chunk is poisoned, never kept', () => {
    assert.equal(chooseTake(facts({ size: 1, free: 3, poison: true })), 'exact');
    assert.equal(chooseTake(facts({ size: 5000, lent: 4, poison: true })), 'exact');
    assert.equal(chooseReturn(true), 'poison');
    assert.equal(chooseReturn(false), 'keep');
    assert.equal(poisonFromEnv({ LOGSHIP_POISON_RELEASED_CHUNKS: '1' }), true);
    assert.equal(poisonFromEnv({}), false);
  });

  test('the bound: what the in-flight budget holds in full chunks, plus one per concurrent read and a few', () => {
    assert.equal(poolBound(16 << 20, 264 << 10, 16), 63 + 16 + 4);
    assert.equal(poolBound(1, 264 << 10, 16), 1 + 16 + 4);
    const pool = readChunkPool(256 << 10, 16 << 20, {});
    assert.equal(pool.capacity, (256 << 10) + 8 * 1024, 'a read plus room for the carried unfinished line');
    assert.equal(pool.max, poolBound(16 << 20, pool.capacity, 16));
    assert.equal(pool.poison, false);
  });
});

describe('ChunkPool', () => {
  test('a chunk comes back when its last hold is released, and the next read reuses its memory', () => {
    const pool = new ChunkPool({ capacity: 100, max: 2 });
    const a = pool.take(60);
    assert.equal(a.bytes.length, 60);
    assert.ok(a.chunk !== null && a.chunk.holdsView(a.bytes.subarray(3, 9)));
    const batchHold = a.chunk.hold();
    a.hold!.release();
    a.hold!.release(); // a hold releases once
    assert.equal(pool.lentCount, 1, 'the batch still holds it');
    assert.equal(pool.freeCount, 0);
    batchHold.release();
    assert.equal(pool.lentCount, 0);
    assert.equal(pool.freeCount, 1);
    const b = pool.take(80);
    assert.equal(b.bytes.buffer, a.bytes.buffer, 'the same memory, no allocation');
    assert.equal(pool.allocated, 1);
    assert.equal(pool.reused, 1);
    assert.throws(() => a.chunk!.lend(), TailerStateError, 'lent again while held: refused');
  });

  test('a hold on a chunk already given back is refused', () => {
    const pool = new ChunkPool({ capacity: 100, max: 2 });
    const a = pool.take(50);
    a.hold!.release();
    assert.throws(() => a.chunk!.hold(), TailerStateError);
    assert.throws(() => a.chunk!.drop(), TailerStateError);
  });

  test('past its bound the pool serves plain buffers, which nothing releases', () => {
    const pool = new ChunkPool({ capacity: 100, max: 1 });
    const a = pool.take(50);
    const b = pool.take(50);
    assert.equal(b.chunk, null);
    assert.equal(b.hold, null);
    assert.notEqual(b.bytes.buffer, a.bytes.buffer);
    assert.equal(pool.take(10).chunk, null, 'small: unpooled');
  });

  test('poison mode: a view left over reads the marker, and the chunk is never lent again', () => {
    const pool = new ChunkPool({ capacity: 100, max: 4, poison: true });
    const a = pool.take(3);
    a.bytes.write('abc');
    const view = a.bytes.subarray(0, 3);
    a.hold!.release();
    assert.deepEqual([...view], [POISON_BYTE, POISON_BYTE, POISON_BYTE]);
    assert.equal(pool.freeCount, 0);
    assert.notEqual(pool.take(3).bytes.buffer, a.bytes.buffer);
  });
});


interface Shipped {
  values: string[];
  ends: number[];
  json: unknown[];
}

/**
 * Feeds `reads` to a pipeline over `pool` as a reader and shipper would: each output's values
 * are taken (as librdkafka copies them at produce time), then its hold is released at once —
 * as if Kafka acknowledged it before the next read — and at the end what is held back is
 * flushed. With a poison pool any view left over reads marker bytes; with a reusing pool it
 * reads a later read's bytes. Either way the values differ from the pipeline's without a pool.
 */
function ship(yaml: string, reads: readonly Buffer[], pool: ChunkPool | null): Shipped {
  const p = new LinePipeline(inputWith(yaml), new TailerCounters(), pool);
  p.reset(0);
  const shipped: Shipped = { values: [], ends: [], json: [] };
  const take = (out: PipelineLines): void => {
    shipped.values.push(...linesOf(out).map((l) => l.toString('latin1')));
    shipped.ends.push(...out.ends);
    shipped.json.push(...(out.details?.json ?? []));
    out.chunk?.release();
  };
  for (const read of reads) {
    // The reader's read buffer is reused for the next read: the pipeline must copy it.
    const buffer = Buffer.from(read);
    take(p.push(buffer));
    buffer.fill(0x21);
  }
  for (const out of p.flush(true)) take(out);
  return shipped;
}

/** `text` cut into reads of `size` bytes. */
function reads(text: string | Buffer, size: number): Buffer[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const T = '2024-03-15T10:20:30.123456789Z';

const cases: Array<{ name: string; yaml: string; text: string | Buffer; sizes: number[] }> = [
  { name: 'raw lines, lines across reads', yaml: 'topic: t', text: Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(i)}\n`).join(''), sizes: [7, 64, 1000] },
  {
    name: 'multiline: events across reads, a one-line event flushed by the next read',
    yaml: `topic: t\nmultiline: {start: '^E', timeout: 1s}`,
    text: 'E1\n  at a\n  at b\nE2\nE3\n  at c\nE4\nE5\n  at d\n  at e\n  at f\nE6\n',
    sizes: [3, 4, 5, 9, 200],
  },
  {
    name: 'cri: P pieces across reads joined, stdout and stderr interleaved',
    yaml: 'parser: cri\ntopic: t',
    text: `${T} stdout P hel\n${T} stderr F err1\n${T} stdout P lo \n${T} stdout F world\n${T} stdout F two\n${T} stderr P e\n${T} stderr F rr2\n`,
    sizes: [11, 37, 60, 1000],
  },
  {
    name: 'cri then multiline',
    yaml: `parser: cri\ntopic: t\nmultiline: {start: '^E', timeout: 1s}`,
    text: `${T} stdout F E1\n${T} stdout P   at \n${T} stdout F a\n${T} stdout F E2\n${T} stdout F E3\n`,
    sizes: [13, 50, 1000],
  },
  {
    name: 'docker json-file, pieces of 16 KiB lines joined',
    yaml: 'parser: docker\ntopic: t',
    text: `{"log":"part one ","stream":"stdout","time":"${T}"}\n{"log":"and two\\n","stream":"stdout","time":"${T}"}\n{"log":"alone\\n","stream":"stderr","time":"${T}"}\n`,
    sizes: [10, 41, 1000],
  },
  {
    name: 'parse: json with a key field passed as bounds, and filters',
    yaml: `topic: 'logs.{json.app}'\nkey: '{json.id}'\nparse: json\nexclude_lines: ['^skip']`,
    text: '{"app":"a","id":"k1","m":1}\nskip me\n{"app":"b","id":"k2"}\nnot json\n{"app":"a","id":"k3"}\n',
    sizes: [6, 25, 1000],
  },
  { name: 'latin1 decoded', yaml: 'topic: t\nencoding: latin1', text: Buffer.from('caf\xe9\nna\xefve\nplain\n', 'latin1'), sizes: [3, 1000] },
  { name: 'utf-16le decoded', yaml: 'topic: t\nencoding: utf-16le', text: Buffer.from('one\ntwo\nthree\n', 'utf16le'), sizes: [4, 6, 1000] },
];

describe('LinePipeline over pooled chunks: every value intact though each batch releases its chunk at once', () => {
  for (const c of cases) {
    for (const size of c.sizes) {
      test(`${c.name} (reads of ${size} B)`, () => {
        const expected = ship(c.yaml, reads(c.text, size), null);
        assert.ok(expected.values.length > 0);
        const poison = new ChunkPool({ capacity: 64 << 10, max: 8, poison: true });
        assert.deepEqual(ship(c.yaml, reads(c.text, size), poison), expected, 'poisoned chunks: no view of a released chunk');
        assert.ok(poison.allocated > 0, 'every read went through a chunk');
        assert.equal(poison.lentCount, 0, 'every chunk released once everything was shipped');
        // Reused chunks: a left-over view would read a later read's bytes. Capacity 4x the read: pooled.
        const reusing = new ChunkPool({ capacity: 4 * size, max: 8 });
        assert.deepEqual(ship(c.yaml, reads(c.text, size), reusing), expected, 'reused chunks: no view of a released chunk');
        assert.equal(reusing.lentCount, 0);
        if (reads(c.text, size).length > 2 && size >= 16) assert.ok(reusing.reused > 0, 'chunks were reused');
      });
    }
  }

  test("a raw read's batch holds its chunk: the chunk is reused only after that hold is released", () => {
    const pool = new ChunkPool({ capacity: 64, max: 4 });
    const p = new LinePipeline(inputWith('topic: t'), new TailerCounters(), pool);
    p.reset(0);
    const out = p.push(Buffer.from('aaaaaaaaaa\nbbbbbbbbbb\ncccc'));
    assert.ok(out.chunk !== undefined, 'the lines are bounds into the chunk: the batch holds it');
    assert.equal(pool.lentCount, 1);
    const next = p.push(Buffer.from('dddddddddddd\neeeeeeeeeeeeeeeeeeee\n'));
    assert.notEqual(next.data.buffer, out.data.buffer, 'the first chunk is still held: not reused');
    assert.deepEqual(linesOf(out).map(String), ['aaaaaaaaaa', 'bbbbbbbbbb']);
    out.chunk!.release();
    next.chunk!.release();
    assert.equal(pool.lentCount, 0);
    assert.equal(pool.freeCount, 2);
  });

  test('an open cri event keeps the chunk its pieces are in (held by the pipeline) until it is complete', () => {
    const pool = new ChunkPool({ capacity: 1024, max: 4 });
    const p = new LinePipeline(inputWith('parser: cri\ntopic: t'), new TailerCounters(), pool);
    p.reset(0);
    const first = p.push(Buffer.from(`${T} stdout P ${'a'.repeat(300)}\n`));
    assert.equal(first.ends.length, 0);
    assert.equal(pool.lentCount, 1, 'the open event views the read: kept');
    const second = p.push(Buffer.from(`${T} stdout F ${'b'.repeat(300)}\n`));
    second.chunk?.release();
    assert.deepEqual(linesOf(second).map(String), ['a'.repeat(300) + 'b'.repeat(300)]);
    assert.equal(pool.lentCount, 0, 'complete: both chunks given back');
  });

  test('a reset (truncation) lets go of what stages kept', () => {
    const pool = new ChunkPool({ capacity: 1024, max: 4 });
    const p = new LinePipeline(inputWith('parser: cri\ntopic: t'), new TailerCounters(), pool);
    p.reset(0);
    p.push(Buffer.from(`${T} stdout P ${'a'.repeat(300)}\n`));
    assert.equal(pool.lentCount, 1);
    p.reset(0);
    assert.equal(pool.lentCount, 0);
  });
});
