// `logship top` without a terminal: Prometheus text -> samples, the agent's own /metrics ->
// rows joined per file, rates from two scrapes, sorting, and the rendered lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { age, agentSample, naturalWidth, renderFrame, sortRows, topRows, type TopRow } from '../src/cli/top-view.js';
import { metricsUrl, urlFromListen } from '../src/cli/top.js';
import { ExpositionError, parseExposition } from '../src/metrics/exposition.js';
import { buildRegistry, type FileLag } from '../src/metrics/metrics.js';
import { newShipperStats } from '../src/shipper/shipper.js';
import { TailerCounters } from '../src/tailer/counters.js';

test('parseExposition: names, labels with escapes, special values, timestamps; a located error otherwise', () => {
  const text = [
    '# HELP x_total A counter',
    '# TYPE x_total counter',
    'x_total 3',
    'y{path="/var/log/a \\"quoted\\".log",input="in\\\\put",nl="a\\nb"} 1.5e3',
    'z{a="1",} Nan',
    'w +Inf 1700000000000',
    'v{} -Inf',
    '',
  ].join('\n');
  assert.deepEqual(parseExposition(text), [
    { name: 'x_total', labels: {}, value: 3 },
    { name: 'y', labels: { path: '/var/log/a "quoted".log', input: 'in\\put', nl: 'a\nb' }, value: 1500 },
    { name: 'z', labels: { a: '1' }, value: NaN },
    { name: 'w', labels: {}, value: Infinity },
    { name: 'v', labels: {}, value: -Infinity },
  ]);
  assert.throws(() => parseExposition('ok 1\nbad{a=1} 2\n'), (err: unknown) => err instanceof ExpositionError && err.line === 2);
  assert.throws(() => parseExposition('x{a="1" 2'), ExpositionError);
  assert.throws(() => parseExposition('x one'), /line 1: expected a value/);
  assert.throws(() => parseExposition('<html>'), /expected a metric name/);
});

function lag(path: string, over: Partial<FileLag> = {}): FileLag {
  return { path, file: path, input: 'app', state: 'live', size: 1_000, committed: 1_000, linesRead: 10, bytesRead: 1_000, lastReadAt: 1_700_000_000_000, ...over };
}

test("the agent's /metrics, read back: one row per followed file with lines, bytes, lag, state and last read; Kafka, in flight", async () => {
  const shipper = newShipperStats();
  shipper.reachable = true;
  shipper.connected = true;
  let files: FileLag[] = [lag('/l/a.log', { linesRead: 100, bytesRead: 5_000, size: 6_000, committed: 5_500 }), lag('/l/b.log', { input: 'web', file: '/l/b.log.1', state: 'rotated', lastReadAt: null, linesRead: 0, bytesRead: 0 })];
  const registry = buildRegistry({
    tailer: new TailerCounters().view,
    shipper,
    inFlightBytes: () => 4_096,
    registry: () => ({ writes: 0, writeErrors: 0 }),
    files: () => files,
    ready: () => true,
  });
  const first = agentSample(parseExposition(await registry.metrics()), 10_000);
  assert.equal(first.kafkaReachable, true);
  assert.equal(first.ready, true);
  assert.equal(first.inFlightBytes, 4_096);
  assert.ok(first.startedAt! > 0);
  const a = [...first.files.values()].find((f) => f.file === '/l/a.log')!;
  assert.deepEqual(a, { input: 'app', file: '/l/a.log', path: '/l/a.log', state: 'live', linesRead: 100, bytesRead: 5_000, lagBytes: 500, lastReadAt: 1_700_000_000_000 });
  const b = [...first.files.values()].find((f) => f.path === '/l/b.log')!;
  assert.deepEqual(b, { input: 'web', file: '/l/b.log.1', path: '/l/b.log', state: 'rotated', linesRead: 0, bytesRead: 0, lagBytes: 0, lastReadAt: null });

  files = [lag('/l/a.log', { linesRead: 300, bytesRead: 9_000, size: 9_000, committed: 9_000, lastReadAt: 1_700_000_001_500 })];
  shipper.reachable = false;
  const second = agentSample(parseExposition(await registry.metrics()), 12_000);
  assert.equal(second.kafkaReachable, false);
  const rows = topRows(first, second);
  assert.equal(rows.length, 1, 'the file no longer followed is gone');
  assert.equal(rows[0]!.linesPerSecond, 100);
  assert.equal(rows[0]!.bytesPerSecond, 2_000);
});

function row(file: string, over: Partial<TopRow> = {}): TopRow {
  return { key: file, input: 'app', file, path: file, state: 'live', lines: 0, linesPerSecond: 0, bytesPerSecond: 0, lagBytes: 0, lastLineAgeMs: null, ...over };
}

test('topRows: rates need two scrapes and a counter that did not go back (agent restarted); age of the last line', () => {
  const sample = (at: number, lines: number, lastReadAt: number | null) =>
    agentSample(
      parseExposition(
        [
          `logship_file_lines_read_total{path="/a",file="/a",input="i"} ${lines}`,
          `logship_file_bytes_read_total{path="/a",file="/a",input="i"} ${lines * 10}`,
          ...(lastReadAt === null ? [] : [`logship_file_last_read_timestamp_seconds{path="/a",file="/a",input="i"} ${lastReadAt / 1_000}`]),
        ].join('\n'),
      ),
      at,
    );
  const s1 = sample(1_000, 50, 900);
  assert.equal(topRows(null, s1)[0]!.linesPerSecond, null);
  assert.equal(topRows(null, s1)[0]!.lastLineAgeMs, 100);
  const s2 = sample(1_500, 100, null);
  assert.equal(topRows(s1, s2)[0]!.linesPerSecond, 100);
  assert.equal(topRows(s1, s2)[0]!.bytesPerSecond, 1_000);
  assert.equal(topRows(s1, s2)[0]!.lastLineAgeMs, null);
  const restarted = sample(2_500, 3, 2_400);
  assert.equal(topRows(s2, restarted)[0]!.linesPerSecond, null);
});

