// InputLineCounters: the one owner of an input's line-processing counters. Each method moves
// exactly its counter; the view is live and read-only; each stage (filters, container log
// parser, JSON field extractor) reports what happened to the right method; /metrics shows each
// series under its name, exactly as before the counters had an owner. No filesystem, no clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContainerLogParser } from '../src/lines/container-log.js';
import { emptyEvents, type FramedInput } from '../src/lines/events.js';
import { LineFilter, LineFilterRules } from '../src/lines/filter.js';
import { JsonFieldExtractor } from '../src/lines/json-fields.js';
import { allLineStats, InputLineCounters, lineCountersOf, lineStatsOf, type InputLineStats } from '../src/lines/stats.js';
import { buildRegistry } from '../src/metrics/metrics.js';
import { newShipperStats } from '../src/shipper/shipper.js';
import { TailerCounters } from '../src/tailer/counters.js';

type Counted = Record<string, Record<string, number>>;

/** Every counter of the view as plain numbers: a new counter shows up here unasked. */
function snapshot(view: InputLineStats): Counted {
  const out: Counted = {};
  for (const [group, counts] of Object.entries(view) as Array<[string, Record<string, number>]>) out[group] = { ...counts };
  return out;
}

/** Every counter of the view at zero. */
const ZERO: Counted = Object.fromEntries(Object.entries(snapshot(new InputLineCounters().view)).map(([group, counts]) => [group, Object.fromEntries(Object.keys(counts).map((name) => [name, 0]))]));

/** Runs `act` on fresh counters; every counter must be as at the start but for `moved` ({ group: { name: n } }). */
function assertMovesOnly(act: (counters: InputLineCounters) => void, moved: Counted, what: string): void {
  const counters = new InputLineCounters();
  assert.deepEqual(snapshot(counters.view), ZERO, 'fresh counters are all zero');
  act(counters);
  const want = structuredClone(ZERO);
  for (const [group, counts] of Object.entries(moved)) Object.assign(want[group]!, counts);
  assert.deepEqual(snapshot(counters.view), want, what);
}

/** Lines of a file framed as the tailer does (each ends with "\n"). */
function framed(text: string): FramedInput {
  const file = Buffer.from(text);
  const bounds: number[] = [];
  const ends: number[] = [];
  let start = 0;
  for (let nl = file.indexOf(0x0a); nl !== -1; nl = file.indexOf(0x0a, start)) {
    bounds.push(start, nl - start);
    ends.push(nl + 1);
    start = nl + 1;
  }
  return { parts: [file], bounds, ends, flags: [] };
}

const T = '2024-03-15T10:20:30.123456789Z';
const cri = (tag: 'P' | 'F', message: string): string => `${T} stdout ${tag} ${message}\n`;
const docker = (escapedLog: string): string => `{"log":"${escapedLog}","stream":"stdout","time":"${T}"}\n`;

