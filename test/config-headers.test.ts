// `headers` as a map of header name -> template (issue 12: field values "in topic, key and
// headers"): loaded in order, checked at load like topic and key templates, every mistake
// located at the header's own key.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/types.js';

describe('inputs[].headers', () => {
  const kafka = 'kafka:\n  brokers: ["127.0.0.1:9092"]\n';
  const input = (extra: string, paths = '[/var/log/app/*.log]'): string => `inputs:\n  - id: app\n    paths: ${paths}\n    topic: "logs"\n${extra}`;
  const load = (text: string, env: NodeJS.ProcessEnv = {}): AgentConfig => parseConfigText(text, path.join('/tmp', 'a.yaml'), env, { hostname: 'h' });
  const problems = (text: string): string[] => {
    try {
      load(text);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.problems.map((p) => `${p.line}:${p.col} ${p.keyPath}: ${p.message}`);
    }
    assert.fail(`loaded, but should have been rejected:\n${text}`);
  };

  test('true, false and absent: the built-in set or none, no templates', () => {
    for (const [text, builtin] of [['', false], ['    headers: false\n', false], ['    headers: true\n', true], ['    headers:\n', false]] as const) {
      const i = load(input(text) + kafka).inputs[0]!;
      assert.deepEqual([i.headers, i.header_templates], [builtin, []], JSON.stringify(text));
    }
    assert.equal(load(input('    headers: ${H}\n') + kafka, { H: 'true' }).inputs[0]!.headers, true, 'true from the environment');
  });

  test('a map: one header per entry, in order, the built-in set off', () => {
    const i = load(input('    parse: json\n    headers:\n      service: "{json.service}"\n      trace: "{json.trace_id:-none}"\n      where: "{host}:{file.name}"\n      version: 2\n') + kafka).inputs[0]!;
    assert.equal(i.headers, false);
    assert.deepEqual(i.header_templates, [
      { name: 'service', template: '{json.service}' },
      { name: 'trace', template: '{json.trace_id:-none}' },
      { name: 'where', template: '{host}:{file.name}' },
      { name: 'version', template: '2' },
    ]);
  });

  test('an empty template adds no header (an environment variable can switch one off)', () => {
    const i = load(input('    headers:\n      team: "${TEAM:-}"\n      host: "{host}"\n') + kafka).inputs[0]!;
    assert.deepEqual(i.header_templates, [{ name: 'host', template: '{host}' }]);
  });

  test('{json.*} without parse: json, {stream} without a parser, {k8s.*} on paths without them: located at the header', () => {
    assert.deepEqual(problems(input('    headers:\n      service: "{json.service}"\n      s: "{stream}"\n      ns: "{k8s.namespace}"\n') + kafka), [
      '6:16 inputs[0].headers.service: {json.service} needs parse: json on this input (it is none)',
      '7:10 inputs[0].headers.s: {stream} needs a container parser on this input (parser: cri | docker | auto; it is none)',
      `8:11 inputs[0].headers.ns: {k8s.namespace} comes from Kubernetes log paths (<root>/pods/<namespace>_<pod>_<uid>/<container>/<n>.log or <root>/containers/<pod>_<namespace>_<container>-<id>.log), which "/var/log/app/*.log" cannot match; fix the paths or give a default, e.g. {k8s.namespace:-none}`,
    ]);
  });

  test('an unknown variable, an unclosed brace, an unset environment variable: located at the header', () => {
    const found = problems(input('    parse: json\n    headers:\n      a: "{jsn.service}"\n      b: "{json.x"\n      c: "{env.NOPE}"\n') + kafka);
    assert.equal(found.length, 3, found.join('\n'));
    assert.match(found[0]!, /^7:10 inputs\[0\]\.headers\.a: unknown variable \{jsn\.service\} at column 1 of template "\{jsn\.service\}" — did you mean \{json\.service\}\?/);
    assert.match(found[1]!, /^8:10 inputs\[0\]\.headers\.b: unclosed "\{" at column 1/);
    assert.match(found[2]!, /^9:10 inputs\[0\]\.headers\.c: template "\{env\.NOPE\}" uses \{env\.NOPE\} but environment variable NOPE is not set/);
  });

  test('neither true, false nor a map; a list; an empty name; too many headers', () => {
    assert.match(problems(input('    headers: yes please\n') + kafka)[0]!, /^5:14 inputs\[0\]\.headers: expected true, false or a map of header name to template/);
    assert.match(problems(input('    headers: [a, b]\n') + kafka)[0]!, /^5:14 inputs\[0\]\.headers: expected true, false or a map/);
    assert.match(problems(input('    headers: {"": "{host}"}\n') + kafka)[0]!, /^5:19 inputs\[0\]\.headers\[""\]: a header name must not be empty/);
    const many = Array.from({ length: 17 }, (_, k) => `      h${k}: x\n`).join('');
    assert.match(problems(input(`    headers:\n${many}`) + kafka)[0]!, /inputs\[0\]\.headers: names 17 headers; at most 16/);
  });
});
