// `headers` as a map of name -> template end to end (issue #12: JSON field values in topic, key
// and headers): the real agent routes JSON lines by a field and gives each record its own
// header values from its line, read back with kcat (`-f '%h'`). Lines that are not JSON, or
// lack a field, carry the template's default; constant templates the same value on every record.

import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, tempDir } from './helpers/configs.js';
import { committedOffset } from './helpers/committed.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

const SERVICES = ['cart', 'checkout', 'search', 'auth'];

test('headers from templates: each record carries its own line\'s field values (defaults when missing), routed by field', async () => {
  const dir = tempDir('headers');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const app = join(logs, 'app.log');
  // Interleaved services (one topic per service) in one read: per-record topics and header values.
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) lines.push(JSON.stringify({ service: SERVICES[i % 4], trace_id: `t${i}`, msg: `m${i}` }));
  lines.push('not json at all', JSON.stringify({ service: 'cart', msg: 'no trace' }), JSON.stringify({ service: 'search', trace_id: 'tü-ø', msg: 'utf8' }));
  writeFileSync(app, lines.map((l) => `${l}\n`).join(''));
  const agent = AgentProcess.start(
    dir,
    agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      inputs: [
        '  - id: hdr',
        `    paths: ["${logs}/*.log"]`,
        '    start_at: beginning',
        '    topic: "hdr.{json.service:-unknown}"',
        '    parse: json',
        '    headers:',
        '      service: "{json.service:-unknown}"',
        '      trace: "{json.trace_id:-none}"',
        '      origin: "{host}/{file.name}"', // {host}: the agent's name (test-host)
      ].join('\n'),
      registry: '  flush_interval: 100ms',
    }),
  );
  try {
    await until(() => committedOffset(dir, app) === statSync(app).size, 30_000, 'app.log committed to its end');
    const expected = new Map<string, Record<string, string>>();
    for (let i = 0; i < 200; i++) expected.set(`m${i}`, { service: SERVICES[i % 4]!, trace: `t${i}` });
    expected.set('no trace', { service: 'cart', trace: 'none' });
    expected.set('utf8', { service: 'search', trace: 'tü-ø' });
    const seen = new Set<string>();
    for (const topic of [...SERVICES, 'unknown']) {
      for (const r of await cluster.consume(`hdr.${topic}`)) {
        const value = r.value.toString();
        const msg = value.startsWith('{') ? (JSON.parse(value) as { msg: string }).msg : value;
        assert.ok(!seen.has(msg), `${msg}: once`);
        seen.add(msg);
        const want = msg === 'not json at all' ? { service: 'unknown', trace: 'none' } : expected.get(msg);
        assert.ok(want, `unexpected record ${value}`);
        assert.deepEqual(r.headers, { ...want, origin: 'test-host/app.log' }, `${msg} in hdr.${topic}: its own headers`);
        assert.equal(topic, want.service, `${msg}: routed by its service`);
      }
    }
    assert.equal(seen.size, lines.length, 'every line once');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
