// The configuration of line processing (issue 12): container parsers, parse: json, line
// filters, the dead-letter topic, and the template variables that come with them ({stream},
// {k8s.*}, {json.*}, {name:-default}) — rendering, and every mistake located at load.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { globCanYieldKubernetesPath } from '../src/config/kubernetes-layouts.js';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import {
  checkTopicCanBeEmpty,
  compileTemplate,
  fileVars,
  renderTopic,
  TemplateError,
  unsetEnvNames,
  type TemplateVars,
} from '../src/config/templates.js';
import type { AgentConfig } from '../src/config/types.js';

const POD_PATH = '/var/log/pods/shop_web-7d9f_0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b/nginx/0.log';

function vars(filePath: string, k8s: TemplateVars['k8s'] = null): TemplateVars {
  return { input: 'pods', host: 'node-1', file: fileVars(filePath), env: { TEAM: 'core', EMPTY: '' }, k8s };
}
const K8S = { namespace: 'shop', pod: 'web-7d9f', container: 'nginx', pod_uid: '0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b' };

describe('template variables of line processing', () => {
  test('{k8s.*} render the metadata of the file', () => {
    const t = compileTemplate('{k8s.namespace}|{k8s.pod}|{k8s.container}|{k8s.pod_uid}', 'key');
    assert.equal(t.render(vars(POD_PATH, K8S)), 'shop|web-7d9f|nginx|0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b');
    assert.equal(t.usesKubernetes, true);
    assert.equal(t.usesFile, true, 'k8s metadata comes from the path, so it is per file');
    assert.equal(t.usesLine, false);
  });

  test('a missing value renders its default, or "" without one; "" counts as missing', () => {
    const t = compileTemplate('{k8s.namespace:-none}.{k8s.pod}.{file.dir:-root}.{env.EMPTY:-e}.{env.GONE:-g}', 'key');
    assert.equal(t.render(vars('/x.log')), 'none..root.e.g');
    assert.deepEqual(t.requiredEnvNames, []);
    assert.deepEqual(unsetEnvNames(t, {}), [], 'an env variable with a default is not required');
    assert.deepEqual(compileTemplate('{k8s.pod_uid:-}', 'key').parts, [{ type: 'variable', name: 'k8s.pod_uid', fallback: '' }]);
  });

  test('{stream} and {json.*} are line variables: bound once per file, rendered per line', () => {
    const t = compileTemplate('logs.{k8s.namespace}.{json.service:-unknown}.{stream}.{json.http.status}', 'topic');
    assert.deepEqual(t.jsonPaths, ['service', 'http.status']);
    assert.equal(t.usesStream, true);
    assert.equal(t.usesLine, true);
    const bound = t.bind(vars(POD_PATH, K8S));
    assert.equal(bound.constant, null);
    assert.equal(bound.render({ stream: 'stderr', json: ['cart', '503'] }), 'logs.shop.cart.stderr.503');
    assert.equal(bound.render({ stream: null, json: null }), 'logs.shop.unknown..', 'not JSON: defaults');
    assert.equal(bound.render({ stream: 'stdout', json: [undefined, '200'] }), 'logs.shop.unknown.stdout.200');
    assert.equal(bound.render({ stream: 'stdout', json: ['', '200'] }), 'logs.shop.unknown.stdout.200', 'an empty field takes the default');
  });

  test('an input binds its templates to one shared list of json paths (one extraction per line)', () => {
    const shared = ['trace_id', 'service'];
    const topic = compileTemplate('logs.{json.service:-x}', 'topic').bind(vars('/l/a.log'), shared);
    const key = compileTemplate('{json.trace_id}', 'key').bind(vars('/l/a.log'), shared);
    const line = { stream: null, json: ['t-1', 'cart'] };
    assert.equal(topic.renderTopic(line), 'logs.cart');
    assert.equal(key.render(line), 't-1');
    assert.throws(() => compileTemplate('{json.other}', 'key').bind(vars('/l/a.log'), shared), RangeError);
  });

  test('a bound template without line variables is one constant string', () => {
    const bound = compileTemplate('logs.{input}.{k8s.container}', 'topic').bind(vars(POD_PATH, K8S));
    assert.equal(bound.constant, 'logs.pods.nginx');
    assert.equal(bound.renderTopic({ stream: 'stdout', json: null }), 'logs.pods.nginx');
  });

  test('line values are sanitised in topics like every other value', () => {
    const t = compileTemplate('logs.{json.service}', 'topic');
    assert.equal(renderTopic(t, vars('/l/a.log'), { stream: null, json: ['my svc/ü😀'] }), 'logs.my_svc___');
    assert.equal(renderTopic(t, vars('/l/a.log'), { stream: null, json: ['x'.repeat(400)] }).length, 249);
    assert.equal(renderTopic(t, vars('/l/a.log'), { stream: null, json: ['..'] }), 'logs...');
  });

  test('render without line values uses the defaults (what a per-file caller gets)', () => {
    assert.equal(compileTemplate('{stream:-out}-{json.a:-b}', 'key').render(vars('/l/a.log')), 'out-b');
  });

  test('defaults in a topic must be legal topic text; in a key anything goes', () => {
    assert.throws(() => compileTemplate('logs.{json.service:-no name}', 'topic'), /illegal character " " at column 23/);
    assert.equal(compileTemplate('{json.user:-no one: really}', 'key').render(vars('/l/a.log')), 'no one: really');
    assert.throws(() => compileTemplate('a'.repeat(240) + '{json.x:-' + 'b'.repeat(10) + '}', 'topic'), /250 characters/);
  });

  test('unknown names are rejected with a did-you-mean', () => {
    const cases: [string, RegExp][] = [
      ['{k8s.podname}', /unknown variable \{k8s\.podname\} at column 1 .* did you mean \{k8s\.pod\}\?/],
      ['x.{k8s.namespce}', /did you mean \{k8s\.namespace\}\?/],
      ['{strem}', /did you mean \{stream\}\?/],
      ['{jsn.service}', /did you mean \{json\.service\}\?/],
      ['{fil.stem}', /did you mean \{file\.stem\}\?/],
      ['{kubernetes.pod}', /unknown variable \{kubernetes\.pod\}/],
    ];
    for (const [source, message] of cases) {
      assert.throws(() => compileTemplate(source, 'topic'), (e: unknown) => e instanceof TemplateError && message.test(e.message), source);
    }
    assert.doesNotMatch(
      (() => {
        try {
          compileTemplate('{zzzzzz}', 'key');
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      })(),
      /did you mean/,
      'no far-fetched suggestion',
    );
  });

  test('json paths must be names separated by dots', () => {
    assert.throws(() => compileTemplate('{json.}', 'key'), /"" is not a field path/);
    assert.throws(() => compileTemplate('{json.a..b}', 'key'), /"a\.\.b" is not a field path/);
    assert.throws(() => compileTemplate('{json.a.}', 'key'), /not a field path/);
    assert.deepEqual(compileTemplate('{json.kubernetes.labels.app-name:-x}', 'key').parts, [
      { type: 'json', path: 'kubernetes.labels.app-name', fallback: 'x' },
    ]);
  });

  test('load-time topic check knows which new variables can be empty or dots', () => {
    const canBeEmpty = (source: string): boolean => {
      try {
        checkTopicCanBeEmpty(compileTemplate(source, 'topic'), {});
        return false;
      } catch (error) {
        assert.ok(error instanceof TemplateError);
        return true;
      }
    };
    assert.equal(canBeEmpty('{k8s.namespace}'), true, 'a path without metadata renders ""');
    assert.equal(canBeEmpty('{stream}'), true);
    assert.equal(canBeEmpty('{json.service}'), true);
    assert.equal(canBeEmpty('{json.service:-x}'), true, 'the field itself may be "."');
    assert.equal(canBeEmpty('{json.a:-x}.{json.b:-y}'), false, 'at least three dots');
    assert.equal(canBeEmpty('{k8s.namespace:-none}'), false);
    assert.equal(canBeEmpty('k8s.{k8s.namespace}.{k8s.container}'), false);
    assert.equal(canBeEmpty('{stream:-..}'), true);
    assert.equal(canBeEmpty('{env.GONE:-x}'), false);
  });
});

describe('globCanYieldKubernetesPath', () => {
  test('globs into the two layouts can', () => {
    for (const glob of [
      '/var/log/containers/*.log',
      '/var/log/containers/*_shop_*.log',
      '/var/log/containers/nginx-*.log',
      '/var/log/pods/*/*/*.log',
      '/var/log/pods/*/*/*.log*',
      '/var/log/pods/shop_*/nginx/0.log',
      '/var/log/pods/**/*.log',
      '/host/var/log/containers/*.log',
      '/var/log/**/*.log',
      '/var/log/{pods,containers}/**/*.log',
      '/var/log/pods/*/*/[0-9].log',
      '/var/log/pods/*/*/8??og',
      '/var/log/pods/*_*/*/*.log.2024*',
      '/var/log/containers/*_kube-system_*-*.log',
    ]) {
      assert.equal(globCanYieldKubernetesPath(glob), true, glob);
    }
  });

  test('other globs cannot', () => {
    for (const glob of [
      '/var/log/nginx/*.log',
      '/var/log/*.log',
      '/var/log/containers/*.txt',
      '/var/log/containers/app.log',
      '/var/log/pods/*.log',
      '/var/log/pods/*/*/*.txt',
      '/var/log/pods/nonamespace/nginx/0.log',
      '/var/log/pods/*/*/app.log',
      '/var/log/pods/*/*/[a-z].log',
      '/var/log/containers/*-x.log',
      '/logs/*.log',
    ]) {
      assert.equal(globCanYieldKubernetesPath(glob), false, glob);
    }
  });
});

describe('agent.yaml keys of line processing', () => {
  const kafka = 'kafka:\n  brokers: ["127.0.0.1:9092"]\n';
  const input = (extra: string, paths = '[/var/log/containers/*.log]', topic = 'logs'): string =>
    `inputs:\n  - id: pods\n    paths: ${paths}\n    topic: "${topic}"\n${extra}`;
  const load = (text: string): AgentConfig => parseConfigText(text, path.join('/tmp', 'a.yaml'), {}, { hostname: 'h' });
  const problems = (text: string): ConfigError => {
    try {
      load(text);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error;
    }
    assert.fail(`loaded, but should have been rejected:\n${text}`);
  };

  test('defaults: no parser, no parsing, no filters, no dead letters', () => {
    const cfg = load(input('') + kafka);
    const i = cfg.inputs[0]!;
    assert.deepEqual([i.parser, i.parse, i.include_lines, i.exclude_lines], ['none', 'none', [], []]);
    assert.equal(cfg.kafka.dead_letter_topic, null);
  });

  test('values load as written; a single regex is a list of one', () => {
    const cfg = load(
      input("    parser: cri\n    parse: json\n    include_lines: ['^ERR', 'WARN']\n    exclude_lines: '^DEBUG'\n") +
        kafka +
        '  dead_letter_topic: logship.dead-letters_1\n',
    );
    const i = cfg.inputs[0]!;
    assert.deepEqual([i.parser, i.parse, i.include_lines, i.exclude_lines], ['cri', 'json', ['^ERR', 'WARN'], ['^DEBUG']]);
    assert.equal(cfg.kafka.dead_letter_topic, 'logship.dead-letters_1');
    assert.equal(load(input('') + kafka + '  dead_letter_topic: ""\n').kafka.dead_letter_topic, null);
  });

  test('a broken regex is located at its list item, with the key path', () => {
    const e = problems(input("    exclude_lines:\n      - '^DEBUG'\n      - 'a(b'\n") + kafka);
    assert.equal(e.problems.length, 1);
    assert.deepEqual([e.line, e.col, e.keyPath], [7, 9, 'inputs[0].exclude_lines[1]']);
    assert.match(e.message, /^\/tmp\/a\.yaml:7:9: inputs\[0\]\.exclude_lines\[1\]: "a\(b" is not a valid regular expression: .*Unterminated group/);
    const inc = problems(input("    include_lines: ['[z-a]']\n") + kafka);
    assert.deepEqual([inc.line, inc.keyPath], [5, 'inputs[0].include_lines[0]']);
    assert.match(inc.message, /not a valid regular expression/);
  });

  test('bad parser, parse and dead_letter_topic values are located errors', () => {
    const e = problems(input('    parser: containerd\n    parse: yaml\n') + kafka + '  dead_letter_topic: "dead letters"\n');
    const messages = e.problems.map((p) => `${p.line}:${p.col} ${p.keyPath}: ${p.message}`);
    assert.deepEqual(messages, [
      '5:13 inputs[0].parser: must be one of none | cri | docker | auto, got "containerd"',
      '6:12 inputs[0].parse: must be one of none | json, got "yaml"',
      '9:22 kafka.dead_letter_topic: "dead letters" is not a legal topic name: " " at column 5; a topic may only contain a-z A-Z 0-9 . _ - (templates are not supported here)',
    ]);
    assert.match(problems(input('') + kafka + '  dead_letter_topic: "dlq.{input}"\n').message, /"\{" at column 5/);
    assert.match(problems(input('') + kafka + '  dead_letter_topic: ".."\n').message, /not a legal topic name/);
    assert.match(problems(input('') + kafka + `  dead_letter_topic: ${'x'.repeat(250)}\n`).message, /250 characters; a topic is at most 249/);
  });

  test('{json.*} without parse: json is an error at the template', () => {
    const e = problems(input('    key: "{json.trace_id}"\n', '[/var/log/app/*.log]', 'logs.{json.service:-x}') + kafka);
    const messages = e.problems.map((p) => `${p.line}:${p.col} ${p.keyPath}: ${p.message}`);
    assert.deepEqual(messages, [
      '4:12 inputs[0].topic: {json.service} needs parse: json on this input (it is none)',
      '5:10 inputs[0].key: {json.trace_id} needs parse: json on this input (it is none)',
    ]);
    assert.doesNotThrow(() => load(input('    parse: json\n    key: "{json.trace_id}"\n', '[/var/log/app/*.log]', 'logs.{json.service:-x}') + kafka));
  });

  test('{stream} without a container parser is an error', () => {
    const e = problems(input('', '[/var/log/app/*.log]', 'logs.{stream}') + kafka);
    assert.match(e.message, /a\.yaml:4:12: inputs\[0\]\.topic: \{stream\} needs a container parser on this input \(parser: cri \| docker \| auto; it is none\)/);
    assert.doesNotThrow(() => load(input('    parser: auto\n', '[/var/log/app/*.log]', 'logs.{stream}') + kafka));
  });

  test('{k8s.*} on paths that cannot be Kubernetes log paths is an error naming the glob', () => {
    const e = problems(input('', '[/var/log/containers/*.log, /var/log/app/*.log]', 'k8s.{k8s.namespace}') + kafka);
    assert.equal(e.problems.length, 1);
    assert.equal(e.keyPath, 'inputs[0].topic');
    assert.match(e.message, /\{k8s\.namespace\} comes from Kubernetes log paths .* which "\/var\/log\/app\/\*\.log" cannot match; fix the paths or give a default, e\.g\. \{k8s\.namespace:-none\}/);
    const key = problems(input('    key: "{k8s.pod}"\n', '[/var/log/app/*.log]') + kafka);
    assert.equal(key.keyPath, 'inputs[0].key');
    // A default makes the template valid anywhere; Kubernetes paths need none.
    assert.doesNotThrow(() => load(input('', '[/var/log/app/*.log]', 'k8s.{k8s.namespace:-none}') + kafka));
    assert.doesNotThrow(() => load(input('', '["/var/log/pods/*/*/*.log"]', 'k8s.{k8s.namespace}.{k8s.container}') + kafka));
  });

  test('a topic of only line variables without literal text is refused (it could render "")', () => {
    assert.match(problems(input('    parse: json\n', '[/l/*.log]', '{json.service}') + kafka).message, /can render "", which is not a legal topic name/);
  });

  test('the unknown-key did-you-mean knows the new keys', () => {
    assert.match(problems(input('    exclude_line: [x]\n') + kafka).message, /unknown key "exclude_line" — did you mean "exclude_lines"\?/);
    assert.match(problems(input('') + kafka + '  dead_letter: x\n').message, /did you mean "dead_letter_topic"\?/);
  });
});