test('sortRows: by lag, by lines/s, by bytes/s (largest first, unknown last), by path; ties by name', () => {
  const rows = [
    row('/c', { lagBytes: 10, linesPerSecond: 500, bytesPerSecond: 10 }),
    row('/a', { lagBytes: 900, linesPerSecond: 5, bytesPerSecond: 9_000 }),
    row('/b', { lagBytes: 10, linesPerSecond: null, bytesPerSecond: null }),
  ];
  const files = (by: Parameters<typeof sortRows>[1]) => sortRows(rows, by).map((r) => r.file);
  assert.deepEqual(files('lag'), ['/a', '/b', '/c']);
  assert.deepEqual(files('rate'), ['/c', '/a', '/b']);
  assert.deepEqual(files('bytes'), ['/a', '/c', '/b']);
  assert.deepEqual(files('path'), ['/a', '/b', '/c']);
});

test('renderFrame: header, one line per file, totals, key help; fits the width; rows that do not fit are counted', () => {
  const sample = agentSample(parseExposition('logship_kafka_reachable 0\nlogship_in_flight_bytes 2048\nlogship_ready 0\n'), 0);
  const rows = [
    row('/var/log/app/very/deep/directory/structure/application.log', { lines: 12_345, linesPerSecond: 1_234.4, bytesPerSecond: 2_048, lagBytes: 3 * 1024 * 1024, lastLineAgeMs: 400 }),
    row('/var/log/b.log.1', { path: '/var/log/b.log', state: 'rotated', lines: 7, linesPerSecond: null, bytesPerSecond: null, lagBytes: 0, lastLineAgeMs: 3_725_000 }),
  ];
  const lines = renderFrame({ url: 'http://127.0.0.1:9464', now: 0, sample, rows, sort: 'lag', error: null, width: 100, height: 30 });
  assert.ok(lines.every((l) => l.length <= 100), lines.join('\n'));
  assert.match(lines[0]!, /^logship top · http:\/\/127\.0\.0\.1:9464 · \d\d:\d\d:\d\d · sorted by lag$/);
  assert.equal(lines[1], 'Kafka UNREACHABLE (lines wait in the files) · in flight 2 KiB · NOT ready');
  const header = lines.findIndex((l) => l.startsWith('INPUT'));
  assert.match(lines[header]!, /^INPUT +FILE +STATE +LINES +LINES\/S +BYTES\/S +LAG LAST LINE$/);
  assert.match(lines[header + 1]!, /^app +….*\/application\.log live +12,345 +1,234 +2 KiB\/s +3 MiB +0\.4s$/);
  assert.match(lines[header + 2]!, /^app +\/var\/log\/b\.log\.1 +rotated +7 +- +- +0 B +1h02m$/);
  assert.match(lines[header + 3]!, /^TOTAL +2 files +12,352 +1,234 +2 KiB\/s +3 MiB$/);
  assert.match(lines.at(-1)!, /\[l\]ag +\[r\]ate +\[b\]ytes\/s +\[p\]ath +\[q\]uit/);

  const many = Array.from({ length: 50 }, (_, i) => row(`/f${String(i).padStart(2, '0')}`, { lagBytes: i }));
  const small = renderFrame({ url: 'u', now: 0, sample, rows: many, sort: 'lag', error: null, width: 100, height: 20 });
  assert.ok(small.length <= 20, `${small.length} lines on a 20-line screen`);
  assert.ok(small.some((l) => /^ +… \d+ more file\(s\)$/.test(l)));
  assert.ok(small.some((l) => /^app +\/f49 /.test(l)), 'the largest lag first');

  const plain = renderFrame({ url: 'u', now: 0, sample: null, rows: [], sort: 'rate', error: 'ECONNREFUSED', width: naturalWidth([]), height: null });
  assert.match(plain[1]!, /^cannot read u: ECONNREFUSED \(retrying\)$/);
  assert.ok(!plain.some((l) => /\[q\]uit/.test(l)), 'no key help in the plain print');
  assert.ok(!plain.join('').includes('\x1b'), 'no escape sequences');
});

test('age, metricsUrl and urlFromListen', () => {
  assert.deepEqual([age(0), age(420), age(9_999), age(12_000), age(250_000), age(7_500_000), age(3 * 86_400_000 + 4 * 3_600_000)], ['0.0s', '0.4s', '10.0s', '12s', '4m10s', '2h05m', '3d04h']);
  assert.equal(metricsUrl('http://127.0.0.1:9464'), 'http://127.0.0.1:9464/metrics');
  assert.equal(metricsUrl('http://127.0.0.1:9464/'), 'http://127.0.0.1:9464/metrics');
  assert.equal(metricsUrl('http://h:1/metrics'), 'http://h:1/metrics');
  assert.equal(urlFromListen('127.0.0.1:9464'), 'http://127.0.0.1:9464');
  assert.equal(urlFromListen('0.0.0.0:9464'), 'http://127.0.0.1:9464');
  assert.equal(urlFromListen(':9464'), 'http://127.0.0.1:9464');
  assert.equal(urlFromListen('[::]:9464'), 'http://[::1]:9464');
  assert.equal(urlFromListen('[fe80::1]:9464'), 'http://[fe80::1]:9464');
});
