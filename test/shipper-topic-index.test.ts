// The topic's field as an index into a read's distinct values (LineDetails.jsonIndex): the
// extractor numbers the first path's values per read, and FileRoute then renders a topic per
// distinct value instead of per record. The oracle is the same batch routed without the index
// (record by record): topics, topic ids, keys, counts per topic must be the same for any lines
// — values that are missing, empty, escaped, non-ASCII, numbers, lines that are not JSON or
// nested past the addon's depth, values that sanitise to one topic, and reads with more
// distinct values than the addon numbers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { InputConfig } from '../src/config/types.js';
import { packLines, type LineBatch } from '../src/core/batch.js';
import { JsonFieldExtractor, jsonPathsOfInput, keyOnlyJsonPath } from '../src/lines/json-fields.js';
import { InputLineCounters } from '../src/lines/stats.js';
import { FileRoute, planInput } from '../src/shipper/route.js';
import { JSON_SOURCE, jsonInputOf } from './helpers/json-route-fixtures.js';


/** The batch the line pipeline makes of `lines` for `input`, and the same batch without the index. */
function batchesOf(lines: string[], input: InputConfig): { indexed: LineBatch; plain: LineBatch } {
  const { data, bounds } = packLines(lines.map((l) => Buffer.from(l)));
  const paths = jsonPathsOfInput(input);
  const fields = new JsonFieldExtractor(paths, new InputLineCounters()).extractWithBounds(data, bounds, keyOnlyJsonPath(input));
  const ends = lines.map((_, i) => (i + 1) * 1000);
  const base = { source: JSON_SOURCE, epoch: 0, data, bounds, startOffset: 0, ends, flags: [], endOffset: ends[ends.length - 1]!, marker: { len: 0, hash: '' }, fingerprint: { len: 0, hash: '' } };
  const details = { starts: ends.map((e) => e - 1000), streams: null, times: null, json: fields.json, jsonPaths: paths, jsonBounds: fields.jsonBounds };
  return { indexed: { ...base, details: { ...details, jsonIndex: fields.jsonIndex } }, plain: { ...base, details: { ...details } } };
}

/** Everything the shipper and `logship tap` ask a route about a batch. */
function routed(input: InputConfig, batch: LineBatch, from: number, to: number): unknown {
  const route = new FileRoute(JSON_SOURCE, planInput(input), 'node-1', {});
  const n = batch.ends.length;
  const ids: string[] = [];
  const topicIds = route.recordTopicIds(batch, (t) => (ids.includes(t) ? ids.indexOf(t) : ids.push(t) - 1));
  const keys = route.recordKeys(batch);
  const keyBytes = Array.isArray(keys) ? Array.from({ length: n }, (_, i) => (keys[1][2 * i + 1] === 0xffffffff ? null : Buffer.from(keys[0].subarray(keys[1][2 * i]!, keys[1][2 * i]! + keys[1][2 * i + 1]!)).toString('hex'))) : keys === null ? null : Buffer.from(keys).toString('hex');
  const produced = new Map<string, number>();
  route.countTopics(batch, from, to, produced);
  const acked = new Map<string, number>();
  route.countAcknowledged(batch, to, acked);
  return {
    topics: route.recordTopics(batch),
    topicIds: topicIds === null ? null : [...topicIds].map((id) => ids[id]),
    keyBytes,
    topicOf: Array.from({ length: n }, (_, i) => route.topicOf(batch, i)),
    keyOf: Array.from({ length: n }, (_, i) => route.keyOf(batch, i)?.toString('hex') ?? null),
    produced: [...produced].sort(),
    acked: [...acked].sort(),
  };
}

const SERVICES = ['"cart"', '"auth"', '"a b"', '"a_b"', '"caf\u00e9"', '"c\\u0061rt"', '""', '1.0', 'true', 'null', '{"x":1}', '"x/y"'];
const lineArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.option(fc.constantFrom(...SERVICES), { freq: 8 }), fc.option(fc.constantFrom('"t1"', '"t2"', '"t\\"3"', '""', '7', '"\u00fc"'), { freq: 4 })) },
  { weight: 1, arbitrary: fc.constant('not json') },
  { weight: 1, arbitrary: fc.constant(`{"service":"deep","d":${'['.repeat(600)}${']'.repeat(600)}}`) },
  { weight: 1, arbitrary: fc.nat(200).map((k) => `{"service":"s${k}","trace_id":"u${k}"}`) },
).map((l) => {
  if (typeof l === 'string') return l;
  const [service, trace] = l;
  const members = [...(service === null ? [] : [`"service":${service}`]), ...(trace === null ? [] : [`"trace_id":${trace}`])];
  return `{${members.join(',')}}`;
});

const CONFIGS = [
  'topic: "logs.{json.service:-unknown}"',
  'topic: "logs.{json.service}"',
  'topic: "logs.{json.service:-unknown}"\nkey: "{json.trace_id}"',
  'topic: "logs.{json.service:-unknown}"\nkey: "{json.trace_id:-none}"',
  'topic: "logs.{json.service:-unknown}"\nkey: "fixed"',
  'topic: "logs.{json.service:-unknown}"\nkey: "{json.trace_id}-{json.service}"',
  'topic: "logs.{json.service:-unknown}"\nheaders: {svc: "{json.service:-}"}',
  'topic: "{input}.{json.service:-unknown}.x"\nkey: "{json.trace_id}"',
];

describe('FileRoute: topics by the index of the distinct values of their field', () => {
  for (const config of CONFIGS) {
    test(`${config.replace(/\n/g, ', ')}: the same as routed record by record`, () => {
      const input = jsonInputOf(config);
      fc.assert(
        fc.property(fc.array(lineArb, { minLength: 1, maxLength: 120 }), fc.nat(), fc.nat(), (lines, a, b) => {
          const { indexed, plain } = batchesOf(lines, input);
          const from = a % lines.length;
          const to = from + (b % (lines.length - from + 1));
          assert.deepEqual(routed(input, indexed, from, to), routed(input, plain, from, to));
        }),
        { numRuns: 300 },
      );
    });
  }

  test('the index is made for a read of few distinct values, and its values are the lines’', () => {
    const input = jsonInputOf('topic: "logs.{json.service:-unknown}"\nkey: "{json.trace_id}"');
    const lines = Array.from({ length: 500 }, (_, i) => (i % 50 === 7 ? 'oops' : `{"service":"${['cart', 'auth', 'search', 'c\\u0061rt'][i % 4]}","trace_id":"t${i}"}`));
    const { indexed } = batchesOf(lines, input);
    const index = indexed.details!.jsonIndex!;
    assert.equal(index.path, 'service');
    assert.deepEqual([...index.values].sort(), ['auth', 'cart', 'search', undefined].sort(), 'two spellings of cart are one value; the lines that are not JSON have none');
    for (let i = 0; i < lines.length; i++) assert.equal(index.values[index.ids[i]!], indexed.details!.json![i]?.[0], `line ${i}`);
  });

  test('more distinct values than the addon numbers: no index, every line still has its values', () => {
    const input = jsonInputOf('topic: "logs.{json.service:-unknown}"');
    const lines = Array.from({ length: 300 }, (_, i) => `{"service":"s${i % 100}"}`);
    const { indexed } = batchesOf(lines, input);
    assert.equal(indexed.details!.jsonIndex, null);
    assert.deepEqual(indexed.details!.json, lines.map((_, i) => [`s${i % 100}`]));
  });
});
