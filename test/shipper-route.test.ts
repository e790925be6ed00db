// FileRoute for lines routed by their content (issue 12): per-record topics and keys as the
// native producer takes them, stream headers in runs, Kubernetes metadata in headers and the
// json envelope, and values extracted before a reload changed the templates. No Kafka.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../src/config/load.js';
import { packLines, type LineBatch, type LineDetails } from '../src/core/batch.js';
import { NO_KEY } from '../src/shipper/native-producer.js';
import { FileRoute, planInput, recordStart } from '../src/shipper/route.js';

const UID = '0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b';
const POD_LOG = `/var/log/pods/shop_web-0_${UID}/app/0.log`;

function route(inputYaml: string, path = '/var/log/app/app.log'): FileRoute {
  const text = `agent: {data_dir: /tmp/x}\ninputs:\n  - id: in\n    paths: ["/var/log/**/*.log"]\n${inputYaml
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\nkafka: {brokers: ["k:9092"]}\n`;
  const input = parseConfigText(text, '/tmp/agent.yaml', {}).inputs[0]!;
  return new FileRoute({ key: '1:2:1', identity: { dev: 1, ino: 2 }, input: 'in', path }, planInput(input), 'node-1', {});
}

function batch(lines: string[], details: Partial<LineDetails>): LineBatch {
  const buffers = lines.map((l) => Buffer.from(l));
  const ends: number[] = [];
  let at = 100;
  for (const b of buffers) ends.push((at += b.length + 1));
  return {
    source: { key: '1:2:1', identity: { dev: 1, ino: 2 }, input: 'in', path: '/x' },
    epoch: 0,
    ...packLines(buffers),
    startOffset: 100,
    ends,
    flags: [],
    endOffset: ends[ends.length - 1]!,
    marker: { len: 0, hash: '' },
    fingerprint: { len: 0, hash: '' },
    details: { starts: ends.map((e, i) => e - buffers[i]!.length - 1), streams: null, times: null, json: null, jsonPaths: null, ...details },
  };
}

describe('FileRoute: records routed by line', () => {
  test('per-record topics and keys: keys packed for the producer, missing fields take the defaults, topics sanitised', () => {
    const r = route('parse: json\ntopic: "svc.{json.service:-unknown}"\nkey: "{json.trace:-}"');
    const b = batch(['a', 'b', 'c', 'd'], { json: [['cart', 't1'], ['a/b', 'é'], null, ['cart', undefined]], jsonPaths: ['service', 'trace'] });
    assert.deepEqual(r.recordTopics(b), ['svc.cart', 'svc.a_b', 'svc.unknown', 'svc.cart']);
    const keys = r.recordKeys(b);
    assert.ok(Array.isArray(keys));
    const [data, bounds] = keys;
    const key = (i: number): string | null => (bounds[2 * i + 1] === NO_KEY ? null : Buffer.from(data.subarray(bounds[2 * i]!, bounds[2 * i]! + bounds[2 * i + 1]!)).toString());
    assert.deepEqual([0, 1, 2, 3].map(key), ['t1', 'é', '', ''], 'a non-ASCII key is encoded at its byte offset');
    assert.deepEqual(r.runFrom(b, 0), { end: 4, headers: null }, 'one produce call for the batch');
  });

  test('values extracted for other paths (a batch read before a reload) are taken by name', () => {
    const r = route('parse: json\ntopic: "svc.{json.service:-unknown}"\nkey: "{json.trace:-}"');
    const b = batch(['a'], { json: [['t9', 'web']], jsonPaths: ['trace', 'service'] });
    assert.deepEqual(r.recordTopics(b), ['svc.web']);
    assert.equal(r.keyOf(b, 0)?.toString(), 't9');
    const gone = batch(['a'], { json: [['x']], jsonPaths: ['level'] });
    assert.deepEqual(r.recordTopics(gone), ['svc.unknown'], 'a path no longer extracted renders its default');
  });

  test('a file routed by nothing of its lines: one topic, one key, no per-record work', () => {
    const r = route('topic: "logs.{file.stem}"\nkey: "{host}"');
    const b = batch(['a', 'b'], {});
    assert.equal(r.recordTopics(b), null);
    assert.equal(r.recordKeys(b)?.toString(), 'node-1');
  });
});

describe('FileRoute: container lines on Kubernetes paths', () => {
  test('headers: host, path, k8s.* and the stream, one run per stream change; offsets are the records\' starts', () => {
    const r = route('parser: cri\nheaders: true\ntopic: "k8s.{k8s.namespace}.{k8s.container}"', POD_LOG);
    assert.equal(r.topic, 'k8s.shop.app');
    const b = batch(['o1', 'o2', 'e1', 'o3'], { streams: ['stdout', 'stdout', 'stderr', 'stdout'], starts: [0, 10, 5, 30] });
    const run = r.runFrom(b, 0);
    assert.equal(run.end, 2);
    const pairs = new Map<string, string>();
    const h = run.headers!;
    for (let i = 0; i + 1 < h.length; i += 2) pairs.set(String(h[i]), Buffer.from(h[i + 1] as Uint8Array).toString());
    assert.deepEqual(Object.fromEntries(pairs), { host: 'node-1', path: POD_LOG, 'k8s.namespace': 'shop', 'k8s.pod': 'web-0', 'k8s.container': 'app', 'k8s.pod_uid': UID, stream: 'stdout' });
    assert.equal(h[h.length - 1], 'offset');
    assert.equal(r.runFrom(b, 2).end, 3);
    assert.deepEqual([0, 1, 2, 3].map((i) => recordStart(b, i)), [0, 10, 5, 30]);
  });

  test('the json envelope: @timestamp from the runtime (UTC), stream, kubernetes, the event\'s own offset', () => {
    const r = route('parser: cri\nformat: json\nfields: {env: prod}\ntopic: "t"', POD_LOG);
    const b = batch(['hello "x"', 'raw line'], { streams: ['stderr', null], times: ['2024-03-15T12:20:30.5+02:00', null], starts: [7, 40] });
    const values = r.values(b, '2026-01-01T00:00:00.000Z');
    const bytes = values.data instanceof Uint8Array ? values.data : new Uint8Array(values.data);
    const env = [0, 1].map((i) => JSON.parse(Buffer.from(bytes.subarray(values.bounds[2 * i]!, values.bounds[2 * i]! + values.bounds[2 * i + 1]!)).toString()) as Record<string, unknown>);
    assert.deepEqual(env[0], {
      '@timestamp': '2024-03-15T10:20:30.5Z',
      stream: 'stderr',
      host: 'node-1',
      input: 'in',
      path: POD_LOG,
      kubernetes: { namespace: 'shop', pod: 'web-0', container: 'app', pod_uid: UID },
      offset: 7,
      message: 'hello "x"',
      env: 'prod',
    });
    assert.equal(env[1]!['@timestamp'], '2026-01-01T00:00:00.000Z', 'a malformed line has no runtime time: the shipping time');
    assert.equal(env[1]!.stream, undefined);
    assert.equal(r.valueOf(b, 0, '2026-01-01T00:00:00.000Z').toString(), JSON.stringify(env[0]), 'a dead letter gets the same envelope');
  });
});
