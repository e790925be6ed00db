// The line pipeline with the stages of issue 12 wired in (container parser, filters, JSON
// fields, multiline after parsing): bytes in, records and offsets out. No filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InputConfig } from '../src/config/types.js';
import { linesOf } from '../src/core/batch.js';
import { lineStatsOf } from '../src/lines/stats.js';
import { LinePipeline, type PipelineLines } from '../src/tailer/line-pipeline.js';
import { TailerCounters } from '../src/tailer/counters.js';
import { inputWith } from './helpers/configs.js';


function pipeline(yaml: string): { p: LinePipeline; input: InputConfig } {
  const input = inputWith(yaml);
  const p = new LinePipeline(input, new TailerCounters());
  p.reset(0);
  return { p, input };
}

const text = (out: PipelineLines): string[] => linesOf(out).map((l) => l.toString());
const T = '2024-03-15T10:20:30.123456789Z';

describe('LinePipeline: container parser', () => {
  test('a P piece read alone is held: nothing out, the offset does not move; its F completes the event', () => {
    const { p } = pipeline('parser: cri\nformat: json\ntopic: "t"');
    const first = `${T} stdout F one\n`;
    const piece = `${T} stdout P hel`;
    const out1 = p.push(Buffer.from(`${first}${piece}\n`));
    assert.deepEqual(text(out1), ['one']);
    assert.deepEqual(out1.ends, [first.length], 'the committable end stops before the open P');
    assert.equal(out1.through, undefined);
    const last = `${T} stderr F lo\n`;
    const tail = `${T} stdout F lo\n`;
    const out2 = p.push(Buffer.from(last + tail));
    const total = first.length + piece.length + 1 + last.length + tail.length;
    assert.deepEqual(text(out2), ['lo', 'hello'], 'the stderr line is held until the stdout event completes');
    assert.deepEqual(out2.details?.streams, ['stderr', 'stdout']);
    assert.deepEqual(out2.details?.times, [T, T]);
    assert.deepEqual(out2.details?.starts, [first.length + piece.length + 1, first.length]);
    assert.equal(out2.ends[out2.ends.length - 1], total);
  });

  test('docker json-file lines: the message without its wrapper; a malformed line is shipped raw and counted', () => {
    const { p, input } = pipeline('parser: docker\ntopic: "t"');
    const out = p.push(Buffer.from(`{"log":"a\\n","stream":"stdout","time":"${T}"}\nnot docker\n`));
    assert.deepEqual(text(out), ['a', 'not docker']);
    assert.deepEqual(out.details?.streams, ['stdout', null]);
    assert.equal(out.details?.times, null, 'raw records have no use for the runtime time: not kept');
    assert.equal(out.flags[1]! & 16, 16, 'flagged Malformed');
    assert.equal(lineStatsOf(input.id).container.malformedLines, 1);
  });

  test('multiline after the parser: the joined event keeps its first line start, stream and time', () => {
    const { p } = pipeline(`parser: cri\ntopic: "t"\nmultiline: {start: '^\\d', timeout: 1s}`);
    const lines = [`${T} stdout F 1 boom`, `${T} stdout F   at x`, `${T} stdout F 2 next`];
    const out = p.push(Buffer.from(lines.join('\n') + '\n'));
    assert.deepEqual(text(out), ['1 boom\n  at x']);
    assert.deepEqual(out.details?.starts, [0]);
    assert.deepEqual(out.ends, [lines[0]!.length + 1 + lines[1]!.length + 1]);
    const [flushed] = p.flush(true);
    assert.deepEqual(flushed && text(flushed), ['2 next']);
    assert.deepEqual(flushed?.details?.starts, [lines[0]!.length + lines[1]!.length + 2]);
  });
});

describe('LinePipeline: filters', () => {
  test('dropped lines are gone, counted, and the output still moves the offset past them', () => {
    const { p, input } = pipeline("topic: \"t\"\ninclude_lines: ['^(INFO|DEBUG|ERROR)']\nexclude_lines: ['^DEBUG']");
    const body = 'INFO a\nDEBUG b\nnoise\nERROR c\nDEBUG d\n';
    const out = p.push(Buffer.from(body));
    assert.deepEqual(text(out), ['INFO a', 'ERROR c']);
    assert.deepEqual(out.details?.starts, [0, 'INFO a\nDEBUG b\nnoise\n'.length]);
    assert.equal(out.through, body.length, 'the last line dropped: the output says where it ends');
    assert.deepEqual(lineStatsOf(input.id).dropped, { include_lines: 1, exclude_lines: 2 });
    const none = p.push(Buffer.from('DEBUG e\n'));
    assert.deepEqual([none.ends.length, none.through], [0, body.length + 8], 'all dropped: no line, the offset moves');
  });

  test('filters see the message, after the container wrapper is removed', () => {
    const { p } = pipeline("parser: cri\ntopic: \"t\"\nexclude_lines: ['^DEBUG']");
    const out = p.push(Buffer.from(`${T} stdout F DEBUG x\n${T} stdout F INFO y\n`));
    assert.deepEqual(text(out), ['INFO y']);
  });
});

