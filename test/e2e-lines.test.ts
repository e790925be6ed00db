// Line filters and routing by JSON field end to end (issue #12): the real agent, read back with
// kcat. Dropped lines are absent, the registry's offset passes them (also when a file ends with
// dropped lines, or holds nothing else), the counters say how many and why; JSON lines go to
// the topic and key their fields name, sanitised, and lines that are not JSON or lack the
// field to the template's default, counted.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, freePort, tempDir } from './helpers/configs.js';
import { committedOffset } from './helpers/committed.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

/** The agent on `inputs` (YAML list items), metrics on `port`, offsets persisted every 100 ms. */
function startAgent(dir: string, port: number, inputs: string[]): AgentProcess {
  return AgentProcess.start(dir, agentYaml({ dir, bootstrap: cluster.bootstrap, metrics: `127.0.0.1:${port}`, inputs: inputs.join('\n'), registry: '  flush_interval: 100ms' }));
}

/** Every sample of `name` in the agent's /metrics, as "labels value" text. */
async function samples(port: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    out.set(line.slice(name.length, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

test('include_lines / exclude_lines: dropped lines absent, offsets committed past them, counted per input and reason', async () => {
  const dir = tempDir('filters');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const app = join(logs, 'app.log');
  const quiet = join(logs, 'quiet.log');
  // Dropped lines in the middle, at the end of a read, and a file of dropped lines only.
  writeFileSync(app, ['INFO 1 start', 'DEBUG 2 noisy', 'INFO 3 password=hunter2', 'trace 4 not included', 'ERROR 5 boom', 'DEBUG 6 last lines dropped', 'DEBUG 7'].map((l) => `${l}\n`).join(''));
  writeFileSync(quiet, 'DEBUG only\nDEBUG dropped\n');
  const port = await freePort();
  const agent = startAgent(dir, port, [
    '  - id: filtered',
    `    paths: ["${logs}/*.log"]`,
    '    start_at: beginning',
    '    topic: "flt.{file.stem}"',
    '    headers: true',
    "    include_lines: ['^(INFO|ERROR|DEBUG)']",
    "    exclude_lines: ['^DEBUG', 'password=']",
  ]);
  try {
    await until(() => committedOffset(dir, app) === statSync(app).size, 30_000, 'app.log committed to its end, past its last (dropped) lines');
    await until(() => committedOffset(dir, quiet) === statSync(quiet).size, 30_000, 'a file of dropped lines only committed to its end');
    // Keyless records spread over partitions: compared as sets, each with its offset header.
    const got = (await cluster.consume('flt.app')).map((r) => `${r.headers.offset} ${r.value.toString()}`).sort();
    const errorAt = Buffer.byteLength('INFO 1 start\nDEBUG 2 noisy\nINFO 3 password=hunter2\ntrace 4 not included\n');
    assert.deepEqual(got, ['0 INFO 1 start', `${errorAt} ERROR 5 boom`], "kept lines only, at their own offsets");
    assert.deepEqual(await cluster.consume('flt.quiet'), [], 'nothing produced for the quiet file');
    // Lines appended later are filtered the same way, and the offset moves past them too.
    appendFileSync(app, 'DEBUG 8\nINFO 9 later\nDEBUG 10\n');
    await until(() => committedOffset(dir, app) === statSync(app).size, 30_000, 'the appended lines committed');
    assert.deepEqual((await cluster.consume('flt.app')).map((r) => r.value.toString()).sort(), ['ERROR 5 boom', 'INFO 1 start', 'INFO 9 later']);
    const dropped = await samples(port, 'logship_lines_dropped_total');
    assert.deepEqual(Object.fromEntries(dropped), { '{input="filtered",reason="include_lines"}': 1, '{input="filtered",reason="exclude_lines"}': 8 });
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parse: json routes by field: topics and keys from the line, sanitised; invalid JSON and missing fields take the default, counted', async () => {
  const dir = tempDir('json-routing');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const file = join(logs, 'events.log');
  const lines = [
    '{"service":"cart","trace_id":"t-1","msg":"added"}',
    '{"service":"web","trace_id":"t-2","http":{"status":500}}',
    '{"service":"cart","msg":"no trace"}',
    '{"service":"a/b c","trace_id":"t-3"}',
    'plain text, not JSON',
    '{"service": "web", "trace_id": "t-4", "nested": {"list": [1, {"x": "}"}]}}',
    '{"msg":"no service"}',
    '{"service":"cart", truncated',
  ];
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  // Keyless records routed per line (each run of one topic sticks to one partition).
  const keyless = join(logs, 'keyless.json');
  const services = Array.from({ length: 200 }, (_, i) => ['cart', 'web', 'auth'][i % 3]!);
  writeFileSync(keyless, services.map((service, i) => `{"service":"${service}","n":${i}}\n`).join(''));
  const port = await freePort();
  const agent = startAgent(dir, port, [
    '  - id: events',
    `    paths: ["${file}"]`,
    '    start_at: beginning',
    '    parse: json',
    '    topic: "svc.{json.service:-unknown}"',
    '    key: "{json.trace_id:-none}"',
    '  - id: keyless',
    `    paths: ["${keyless}"]`,
    '    start_at: beginning',
    '    parse: json',
    '    topic: "nokey.{json.service}x"',
  ]);
  try {
    await until(() => committedOffset(dir, file) === statSync(file).size, 30_000, 'the file committed to its end');
    // Records of different keys land in different partitions: compared in the file's order.
    const order = (value: string): number => lines.indexOf(value);
    const read = async (topic: string): Promise<Array<[string | undefined, string]>> =>
      (await cluster.consume(topic)).map((r): [string | undefined, string] => [r.key?.toString(), r.value.toString()]).sort((a, b) => order(a[1]) - order(b[1]));
    assert.deepEqual(await read('svc.cart'), [['t-1', lines[0]!], ['none', lines[2]!]]);
    assert.deepEqual(await read('svc.web'), [['t-2', lines[1]!], ['t-4', lines[5]!]]);
    assert.deepEqual(await read('svc.a_b_c'), [['t-3', lines[3]!]], 'a field value is sanitised like every topic');
    assert.deepEqual(await read('svc.unknown'), [['none', lines[4]!], ['none', lines[6]!], ['none', lines[7]!]], 'not JSON, or no service: the default');
    await until(() => committedOffset(dir, keyless) === statSync(keyless).size, 30_000, 'the keyless file committed to its end');
    for (const service of ['cart', 'web', 'auth']) {
      const got = await cluster.consume(`nokey.${service}x`);
      const numbers = got.map((r) => (JSON.parse(r.value.toString()) as { n: number }).n).sort((a, b) => a - b);
      assert.deepEqual(numbers, services.flatMap((s, i) => (s === service ? [i] : [])), `every ${service} line once in nokey.${service}x`);
      assert.ok(got.every((r) => r.key === null), 'no key');
    }
    const fallbacks = await samples(port, 'logship_json_fallbacks_total');
    assert.deepEqual(Object.fromEntries(fallbacks), { '{input="events",reason="not_json"}': 2, '{input="events",reason="missing_field"}': 2 });
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
