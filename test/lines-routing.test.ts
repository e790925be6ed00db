// Kubernetes metadata from paths, include_lines/exclude_lines, and JSON fields for routing —
// the pure parts of issue 12 that sit between the container parser and the shipper.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import picomatch from 'picomatch';
import { globCanYieldKubernetesPath } from '../src/config/kubernetes-layouts.js';
import { compileTemplate, fileVars } from '../src/config/templates.js';
import { linesOf, packLines } from '../src/core/batch.js';
import { EventFlag, type EventFlags } from '../src/lines/events.js';
import { LineFilter, LineFilterRules } from '../src/lines/filter.js';
import { JsonFieldExtractor, jsonPathsOfInput } from '../src/lines/json-fields.js';
import { kubernetesMetadata } from '../src/lines/kubernetes.js';
import { InputLineCounters } from '../src/lines/stats.js';
import { Random } from './soak/random.js';

const UID = '0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b';
const ID = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

describe('kubernetesMetadata', () => {
  test('the pods layout gives namespace, pod, uid, container and restart count', () => {
    assert.deepEqual(kubernetesMetadata(`/var/log/pods/shop_web-7d9f8-x2x_${UID}/nginx/0.log`), {
      layout: 'pods',
      namespace: 'shop',
      pod: 'web-7d9f8-x2x',
      pod_uid: UID,
      container: 'nginx',
      container_id: null,
      restart_count: 0,
    });
  });

  test('rotated and compressed generations of 0.log carry the same metadata', () => {
    for (const name of ['3.log', '3.log.20240315-102030', '3.log.20240315-102030.gz']) {
      const m = kubernetesMetadata(`/var/log/pods/kube-system_coredns-5d78c9869d-abcde_${UID}/coredns/${name}`);
      assert.deepEqual([m?.namespace, m?.pod, m?.container, m?.restart_count], ['kube-system', 'coredns-5d78c9869d-abcde', 'coredns', 3], name);
    }
  });

  test('static pods have a 32-hex uid; pod names may hold dots', () => {
    const m = kubernetesMetadata('/var/log/pods/kube-system_etcd-node-1.example.com_a1b2c3d4e5f60718293a4b5c6d7e8f90/etcd/0.log');
    assert.deepEqual([m?.pod, m?.pod_uid], ['etcd-node-1.example.com', 'a1b2c3d4e5f60718293a4b5c6d7e8f90']);
  });

  test('the containers layout gives pod, namespace, container and container id; the uid needs the target', () => {
    const link = `/var/log/containers/web-7d9f8-x2x_shop_nginx-${ID}.log`;
    assert.deepEqual(kubernetesMetadata(link), {
      layout: 'containers',
      namespace: 'shop',
      pod: 'web-7d9f8-x2x',
      pod_uid: null,
      container: 'nginx',
      container_id: ID,
      restart_count: null,
    });
    const withTarget = kubernetesMetadata(link, `/var/log/pods/shop_web-7d9f8-x2x_${UID}/nginx/1.log`);
    assert.deepEqual([withTarget?.layout, withTarget?.pod_uid, withTarget?.restart_count, withTarget?.container_id], ['containers', UID, 1, ID]);
  });

  test('container names with dashes: the id is what follows the last one', () => {
    const m = kubernetesMetadata(`/var/log/containers/api-0_prod_istio-proxy-${ID}.log`);
    assert.deepEqual([m?.pod, m?.namespace, m?.container], ['api-0', 'prod', 'istio-proxy']);
  });

  test('a host /var/log mounted elsewhere still matches; relative segments are normalised', () => {
    assert.equal(kubernetesMetadata(`/host/var/log/containers/a_b_c-${ID}.log`)?.namespace, 'b');
    assert.equal(kubernetesMetadata(`/var/log/x/../pods/ns_p_${UID}/c/0.log`)?.namespace, 'ns');
  });

  test('paths in neither layout have none', () => {
    for (const p of [
      '/var/log/nginx/access.log',
      '/var/log/pods/ns_p/c/0.log',
      `/var/log/pods/ns_p_${UID}/c/app.log`,
      `/var/log/pods/ns_p_${UID}/0.log`,
      `/var/log/containers/p_ns_c.log`,
      `/var/log/containers/p_ns_c-XYZ.log`,
      `/var/log/containers/p_ns-${ID}.log`,
      `/var/log/containers/.._ns_c-${ID}.log`,
      `/var/log/pods/._p_${UID}/c/0.log`,
      '',
      '/',
    ]) {
      assert.equal(kubernetesMetadata(p), null, p);
    }
  });

  test('feeds {k8s.*} templates', () => {
    const path = `/var/log/containers/web-0_shop_nginx-${ID}.log`;
    const vars = { input: 'pods', host: 'n1', file: fileVars(path), env: {}, k8s: kubernetesMetadata(path) };
    assert.equal(compileTemplate('k8s.{k8s.namespace}.{k8s.container}.{k8s.pod_uid:-nouid}', 'topic').render(vars), 'k8s.shop.nginx.nouid');
  });
});