describe('LinePipeline: parse json', () => {
  test('the fields the templates use are extracted per line; invalid JSON has none (counted)', () => {
    const { p, input } = pipeline('parse: json\ntopic: "logs.{json.service:-unknown}"\nkey: "k-{json.trace.id}"');
    const out = p.push(Buffer.from('{"service":"cart","trace":{"id":"t1"}}\n{"service":"web"}\nnot json\n'));
    assert.deepEqual(out.details?.json, [['cart', 't1'], ['web', undefined], null]);
    assert.equal(out.details?.jsonBounds, null, 'a key that is more than one field takes strings');
    assert.deepEqual(lineStatsOf(input.id).json, { notJson: 1, missingField: 1 });
  });

  test('a key that is exactly one field: its plain values as bounds into the read, no string', () => {
    const { p, input } = pipeline('parse: json\ntopic: "logs.{json.service:-unknown}"\nkey: "{json.trace.id}"');
    const out = p.push(Buffer.from('{"service":"cart","trace":{"id":"t1"}}\n{"service":"web","trace":{"id":"\\u0074"}}\n{"service":"web"}\nnot json\n'));
    assert.deepEqual(out.details?.json, [['cart', undefined], ['web', 't'], ['web', undefined], null]);
    const valueBounds = out.details?.jsonBounds;
    assert.equal(valueBounds?.path, 'trace.id');
    const [start, length] = valueBounds.bounds;
    assert.equal(out.data.toString('utf8', start, start + length!), 't1');
    assert.deepEqual([...valueBounds.bounds.subarray(2)], [-1, -1, -1, -1, -1, -1], 'escaped, missing, not JSON: no bounds');
    assert.deepEqual(lineStatsOf(input.id).json, { notJson: 1, missingField: 1 });
  });
});

describe('LinePipeline: the raw path', () => {
  test('no stage configured: no per-line columns at all', () => {
    const { p } = pipeline('topic: "t"');
    const out = p.push(Buffer.from('a\nb\n'));
    assert.deepEqual(text(out), ['a', 'b']);
    assert.equal(out.details, undefined);
    assert.equal(out.through, undefined);
  });

  test('raw lines are bounds into the read itself (carried bytes first), not a copy per line', () => {
    const { p } = pipeline('topic: "t"');
    assert.equal(p.push(Buffer.from('unfin')).ends.length, 0);
    const out = p.push(Buffer.from('ished\nbb\r\nccc\ntail'));
    assert.equal(out.data.toString(), 'unfinished\nbb\r\nccc\ntail', 'one buffer: the carried bytes and the read');
    assert.deepEqual([...out.bounds], [0, 10, 11, 2, 15, 3]);
    assert.deepEqual(out.ends, [11, 15, 19]);
  });

  test('a line rewritten by the decoder is packed with the batch; the others keep their place in the read', () => {
    const { p } = pipeline('topic: "t"');
    const read = Buffer.concat([Buffer.from('good\n'), Buffer.from([0x62, 0xff, 0x0a]), Buffer.from('fine\n')]);
    const out = p.push(read);
    assert.deepEqual(text(out), ['good', 'b\uFFFD', 'fine']);
    assert.deepEqual([out.bounds[0], out.bounds[4]], [0, 8], 'valid lines: bounds into the read');
    assert.ok(out.bounds[2]! >= read.length, 'the rewritten line after the read, in the same buffer');
  });

  test('multiline events of a read are packed into one buffer', () => {
    const { p } = pipeline('topic: "t"\nmultiline: {start: "^E"}');
    const out = p.push(Buffer.from('E1\n  at a\n  at b\nE2\n  at c\nE3\n'));
    assert.deepEqual(text(out), ['E1\n  at a\n  at b', 'E2\n  at c']);
    assert.equal(out.data.toString(), 'E1\n  at a\n  at bE2\n  at c', 'the events, back to back');
  });
});
