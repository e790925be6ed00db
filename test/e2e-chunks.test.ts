// Read chunks released at acknowledgement, end to end (src/tailer/chunk-pool.ts): the real agent,
// started by the test helpers in poison mode (a released chunk is filled with 0xDB bytes and
// never reused), ships files large enough for full reads, with multiline events and CRI pieces
// that straddle the reads; every record read back with kcat must be exactly its event. A view
// of a chunk kept past its batch's acknowledgement would ship marker bytes (or nothing).

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

const T = '2024-03-15T10:20:30.123456789Z';

test('poisoned chunks: multiline events and CRI pieces across full reads ship intact, the last event after its timeout', async () => {
  const dir = tempDir('chunks');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const traces = join(logs, 'traces.log');
  const cri = join(logs, 'pod.log');
  // ~1.3 MB each: several 256 KiB reads, events cut by every read boundary somewhere.
  const events: string[] = [];
  let text = '';
  for (let i = 0; i < 12_000; i++) {
    const lines = [`E${i} failure in request ${'r'.repeat(i % 37)}`];
    for (let k = 0; k < i % 5; k++) lines.push(`  at frame ${k} of event ${i}`);
    events.push(lines.join('\n'));
    text += lines.map((l) => `${l}\n`).join('');
  }
  writeFileSync(traces, text);
  const messages: string[] = [];
  let criText = '';
  for (let i = 0; i < 10_000; i++) {
    const parts = [`msg ${i} `, 'x'.repeat(i % 61), ` end ${i}`];
    messages.push(parts.join(''));
    criText += `${T} stdout P ${parts[0]}\n${T} stdout P ${parts[1]}\n${T} stdout F ${parts[2]}\n`;
  }
  writeFileSync(cri, criText);
  const inputs = [
    '  - id: traces',
    `    paths: ["${traces}"]`,
    '    start_at: beginning',
    '    topic: "chunks.traces"',
    "    multiline: {start: '^E', timeout: 300ms}",
    '  - id: pods',
    `    paths: ["${cri}"]`,
    '    start_at: beginning',
    '    parser: cri',
    '    topic: "chunks.pods"',
  ].join('\n');
  const agent = AgentProcess.start(dir, agentYaml({ dir, bootstrap: cluster.bootstrap, inputs, registry: '  flush_interval: 100ms' }));
  try {
    // The last event ends the file: it leaves after the multiline timeout, from the bytes the
    // joiner kept past its read.
    await until(() => committedOffset(dir, traces) === statSync(traces).size, 60_000, 'traces.log committed to its end');
    await until(() => committedOffset(dir, cri) === statSync(cri).size, 60_000, 'pod.log committed to its end');
    const more = 'E-late one\n  at late frame\n';
    appendFileSync(traces, more);
    events.push('E-late one\n  at late frame');
    await until(() => committedOffset(dir, traces) === statSync(traces).size, 30_000, 'the appended event committed');
    const got = (await cluster.consume('chunks.traces')).map((r) => r.value.toString('latin1'));
    assert.equal(got.length, events.length, 'each event exactly once');
    assert.deepEqual(got.sort(), [...events].sort(), 'every multiline event intact');
    const pods = (await cluster.consume('chunks.pods')).map((r) => r.value.toString('latin1'));
    assert.equal(pods.length, messages.length);
    assert.deepEqual(pods.sort(), [...messages].sort(), 'every CRI event intact');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