describe('LineFilter', () => {
  const run = (include: string[], exclude: string[], texts: string[], flags: (EventFlags | undefined)[] = []) => {
    const filter = new LineFilter(new LineFilterRules(include, exclude));
    const { data, bounds } = packLines(texts.map((t) => Buffer.from(t)));
    const kept = [...bounds];
    const ends = texts.map((_, i) => (i + 1) * 10);
    const counters = new InputLineCounters();
    const dropped = filter.apply(data, kept, flags, [ends], counters);
    return { kept: linesOf({ data, bounds: Uint32Array.from(kept) }).map((l) => l.toString()), ends, flags, counts: counters.view.dropped, dropped };
  };

  test('exclude_lines drops matching lines, keeps the rest and their columns in step', () => {
    const r = run([], ['^DEBUG'], ['DEBUG a', 'INFO b', 'DEBUG c', 'WARN d']);
    assert.deepEqual(r.kept, ['INFO b', 'WARN d']);
    assert.deepEqual(r.ends, [20, 40]);
    assert.deepEqual(r.counts, { include_lines: 0, exclude_lines: 2 });
    assert.equal(r.dropped, 2);
  });

  test('include_lines first, then exclude_lines (Filebeat)', () => {
    const r = run(['^ERR', '^WARN'], ['healthz'], ['ERR disk', 'INFO x', 'WARN healthz slow', 'WARN y']);
    assert.deepEqual(r.kept, ['ERR disk', 'WARN y']);
    assert.deepEqual(r.counts, { include_lines: 1, exclude_lines: 1 });
  });

  test('flags stay with their lines and stay sparse', () => {
    const r = run([], ['^x'], ['x', 'a', 'x', 'b', 'c'], [undefined, EventFlag.Malformed, EventFlag.Joined, undefined, EventFlag.Partial]);
    assert.deepEqual(r.kept, ['a', 'b', 'c']);
    assert.deepEqual([r.flags[0], r.flags[1], r.flags[2]], [EventFlag.Malformed, undefined, EventFlag.Partial]);
    assert.equal(1 in r.flags, false, 'no flag written for a line without one');
    assert.equal(r.flags.length, 3);
  });

  test('the pieces of a cut event share the verdict of its first piece', () => {
    const r = run(['^ERROR'], [], ['ERROR aaaa', 'bbbb', 'cccc', 'INFO x', 'yyyy', 'ERROR z'], [EventFlag.Split, EventFlag.Split, undefined, EventFlag.Split, undefined]);
    assert.deepEqual(r.kept, ['ERROR aaaa', 'bbbb', 'cccc', 'ERROR z']);
    assert.deepEqual(r.counts.include_lines, 2);
  });

  test('patterns match the message text, unicode included', () => {
    assert.deepEqual(run(['ü'], [], ['grüße', 'hello']).kept, ['grüße']);
    assert.deepEqual(run([], ['\\p{Emoji_Presentation}'], ['😀 x', 'plain']).kept, ['😀 x', 'plain'], 'no u flag: \\p is a literal p');
  });

  test('forInput: no filters configured, no filter at all', () => {
    assert.equal(LineFilterRules.forInput({ include_lines: [], exclude_lines: [] }), null);
    assert.ok(LineFilterRules.forInput({ include_lines: [], exclude_lines: ['x'] }));
  });
});