describe('InputLineCounters', () => {
  test('each method moves exactly its counter, by what it is told', () => {
    assertMovesOnly((c) => c.lineDropped('include_lines'), { dropped: { include_lines: 1 } }, 'lineDropped(include_lines)');
    assertMovesOnly((c) => c.lineDropped('exclude_lines'), { dropped: { exclude_lines: 1 } }, 'lineDropped(exclude_lines)');
    assertMovesOnly((c) => c.lineMalformed(), { container: { malformedLines: 1 } }, 'lineMalformed');
    assertMovesOnly((c) => c.eventJoined(), { container: { joinedEvents: 1 } }, 'eventJoined');
    assertMovesOnly((c) => c.eventSplit(), { container: { splitEvents: 1 } }, 'eventSplit');
    assertMovesOnly((c) => c.partialEventFlushed(), { container: { partialEvents: 1 } }, 'partialEventFlushed');
    assertMovesOnly((c) => c.escapesReplaced(3), { container: { replacedChars: 3 } }, 'escapesReplaced');
    assertMovesOnly((c) => c.lineNotJson(), { json: { notJson: 1 } }, 'lineNotJson');
    assertMovesOnly((c) => c.fieldsMissing(), { json: { missingField: 1 } }, 'fieldsMissing');
    const tested = ['lineDropped', 'lineMalformed', 'eventJoined', 'eventSplit', 'partialEventFlushed', 'escapesReplaced', 'lineNotJson', 'fieldsMissing'];
    const methods = Object.getOwnPropertyNames(InputLineCounters.prototype).filter((name) => name !== 'constructor');
    assert.deepEqual(methods.sort(), tested.sort(), 'every method is tested above');
  });

  test('the view has the shape /metrics and the tests read, is live, and cannot be written', () => {
    const counters = new InputLineCounters();
    const { view } = counters;
    assert.deepEqual(snapshot(view), {
      dropped: { include_lines: 0, exclude_lines: 0 },
      container: { malformedLines: 0, joinedEvents: 0, splitEvents: 0, partialEvents: 0, replacedChars: 0 },
      json: { notJson: 0, missingField: 0 },
    });
    counters.lineDropped('exclude_lines');
    counters.lineDropped('exclude_lines');
    counters.escapesReplaced(2);
    counters.escapesReplaced(5);
    counters.fieldsMissing();
    assert.deepEqual(snapshot(view), { ...ZERO, dropped: { include_lines: 0, exclude_lines: 2 }, container: { ...ZERO.container, replacedChars: 7 }, json: { notJson: 0, missingField: 1 } });
    // Test files are ES modules (strict mode): writing a getter-only or frozen property throws.
    assert.throws(() => ((view.json as { notJson: number }).notJson = 9), TypeError);
    assert.throws(() => ((view as { json: unknown }).json = { notJson: 9, missingField: 0 }), TypeError);
    assert.throws(() => ((view.dropped as Record<string, number>).include_lines = 9), TypeError);
    assert.equal(view.json.notJson, 0);
  });

  test('the process-wide table: one owner per input for the process, and its view for readers', () => {
    const counters = lineCountersOf('table-input');
    assert.equal(lineCountersOf('table-input'), counters, 'a reload (a new pipeline) finds the same counters');
    assert.equal(lineStatsOf('table-input'), counters.view);
    assert.equal(allLineStats().get('table-input'), counters.view);
    assert.equal(allLineStats().get('table-input') instanceof InputLineCounters, false, 'readers get the view, not the owner');
  });
});

describe('each stage reports what happened to its method', () => {
  test('filters: a line dropped by include_lines or exclude_lines, once each', () => {
    const apply = (include: string[], exclude: string[], text: string) => (c: InputLineCounters) => {
      const { parts, bounds, ends } = framed(text);
      new LineFilter(new LineFilterRules(include, exclude)).apply(parts[0]!, [...bounds], [], [[...ends]], c);
    };
    assertMovesOnly(apply(['^ERR'], [], 'INFO a\nERR b\nINFO c\n'), { dropped: { include_lines: 2 } }, 'include_lines');
    assertMovesOnly(apply([], ['^DEBUG'], 'DEBUG a\nERR b\n'), { dropped: { exclude_lines: 1 } }, 'exclude_lines');
    assertMovesOnly(apply([], ['^DEBUG'], 'ERR b\n'), {}, 'nothing dropped');
  });

  test('container log parser: malformed, joined, split, partial, replaced', () => {
    const push = (text: string, maxEventBytes = 1 << 20, flush = false) => (c: InputLineCounters) => {
      const parser = new ContainerLogParser('auto', { maxEventBytes, position: 0 }, c);
      parser.push(framed(text), emptyEvents());
      if (flush) parser.flush(emptyEvents());
    };
    assertMovesOnly(push(cri('F', 'whole')), {}, 'a whole CRI line');
    assertMovesOnly(push(`${cri('F', 'whole')}not a container line\n`), { container: { malformedLines: 1 } }, 'a line in neither format');
    assertMovesOnly(push(cri('P', 'a') + cri('P', 'b') + cri('F', 'c')), { container: { joinedEvents: 1 } }, 'three pieces joined');
    assertMovesOnly(push(cri('F', 'x'.repeat(25)), 10), { container: { splitEvents: 1 } }, 'one event too long, cut in three');
    assertMovesOnly(push(cri('P', 'a'), 1 << 20, true), { container: { partialEvents: 1 } }, 'a piece flushed without its F');
    assertMovesOnly(push(docker('a\\ud800b\\udc00c\\n')), { container: { replacedChars: 2 } }, 'two lone surrogates decoded');
  });

  test('JSON field extractor: not a JSON object, a field missing (once per line), both through the addon and JSON.parse paths', () => {
    const extract = (paths: string[], lines: string[]) => (c: InputLineCounters) => {
      const { parts, bounds } = framed(lines.map((l) => `${l}\n`).join(''));
      new JsonFieldExtractor(paths, c).extractBounds(parts[0]!, Uint32Array.from(bounds));
    };
    assertMovesOnly(extract(['a', 'b'], ['{"a":1,"b":2}']), {}, 'every field there');
    assertMovesOnly(extract(['a', 'b'], ['plain', '[1]', '{"a":1,"b":2}']), { json: { notJson: 2 } }, 'not objects');
    assertMovesOnly(extract(['a', 'b'], ['{"a":1}', '{}', '{"a":null,"b":2}']), { json: { missingField: 3 } }, 'missing once per line');
    // Deeper than the addon goes (MAX_DEPTH 512): answered by JSON.parse, counted the same.
    const deep = `{"a":${'['.repeat(600)}${']'.repeat(600)},"b":{"c":1}}`;
    assertMovesOnly(extract(['b.c', 'x'], [deep]), { json: { missingField: 1 } }, 'a deep line');
  });
});

