// A key that is exactly one {json.*} field travels as bounds into the read (no string per
// line): its bytes must be exactly what rendering the key template gives — the value
// unescaped, the default for a missing field, an empty value or a line that is not JSON.
// The oracle is the string path (the same extractor without bounds, the key rendered).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { packLines, type LineBatch } from '../src/core/batch.js';
import { JsonFieldExtractor, jsonPathsOfInput, keyOnlyJsonPath } from '../src/lines/json-fields.js';
import { InputLineCounters, type JsonFieldStats } from '../src/lines/stats.js';
import { FileRoute, planInput } from '../src/shipper/route.js';
import { JSON_SOURCE, jsonInputOf } from './helpers/json-route-fixtures.js';


/** A batch of `lines` with details as the line pipeline makes them (bounds for `boundsPath`, or none). */
function batchOf(lines: string[], paths: readonly string[], boundsPath: string | null): { batch: LineBatch; stats: JsonFieldStats } {
  const { data, bounds } = packLines(lines.map((l) => Buffer.from(l)));
  const counters = new InputLineCounters();
  const stats = counters.view.json;
  const { json, jsonBounds, jsonIndex } = new JsonFieldExtractor(paths, counters).extractWithBounds(data, bounds, boundsPath);
  const ends = lines.map((_, i) => (i + 1) * 1000);
  const batch: LineBatch = {
    source: JSON_SOURCE,
    epoch: 0,
    data,
    bounds,
    startOffset: 0,
    ends,
    flags: [],
    endOffset: ends[ends.length - 1]!,
    marker: { len: 0, hash: '' },
    fingerprint: { len: 0, hash: '' },
    details: { starts: ends.map((e) => e - 1000), streams: null, times: null, json, jsonPaths: paths, jsonBounds, jsonIndex },
  };
  return { batch, stats };
}

/** Each record's key bytes as the producer gets them. */
function keysOf(route: FileRoute, batch: LineBatch): string[] {
  const keys = route.recordKeys(batch);
  assert.ok(Array.isArray(keys), 'a key per record');
  const [data, bounds] = keys;
  return Array.from({ length: bounds.length >> 1 }, (_, i) => Buffer.from(data.subarray(bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!)).toString('hex'));
}

const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex');

const LINES = [
  '{"service":"cart","trace_id":"4bf92f3577b34da6"}',
  '{"service":"cart","trace_id":"a\\"b\\u00e9\\n"}',
  '{"service":"auth","trace_id":"é-ü"}',
  '{"service":"auth"}',
  'not json at all',
  '{"service":"cart","trace_id":""}',
  '{"service":"cart","trace_id":1.50}',
  '{"service":"cart","trace_id":null}',
  // Nested past the addon's depth: extracted by JSON.parse, so the key is a string here too.
  `{"trace_id":"x1","deep":${'['.repeat(70)}1${']'.repeat(70)}}`,
  '  {"trace_id" : "t-9" , "service":"search"}',
];

describe('FileRoute: a key that is one {json.*} field, as bounds into the read', () => {
  test('only a key of exactly one field that no other template uses goes as bounds', () => {
    assert.equal(keyOnlyJsonPath(jsonInputOf('topic: "logs.{json.service}"\nkey: "{json.trace_id}"')), 'trace_id');
    assert.equal(keyOnlyJsonPath(jsonInputOf('topic: "logs.{json.service}"\nkey: "{json.trace_id:-none}"')), 'trace_id');
    assert.equal(keyOnlyJsonPath(jsonInputOf('topic: "logs.{json.service}"\nkey: "t-{json.trace_id}"')), null);
    assert.equal(keyOnlyJsonPath(jsonInputOf('topic: "logs.{json.service}"\nkey: "{json.service}"')), null);
    assert.equal(keyOnlyJsonPath(jsonInputOf('topic: "logs"\nkey: "{json.trace_id}"\nheaders: {trace: "{json.trace_id}"}')), null);
    assert.equal(keyOnlyJsonPath(jsonInputOf('topic: "logs"')), null);
  });

  for (const key of ['{json.trace_id}', '{json.trace_id:-no-trace}']) {
    test(`key ${key}: the bytes equal the rendered key for every kind of line`, () => {
      const input = jsonInputOf(`topic: "logs.{json.service:-unknown}"\nkey: "${key}"`);
      const paths = jsonPathsOfInput(input);
      const route = new FileRoute(JSON_SOURCE, planInput(input), 'node-1', {});
      const fast = batchOf(LINES, paths, keyOnlyJsonPath(input));
      const slow = batchOf(LINES, paths, null);
      assert.ok(fast.batch.details!.jsonBounds!.bounds[0]! >= 0, 'the plain trace id came as bounds');
      assert.equal(fast.batch.details!.jsonIndex?.path, 'service', "the topic's field came as an index");
      assert.equal(slow.batch.details!.jsonBounds, null);
      const fallback = key.includes(':-') ? 'no-trace' : '';
      const expected = ['4bf92f3577b34da6', 'a"bé\n', 'é-ü', fallback, fallback, fallback, '1.5', fallback, 'x1', 't-9'].map(hex);
      assert.deepEqual(keysOf(route, fast.batch), expected);
      assert.deepEqual(keysOf(new FileRoute(JSON_SOURCE, planInput(input), 'node-1', {}), slow.batch), expected);
      assert.deepEqual(
        LINES.map((_, i) => route.keyOf(fast.batch, i)!.toString('hex')),
        expected,
      );
      assert.deepEqual(route.recordTopics(fast.batch), ['logs.cart', 'logs.cart', 'logs.auth', 'logs.auth', 'logs.unknown', 'logs.cart', 'logs.cart', 'logs.cart', 'logs.unknown', 'logs.search']);
      const ids = ['logs.cart', 'logs.auth', 'logs.unknown', 'logs.search'];
      assert.deepEqual([...route.recordTopicIds(fast.batch, (t) => ids.indexOf(t))!], route.recordTopics(fast.batch)!.map((t) => ids.indexOf(t)), 'topic ids by record');
      assert.deepEqual(fast.stats, slow.stats, 'lines counted missing or not JSON alike');
      assert.deepEqual(fast.stats, { notJson: 1, missingField: 3 });
    });
  }

  test('keys all in the read: the producer gets the read itself, no copy', () => {
    const input = jsonInputOf('topic: "logs.{json.service}"\nkey: "{json.trace_id}"');
    const { batch } = batchOf([LINES[0]!, LINES[9]!], jsonPathsOfInput(input), 'trace_id');
    const keys = new FileRoute(JSON_SOURCE, planInput(input), 'node-1', {}).recordKeys(batch);
    assert.ok(Array.isArray(keys));
    assert.equal(keys[0], batch.data);
  });

  test('a batch passed with bounds, routed after a reload that uses the field elsewhere: values made strings', () => {
    const before = jsonInputOf('topic: "logs.{json.service}"\nkey: "{json.trace_id}"');
    const { batch } = batchOf(LINES, jsonPathsOfInput(before), 'trace_id');
    const after = jsonInputOf('topic: "t.{json.trace_id:-none}"\nkey: "{json.service:-}"');
    const route = new FileRoute(JSON_SOURCE, planInput(after), 'node-1', {});
    assert.deepEqual(route.recordTopics(batch), ['t.4bf92f3577b34da6', 't.a_b__', 't._-_', 't.none', 't.none', 't.none', 't.1.5', 't.none', 't.x1', 't.t-9']);
    assert.deepEqual(keysOf(route, batch), ['cart', 'cart', 'auth', 'auth', '', 'cart', 'cart', 'cart', '', 'search'].map(hex));
  });
});