describe('JsonFieldExtractor', () => {
  const line = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

  test('extracts nested fields in path order; numbers and booleans as text', () => {
    const counters = new InputLineCounters();
    const stats = counters.view.json;
    const x = new JsonFieldExtractor(['service', 'http.status', 'ok', 'tags.1'], counters);
    assert.deepEqual(x.extract(line({ service: 'cart', http: { status: 503 }, ok: false, tags: ['a', 'b'] })), ['cart', '503', 'false', 'b']);
    assert.deepEqual(stats, { notJson: 0, missingField: 0 });
  });

  test('missing fields, null, objects and lists are missing (the template default), counted once per line', () => {
    const counters = new InputLineCounters();
    const stats = counters.view.json;
    const x = new JsonFieldExtractor(['a', 'b', 'c', 'd.e', 'constructor', 'f.0'], counters);
    assert.deepEqual(x.extract(line({ b: null, c: { x: 1 }, d: 'scalar', f: { 0: 'object key' } })), [undefined, undefined, undefined, undefined, undefined, 'object key']);
    assert.deepEqual(stats, { notJson: 0, missingField: 1 });
  });

  test('a line that is not a JSON object gives null, counted', () => {
    const counters = new InputLineCounters();
    const stats = counters.view.json;
    const x = new JsonFieldExtractor(['a'], counters);
    for (const text of ['plain text', '{"a":', '[{"a":1}]', '"a"', '', '{"a":1} trailing', '  \t']) assert.equal(x.extract(line(text)), null, text);
    assert.equal(stats.notJson, 7);
    assert.deepEqual(x.extract(line('  {"a":"spaced"}  ')), ['spaced']);
  });

  test('unicode and escapes in values are decoded', () => {
    const x = new JsonFieldExtractor(['svc'], new InputLineCounters());
    assert.deepEqual(x.extract(line('{"svc":"caf\\u00e9 \\"😀\\""}')), ['café "😀"']);
  });

  test('jsonPathsOfInput: the fields topic and key route by, once each; none means no parsing', () => {
    assert.deepEqual(jsonPathsOfInput({ topic: 'logs.{json.service:-x}.{json.env:-y}', key: '{json.trace_id}{json.service}' }), ['service', 'env', 'trace_id']);
    assert.deepEqual(jsonPathsOfInput({ topic: 'logs.{input}', key: null }), []);
  });

  test('feeds {json.*} templates: bound once per file, rendered per line with defaults', () => {
    const counters = new InputLineCounters();
    const stats = counters.view.json;
    const topic = compileTemplate('logs.{json.service:-unknown}', 'topic');
    const key = compileTemplate('{json.trace_id:-}', 'key');
    const paths = [...new Set([...topic.jsonPaths, ...key.jsonPaths])];
    const x = new JsonFieldExtractor(paths, counters);
    const vars = { input: 'app', host: 'h', file: fileVars('/l/app.log'), env: {} };
    const [t, k] = [topic.bind(vars, paths), key.bind(vars, paths)];
    const route = (text: string) => {
      const json = x.extract(Buffer.from(text));
      return [t.renderTopic({ stream: null, json }), k.render({ stream: null, json })];
    };
    assert.deepEqual(route('{"service":"cart","trace_id":"abc"}'), ['logs.cart', 'abc']);
    assert.deepEqual(route('{"service":"my svc/v2"}'), ['logs.my_svc_v2', '']);
    assert.deepEqual(route('not json'), ['logs.unknown', '']);
    assert.deepEqual(stats, { notJson: 1, missingField: 1 });
  });
});

describe('the load-time {k8s.*} check agrees with the path parser', () => {
  const seed = process.env.LOGSHIP_FUZZ_SEED === undefined ? Random.freshSeed() : Number(process.env.LOGSHIP_FUZZ_SEED);
  test(`a glob matching a real Kubernetes log path is never refused (seed ${seed})`, () => {
    const r = new Random(seed);
    const name = (): string => r.pick(['web', 'api-0', 'kube-system', 'a', 'istio-proxy', 'coredns-5d78c9869d-x2x4z', 'etcd-n1.example.com']);
    for (let round = 0; round < 2000; round++) {
      const path = r.next() < 0.5
        ? `${r.pick(['/var/log', '/host/var/log'])}/pods/${name()}_${name()}_${UID}/${name()}/${r.int(0, 12)}.log${r.next() < 0.3 ? '.20240315-102030' : ''}`
        : `${r.pick(['/var/log', '/host/var/log'])}/containers/${name()}_${name()}_${name()}-${ID}.log`;
      assert.ok(kubernetesMetadata(path), path);
      // Wildcard some characters and whole segments: the glob still matches the path.
      const glob = path
        .split('/')
        .map((segment, i) => {
          if (i === 0 || r.next() < 0.5) return segment;
          if (r.next() < 0.3) return '*';
          return [...segment].map((ch) => (r.next() < 0.2 ? r.pick(['*', '?']) : ch)).join('').replace(/\*+/g, '*');
        })
        .join('/');
      assert.ok(picomatch(glob, { dot: true })(path), `${glob} should match ${path}`);
      assert.equal(globCanYieldKubernetesPath(glob), true, `${glob} (matches ${path}) was refused`);
    }
  });
});

describe('layout shapes and regular expressions agree', () => {
  test('a literal path is judged by the glob check exactly as the path parser reads it', () => {
    const r = new Random(7);
    const pieces = ['a', '0', '9', 'f', '_', '-', '.', 'log', 'gz', ID.slice(0, 12), ID, '20240315', '102030', 'x'];
    const word = (): string => Array.from({ length: r.int(1, 6) }, () => r.pick(pieces)).join('');
    for (let round = 0; round < 3000; round++) {
      const path =
        r.next() < 0.5 ? `/var/log/pods/${word()}/${word()}/${word()}` : `/var/log/containers/${word()}`;
      // kubernetesMetadata also refuses dots-only names, which the glob check need not know.
      const parsed = kubernetesMetadata(path) !== null;
      if (parsed) assert.equal(globCanYieldKubernetesPath(path), true, path);
      else if (!path.split('/').some((s) => /^\.+$/.test(s) || /(^|_)\.+(_|$)/.test(s))) assert.equal(globCanYieldKubernetesPath(path), false, path);
    }
  });
});