test('/metrics shows each line counter under its name: the exposition the agent has always given', async () => {
  const app = lineCountersOf('app');
  const times = (n: number, act: () => void): void => {
    for (let i = 0; i < n; i++) act();
  };
  times(2, () => app.lineDropped('include_lines'));
  times(3, () => app.lineDropped('exclude_lines'));
  times(4, () => app.lineMalformed());
  // Counted, not exported (as before): no series of their own.
  app.eventJoined();
  app.eventSplit();
  app.partialEventFlushed();
  app.escapesReplaced(9);
  times(5, () => app.lineNotJson());
  times(6, () => app.fieldsMissing());
  const web = lineCountersOf('web');
  times(7, () => web.lineDropped('exclude_lines'));
  times(8, () => web.fieldsMissing());
  // An input that counted nothing shows no series (zeros are left out).
  lineCountersOf('idle');
  const registry = buildRegistry({ tailer: new TailerCounters().view, shipper: newShipperStats(), inFlightBytes: () => 0, registry: () => ({ writes: 0, writeErrors: 0 }), files: () => [], ready: () => true });
  const text = await registry.metrics();
  const lines = text.split('\n').filter((line) => /logship_(lines_dropped|container_lines_malformed|json_fallbacks)_total/.test(line));
  // Captured from main at 1baa780 (the counters as plain fields, set to the same numbers).
  assert.deepEqual(lines, [
    '# HELP logship_lines_dropped_total Lines dropped by include_lines / exclude_lines (their offsets are committed), per input',
    '# TYPE logship_lines_dropped_total counter',
    'logship_lines_dropped_total{input="app",reason="include_lines"} 2',
    'logship_lines_dropped_total{input="app",reason="exclude_lines"} 3',
    'logship_lines_dropped_total{input="web",reason="exclude_lines"} 7',
    '# HELP logship_container_lines_malformed_total Lines in neither container runtime format, shipped raw and flagged, per input',
    '# TYPE logship_container_lines_malformed_total counter',
    'logship_container_lines_malformed_total{input="app"} 4',
    '# HELP logship_json_fallbacks_total Lines whose {json.*} template fields fell back to their defaults (not a JSON object, or a field missing), per input',
    '# TYPE logship_json_fallbacks_total counter',
    'logship_json_fallbacks_total{input="app",reason="not_json"} 5',
    'logship_json_fallbacks_total{input="app",reason="missing_field"} 6',
    'logship_json_fallbacks_total{input="web",reason="missing_field"} 8',
  ]);
});
